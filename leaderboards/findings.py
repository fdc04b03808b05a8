"""The figures behind every interpretive sentence of leaderboards/README.md, from a board's committed runs.

    python leaderboards/findings.py leaderboards/instruct_cpu

Reads the board's runs (the newest run of each model x task, as the leaderboard does) and
its ``leaderboard.args`` (for ``--model-name``, through :mod:`macro_bench.aggregate.board`),
re-derives every document's gates from its logged record with
:func:`macro_bench.metrics.document.gate_flags` (the same function the task used), and
prints, per model x dataset:

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
   loading, both passes and the extra models), per model, with the slowest and fastest task;
7. valid counterfactuals per language: how many of each model x language's documents, the
   counts behind a per-language verdict;
8. premise material: for every valid counterfactual of a document with a premise (XNLI), the
   share of the words of x' that are not in x but are in the premise, beside the same share over the
   400 human CAD revisions (``../shared/data/cad_nli``): a model that pastes premise text into x
   scores high, and the human edits say how high a real edit goes, i.e. whether a gate on this
   share could stop the pasting without stopping real edits;
9. edits that change no word: outputs the copy gate let through (x' is not x) whose words
   (tokens with a letter or digit, case-folded) are x's words in order, i.e. x with only its
   punctuation, spacing or letter case changed ("，" for ", ", "है।" for "है ।", a final "."
   added), and those equal once combining marks are dropped too (Arabic vowel marks; in
   Devanagari such a mark can be a real spelling change, so they are counted apart): how many,
   how many flipped the prediction, and how many were counted valid. They are copies in
   substance; a flip on one is counted valid under protocol 3.

Nothing here is a new metric: the leaderboard reports the rates; this script prints the
counts and tests the README's sentences quote. Each section is a list of rows (:class:`Findings`);
``--json`` prints them as one JSON object, which tests/test_findings.py reads.

    python leaderboards/findings.py leaderboards/instruct_cpu --json
"""

from __future__ import annotations

import argparse
import json
import statistics
import unicodedata
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import regex
from rapidfuzz.distance import Levenshtein
from scipy.stats import binomtest

from macro_bench.aggregate.board import Board
from macro_bench.aggregate.loading import load_runs
from macro_bench.aggregate.pipeline import display_names
from macro_bench.aggregate.problems import Problems
from macro_bench.datasets import get_dataset
from macro_bench.human_edits import SHARED_CAD, load_cad
from macro_bench.metrics.document import derive_metrics, gate_flags
from macro_bench.metrics.gate_registry import GATES
from macro_bench.protocol import PROTOCOL_VERSION
from macro_bench.record import Record
from macro_bench.tokenization import comparable_token_texts


# ISO 15924 codes of the board's languages -> Unicode script names (the regex module's \p{Script=...}).
SCRIPTS = {"Latn": "Latin", "Arab": "Arabic", "Deva": "Devanagari", "Hans": "Han", "Cyrl": "Cyrillic", "Grek": "Greek", "Thai": "Thai"}
_LETTER = regex.compile(r"\p{L}")
_WORD = regex.compile(r"[\p{L}\p{N}]")


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


def words(text: str) -> list[str]:
    """The tokens of ``text`` with a letter or digit, case-folded: what a reader counts as its words."""
    return [token.casefold() for token in comparable_token_texts(text) if _WORD.search(token)]


def without_marks(text: str) -> str:
    """``text`` without combining marks (Unicode category Mn), after canonical decomposition."""
    return unicodedata.normalize("NFC", "".join(c for c in unicodedata.normalize("NFD", text)
                                               if unicodedata.category(c) != "Mn"))


def same_words(original: str, counterfactual: str) -> str | None:
    """How x' repeats x's words when it is not a copy of it: "words" (the same words in order),
    "words without marks" (the same once combining marks are dropped), or None (a word changed)."""
    if words(original) == words(counterfactual):
        return "words"
    if words(without_marks(original)) == words(without_marks(counterfactual)):
        return "words without marks"
    return None


def premise_share(original: str, counterfactual: str, premise: str) -> float | None:
    """Share of the words of x' (tokens with a letter or digit, case-folded) that are not in x but are in the
    premise; None when x' has no word."""
    new = words(counterfactual)
    if not new:
        return None
    in_original, in_premise = set(words(original)), set(words(premise))
    return sum(word not in in_original and word in in_premise for word in new) / len(new)


@dataclass(frozen=True)
class Document:
    """One document of a model x dataset cell, with the gates and metric values re-derived from its record."""

    language: str
    record: Record
    flags: dict
    values: dict


# (model as shown, dataset) -> its documents.
Cells = dict[tuple[str, str], list[Document]]


@dataclass(frozen=True)
class Accuracy:
    model: str
    dataset: str
    documents: int
    correct: int
    accuracy: float
    chance: float
    p_value: float  # two-sided binomial test against chance


@dataclass(frozen=True)
class TruncationAlone:
    """The flips that the truncation gate alone stopped."""

    flips: int
    median_kept: float  # share of x that x' keeps
    max_kept: float
    ends_before_cut: int  # x' complete, the generation went on


@dataclass(frozen=True)
class Endings:
    model: str
    dataset: str
    documents: int
    flips: int
    valid: int
    gated: int
    no_flip: int
    stopped: dict[str, int]  # gate -> flips it fired on, most first
    only_gate: dict[str, int]  # gate -> flips on which it was the only gate that fired, most first
    truncation_alone: TruncationAlone | None


@dataclass(frozen=True)
class GateCount:
    fired: int
    judged: int  # documents with a defined verdict


@dataclass(frozen=True)
class GateCounts:
    model: str
    dataset: str
    gates: dict[str, GateCount | None]  # in GATES order; None: no document has a defined verdict


@dataclass(frozen=True)
class ValidCounterfactual:
    model: str
    dataset: str
    language: str
    doc_key: int | str
    edit_type: str
    kept: float
    minimality: float
    target_hit: bool
    original: str
    counterfactual: str


@dataclass(frozen=True)
class BlindSpot:
    """Outputs with letters but none in the document's script that the language gate did not flag."""

    model: str
    dataset: str
    missed: int
    documents: int
    by_language: dict[str, int]
    counted_valid: int  # flips no gate stopped


@dataclass(frozen=True)
class WallTime:
    model: str
    seconds: dict[str, float]  # task -> total_evaluation_time_seconds, in the runs' order


@dataclass(frozen=True)
class LanguageValid:
    model: str
    dataset: str
    language: str
    valid: int
    documents: int


@dataclass(frozen=True)
class PremiseMaterial:
    """Premise shares of one model's valid counterfactuals on documents with a premise."""

    model: str
    dataset: str
    shares: dict[str, float]  # "<language> doc <key>" -> premise share, in document order
    above_human_p95: int  # counterfactuals above the 95th percentile of the human revisions


@dataclass(frozen=True)
class HumanPremiseMaterial:
    """Premise shares of CAD's human revisions: what real edits do."""

    revisions: int
    median: float
    p95: float
    maximum: float
    at_least: dict[str, int]  # threshold -> revisions at or above it


@dataclass(frozen=True)
class UnchangedWords:
    """Outputs the copy gate let through that change no word of x (see :func:`same_words`)."""

    model: str
    dataset: str
    documents: int
    same_words: int  # x' has x's words in order: punctuation, spacing or case changed only
    same_without_marks: int  # the same once combining marks are dropped (and not before)
    flipped: int  # of both kinds, the prediction moved
    valid: int  # of both kinds, counted valid
    examples: list[str]  # "<language> doc <key>" of each, in document order


@dataclass(frozen=True)
class Findings:
    protocols: list[str]  # the protocols the records were logged under
    judged_with: str  # the protocol whose gates re-derived them
    accuracy: list[Accuracy]
    endings: list[Endings]
    gates: list[GateCounts]
    valid_counterfactuals: list[ValidCounterfactual]
    blind_spots: list[BlindSpot]
    wall_times: list[WallTime]
    valid_by_language: list[LanguageValid]
    premise_material: list[PremiseMaterial]
    human_premise_material: HumanPremiseMaterial | None  # None: no document has a premise
    unchanged_words: list[UnchangedWords]
    human_unchanged_words: int | None  # CAD revisions that change no word; None: no document has a premise


def accuracy_against_chance(cells: Cells) -> list[Accuracy]:
    rows = []
    for (model, dataset), cell in sorted(cells.items()):
        chance = 1 / len(get_dataset(dataset).labels)
        correct = int(sum(document.values["accuracy"] for document in cell))
        rows.append(Accuracy(model, dataset, len(cell), correct, correct / len(cell), chance,
                             float(binomtest(correct, len(cell), chance).pvalue)))
    return rows


def _truncation_alone(cell: list[Document]) -> TruncationAlone | None:
    stopped = [d.record for d in cell if d.flags["flip"] and fired_gates(d.flags) == ["truncated"]]
    if not stopped:
        return None
    kept = [kept_share(record.original, record.counterfactual) for record in stopped]
    return TruncationAlone(len(stopped), statistics.median(kept), max(kept),
                           sum(ends_before_generation_end(record) for record in stopped))


def how_documents_end(cells: Cells) -> list[Endings]:
    rows = []
    for (model, dataset), cell in sorted(cells.items()):
        flips = [d.flags for d in cell if d.flags["flip"]]
        valid = sum(flags["valid"] for flags in flips)
        stopped = Counter(gate for flags in flips for gate in fired_gates(flags))
        alone = Counter(fired[0] for flags in flips if len(fired := fired_gates(flags)) == 1)
        rows.append(Endings(model, dataset, len(cell), len(flips), valid, len(flips) - valid, len(cell) - len(flips),
                            dict(stopped.most_common()), dict(alone.most_common()), _truncation_alone(cell)))
    return rows


def gate_counts(cells: Cells) -> list[GateCounts]:
    rows = []
    for (model, dataset), cell in sorted(cells.items()):
        counts = {}
        for gate in GATES:
            judged = [d.flags[gate] for d in cell if d.flags.get(gate) is not None]
            counts[gate] = GateCount(sum(judged), len(judged)) if judged else None
        rows.append(GateCounts(model, dataset, counts))
    return rows


def valid_counterfactuals(cells: Cells) -> list[ValidCounterfactual]:
    return [
        ValidCounterfactual(model, dataset, d.language, d.record.doc_key,
                            edit_type(d.record.original, d.record.counterfactual),
                            kept_share(d.record.original, d.record.counterfactual), d.values["minimality"],
                            bool(d.flags["target"]), d.record.original, d.record.counterfactual)
        for (model, dataset), cell in sorted(cells.items()) for d in cell if d.flags["valid"]
    ]


def language_blind_spots(cells: Cells) -> list[BlindSpot]:
    rows = []
    for (model, dataset), cell in sorted(cells.items()):
        missed = [d for d in cell
                  if outside_script(d.language, d.record.counterfactual) and not d.flags.get("language_confused")]
        counted_valid = sum(d.flags["flip"] and not any(d.flags.get(g) for g in GATES) for d in missed)
        languages = Counter(d.language for d in missed)
        rows.append(BlindSpot(model, dataset, len(missed), len(cell), dict(sorted(languages.items())), counted_valid))
    return rows


def wall_times(task_runs, names: dict[str, str]) -> list[WallTime]:
    """Per model (in the order of the recorded names), lm-eval's total_evaluation_time_seconds of each run."""
    return [
        WallTime(names.get(model, model), {
            row.task: float(json.loads(Path(row.results_file).read_text(encoding="utf-8"))["total_evaluation_time_seconds"])
            for row in group.itertuples()})
        for model, group in task_runs.groupby("model", sort=True)
    ]


def valid_by_language(cells: Cells) -> list[LanguageValid]:
    rows = []
    for (model, dataset), cell in sorted(cells.items()):
        languages = sorted({d.language for d in cell})
        rows += [LanguageValid(model, dataset, language, sum(d.flags["valid"] for d in cell if d.language == language),
                               sum(d.language == language for d in cell)) for language in languages]
    return rows


def human_premise_material(cad: Path = SHARED_CAD) -> HumanPremiseMaterial:
    shares = [premise_share(edit.hypothesis, edit.revised_hypothesis, edit.premise) for edit in load_cad(cad)]
    shares = sorted(share for share in shares if share is not None)
    return HumanPremiseMaterial(len(shares), statistics.median(shares), statistics.quantiles(shares, n=20)[-1],
                                shares[-1], {f"{t:.2f}": sum(s >= t for s in shares) for t in (0.25, 0.5, 0.75)})


def unchanged_words(cells: Cells) -> list[UnchangedWords]:
    rows = []
    for (model, dataset), cell in sorted(cells.items()):
        kinds = [(d, same_words(d.record.original, d.record.counterfactual)) for d in cell
                 if d.record.counterfactual is not None and not d.flags["copy"]]
        found = [(d, kind) for d, kind in kinds if kind]
        rows.append(UnchangedWords(model, dataset, len(cell), sum(kind == "words" for _, kind in found),
                                   sum(kind == "words without marks" for _, kind in found),
                                   sum(bool(d.flags["flip"]) for d, _ in found), sum(bool(d.flags["valid"]) for d, _ in found),
                                   [f"{d.language} doc {d.record.doc_key}" for d, _ in found]))
    return rows


def human_unchanged_words(cad: Path = SHARED_CAD) -> int:
    """How many CAD revisions section 9's test would call unchanged: what a gate on it would cost real edits."""
    return sum(same_words(edit.hypothesis, edit.revised_hypothesis) is not None for edit in load_cad(cad))


def _premise(record: Record) -> str | None:
    return (record.context or {}).get("premise")


def premise_material(cells: Cells, human: HumanPremiseMaterial) -> list[PremiseMaterial]:
    rows = []
    for (model, dataset), cell in sorted(cells.items()):
        if not any(_premise(d.record) for d in cell):
            continue
        shares = {f"{d.language} doc {d.record.doc_key}": premise_share(d.record.original, d.record.counterfactual,
                                                                         _premise(d.record))
                  for d in cell if d.flags["valid"] and _premise(d.record)}
        rows.append(PremiseMaterial(model, dataset, shares, sum(s is not None and s > human.p95 for s in shares.values())))
    return rows


def collect(board: Board) -> Findings:
    """The findings of a board, from the newest run of each model x task (as the leaderboard reads them)."""
    problems = Problems()
    runs = load_runs([board.root / board.runs], problems)
    names = display_names(runs.models, board.model_names(), problems)
    cells: Cells = defaultdict(list)
    for run in runs.task_runs.itertuples():
        for record in records(Path(run.samples_file)):
            cells[names.get(run.model, run.model), run.dataset].append(
                Document(run.language, record, gate_flags(record), derive_metrics(record)))
    human = human_premise_material() if any(_premise(d.record) for cell in cells.values() for d in cell) else None
    return Findings(
        protocols=sorted({d.record.protocol for cell in cells.values() for d in cell}),
        judged_with=PROTOCOL_VERSION,
        accuracy=accuracy_against_chance(cells),
        endings=how_documents_end(cells),
        gates=gate_counts(cells),
        valid_counterfactuals=valid_counterfactuals(cells),
        blind_spots=language_blind_spots(cells),
        wall_times=wall_times(runs.task_runs, names),
        valid_by_language=valid_by_language(cells),
        premise_material=premise_material(cells, human) if human else [],
        human_premise_material=human,
        unchanged_words=unchanged_words(cells),
        human_unchanged_words=human_unchanged_words() if human else None,
    )


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {count}" for key, count in counts.items()) or "none"


def _accuracy_text(rows: list[Accuracy]) -> list[str]:
    lines = ["## 1. Accuracy against chance (two-sided binomial test)",
             f"{'model':24} {'dataset':8} {'docs':>5} {'correct':>8} {'accuracy':>9} {'chance':>7} {'p':>9}"]
    for r in rows:
        lines.append(f"{r.model:24} {r.dataset:8} {r.documents:>5} {r.correct:>8} {r.accuracy:>9.3f} {r.chance:>7.3f} "
                     f"{r.p_value:>9.2g}")
    return lines


def _endings_text(rows: list[Endings]) -> list[str]:
    lines = ["\n## 2. How the documents end, and which gates stopped the flips",
             f"{'model':24} {'dataset':8} {'docs':>5} {'flips':>6} {'valid':>6} {'gated':>6} {'no flip':>8}   "
             "gates that fired on flips"]
    for r in rows:
        lines.append(f"{r.model:24} {r.dataset:8} {r.documents:>5} {r.flips:>6} {r.valid:>6} {r.gated:>6} "
                     f"{r.no_flip:>8}   {_counts(r.stopped)} (the only gate: {_counts(r.only_gate)})")
        if (alone := r.truncation_alone) is not None:
            lines.append(f"{'':24} {'':8} flips stopped by truncation alone: {alone.flips}, keeping a median "
                         f"{alone.median_kept:.0%} of x (max {alone.max_kept:.0%}); x' ends before the cut in "
                         f"{alone.ends_before_cut}")
    return lines


def _gates_text(rows: list[GateCounts]) -> list[str]:
    lines = ["\n## 3. Every gate over all documents (fired / judged; undefined verdicts are not judged)",
             f"{'model':24} {'dataset':8} " + " ".join(f"{gate:>18}" for gate in GATES)]
    for r in rows:
        cells = [f"{c.fired:>3}/{c.judged:<3} ({c.fired / c.judged:.0%})" if c else "undefined" for c in r.gates.values()]
        lines.append(f"{r.model:24} {r.dataset:8} " + " ".join(f"{c:>18}" for c in cells))
    return lines


def _valid_text(rows: list[ValidCounterfactual]) -> list[str]:
    lines = ["\n## 4. Every valid counterfactual"]
    for r in rows:
        lines += [f"\n{r.model} | {r.dataset} {r.language} | doc {r.doc_key} | {r.edit_type} | keeps {r.kept:.0%} of x | "
                  f"minimality {r.minimality:.3f} | target {'hit' if r.target_hit else 'missed'}",
                  f"  x : {r.original}", f"  x': {r.counterfactual}"]
    kinds = Counter(r.edit_type for r in rows)
    lines.append(f"\nvalid counterfactuals in all: {len(rows)} ({_counts(dict(kinds.most_common()))})")
    return lines


def _blind_spots_text(rows: list[BlindSpot]) -> list[str]:
    lines = ["\n## 5. The language gate's blind spot: no letter in the document's script, not flagged as confused"]
    for r in rows:
        lines.append(f"{r.model:24} {r.dataset:8} {r.missed:>3} of {r.documents} documents ({_counts(r.by_language)}); "
                     f"counted valid: {r.counted_valid}")
    return lines


def _wall_times_text(rows: list[WallTime]) -> list[str]:
    lines = ["\n## 6. Wall time of the runs (lm-eval's total_evaluation_time_seconds)"]
    for r in rows:
        slowest, fastest = max(r.seconds, key=r.seconds.get), min(r.seconds, key=r.seconds.get)
        lines.append(f"{r.model}: {len(r.seconds)} runs, {sum(r.seconds.values()) / 60:.1f} min in all; "
                     f"slowest {slowest} {r.seconds[slowest]:.0f} s, fastest {fastest} {r.seconds[fastest]:.0f} s")
        lines += [f"  {task:28} {value:6.0f} s" for task, value in sorted(r.seconds.items())]
    return lines


def _valid_by_language_text(rows: list[LanguageValid]) -> list[str]:
    lines = ["\n## 7. Valid counterfactuals per language (valid / documents)"]
    cells = defaultdict(list)
    for r in rows:
        cells[r.model, r.dataset].append(f"{r.language} {r.valid}/{r.documents}")
    lines += [f"{model:24} {dataset:8} " + ", ".join(entries) for (model, dataset), entries in cells.items()]
    return lines


def _premise_text(rows: list[PremiseMaterial], human: HumanPremiseMaterial | None) -> list[str]:
    lines = ["\n## 8. Premise material: share of the words of x' not in x but in the premise (valid counterfactuals)"]
    if human is None:
        return lines + ["no document has a premise"]
    lines.append(f"human CAD revisions: {human.revisions}, median {human.median:.2f}, 95th percentile {human.p95:.2f}, "
                 f"max {human.maximum:.2f}; at or above " + ", ".join(f"{t}: {n}" for t, n in human.at_least.items()))
    for r in rows:
        known = [s for s in r.shares.values() if s is not None]
        median = f"median {statistics.median(known):.2f}" if known else "no valid counterfactual"
        lines.append(f"{r.model:24} {r.dataset:8} {len(r.shares)} valid, {median}, above the human 95th percentile: "
                     f"{r.above_human_p95}" + "".join(f"\n  {key}: {'n/a' if s is None else f'{s:.2f}'}"
                                                      for key, s in r.shares.items()))
    return lines


def _unchanged_words_text(rows: list[UnchangedWords], human: int | None) -> list[str]:
    lines = ["\n## 9. Edits that change no word: not a copy, yet x's words in order (punctuation, spacing or case only)"]
    if human is not None:
        lines.append(f"human CAD revisions that change no word: {human}")
    for r in rows:
        lines.append(f"{r.model:24} {r.dataset:8} {r.same_words + r.same_without_marks} of {r.documents} documents "
                     f"({r.same_words} punctuation, spacing or case only, {r.same_without_marks} also combining marks); "
                     f"flipped {r.flipped}, counted valid {r.valid}" + (f": {', '.join(r.examples)}" if r.examples else ""))
    return lines


def text(findings: Findings) -> str:
    """The findings for reading (leaderboards/README.md quotes it)."""
    lines = []
    if findings.protocols != [findings.judged_with]:
        # The gates are re-derived with this checkout's code; a board made under another
        # protocol was gated differently when it ran, so its logged metrics differ.
        lines += [f"NOTE: records of protocol {', '.join(findings.protocols)} judged with protocol {findings.judged_with}'s "
                  "gates; gate counts and valid counterfactuals differ from the metric values the runs logged", ""]
    for section in (_accuracy_text(findings.accuracy), _endings_text(findings.endings), _gates_text(findings.gates),
                    _valid_text(findings.valid_counterfactuals), _blind_spots_text(findings.blind_spots),
                    _wall_times_text(findings.wall_times), _valid_by_language_text(findings.valid_by_language),
                    _premise_text(findings.premise_material, findings.human_premise_material),
                    _unchanged_words_text(findings.unchanged_words, findings.human_unchanged_words)):
        lines += section
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("board", type=Path)
    parser.add_argument("--json", action="store_true", help="print the findings as one JSON object (the sections' rows)")
    args = parser.parse_args(argv)
    findings = collect(Board.at(args.board))
    if args.json:
        print(json.dumps(asdict(findings), ensure_ascii=False, indent=1))
    else:
        print(text(findings), end="")


if __name__ == "__main__":
    main()

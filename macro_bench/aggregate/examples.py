"""Example documents per model x language: the counterfactuals behind the numbers.

Selection rule (seeded and stratified, never hand-picked). A cell's documents fall into
strata, in this order: ``valid``; ``no_flip`` (invalid although no gate fired: the output
passed every gate but did not change the prediction); then each gate that fired
(:data:`macro_bench.metrics.gate_registry.GATES`, in that order). Each stratum's documents are shuffled by a generator seeded with
SHA-256(seed, dataset, model, language); the examples are then taken round-robin, one
from each non-empty stratum in the order above, until ``per_cell`` are chosen or the
cell runs out. So every cell shows a valid output if it has one and each failure it has
(as far as ``per_cell`` allows), and the same inputs always give the same examples.

Gates are read from the document's metric values in the samples file, which
:func:`macro_bench.metrics.document.derive_metrics` writes from the gates one to one
(1.0: the gate fired, 0.0: it did not, absent: undefined), so no model or task code is
needed here. The texts come from the document's record (``filtered_resps[0]``, a
:class:`macro_bench.record.Record`; one that does not load is shown without its texts), re-read
for the chosen documents only. The record stores label log-likelihoods, not names; the
label names are the record's dataset's labels (:func:`macro_bench.datasets.get_dataset`),
else the continuations of the task's own classification requests (the sample's
``arguments``: XNLI's are sentences, not names), each used only when it names the record's
own prediction at its index, which shows they are the labels in order (else only the
prediction and target can be named).

The word diff tokenizes x and x' with the tokenizer minimality uses
(:mod:`macro_bench.tokenization`) and aligns them with rapidfuzz's Levenshtein opcodes,
so the highlighted tokens are the ones minimality counts.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from rapidfuzz.distance import Levenshtein

from macro_bench.aggregate.problems import Problems
from macro_bench.metrics.gate_registry import GATE_METRICS, GATES
from macro_bench.metrics.validity import predict
from macro_bench.record import Record
from macro_bench.tokenization import comparable_token_texts, tokenize

# The per-document metric that records each flag (derive_metrics' mapping).
FLAG_METRICS = {
    **GATE_METRICS,
    "flip": "flip_rate",
    "target": "target_rate",
    "valid": "valid_rate",
}
STRATA = ("valid", "no_flip", *GATES)
DEFAULT_PER_CELL = 6
# Raw generations are shown for context only; a runaway one must not bloat the page.
GENERATION_SHOWN_AT_MOST = 600


@dataclass(frozen=True)
class Example:
    doc_key: str
    picked_as: str  # the stratum it was drawn from
    flags: dict[str, float]  # flag -> 1.0 fired, 0.0 not, NaN undefined
    original: list[tuple[str, bool]] | None = None  # (text, edited) segments
    counterfactual: list[tuple[str, bool]] | None = None  # None: nothing was extracted
    generation: str = ""
    prediction_before: str = ""
    prediction_after: str = ""
    target: str = ""
    minimality: float = math.nan
    problem: str = ""  # why the record could not be shown

    @property
    def valid(self) -> bool:
        return self.flags.get("valid") == 1.0

    def gate_verdicts(self) -> list[tuple[str, str]]:
        """(gate, 'failed' | 'passed' | 'undefined') for every gate, in order."""
        verdicts = []
        for gate in GATES:
            value = self.flags.get(gate, math.nan)
            verdicts.append((gate, "undefined" if math.isnan(value) else "failed" if value == 1.0 else "passed"))
        return verdicts


def _flags(row) -> dict[str, float]:
    # A run of an older protocol has no column for a gate added since: undefined there.
    return {flag: float(getattr(row, metric, math.nan)) for flag, metric in FLAG_METRICS.items()}


def _strata(flags: dict[str, float]) -> list[str]:
    fired = [gate for gate in GATES if flags[gate] == 1.0]
    if flags["valid"] == 1.0:
        return ["valid"]
    return fired or ["no_flip"]


def _seed(seed: int, *parts: str) -> int:
    digest = hashlib.sha256("\x1f".join([str(seed), *parts]).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little")


def select(cell: pd.DataFrame, per_cell: int, seed: int, dataset: str, model: str, language: str) -> list[tuple[object, str]]:
    """The chosen documents of one cell as (row of ``cell``, stratum), by the module's rule."""
    rng = np.random.default_rng(_seed(seed, dataset, model, language))
    members: dict[str, list] = defaultdict(list)
    for row in cell.sort_values("doc_key", kind="stable").itertuples(index=False):
        for stratum in _strata(_flags(row)):
            members[stratum].append(row)
    queues = {stratum: [members[stratum][i] for i in rng.permutation(len(members[stratum]))] for stratum in STRATA}
    chosen, seen = [], set()
    while len(chosen) < per_cell and any(queues.values()):
        for stratum in STRATA:
            queue = queues[stratum]
            while queue and queue[0].doc_key in seen:
                queue.pop(0)
            if queue and len(chosen) < per_cell:
                row = queue.pop(0)
                seen.add(row.doc_key)
                chosen.append((row, stratum))
    return chosen


def word_diff(original: str, counterfactual: str) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
    """Both texts as (text, edited) segments: replaced and deleted tokens of x, replaced and inserted of x'."""
    source, edited = tokenize(original), tokenize(counterfactual)
    changed_source, changed_edited = set(), set()
    for op in Levenshtein.opcodes(comparable_token_texts(original), comparable_token_texts(counterfactual)):
        if op.tag != "equal":
            changed_source.update(range(op.src_start, op.src_end))
            changed_edited.update(range(op.dest_start, op.dest_end))
    return _segments(original, source, changed_source), _segments(counterfactual, edited, changed_edited)


def _segments(text: str, tokens, changed: set[int]) -> list[tuple[str, bool]]:
    pieces: list[tuple[str, bool]] = []
    position = 0
    for index, token in enumerate(tokens):
        gap = text[position : token.start]
        if gap:
            # The space between two edited tokens belongs to the edit, so a phrase reads as one mark.
            pieces.append((gap, index in changed and index - 1 in changed))
        pieces.append((token.text, index in changed))
        position = token.end
    if text[position:]:
        pieces.append((text[position:], False))
    merged: list[tuple[str, bool]] = []
    for piece, is_changed in pieces:
        if merged and merged[-1][1] == is_changed:
            merged[-1] = (merged[-1][0] + piece, is_changed)
        else:
            merged.append((piece, is_changed))
    return merged


def label_names(sample: dict) -> list[str]:
    """The choices of a multiple-choice sample, as lm-eval's samples file records its requests."""
    arguments = sample.get("arguments")
    if not isinstance(arguments, dict):
        return []
    return [str(arguments[f"gen_args_{i}"].get("arg_1", "")).strip() for i in range(len(arguments)) if f"gen_args_{i}" in arguments]


def _dataset_labels(name) -> list[str]:
    """The label set of a macro-bench dataset, or [] for a dataset this version does not know."""
    from macro_bench.datasets import get_dataset

    try:
        return list(get_dataset(str(name)).labels)
    except KeyError:
        return []


def _prediction_after(record: Record, flags: dict[str, float], choices: list[str]) -> str:
    """M's label for x' (see the module docstring for how labels are named)."""
    logliks = record.label_logliks_counterfactual
    if not logliks:
        return "(not classified: no counterfactual)"
    after = predict(logliks)[0]
    before = predict(record.model_label_logliks)[0]
    for names in (_dataset_labels(record.dataset), choices):
        if len(names) == len(logliks) and names[before] == record.prediction_original:
            return names[after]
    if flags["target"] == 1.0:
        return record.target_label
    if after == before:
        return record.prediction_original
    return f"label #{after} (neither the prediction nor the target)"


def _example(record: Record, choices: list[str], doc_key: str, stratum: str, flags: dict[str, float], minimality: float) -> Example:
    original, counterfactual = record.original, record.counterfactual
    if counterfactual is None:
        segments_x, segments_cf = [(original, False)], None
    else:
        segments_x, segments_cf = word_diff(original, counterfactual)
    generation = record.generation
    if len(generation) > GENERATION_SHOWN_AT_MOST:
        generation = generation[:GENERATION_SHOWN_AT_MOST] + f" [... {len(generation) - GENERATION_SHOWN_AT_MOST} more characters]"
    return Example(
        doc_key=doc_key,
        picked_as=stratum,
        flags=flags,
        original=segments_x,
        counterfactual=segments_cf,
        generation=generation,
        prediction_before=record.prediction_original,
        prediction_after=_prediction_after(record, flags, choices),
        target=record.target_label,
        minimality=minimality,
    )


def read_records(path: Path, rows: set[int]) -> dict[int, tuple[Record, list[str]] | str]:
    """(record, label names) of the given non-empty-line positions of a samples file (an error text where unreadable)."""
    found: dict[int, tuple[Record, list[str]] | str] = {}
    position = -1
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.strip():
                continue
            position += 1
            if position not in rows:
                continue
            try:
                sample = json.loads(line)
                found[position] = (Record.from_json(sample["filtered_resps"][0]), label_names(sample))
            except (ValueError, TypeError, KeyError, IndexError) as err:
                found[position] = f"no readable record in filtered_resps[0] ({type(err).__name__}: {err})"
    return found


def collect(
    shared: pd.DataFrame, task_runs: pd.DataFrame, per_cell: int, seed: int, dataset: str, problems: Problems
) -> dict[tuple[str, str], list[Example]]:
    """Examples for every (model, language) of one dataset's used documents."""
    if per_cell <= 0:
        return {}
    samples_file = {
        (run.model, run.language): Path(run.samples_file) for run in task_runs[task_runs["dataset"] == dataset].itertuples()
    }
    examples: dict[tuple[str, str], list[Example]] = {}
    for (model, language), cell in shared.groupby(["model", "language"], sort=True):
        chosen = select(cell, per_cell, seed, dataset, model, language)
        path = samples_file[(model, language)]
        try:
            records = read_records(path, {int(row.row) for row, _ in chosen})
        except OSError as err:
            problems.warn(f"{path}: unreadable for the examples view ({err})")
            records = {}
        shown = []
        for row, stratum in chosen:
            flags = _flags(row)
            found = records.get(int(row.row), "the samples file could not be read again")
            if isinstance(found, tuple):
                shown.append(_example(*found, str(row.doc_key), stratum, flags, float(row.minimality)))
                continue
            problems.warn(f"{path}: document {row.doc_key}: {found}; shown without its texts")
            shown.append(Example(doc_key=str(row.doc_key), picked_as=stratum, flags=flags, problem=found))
        examples[(model, language)] = shown
    return examples

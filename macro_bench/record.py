"""One document's record: what the second pass measured, the input of every metric.

The second pass (:mod:`macro_bench.second_pass`) builds a :class:`Record` per
document; lm-eval writes :meth:`Record.to_json` to ``--log_samples`` as the
document's first ``filtered_resps``, and everything downstream (the metrics,
:func:`macro_bench.metrics.document.derive_metrics`; the aggregator's examples view;
``leaderboards/findings.py``) reads it back with :meth:`Record.from_json`, so a
samples file can be re-derived without the model.

The JSON keys are the field names, in field order; a sub-record (interventions,
fluency, the language identification) is a nested object. Records of every protocol
in :data:`PROTOCOLS` load. Keys older records lack get explicit defaults
(:data:`ABSENT_BEFORE`) and are left out again when written, so a record read from a
samples file is written back byte for byte. Any other missing, unknown or malformed
field raises :class:`RecordError` naming the field.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any

from macro_bench.language_id import Identification

# Protocol versions whose records load: 2 (the committed CPU board) and 3 (today's).
PROTOCOLS = ("2", "3")
# Optional keys: (value when absent, why a record may lack the key). A record whose
# value is the default is written without the key, as the second pass wrote it.
ABSENT_BEFORE = {
    "context": (None, "added in protocol 3; protocol-2 records have none"),
    "judge_label_logliks": (None, "written only when a judge model classified x"),
}
_NON_FINITE = ("nan", "inf", "-inf")


class RecordError(ValueError):
    """A record that is not one of :data:`PROTOCOLS`' records; the message names the field."""


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _logliks(value: Any) -> bool:
    """A list of label log-likelihoods as logged (:func:`macro_bench.metrics.validity.as_logged`)."""
    return isinstance(value, list) and bool(value) and all(_number(v) or v in _NON_FINITE for v in value)


def _positions(value: Any) -> bool:
    return isinstance(value, list) and all(_integer(v) for v in value)


def _check(where: str, value: Any, valid: bool, expected: str) -> None:
    if not valid:
        shown = repr(value)
        raise RecordError(f"record field {where!r}: expected {expected}, got {shown[:80] + '...' if len(shown) > 80 else shown}")


def _fields(where: str, data: Any, names: tuple[str, ...]) -> dict:
    _check(where or "record", data, isinstance(data, dict), "a JSON object")
    missing = [name for name in names if name not in data]
    unknown = [name for name in data if name not in names]
    for problem, keys in (("missing", missing), ("unknown", unknown)):
        if keys:
            raise RecordError(f"record field {where + '.' + keys[0] if where else keys[0]!r}: {problem}")
    return data


@dataclass(frozen=True)
class InterventionSet:
    """Held-out deletions around one explanation (:mod:`macro_bench.interventions`)."""

    explanation: list[int]
    """Token positions of x (:func:`macro_bench.tokenization.tokenize`) the explanation names."""
    deletions: list[list[int]]
    """The token positions of x deleted by each intervention, sorted."""
    prob_after: list[float]
    """The reference prediction's probability on x with each deletion applied, in order."""

    @classmethod
    def from_dict(cls, data: Any, where: str) -> InterventionSet:
        data = _fields(where, data, ("explanation", "deletions", "prob_after"))
        _check(f"{where}.explanation", data["explanation"], _positions(data["explanation"]), "a list of token positions")
        deletions = data["deletions"]
        _check(f"{where}.deletions", deletions, isinstance(deletions, list) and all(map(_positions, deletions)),
               "a list of lists of token positions")
        after = data["prob_after"]
        _check(f"{where}.prob_after", after, isinstance(after, list) and len(after) == len(deletions)
               and all(map(_number, after)), "one probability per deletion")
        return cls(**data)


@dataclass(frozen=True)
class Interventions:
    """The deletion interventions of a valid counterfactual whose edit E leaves x other content words."""

    explanation: InterventionSet
    """Around E, the tokens x' changed."""
    random: InterventionSet
    """Around a random pseudo-explanation of E's size (the faithfulness baseline)."""

    @classmethod
    def from_dict(cls, data: Any, where: str = "interventions") -> Interventions:
        data = _fields(where, data, ("explanation", "random"))
        return cls(**{name: InterventionSet.from_dict(data[name], f"{where}.{name}") for name in data})


@dataclass(frozen=True)
class Fluency:
    """The fluency scorer's ``loglikelihood_rolling`` of x and x' (:mod:`macro_bench.metrics.fluency`)."""

    loglik_original: float | None
    """Log-likelihood of x; None when it was not finite."""
    tokens_original: int
    """The scorer's tokens in x (no special tokens)."""
    loglik_counterfactual: float | None
    """Log-likelihood of x'; None when it was not finite."""
    tokens_counterfactual: int
    """The scorer's tokens in x'."""

    @classmethod
    def from_dict(cls, data: Any, where: str = "fluency") -> Fluency:
        data = _fields(where, data, tuple(field.name for field in fields(cls)))
        for name, value in data.items():
            if name.startswith("loglik"):
                _check(f"{where}.{name}", value, value is None or _number(value), "a number or null")
            else:
                _check(f"{where}.{name}", value, _integer(value), "an integer")
        return cls(**data)


@dataclass(frozen=True)
class Record:
    """Everything the second pass measured for one document, in the order it measured it."""

    protocol: str
    """The protocol version the record was made under (:data:`macro_bench.protocol.PROTOCOL_VERSION`)."""
    dataset: str
    """The macro-bench dataset (:func:`macro_bench.datasets.get_dataset`)."""
    language: str
    """The document's language code (``eng_Latn``)."""
    doc_key: int | str
    """The document's key, the same in every language of a parallel dataset."""
    original: str
    """x: the field the counterfactual edits (SIB-200: the text; XNLI: the hypothesis)."""
    context: dict[str, str] | None
    """The other fields the generation prompt shows (XNLI: the premise), which x' must not copy;
    None where not logged (protocol 2): the gates then see no other field."""
    gold_label: str
    """The dataset's label for x."""
    model_label_logliks: list[float | str]
    """M's log-likelihood of each label on x, from the task's own requests, as logged
    (:func:`macro_bench.metrics.validity.as_logged`: non-finite values as strings)."""
    prediction_original: str
    """y: M's prediction on x."""
    target_label: str
    """t: the label the counterfactual should make M predict (:func:`macro_bench.protocol.choose_target`)."""
    instruction: str
    """The generation prompt M was given (before any chat template)."""
    generation: str
    """M's raw generation (lone surrogates replaced by U+FFFD)."""
    generation_tokens: int | None
    """The generation re-encoded with M's tokenizer; None when M has no tokenizer."""
    max_gen_toks: int
    """The generation's token limit."""
    counterfactual: str | None
    """x' as extracted from the generation (:func:`macro_bench.extraction.extract_counterfactual`); None: nothing."""
    judge_label_logliks: list[float | str] | None
    """The judge model's label log-likelihoods on x, as logged; None without a judge."""
    label_logliks_counterfactual: list[float | str] | None
    """The classifier's (judge's, else M's) label log-likelihoods on x', as logged; None without x'."""
    language_identified: Identification | None
    """The language identifier's reading of x'; None when there was nothing to identify."""
    interventions: Interventions | None
    """Set for a valid counterfactual whose edit leaves x other content words; else None."""
    fluency: Fluency | None
    """Set for a valid counterfactual when the fluency scorer has a tokenizer; else None."""

    def to_dict(self) -> dict[str, Any]:
        """The record as the JSON object the samples file holds (keys in field order)."""
        out: dict[str, Any] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name in ABSENT_BEFORE and value == ABSENT_BEFORE[field.name][0]:
                continue
            if isinstance(value, Identification):
                value = value._asdict()
            elif isinstance(value, Interventions | Fluency):
                value = asdict(value)
            out[field.name] = value
        return out

    def to_json(self) -> str:
        """The samples file's ``filtered_resps[0]``: :meth:`to_dict` as JSON, non-ASCII kept."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Record:
        try:
            data = json.loads(text)
        except ValueError as err:
            raise RecordError(f"record: not JSON ({err})") from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> Record:
        """The record of a JSON object of any protocol in :data:`PROTOCOLS`, checked field by field."""
        _check("record", data, isinstance(data, dict), "a JSON object")
        _check("protocol", data.get("protocol"), data.get("protocol") in PROTOCOLS,
               f"one of the protocols this version reads ({', '.join(PROTOCOLS)})")
        names = tuple(field.name for field in fields(cls))
        data = _fields("", {**{name: default for name, (default, _) in ABSENT_BEFORE.items()}, **data}, names)
        for name, valid, expected in _CHECKS:
            _check(name, data[name], valid(data[name]), expected)
        identified = data["language_identified"]
        return cls(**{
            **data,
            "language_identified": None if identified is None else Identification(**identified),
            "interventions": None if data["interventions"] is None else Interventions.from_dict(data["interventions"]),
            "fluency": None if data["fluency"] is None else Fluency.from_dict(data["fluency"]),
        })


def _optional(check):
    return lambda value: value is None or check(value)


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _identification(value: Any) -> bool:
    return (isinstance(value, dict) and set(value) == {"label", "confidence"} and isinstance(value["label"], str)
            and _number(value["confidence"]))


# (field, check, what it must be) for every field whose value is stored as is.
_CHECKS = (
    ("dataset", _text, "a dataset name"),
    ("language", _text, "a language code"),
    ("doc_key", lambda value: _integer(value) or isinstance(value, str), "an integer or a string"),
    ("original", _text, "a string"),
    ("context", _optional(lambda value: isinstance(value, dict) and all(map(_text, value.values()))),
     "an object of strings or null"),
    ("gold_label", _text, "a label"),
    ("model_label_logliks", _logliks, "a list of label log-likelihoods"),
    ("prediction_original", _text, "a label"),
    ("target_label", _text, "a label"),
    ("instruction", _text, "a string"),
    ("generation", _text, "a string"),
    ("generation_tokens", _optional(_integer), "an integer or null"),
    ("max_gen_toks", _integer, "an integer"),
    ("counterfactual", _optional(_text), "a string or null"),
    ("judge_label_logliks", _optional(_logliks), "a list of label log-likelihoods"),
    ("label_logliks_counterfactual", _optional(_logliks), "a list of label log-likelihoods or null"),
    ("language_identified", _optional(_identification), "an object with a label and a confidence, or null"),
)

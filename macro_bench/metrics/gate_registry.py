"""The gates, each one object: its name, its per-document metric, its population and its rule.

Everything else is derived from :data:`GATE_REGISTRY`: the gate list :data:`GATES` that
validity requires to pass, the gate metrics' cards in :mod:`macro_bench.metrics.registry`
(and so the task templates' ``metric_list``), the flag-to-metric map :data:`GATE_METRICS`
that :func:`macro_bench.metrics.document.derive_metrics` writes, and the strata of the
examples view (:mod:`macro_bench.aggregate.examples`). Adding a gate is one entry here.

A gate reads the :class:`Evidence` of one document, which
:func:`macro_bench.metrics.document.gate_flags` takes from the logged record. A gate
whose population needs a counterfactual (``generated``, ``judged``) is undefined (None)
for an empty one and is not asked. The rules:

* ``empty``: nothing extracted; ``copy``: x' is x again;
* ``truncated``: x' itself was cut by the token limit: the generation, re-encoded with
  the live model's tokenizer, comes within :func:`truncation_slack` tokens of
  ``max_gen_toks`` (None when the model has no tokenizer: undefined, never guessed)
  **and** x' is where it was cut (:func:`cut_by_limit`): it runs to the end of the
  generation and does not end in a sentence terminator. A model that wrote a complete
  x' and then went on talking until the limit is judged on its x'. Re-encoding gives a few tokens fewer than were generated when a model
  emits non-canonical token splits or stops inside a character: SmolLM2's
  generations cut at 64 tokens re-encoded to 61-63 in the protocol-2 CPU board runs;
* ``not_an_edit`` (against x and the other fields the prompt shows: the XNLI premise),
  ``repetition``, ``prompt_echo``, ``label_statement``: :mod:`macro_bench.metrics.gates`,
  the last two against the instruction's own wording
  (:meth:`macro_bench.datasets.spec.DatasetSpec.instruction_wording`), never x's or the
  premise's words;
* ``label_insertion`` is reported, not a gate (``gating=False``): x' keeps most of x and
  inserts a label word, so its flip may rest on that word;
* ``language_confused``: x' has letters but none in the language's script
  (:func:`macro_bench.language_id.letters_outside_script`), or
  :func:`macro_bench.language_id.is_confused` (None when the identifier cannot judge
  the language, see its calibration table); a non-empty x' with nothing to identify
  (no letter at all) is not text in the language: confused.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import regex

from macro_bench.language_id import Identification, confusion_undefined_reason, is_confused, letters_outside_script
from macro_bench.metrics.gates import (
    is_copy,
    is_empty,
    is_instruction_echo,
    is_label_insertion,
    is_label_statement,
    is_not_an_edit,
    is_repetition,
    normalize_whitespace,
)
from macro_bench.metrics.metric_spec import MetricSpec, Population

TRUNCATION_SLACK_SHARE = 0.05
# What may follow a complete x' at the end of a generation without being more text:
# closing quotes, brackets and markup, list and sentence punctuation.
_CLOSING_CHARACTERS = " \t\n\"'*`»”’)]}>.,;:!?。、"
# A text that ends in a sentence terminator (any script's: . ! ? 。 । ۔ ።), perhaps
# inside closing quotes or brackets, ended; the token limit did not cut it.
_ENDS_COMPLETE = regex.compile(r"\p{Sentence_Terminal}[\p{Pe}\p{Pf}\"'*`\s]*$")
# Populations of documents that have a counterfactual: their gates read its text.
_NEEDS_COUNTERFACTUAL: frozenset[Population] = frozenset({"generated", "judged"})


@dataclass(frozen=True)
class Evidence:
    """What the gates read of one document."""

    original: str
    counterfactual: str | None
    generation: str
    # The generation came within truncation_slack of max_gen_toks; None: no tokenizer counted it.
    at_limit: bool | None
    # The other fields the generation prompt shows (the XNLI premise).
    other_fields: tuple[str, ...]
    language: str
    language_identified: Identification | None
    # The dataset's label words in the document's language.
    label_words: tuple[str, ...]
    # The generation prompt with the document left out.
    instruction_wording: str


@dataclass(frozen=True)
class Gate:
    """One gate: its flag name, the per-document metric that records it, and its rule."""

    name: str
    metric: str
    population: Population
    description: str
    decide: Callable[[Evidence], bool | None]
    # False for a check that is reported but does not make a counterfactual invalid.
    gating: bool = True

    @property
    def metric_spec(self) -> MetricSpec:
        """The metric's card: a 0/1 flag per document, lower is better."""
        return MetricSpec(self.metric, False, self.population, "{0, 1}", self.description)

    def verdict(self, evidence: Evidence) -> bool | None:
        """The gate's flag for one document; None where the document is outside its population."""
        if self.population in _NEEDS_COUNTERFACTUAL and is_empty(evidence.counterfactual):
            return None
        return self.decide(evidence)


def truncation_slack(max_gen_toks: int) -> int:
    """Tokens below the limit that still count as stopped at it: 5% of it, at least 2."""
    return max(2, math.ceil(TRUNCATION_SLACK_SHARE * max_gen_toks))


def cut_by_limit(generation: str, counterfactual: str) -> bool:
    """Whether x' is where a generation that hit the token limit was cut.

    x' was cut when it runs to the end of the generation, with only closing
    characters (quotes, markup, punctuation, spaces) after its first occurrence
    (whitespace-normalized), and does not end in a sentence terminator: a model
    that wrote x' and went on talking, or repeated x' until the limit, completed
    x'. When extraction changed x' so that it cannot be found, it counts as cut:
    a cut generation then counts against x', never the other way round.
    """
    text, wanted = normalize_whitespace(generation), normalize_whitespace(counterfactual)
    at = text.find(wanted)
    if not wanted or at < 0:
        return True
    if text[at + len(wanted):].strip(_CLOSING_CHARACTERS):
        return False
    return _ENDS_COMPLETE.search(wanted) is None


def _truncated(evidence: Evidence) -> bool | None:
    # An empty x' is as truncated as its generation: nothing of it survived the cut.
    if is_empty(evidence.counterfactual):
        return evidence.at_limit
    return evidence.at_limit and cut_by_limit(evidence.generation, evidence.counterfactual)


def _language_confused(evidence: Evidence) -> bool | None:
    if letters_outside_script(evidence.language, evidence.counterfactual):
        return True
    if evidence.language_identified is None:
        # A non-empty answer with nothing to identify (no letter: emoji, marks, U+FFFD)
        # is not text in the document's language, wherever confusion can be judged.
        return True if confusion_undefined_reason(evidence.language) is None else None
    return is_confused(evidence.language, evidence.language_identified)


GATE_REGISTRY: tuple[Gate, ...] = (
    Gate(
        "empty", "empty_rate", "all", "nothing could be extracted from the generation.",
        lambda e: is_empty(e.counterfactual),
    ),
    Gate(
        "copy", "copy_rate", "generated",
        "x' equals x up to whitespace and Unicode canonical equivalence, or holds x unchanged "
        "as one of its lines or inside quotation marks.",
        lambda e: is_copy(e.original, e.counterfactual),
    ),
    Gate(
        "truncated", "truncation_rate", "measured",
        "x' itself was cut by the token limit: the generation reached max_gen_toks (counted "
        "with the live model's tokenizer) and x' runs to its end. A complete x' followed by "
        "more text is not truncated.",
        _truncated,
    ),
    Gate(
        "not_an_edit", "not_an_edit_rate", "generated",
        "x' is not an edit of x: it keeps less than a tenth of x's words (in order), or copies "
        "another field the prompt shows (the XNLI premise); new sentences, label answers in any "
        "language.",
        lambda e: is_not_an_edit(e.original, e.counterfactual, e.other_fields),
    ),
    Gate(
        "repetition", "repetition_rate", "generated",
        "x' loops where x does not: a word or phrase three times in a row, or a span of four "
        "words twice.",
        lambda e: is_repetition(e.original, e.counterfactual),
    ),
    Gate(
        "prompt_echo", "prompt_echo_rate", "generated",
        "x' reproduces the instruction's own wording, or a long span of it; words of x and of "
        "the premise never count.",
        lambda e: is_instruction_echo(e.counterfactual, e.instruction_wording, e.original),
    ),
    Gate(
        "label_statement", "label_statement_rate", "generated",
        "x' names a label that x does not contain and is made mostly of label words and the "
        "instruction's wording: a statement about a label ('1. The topic is \"travel\".', 'No').",
        lambda e: is_label_statement(e.counterfactual, e.original, e.label_words, e.instruction_wording),
    ),
    Gate(
        "label_insertion", "label_insertion_rate", "generated",
        "not a gate: x' keeps at least half of x and inserts a label word x does not contain; "
        "shows how often validity rests on the label word itself.",
        lambda e: is_label_insertion(e.counterfactual, e.original, e.label_words),
        gating=False,
    ),
    Gate(
        "language_confused", "language_confusion_rate", "judged",
        "x' has letters but none in the document's script, or the calibrated language "
        "identifier confidently places it outside the document's language, or it has no "
        "letter at all.",
        _language_confused,
    ),
)

# The gates a valid counterfactual passes, in registry order.
GATES: tuple[str, ...] = tuple(gate.name for gate in GATE_REGISTRY if gate.gating)
# Each flag's per-document metric (derive_metrics' mapping).
GATE_METRICS: dict[str, str] = {gate.name: gate.metric for gate in GATE_REGISTRY}

"""From one document's logged record to its gates and metric values: the one place metrics are derived.

The second pass (:mod:`macro_bench.second_pass`) makes the model calls and logs what
it measured as a record (the JSON in ``filtered_resps[0]`` of ``--log_samples``).
:func:`derive_metrics` turns a record into the per-document values of
:mod:`macro_bench.metrics.registry`; lm-eval aggregates them per task, and the
aggregator can recompute them from a samples file without the model. A metric that is
undefined for a document (outside its population, see the registry) is left out of
the returned dict, never reported as 0.

Gates (:func:`gate_flags`), each read from the record alone:

* ``empty``: nothing extracted; ``copy``: x' is x again;
* ``truncated``: x' itself was cut by the token limit: the generation, re-encoded with
  the live model's tokenizer, comes within :func:`truncation_slack` tokens of
  ``max_gen_toks`` (None when the model has no tokenizer: undefined, never guessed)
  **and** x' is where it was cut (:func:`cut_by_limit`): it runs to the end of the
  generation and does not end in a sentence terminator. A model that wrote a complete
  x' and then went on talking until the limit is judged on its x'. Re-encoding gives a few tokens fewer than were generated when a model
  emits non-canonical token splits or stops inside a character: SmolLM2's
  generations cut at 64 tokens re-encoded to 61-63 in the protocol-2 CPU board runs;
* ``not_an_edit`` (against x and the record's ``context``, the other fields the
  prompt shows: the XNLI premise), ``repetition``, ``prompt_echo``,
  ``label_statement``: :mod:`macro_bench.metrics.gates`, the last two against the instruction's own
  wording (:meth:`macro_bench.datasets.DatasetSpec.instruction_wording`), never x's
  or the premise's words;
* ``language_confused``: x' has letters but none in the language's script
  (:func:`macro_bench.language_id.letters_outside_script`), or
  :func:`macro_bench.language_id.is_confused` (None when the identifier cannot judge
  the language, see its calibration table); a non-empty x' with nothing to identify
  (no letter at all) is not text in the language: confused.

``valid`` = M(x') != y and no gate fired (an undefined gate does not fire).
"""

from __future__ import annotations

import json
import math

import regex

from macro_bench.datasets import get_dataset
from macro_bench.language_id import Identification, confusion_undefined_reason, is_confused, letters_outside_script
from macro_bench.languages import get_language
from macro_bench.metrics.faithfulness import faithfulness
from macro_bench.metrics.fluency import log_perplexity_ratio
from macro_bench.metrics.gates import (
    is_copy,
    is_empty,
    is_label_insertion,
    is_label_statement,
    is_not_an_edit,
    is_instruction_echo,
    is_repetition,
    normalize_whitespace,
)
from macro_bench.metrics.minimality import Minimality
from macro_bench.metrics.similarity import similarity
from macro_bench.metrics.validity import predict

TRUNCATION_SLACK_SHARE = 0.05
GATES = ("empty", "copy", "truncated", "not_an_edit", "repetition", "prompt_echo", "label_statement", "language_confused")
# The per-document metric that records each flag; label_insertion is reported, not a gate.
GATE_METRICS = {
    "empty": "empty_rate",
    "copy": "copy_rate",
    "truncated": "truncation_rate",
    "not_an_edit": "not_an_edit_rate",
    "repetition": "repetition_rate",
    "prompt_echo": "prompt_echo_rate",
    "label_statement": "label_statement_rate",
    "language_confused": "language_confusion_rate",
    "label_insertion": "label_insertion_rate",
}
# What may follow a complete x' at the end of a generation without being more text:
# closing quotes, brackets and markup, list and sentence punctuation.
_CLOSING_CHARACTERS = " \t\n\"'*`»”’)]}>.,;:!?。、"
# A text that ends in a sentence terminator (any script's: . ! ? 。 । ۔ ።), perhaps
# inside closing quotes or brackets, ended; the token limit did not cut it.
_ENDS_COMPLETE = regex.compile(r"\p{Sentence_Terminal}[\p{Pe}\p{Pf}\"'*`\s]*$")

_MINIMALITY = Minimality()


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


def reference_prediction(record: dict) -> tuple[int, list[float]]:
    """The prediction on x that validity and faithfulness compare against: the judge's if any, else M's."""
    return predict(record.get("judge_label_logliks") or record["model_label_logliks"])


def gate_flags(record: dict) -> dict[str, bool | None]:
    """Every gate's verdict, ``flip``, ``label_insertion`` and ``valid`` for one record."""
    dataset = get_dataset(record["dataset"])
    labels, label_words = dataset.labels, dataset.label_words(record["language"])
    original, counterfactual = record["original"], record["counterfactual"]
    empty = is_empty(counterfactual)
    flags: dict[str, bool | None] = {"empty": empty}
    generated_tokens = record.get("generation_tokens")
    limit = record["max_gen_toks"]
    at_limit = None if generated_tokens is None else generated_tokens >= limit - truncation_slack(limit)
    if empty:
        flags["truncated"] = at_limit
        flags.update(copy=None, not_an_edit=None, repetition=None, prompt_echo=None, label_statement=None, label_insertion=None,
                     language_confused=None)
        flags.update(flip=False, target=False, valid=False)
        return flags
    flags["truncated"] = at_limit and cut_by_limit(record["generation"], counterfactual)
    wording = dataset.instruction_wording(
        record["prediction_original"], record["target_label"], get_language(record["language"]).name
    )
    flags["copy"] = is_copy(original, counterfactual)
    flags["not_an_edit"] = is_not_an_edit(original, counterfactual, record.get("context", {}).values())
    flags["repetition"] = is_repetition(original, counterfactual)
    flags["prompt_echo"] = is_instruction_echo(counterfactual, wording, original)
    flags["label_statement"] = is_label_statement(counterfactual, original, label_words, wording)
    flags["label_insertion"] = is_label_insertion(counterfactual, original, label_words)
    flags["language_confused"] = _language_confused(record["language"], counterfactual, record["language_identified"])
    counterfactual_prediction = predict(record["label_logliks_counterfactual"])[0]
    flags["flip"] = counterfactual_prediction != reference_prediction(record)[0]
    flags["target"] = labels[counterfactual_prediction] == record["target_label"]
    flags["valid"] = flags["flip"] and not any(flags[gate] for gate in GATES)
    return flags


def _language_confused(language: str, counterfactual: str, identified: dict | None) -> bool | None:
    if letters_outside_script(language, counterfactual):
        return True
    if identified is None:
        # A non-empty answer with nothing to identify (no letter: emoji, marks, U+FFFD)
        # is not text in the document's language, wherever confusion can be judged.
        return True if confusion_undefined_reason(language) is None else None
    return is_confused(language, Identification(**identified))


def derive_metrics(record: dict) -> dict[str, float]:
    """The per-document metric values of one record (see the module docstring)."""
    labels = get_dataset(record["dataset"]).labels
    flags = gate_flags(record)
    values = {
        "accuracy": float(labels[predict(record["model_label_logliks"])[0]] == record["gold_label"]),
        "flip_rate": float(flags["flip"]),
        "target_rate": float(flags["target"]),
        "valid_rate": float(flags["valid"]),
        "valid_target_rate": float(flags["valid"] and flags["target"]),
        "empty_rate": float(flags["empty"]),
    }
    for gate, metric in GATE_METRICS.items():
        if gate != "empty" and flags[gate] is not None:
            values[metric] = float(flags[gate])
    values["score"] = 0.0
    values["faithfulness_coverage"] = 0.0
    if not flags["valid"]:
        return values

    original, counterfactual = record["original"], record["counterfactual"]
    minimality = _MINIMALITY(original, counterfactual).score
    values["minimality"] = minimality
    values["score"] = 1.0 - minimality
    values["similarity"] = similarity(original, counterfactual)
    measured = record.get("fluency")
    if measured and measured["loglik_original"] is not None and measured["loglik_counterfactual"] is not None:
        ratio = log_perplexity_ratio(
            measured["loglik_original"],
            measured["tokens_original"],
            measured["loglik_counterfactual"],
            measured["tokens_counterfactual"],
        )
        if ratio is not None:
            values["fluency"] = ratio
    if record.get("interventions"):
        reference_label, reference_probs = reference_prediction(record)
        scores = {}
        for name, metric in (("explanation", "faithfulness"), ("random", "faithfulness_random")):
            measured = record["interventions"][name]
            before = reference_probs[reference_label]
            scores[metric] = faithfulness(
                [frozenset(deleted) for deleted in measured["deletions"]],
                [before - after for after in measured["prob_after"]],
                frozenset(measured["explanation"]),
            )
        if scores["faithfulness"] is not None:
            values["faithfulness"] = scores["faithfulness"]
            values["faithfulness_coverage"] = 1.0
            if scores["faithfulness_random"] is not None:
                values["faithfulness_random"] = scores["faithfulness_random"]
    return values


def process_results(doc: dict, results: list) -> dict[str, float]:
    """lm-eval ``process_results``: ``results[0]`` is the record the second pass logged."""
    return derive_metrics(json.loads(results[0]))

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
* ``truncated``: the generation, re-encoded with the live model's tokenizer, comes
  within :func:`truncation_slack` tokens of ``max_gen_toks`` (None when the model has
  no tokenizer: undefined, never guessed). Re-encoding gives a few tokens fewer than
  were generated when a model emits non-canonical token splits or stops inside a
  character: SmolLM2's generations cut at 64 tokens re-encoded to 61-63 in the
  protocol-2 CPU board runs, and 4 of those were repetition loops that passed as valid;
* ``prompt_echo``, ``label_statement``: :mod:`macro_bench.metrics.gates`;
* ``language_confused``: :func:`macro_bench.language_id.is_confused` (None when the
  identifier cannot judge the language, see its calibration table); a non-empty x'
  with nothing to identify (no letter at all) is not text in the language: confused.

``valid`` = M(x') != y and no gate fired (an undefined gate does not fire).
"""

from __future__ import annotations

import json
import math

from macro_bench.datasets import get_dataset
from macro_bench.language_id import Identification, confusion_undefined_reason, is_confused
from macro_bench.metrics.faithfulness import faithfulness
from macro_bench.metrics.fluency import log_perplexity_ratio
from macro_bench.metrics.gates import is_copy, is_empty, is_label_insertion, is_label_statement, is_prompt_echo
from macro_bench.metrics.minimality import Minimality
from macro_bench.metrics.similarity import similarity
from macro_bench.metrics.validity import predict

TRUNCATION_SLACK_SHARE = 0.05
GATES = ("empty", "copy", "truncated", "prompt_echo", "label_statement", "language_confused")

_MINIMALITY = Minimality()


def truncation_slack(max_gen_toks: int) -> int:
    """Tokens below the limit that still count as stopped at it: 5% of it, at least 2."""
    return max(2, math.ceil(TRUNCATION_SLACK_SHARE * max_gen_toks))


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
    flags["truncated"] = None if generated_tokens is None else generated_tokens >= limit - truncation_slack(limit)
    if empty:
        flags.update(copy=None, prompt_echo=None, label_statement=None, label_insertion=None, language_confused=None)
        flags.update(flip=False, target=False, valid=False)
        return flags
    flags["copy"] = is_copy(original, counterfactual)
    flags["prompt_echo"] = is_prompt_echo(counterfactual, record["instruction"], original)
    flags["label_statement"] = is_label_statement(counterfactual, original, label_words)
    flags["label_insertion"] = is_label_insertion(counterfactual, original, label_words)
    identified = record["language_identified"]
    if identified is None:
        # A non-empty answer with nothing to identify (no letter: emoji, marks, U+FFFD)
        # is not text in the document's language, wherever confusion can be judged.
        flags["language_confused"] = True if confusion_undefined_reason(record["language"]) is None else None
    else:
        flags["language_confused"] = is_confused(record["language"], Identification(**identified))
    counterfactual_prediction = predict(record["label_logliks_counterfactual"])[0]
    flags["flip"] = counterfactual_prediction != reference_prediction(record)[0]
    flags["target"] = labels[counterfactual_prediction] == record["target_label"]
    flags["valid"] = flags["flip"] and not any(flags[gate] for gate in GATES)
    return flags


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
    for gate, metric in (
        ("copy", "copy_rate"),
        ("truncated", "truncation_rate"),
        ("prompt_echo", "prompt_echo_rate"),
        ("label_statement", "label_statement_rate"),
        ("label_insertion", "label_insertion_rate"),
        ("language_confused", "language_confusion_rate"),
    ):
        if flags[gate] is not None:
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

"""From one document's logged record to its gates and metric values: the one place metrics are derived.

The second pass (:mod:`macro_bench.second_pass`) makes the model calls and logs what
it measured as a record (the JSON in ``filtered_resps[0]`` of ``--log_samples``).
:func:`derive_metrics` turns a record into the per-document values of
:mod:`macro_bench.metrics.registry`; lm-eval aggregates them per task, and the
aggregator can recompute them from a samples file without the model. A metric that is
undefined for a document (outside its population, see the registry) is left out of
the returned dict, never reported as 0.

Gates (:func:`gate_flags`), each read from the record alone: the rules and their
populations are the entries of :data:`macro_bench.metrics.gate_registry.GATE_REGISTRY`.

``valid`` = M(x') != y and no gate fired (an undefined gate does not fire).
"""

from __future__ import annotations

from macro_bench.datasets import get_dataset
from macro_bench.languages import get_language
from macro_bench.metrics.faithfulness import faithfulness
from macro_bench.metrics.fluency import log_perplexity_ratio
from macro_bench.metrics.gate_registry import GATE_METRICS, GATE_REGISTRY, GATES, Evidence, truncation_slack
from macro_bench.metrics.gates import is_empty
from macro_bench.metrics.minimality import Minimality
from macro_bench.metrics.similarity import similarity
from macro_bench.metrics.validity import predict
from macro_bench.record import Record

_MINIMALITY = Minimality()


def reference_prediction(record: Record) -> tuple[int, list[float]]:
    """The prediction on x that validity and faithfulness compare against: the judge's if any, else M's."""
    return predict(record.judge_label_logliks or record.model_label_logliks)


def gate_flags(record: Record) -> dict[str, bool | None]:
    """Every gate's verdict, ``flip``, ``label_insertion`` and ``valid`` for one record."""
    dataset = get_dataset(record.dataset)
    generated_tokens, limit = record.generation_tokens, record.max_gen_toks
    evidence = Evidence(
        original=record.original,
        counterfactual=record.counterfactual,
        generation=record.generation,
        at_limit=None if generated_tokens is None else generated_tokens >= limit - truncation_slack(limit),
        other_fields=tuple((record.context or {}).values()),
        language=record.language,
        language_identified=record.language_identified,
        label_words=dataset.label_words(record.language),
        instruction_wording=dataset.instruction_wording(
            record.prediction_original, record.target_label, get_language(record.language).name
        ),
    )
    flags: dict[str, bool | None] = {gate.name: gate.verdict(evidence) for gate in GATE_REGISTRY}
    if is_empty(evidence.counterfactual):
        flags.update(flip=False, target=False, valid=False)
        return flags
    counterfactual_prediction = predict(record.label_logliks_counterfactual)[0]
    flags["flip"] = counterfactual_prediction != reference_prediction(record)[0]
    flags["target"] = dataset.labels[counterfactual_prediction] == record.target_label
    flags["valid"] = flags["flip"] and not any(flags[gate] for gate in GATES)
    return flags


def derive_metrics(record: Record) -> dict[str, float]:
    """The per-document metric values of one record (see the module docstring)."""
    labels = get_dataset(record.dataset).labels
    flags = gate_flags(record)
    values = {
        "accuracy": float(labels[predict(record.model_label_logliks)[0]] == record.gold_label),
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

    original, counterfactual = record.original, record.counterfactual
    minimality = _MINIMALITY(original, counterfactual).score
    values["minimality"] = minimality
    values["score"] = 1.0 - minimality
    values["similarity"] = similarity(original, counterfactual)
    fluency = record.fluency
    if fluency and fluency.loglik_original is not None and fluency.loglik_counterfactual is not None:
        ratio = log_perplexity_ratio(
            fluency.loglik_original, fluency.tokens_original, fluency.loglik_counterfactual, fluency.tokens_counterfactual
        )
        if ratio is not None:
            values["fluency"] = ratio
    if record.interventions:
        reference_label, reference_probs = reference_prediction(record)
        scores = {}
        measured_sets = (record.interventions.explanation, record.interventions.random)
        for measured, metric in zip(measured_sets, ("faithfulness", "faithfulness_random"), strict=True):
            before = reference_probs[reference_label]
            scores[metric] = faithfulness(
                [frozenset(deleted) for deleted in measured.deletions],
                [before - after for after in measured.prob_after],
                frozenset(measured.explanation),
            )
        if scores["faithfulness"] is not None:
            values["faithfulness"] = scores["faithfulness"]
            values["faithfulness_coverage"] = 1.0
            if scores["faithfulness_random"] is not None:
                values["faithfulness_random"] = scores["faithfulness_random"]
    return values


def process_results(doc: dict, results: list) -> dict[str, float]:
    """lm-eval ``process_results``: ``results[0]`` is the record the second pass logged."""
    return derive_metrics(Record.from_json(results[0]))

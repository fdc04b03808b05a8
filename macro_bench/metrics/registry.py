"""The metric registry: every metric macro-bench reports, defined once.

Everything else reads this table: the task template's ``metric_list`` is generated
from it (``python -m macro_bench.task_configs``), the aggregator takes its metric
specs from it, and :func:`macro_bench.metrics.document.derive_metrics` returns
exactly these names. Each entry is a small metric card (Hugging Face ``evaluate``
style): what is measured per document, over which documents it is averaged, its
range and its direction. The gate metrics' cards are the gates' own
(:data:`macro_bench.metrics.gate_registry.GATE_REGISTRY`), in its order.

Populations. A metric is averaged over one of these sets of documents, and a
document outside the set contributes nothing (it is left out, never counted as 0):

* ``all``: every document of the task;
* ``generated``: documents whose counterfactual is not empty (the gates that read
  the counterfactual's text need one);
* ``judged``: non-empty counterfactuals, in languages whose confusion the calibrated
  identifier can judge (all 205 today, see :mod:`macro_bench.language_id`);
* ``measured``: as ``all``, but only in runs whose model has a tokenizer to count
  generated tokens with (otherwise truncation is undefined for the whole run);
* ``valid``: valid counterfactuals (they flip the prediction and pass every gate);
* ``faithfulness``: valid counterfactuals whose edit E holds at least one and fewer
  than all content tokens of the original.
"""

from __future__ import annotations

from macro_bench.metrics.gate_registry import GATE_REGISTRY
from macro_bench.metrics.metric_spec import MetricSpec

METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "score", True, "all", "[0, 1]",
        "valid x (1 - minimality), 0 for an invalid counterfactual: the ranking score. A model "
        "earns nothing for invalid outputs and cannot hide behind a few good ones.",
    ),
    MetricSpec(
        "valid_rate", True, "all", "{0, 1}",
        "the counterfactual flips the model's prediction (M(x') != y) and passes every gate "
        "(not empty, not a copy, not cut off, an edit of x, no loop, not a prompt echo, not a "
        "label statement, in the document's language).",
    ),
    MetricSpec(
        "valid_target_rate", True, "all", "{0, 1}",
        "valid, and the model predicts the requested target on it (M(x') = t).",
    ),
    MetricSpec(
        "flip_rate", True, "all", "{0, 1}",
        "UNGATED, for comparison with papers: M(x') != y, whatever x' is; an empty output "
        "is not a flip.",
    ),
    MetricSpec(
        "target_rate", True, "all", "{0, 1}",
        "UNGATED, for comparison with papers: M(x') = t, whatever x' is.",
    ),
    *(gate.metric_spec for gate in GATE_REGISTRY),
    MetricSpec(
        "minimality", False, "valid", "[0, 1]",
        "token Levenshtein distance between x and x' over the longer token count.",
    ),
    MetricSpec(
        "similarity", True, "valid", "[0, 100]",
        "chrF between x' and x (sacrebleu); needs no tokenizer, so it compares across scripts.",
    ),
    MetricSpec(
        "fluency", False, "valid", "[-ln 10, ln 10]",
        "log perplexity ratio per scorer token, log PPL(x') - log PPL(x), clipped; 0 = as "
        "fluent as x. Self-scored (no fluency_lm): not comparable across models.",
    ),
    MetricSpec(
        "faithfulness", True, "faithfulness", "[-1, 1]",
        "Spearman correlation, over held-out deletion interventions stratified by how much of "
        "the edit E they delete, between that share and the drop in p(y).",
    ),
    MetricSpec(
        "faithfulness_random", True, "faithfulness", "[-1, 1]",
        "chance baseline: the same computation with a seeded random pseudo-explanation of E's "
        "size in place of E.",
        is_baseline=True,
    ),
    MetricSpec(
        "faithfulness_coverage", True, "all", "{0, 1}",
        "faithfulness is defined for the document (valid, and E is neither empty nor all of x).",
    ),
    MetricSpec("accuracy", True, "all", "{0, 1}", "M(x) = gold label; equals lm-eval's own task's acc."),
)

BY_NAME: dict[str, MetricSpec] = {spec.name: spec for spec in METRICS}
NAMES: tuple[str, ...] = tuple(spec.name for spec in METRICS)


def metric_list_yaml() -> str:
    """The ``metric_list`` block of a task template, in registry order."""
    lines = ["metric_list:"]
    for spec in METRICS:
        lines += [
            f"  - metric: {spec.name}",
            f"    aggregation: {spec.aggregation}",
            f"    higher_is_better: {str(spec.higher_is_better).lower()}",
        ]
    return "\n".join(lines) + "\n"

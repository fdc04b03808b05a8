"""The aggregator's view of :mod:`macro_bench.metrics.registry`: report order and groupings.

Every name, direction, population and card comes from the registry, which also
generates the task template's ``metric_list``; nothing is restated here. What the
aggregator adds is only the order of its columns: the ranking score first, its two
components (``valid_rate``, ``minimality``) beside it, then the registry's order.
Loading checks each run's recorded ``higher_is_better`` against the registry, so a task
that changes a metric's direction is reported instead of being ranked backwards.
"""

from __future__ import annotations

from macro_bench.metrics.registry import BY_NAME, METRICS, MetricSpec

SCORE = "score"
SCORE_COMPONENTS = ("valid_rate", "minimality")
FLUENCY = "fluency"

REPORTED: tuple[MetricSpec, ...] = (
    BY_NAME[SCORE],
    *(BY_NAME[name] for name in SCORE_COMPONENTS),
    *(spec for spec in METRICS if spec.name not in (SCORE, *SCORE_COMPONENTS)),
)
REPORTED_NAMES: tuple[str, ...] = tuple(spec.name for spec in REPORTED)
# Metrics averaged over a subset of the documents: their tables show how many.
CONDITIONAL: frozenset[str] = frozenset(spec.name for spec in REPORTED if spec.population != "all")

__all__ = ["BY_NAME", "CONDITIONAL", "FLUENCY", "REPORTED", "REPORTED_NAMES", "SCORE", "SCORE_COMPONENTS", "MetricSpec"]

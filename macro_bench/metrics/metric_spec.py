"""The metric card type, apart from the tables that use it.

:mod:`macro_bench.metrics.registry` lists every metric's card and
:mod:`macro_bench.metrics.gate_registry` declares the cards of the gate metrics, so the
card type lives in neither (the registry reads the gate registry).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# The sets of documents a metric is averaged over; see :mod:`macro_bench.metrics.registry`.
Population = Literal["all", "generated", "judged", "measured", "valid", "faithfulness"]


@dataclass(frozen=True)
class MetricSpec:
    """One metric's card. ``aggregation`` is always the mean over ``population``."""

    name: str
    higher_is_better: bool
    population: Population
    value_range: str
    description: str
    # A baseline (faithfulness_random) shows what chance looks like; it has no better side,
    # so reports show it without a direction. lm-eval's metric_list still needs a boolean.
    is_baseline: bool = False

    @property
    def aggregation(self) -> str:
        return "mean"

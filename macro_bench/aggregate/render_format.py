"""Number and label formatting shared by the report builder and the writers."""

from __future__ import annotations

import math

from macro_bench.aggregate.metric_specs import BY_NAME, FLUENCY
from macro_bench.aggregate.signatures import SELF_SCORED_NOTE


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value: float, digits: int = 3) -> str:
    return "n/a" if _missing(value) else f"{value:.{digits}f}"


def with_interval(value: float, low: float, high: float) -> str:
    return "n/a" if _missing(value) else f"{number(value)} [{number(low)}, {number(high)}]"


def interval(low: float, high: float) -> str:
    return "" if _missing(low) else f"[{number(low)}, {number(high)}]"


def signed(value: float) -> str:
    if _missing(value):
        return "n/a"
    # Differences that round to zero print as 0.000, not as -0.000.
    return "0.000" if round(value, 3) == 0 else f"{value:+.3f}"


def pvalue(value: float) -> str:
    if _missing(value):
        return "n/a"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def arrow(metric: str) -> str:
    """↑ or ↓ for the better side; nothing for a baseline, which has none."""
    spec = BY_NAME[metric]
    if spec.is_baseline:
        return ""
    return "↑" if spec.higher_is_better else "↓"


def metric_label(metric: str, self_scored: bool = False) -> str:
    """The metric's column header; self-scored fluency carries its warning with it."""
    label = f"{metric} {arrow(metric)}".rstrip()
    return f"{label} ({SELF_SCORED_NOTE})" if self_scored and metric == FLUENCY else label

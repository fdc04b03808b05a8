"""From replicate arrays to tidy tables of point estimate and interval."""

from __future__ import annotations

import numpy as np
import pandas as pd

from macro_bench.aggregate.bootstrap import percentile_interval
from macro_bench.aggregate.metric_specs import MetricSpec


def summarize(stats: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row 0 is the observed value, the other rows bootstrap replicates."""
    low, high = percentile_interval(stats[1:], confidence)
    return stats[0], low, high


def tidy(
    spec: MetricSpec,
    stats: np.ndarray,
    axes: list[tuple[str, list]],
    confidence: float,
    prefix: str = "",
    **counts: np.ndarray,
) -> pd.DataFrame:
    """One row per cell of ``stats[0]`` with its labels, value and interval.

    ``axes`` names each axis after the replicate axis and lists its labels; ``counts``
    are extra arrays of the same cell shape (numbers of documents, languages...).
    """
    value, low, high = summarize(stats, confidence)
    grids = np.meshgrid(*[np.asarray(labels, dtype=object) for _, labels in axes], indexing="ij")
    columns = {name: grid.ravel() for (name, _), grid in zip(axes, grids, strict=True)}
    columns["metric"] = spec.name
    columns[f"{prefix}value"] = value.ravel()
    columns[f"{prefix}ci_low"] = low.ravel()
    columns[f"{prefix}ci_high"] = high.ravel()
    for name, count in counts.items():
        columns[name] = np.broadcast_to(count, value.shape).ravel().astype(np.int64)
    return pd.DataFrame(columns)

"""Resampling statistics: bootstrap weights, percentile intervals, sign-flip p-values.

Resampling is over the documents of one dataset, identified by their ``doc_key``. One
weight matrix serves every model and language: row ``r`` says how often each document is
drawn in replicate ``r``, and a group's replicate is its weighted mean (a matrix product),
so no Python loop runs per document or per group. Because the datasets are parallel
corpora, the same ``doc_key`` is the same document in every language; drawing it jointly everywhere
is a cluster bootstrap that keeps the correlation between languages and between models,
which makes family averages' intervals honest and model differences paired.

Row 0 of every weight matrix is the observed sample (all weights 1, no sign flips), so
point estimates go through the same code as their replicates.
"""

from __future__ import annotations

import numpy as np


def bootstrap_weights(n_documents: int, n_resamples: int, seed: int) -> np.ndarray:
    """(1 + n_resamples, n_documents) draw counts; row 0 is the observed sample."""
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n_documents, np.full(n_documents, 1.0 / n_documents), size=n_resamples)
    return np.vstack([np.ones((1, n_documents)), draws]).astype(np.float64)


def sign_flips(n_documents: int, n_resamples: int, seed: int) -> np.ndarray:
    """(1 + n_resamples, n_documents) of +1/-1; row 0 is the observed labelling.

    Flipping the sign of document d's paired difference swaps which model is called A
    on that document: under the null hypothesis that the two models are exchangeable,
    every flip pattern is as likely as the observed one.
    """
    rng = np.random.default_rng(seed)
    flips = rng.integers(0, 2, size=(n_resamples, n_documents), dtype=np.int8) * 2 - 1
    return np.vstack([np.ones((1, n_documents)), flips]).astype(np.float64)


def nan_quantiles(replicates: np.ndarray, probabilities: list[float]) -> np.ndarray:
    """Quantiles along axis 0 ignoring NaN, as numpy's default (linear) method.

    np.nanquantile loops in Python over columns; sorting once (NaN sort last) and
    interpolating at per-column positions keeps this a few array operations.
    """
    ordered = np.sort(replicates, axis=0)
    n_valid = (~np.isnan(ordered)).sum(axis=0)
    out = np.full((len(probabilities), *replicates.shape[1:]), np.nan)
    has_values = n_valid > 0
    for row, probability in enumerate(probabilities):
        position = probability * np.maximum(n_valid - 1, 0)
        below = np.floor(position).astype(np.int64)
        above = np.minimum(below + 1, np.maximum(n_valid - 1, 0))
        low = np.take_along_axis(ordered, below[None], axis=0)[0]
        high = np.take_along_axis(ordered, above[None], axis=0)[0]
        value = low + (high - low) * (position - below)
        out[row] = np.where(has_values, value, np.nan)
    return out


def percentile_interval(replicates: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval from replicates (rows; row 0 excluded by the caller)."""
    tail = (1.0 - confidence) / 2.0
    low, high = nan_quantiles(replicates, [tail, 1.0 - tail])
    return low, high


def two_sided_pvalues(statistics: np.ndarray) -> np.ndarray:
    """Two-sided Monte Carlo p-values from sign-flip statistics; row 0 is observed.

    Same definition as scipy.stats.permutation_test for random resamples: each side's
    p is (count of null values at least as extreme + 1) / (resamples + 1), the two-sided
    p is twice the smaller side, capped at 1. The relative tolerance keeps ties (common
    with 0/1 metrics) on the conservative side despite floating-point sums.
    """
    observed, null = statistics[0], statistics[1:]
    tolerance = np.abs(observed) * 1e-12 + 1e-15
    n = null.shape[0]
    greater = ((null >= observed - tolerance).sum(axis=0) + 1) / (n + 1)
    less = ((null <= observed + tolerance).sum(axis=0) + 1) / (n + 1)
    pvalues = np.minimum(1.0, 2.0 * np.minimum(greater, less))
    return np.where(np.isnan(observed), np.nan, pvalues)

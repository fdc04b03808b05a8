"""Simulation behind faithfulness 2's K and strata: defined rate, mean and power per design.

Simulated documents: n content tokens uniform in 8..40, |E| = round(f n) with f
uniform in (0, 1), clipped to 1..n-1 (from one token to all but one: the testable
range). Each intervention deletes m = deletion_size(n) content tokens. Simulated
model: token i has sensitivity a_i = d * 1[i in E] + N(0, 1), and intervention k
has outcome o_k = mean of a_i over S_k + N(0, 0.5). d = 0 is a model that E does not
explain (the null); d > 0 one whose edited tokens matter d standard deviations more.

Designs, for each K:
* ``strata5``: the shipped design, strata 0, 1/4, 1/2, 3/4, 1 (macro_bench.interventions).
* ``strata3``: strata 0, 1/2, 1.   * ``extremes``: strata 0 and 1 only.
* ``protocol1``: K random deletions of m content tokens, Pearson of |S_k ∩ E| with o_k
  (the old design, here without punctuation; undefined documents are left out).

Per design it prints the share of documents where faithfulness is defined, the mean
faithfulness under the null and under d, the mean of the chance baseline
(``faithfulness_random``: a random pseudo-explanation of E's size, its own stratified
deletions) under d, and the power of a one-sided one-sample t-test (alpha 0.05) that a
language's mean faithfulness over 20 documents exceeds 0, over --languages simulated
languages, and the ceiling: the mean faithfulness of a perfectly faithful noiseless
model, which ties in the shares keep below 1. Forward passes: each intervention is one classification context per
document, twice with the chance baseline.

The stratified draws here are vectorised; a self-check first compares them, document
by document, with macro_bench.interventions and macro_bench.metrics.faithfulness.

    python benchmarks/faithfulness_power.py            # about 1.5 min on 2 cores
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np
import scipy.stats

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from macro_bench.interventions import deletion_size, stratified_deletions  # noqa: E402
from macro_bench.metrics.faithfulness import faithfulness  # noqa: E402

DOCUMENTS_PER_LANGUAGE = 20
MAX_CONTENT = 40
TOKEN_SD = 1.0
NOISE_SD = 0.5
DESIGNS = {
    "strata5": (0.0, 0.25, 0.5, 0.75, 1.0),
    "strata3": (0.0, 0.5, 1.0),
    "extremes": (0.0, 1.0),
    "protocol1": None,
}


def simulated_documents(rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
    n_content = rng.integers(8, MAX_CONTENT + 1, count)
    n_explained = np.clip(np.rint(rng.uniform(0, 1, count) * n_content), 1, n_content - 1).astype(int)
    return n_content, n_explained


def explained_counts(n_content: np.ndarray, n_explained: np.ndarray, strata, k_count: int) -> np.ndarray:
    """j_k per document, the vectorised twin of interventions.explained_deletion_counts."""
    size = np.array([deletion_size(int(n)) for n in n_content])
    lowest = np.maximum(0, size - (n_content - n_explained))
    highest = np.minimum(size, n_explained)
    shares = np.array([strata[k % len(strata)] for k in range(k_count)])
    return lowest[:, None] + np.floor(shares[None, :] * (highest - lowest)[:, None] + 0.5).astype(int)


def _rank_within(mask: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Rank of each masked position among the masked positions of its row, by random key."""
    masked = np.where(mask, keys, np.inf)
    return np.argsort(np.argsort(masked, axis=-1), axis=-1)


def rowwise_rank_correlation(x: np.ndarray, y: np.ndarray, ranks: bool) -> np.ndarray:
    """Spearman (ranks=True) or Pearson per row; NaN where either row is constant."""
    if ranks:
        x = scipy.stats.rankdata(x, axis=1)
        y = scipy.stats.rankdata(y, axis=1)
    constant = (np.ptp(x, axis=1) == 0) | (np.ptp(y, axis=1) == 0)
    xc = x - x.mean(axis=1, keepdims=True)
    yc = y - y.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (xc * yc).sum(axis=1) / np.sqrt((xc**2).sum(axis=1) * (yc**2).sum(axis=1))
    return np.where(constant, np.nan, np.clip(r, -1, 1))


def simulate(rng, n_content, n_explained, design, k_count, effect, pseudo=False):
    """Per-document faithfulness (NaN where undefined) for one design and effect size."""
    count = len(n_content)
    positions = np.arange(MAX_CONTENT)[None, :]
    is_content = positions < n_content[:, None]
    # The explanation being tested: positions 0..|E|-1 (positions are exchangeable).
    tested = positions < n_explained[:, None]
    if pseudo:
        # The model's real E is an independent random subset of the same size.
        real = _rank_within(is_content, rng.random((count, MAX_CONTENT))) < n_explained[:, None]
    else:
        real = tested
    sensitivity = effect * real + rng.normal(0, TOKEN_SD, (count, MAX_CONTENT))
    size = np.array([deletion_size(int(n)) for n in n_content])
    keys = rng.random((count, k_count, MAX_CONTENT))
    if DESIGNS[design] is None:
        deleted = _rank_within(is_content[:, None, :], keys) < size[:, None, None]
        share = (deleted & tested[:, None, :]).sum(axis=2).astype(float)
    else:
        counts = explained_counts(n_content, n_explained, DESIGNS[design], k_count)
        in_tested = _rank_within(tested[:, None, :], keys) < counts[:, :, None]
        in_rest = _rank_within((is_content & ~tested)[:, None, :], keys) < (size[:, None] - counts)[:, :, None]
        deleted = (in_tested & tested[:, None, :]) | (in_rest & (is_content & ~tested)[:, None, :])
        share = counts / size[:, None]
    outcome = (deleted * sensitivity[:, None, :]).sum(axis=2) / size[:, None]
    outcome = outcome + rng.normal(0, NOISE_SD, outcome.shape)
    return rowwise_rank_correlation(share, outcome, ranks=DESIGNS[design] is not None)


def ceiling(n_content, n_explained, design, k_count) -> float:
    """Mean faithfulness of a perfectly faithful, noiseless model: outcomes strictly increasing in the share.

    Ties in the shares cap a rank correlation below 1; the fewer share values a
    design has, the lower the cap, so the scale's top ("+1: faithful") moves.
    """
    if DESIGNS[design] is None:
        return float("nan")
    counts = explained_counts(n_content, n_explained, DESIGNS[design], k_count).astype(float)
    distinct_outcomes = counts + np.arange(k_count)[None, :] * 1e-6
    return float(np.nanmean(rowwise_rank_correlation(counts, distinct_outcomes, ranks=True)))


def language_power(values: np.ndarray) -> tuple[float, float]:
    """(power, mean) of the one-sided t-test of a language mean > 0 over its defined documents."""
    per_language = values.reshape(-1, DOCUMENTS_PER_LANGUAGE)
    rejected = []
    for row in per_language:
        defined = row[~np.isnan(row)]
        if len(defined) < 3 or np.ptp(defined) == 0:
            rejected.append(False)
            continue
        rejected.append(scipy.stats.ttest_1samp(defined, 0.0, alternative="greater").pvalue < 0.05)
    return float(np.mean(rejected)), float(np.nanmean(values))


def self_check(rng) -> None:
    """The vectorised stratified design equals the shipped functions on sampled documents."""
    n_content, n_explained = simulated_documents(rng, 200)
    counts = explained_counts(n_content, n_explained, DESIGNS["strata5"], 10)
    for doc, (n, e) in enumerate(zip(n_content, n_explained)):
        content = list(range(int(n)))
        explanation = frozenset(range(int(e)))
        sets = stratified_deletions(content, explanation, language="sim", doc_key=doc, stream="check")
        assert [len(s & explanation) for s in sets] == counts[doc].tolist()
        outcomes = rng.normal(size=10)
        shares = np.array([[len(s & explanation) / len(s) for s in sets]])
        expected = faithfulness(sets, outcomes.tolist(), explanation)
        got = rowwise_rank_correlation(shares, outcomes[None, :], ranks=True)[0]
        assert (expected is None and np.isnan(got)) or math.isclose(expected, got, abs_tol=1e-12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--languages", type=int, default=1000, help="simulated languages per cell")
    parser.add_argument("--k", type=int, nargs="+", default=[6, 8, 10, 12, 15])
    parser.add_argument("--effects", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    self_check(rng)
    count = args.languages * DOCUMENTS_PER_LANGUAGE
    n_content, n_explained = simulated_documents(rng, count)
    print(f"{args.languages} languages x {DOCUMENTS_PER_LANGUAGE} documents per cell; token sd {TOKEN_SD}, "
          f"noise sd {NOISE_SD}; {os.cpu_count()} CPUs")
    effect_columns = "  ".join(f"mean|d={d:<4} power|d={d:<4}" for d in args.effects)
    print(f"{'design':<10} {'K':>3} {'ctx/doc':>7} {'defined':>7} {'mean|0':>7} {'power|0':>7}  {effect_columns}"
          f"  {'random|d=' + str(args.effects[-1]):>13} {'ceiling':>7}")
    for k_count in args.k:
        for design in DESIGNS:
            null = simulate(rng, n_content, n_explained, design, k_count, 0.0)
            null_power, null_mean = language_power(null)
            cells = []
            for effect in args.effects:
                power, mean = language_power(simulate(rng, n_content, n_explained, design, k_count, effect))
                cells.append(f"{mean:>11.3f} {power:>12.3f}")
            baseline = f"{'':>13} {'':>7}"
            if DESIGNS[design] is not None:
                random_mean = np.nanmean(simulate(rng, n_content, n_explained, design, k_count, args.effects[-1], pseudo=True))
                baseline = f"{random_mean:>13.3f} {ceiling(n_content, n_explained, design, k_count):>7.3f}"
            contexts = 2 * k_count if DESIGNS[design] is not None else k_count
            print(f"{design:<10} {k_count:>3} {contexts:>7} {np.mean(~np.isnan(null)):>7.3f} {null_mean:>7.3f} "
                  f"{null_power:>7.3f}  {'  '.join(cells)}  {baseline}")
    print(f"wall {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()

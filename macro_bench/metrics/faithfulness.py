"""Faithfulness: do the tokens the model edited matter to its own prediction?

For one document, E is the set of content tokens of x that the counterfactual
edited (:class:`macro_bench.metrics.minimality.Minimality`, tie-invariant, no
punctuation). K held-out deletion interventions S_1..S_K, each deleting the
same number m of content tokens, are stratified by their share of E
(:mod:`macro_bench.interventions`). With y the model's prediction on x::

    share_k = |S_k ∩ E| / |S_k|
    o_k     = p(y | x) - p(y | x without S_k)
    faithfulness = Spearman rank correlation of (share_1..share_K) and (o_1..o_K)

Range: [-1, 1]. Direction: higher is better. +1: the more of a deletion falls
inside E, the more the prediction drops -- the tokens the model chose to edit
are the ones it uses. 0: E is no better than any other tokens. -1: the tokens
the model kept matter more than the ones it edited. A rank correlation,
because only the order of the outcomes is comparable across documents and
models (a drop of 0.3 from p = 0.9 and from p = 0.35 are different things).

Defined only when E holds at least one and fewer than all content tokens of x
(:func:`is_testable`: otherwise no deletion can vary its share of E) and the
shares and the outcomes both vary and are finite. Otherwise it is undefined
(None): left out of the mean, never counted as 0. Report per language
``faithfulness`` (mean over defined documents) beside
``faithfulness_coverage`` (share of documents where it is defined) and the
chance baseline ``faithfulness_random``: the same computation with a seeded
random pseudo-explanation of E's size in place of E
(:func:`macro_bench.interventions.pseudo_explanation`), on its own
stratified interventions. The baseline is near 0 for any model; an
explanation is informative to the extent that ``faithfulness`` exceeds it.

K = 10 and strata 0, 1/4, 1/2, 3/4, 1 (each twice). ``benchmarks/faithfulness_power.py``
simulates documents with 8-40 content tokens and |E| from 1 token to all but
one, and a model whose per-token sensitivity is N(0, 1) plus d on the tokens of
E, observed with noise N(0, 0.5) per intervention. Per design and K it prints
the defined rate, the mean faithfulness under the null (d = 0) and under d, the
power of a one-sided t-test (alpha 0.05) that a language's mean over 20
documents exceeds 0 (1,000 simulated languages per cell), the chance baseline
under d = 1 and the ceiling (the mean score of a perfectly faithful noiseless
model). Excerpt of ``python benchmarks/faithfulness_power.py --languages 1000``
(ctx/doc: classification contexts per document, the chance baseline included)::

    design      K ctx/doc defined mean|0 power|0 mean|.25 power|.25 mean|.5 power|.5 mean|1 power|1 random|1 ceiling
    strata5     6   12    1.000  -0.005  0.045   0.117    0.278    0.219   0.614   0.420  0.987   0.007   0.963
    strata5     8   16    1.000   0.002  0.058   0.103    0.282    0.200   0.666   0.378  0.992  -0.005   0.955
    strata5    10   20    1.000   0.001  0.051   0.108    0.319    0.214   0.782   0.392  0.997  -0.001   0.954
    strata5    12   24    1.000   0.002  0.054   0.104    0.340    0.209   0.800   0.396  0.998  -0.000   0.955
    strata5    15   30    1.000  -0.000  0.061   0.108    0.395    0.210   0.845   0.391  1.000  -0.004   0.951
    strata3    10   20    1.000   0.001  0.048   0.118    0.346    0.236   0.800   0.444  0.999   0.000   0.930
    extremes   10   20    1.000  -0.000  0.047   0.148    0.426    0.280   0.888   0.502  0.999   0.001   0.870
    protocol1   8    8    0.975   0.002  0.044   0.060    0.162    0.121   0.366   0.234  0.813
    protocol1  10   10    0.987   0.001  0.052   0.064    0.179    0.122   0.437   0.239  0.890

(strata3: 0, 1/2, 1; extremes: 0 and 1; protocol1: the old random deletions
with a Pearson correlation of the overlap count, undefined documents left out.)
What it shows:

* Under the null every design's mean is 0 within 0.01 and the test rejects
  about 5% of the time; the chance baseline stays at 0 even for a faithful
  model (random|1). Stratified designs are defined on every testable document.
* K: power at d = 0.5 rises 0.61, 0.67, 0.78, 0.80, 0.85 for K = 6..15. Each
  intervention is one classification context per document, two with the
  baseline, so K = 10 (20 contexts) is the knee: +0.11 power over K = 8 for 4
  more contexts, +0.02 for the next 4. At K = 8 the protocol-1 design detects
  d = 0.5 a third of the time; this one four times in five.
* Strata: fewer share values give more power (all weight on the extremes) but
  ties cap the rank correlation: a perfectly faithful model scores 0.87 with
  two strata and 0.95 with five. Five strata keep "+1 = faithful" nearly
  reachable, so a language's score reads on the same scale as its documents,
  for 0.02 less power than three strata and 0.11 less than two at d = 0.5.
  The simulated model is additive; real sensitivities are not, which is one
  more reason not to tune the design to this model's optimum.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import scipy.stats

# The rule lives with the interventions, which must not import scipy; it is part of this card.
from macro_bench.interventions import is_testable

__all__ = ["faithfulness", "is_testable"]


def faithfulness(
    deletion_sets: Sequence[frozenset[int]],
    outcomes: Sequence[float],
    explanation: frozenset[int],
) -> float | None:
    """Spearman's rho of ``|S_k ∩ E| / |S_k|`` and ``o_k``, or None when undefined.

    Undefined: fewer than 2 interventions, an empty deletion set, a non-finite
    outcome, or constant shares or constant outcomes (a rank correlation needs
    variation on both sides).

    >>> sets = [frozenset({0, 5}), frozenset({0, 1}), frozenset({5, 7})]
    >>> faithfulness(sets, [0.2, 0.4, 0.0], explanation=frozenset({0, 1}))
    1.0

    Raises:
        ValueError: ``deletion_sets`` and ``outcomes`` differ in length.
    """
    if len(deletion_sets) != len(outcomes):
        raise ValueError(f"{len(deletion_sets)} deletion sets but {len(outcomes)} outcomes")
    if len(outcomes) < 2 or not all(deletion_sets) or not all(map(math.isfinite, outcomes)):
        return None
    shares = [len(deleted & explanation) / len(deleted) for deleted in deletion_sets]
    if max(shares) == min(shares) or max(outcomes) == min(outcomes):
        return None
    # Pearson's r of the ranks; numpy clips it to [-1, 1] against rounding.
    return float(scipy.stats.spearmanr(shares, outcomes).statistic)

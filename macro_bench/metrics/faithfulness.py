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
E, observed with noise N(0, 0.5) per intervention; it compares, per K, this
design with the protocol-1 design (random deletions, overlap count, Pearson)
by the power of a one-sided t-test (alpha 0.05) that a language's mean over
20 documents exceeds 0, and over 2,000 simulated languages::

    SIMULATION_FIGURES

Under the null (d = 0) the stratified means stay at 0 and the test rejects
about 5% of the time. Every K is defined on all testable documents (by
construction the shares take at least two values); protocol 1 lost the
documents whose random draws happened to give equal overlaps. Power grows
with K quickly up to about 10 and slowly after; each intervention costs one
classification context per document, and the chance baseline doubles that,
so K = 10 (20 contexts per document) is the knee: it detects a modest effect
(d = 0.5) in a 20-document language most of the time, where the protocol-1
design needs several times more documents.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

import scipy.stats


def is_testable(explanation: Collection[int], content: Collection[int]) -> bool:
    """Whether deletions can test E: it holds at least one and fewer than all content positions."""
    return 1 <= len(explanation) < len(content)


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

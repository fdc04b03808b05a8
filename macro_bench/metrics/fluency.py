"""Fluency: how much less natural the counterfactual is than the original.

Fluency 2 (:func:`log_perplexity_ratio`), for valid counterfactuals only. Per
document, with NLL(t) the mean negative log-likelihood per token of text t
under the scoring model (its own tokens, from ``loglikelihood_rolling``)::

    log_perplexity_ratio = clip(NLL(x') - NLL(x), -C, C),   C = FLUENCY_CLIP = ln 10

that is, the log of PPL(x') / PPL(x) per scorer token, clipped. Language
value: the arithmetic mean over documents. Range: [-ln 10, ln 10]
(about +-2.303). Direction: lower is better; 0 means as fluent as x, ln 2
means twice the perplexity per token.

Why per scorer token: it is the unit the model predicts in, so a perplexity
per token compares two texts of one language as the model sees them. Per
UTF-8 byte rewarded an English answer to a Swahili text, because the
scorer's tokens cover more bytes of English.

Why clipped at ln 10 and averaged: a perplexity per token ten times that of x
already means the text is not fluent; beyond it the size of the ratio tells
about the scorer's tokenization of garbage (``*`` scored a byte-level ratio
of 1.07e9), not about degrees of fluency. With the clip one document moves a
language mean over N documents by at most 2 ln 10 / N (0.09 for N = 50), its
honest share, where the geometric mean of unclipped ratios let a single
document dominate. Clipping log ratios (not ratios) keeps the metric
symmetric: a text ten times more and ten times less predictable sit at the
same distance from 0.

Not comparable across models when each model scores itself ("fluency:self"
in the signature): a model's perplexities measure the model as much as the
text. Compare models only with a fixed scorer (``fluency_lm``).
"""

from __future__ import annotations

import math
import numbers

FLUENCY_CLIP = math.log(10.0)
"""C: per-document log perplexity ratios are clipped to [-C, C] (see the module docstring)."""


def log_perplexity_ratio(
    loglik_original: float,
    tokens_original: int,
    loglik_counterfactual: float,
    tokens_counterfactual: int,
) -> float | None:
    """clip(NLL per token of x' - NLL per token of x, -C, C), or None when undefined.

    ``loglik_*`` are summed log-likelihoods (natural log) of the whole texts
    and ``tokens_*`` how many scorer tokens they cover. Undefined: a token
    count is 0 (an empty text has no perplexity) or a log-likelihood is not
    finite (a failed scoring call) -- data, not an error.

    >>> round(log_perplexity_ratio(-10.0, 5, -30.0, 10), 12)  # NLL 2 -> 3 per token
    1.0

    Raises:
        ValueError: a token count is negative or not an integer, which no text has.
    """
    for name, count in (("tokens_original", tokens_original), ("tokens_counterfactual", tokens_counterfactual)):
        if isinstance(count, bool) or not isinstance(count, numbers.Integral) or count < 0:
            raise ValueError(f"{name} must be a non-negative integer token count, got {count!r}")
    if tokens_original == 0 or tokens_counterfactual == 0:
        return None
    if not (math.isfinite(loglik_original) and math.isfinite(loglik_counterfactual)):
        return None
    log_ratio = loglik_original / tokens_original - loglik_counterfactual / tokens_counterfactual
    return max(-FLUENCY_CLIP, min(FLUENCY_CLIP, log_ratio))


"""Validity: does the counterfactual change the model's own prediction?

The model's prediction for a text is the argmax of its log-likelihoods of the
label strings (:func:`predict`). Per document::

    flip       = 1 if pred(x') != pred(x) else 0
    target_hit = 1 if pred(x') == t       else 0

Range: {0, 1} per document, [0, 1] as corpus means. Direction: higher is
better. ``flip`` credits any label change; ``target_hit`` only the asked-for
target t, so target_hit <= flip whenever pred(x) != t.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def flip(pred_original: int, pred_counterfactual: int) -> float:
    """1.0 when the counterfactual's predicted label differs from the original's."""
    return float(pred_original != pred_counterfactual)


def target_hit(pred_counterfactual: int, target: int) -> float:
    """1.0 when the counterfactual is predicted as the requested target label."""
    return float(pred_counterfactual == target)


def as_logged(label_logliks: Sequence[float]) -> list[float | str]:
    """Label log-likelihoods as a record logs them: finite values as numbers, others as ``str()``.

    >>> as_logged([-1.5, float("nan"), float("inf"), float("-inf")])
    [-1.5, 'nan', 'inf', '-inf']
    """
    return [value if math.isfinite(value) else str(value) for value in map(float, label_logliks)]


def predict(label_logliks: Sequence[float | str]) -> tuple[int, list[float]]:
    """Argmax label and softmax distribution of label log-likelihoods.

    Defined for every input, never returning NaN:

    - values may be numbers or their logged form (:func:`as_logged`);

    - NaN counts as -inf (a failed score is no evidence for that label);
    - all -inf: the uniform distribution;
    - one or more +inf: probability 1 split equally among them;
    - ties go to the lowest label index, so the prediction is deterministic.

    Raises:
        ValueError: ``label_logliks`` is empty.
    """
    if len(label_logliks) == 0:
        raise ValueError("predict needs at least one label log-likelihood")
    scores = [-math.inf if math.isnan(value) else value for value in map(float, label_logliks)]
    best = max(scores)
    if best == math.inf:
        n_infinite = scores.count(math.inf)
        probabilities = [1.0 / n_infinite if score == math.inf else 0.0 for score in scores]
    elif best == -math.inf:
        probabilities = [1.0 / len(scores)] * len(scores)
    else:
        # Shifting by the maximum keeps exp() in range; the largest term is exactly 1.
        weights = [math.exp(score - best) for score in scores]
        total = math.fsum(weights)
        probabilities = [weight / total for weight in weights]
    return scores.index(best), probabilities

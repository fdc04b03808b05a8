"""Similarity: chrF between the original x and the counterfactual x'.

Formula: sacrebleu's chrF with its default settings (character n-grams of
order 1-6, no word n-grams, beta = 2, whitespace removed, effective order at
sentence level), the counterfactual as hypothesis and the original as its
single reference::

    similarity(x, x') = CHRF().sentence_score(x', [x]).score

Range: [0, 100]. Direction: higher means x' keeps more of x (100 for a copy,
0 when no character n-gram is shared). Over valid counterfactuals only.

Why: it needs no tokenizer, so one number means the same in all 205
languages and scripts, and it stands in for the multilingual
sentence-embedding similarity that Parallel Universes reports, without a
model that covers only some of those languages.

How it differs from minimality: minimality counts token edits (a changed
inflection is a whole edited word; word order matters; lower is better).
chrF gives partial credit for shared character n-grams in any order (an
inflected word still shares its stem), weighs recall of x's n-grams twice as
much as precision (beta = 2: dropping much of x costs more than adding), and
higher is better. Two counterfactuals with the same minimality can differ in
similarity when one replaces words by near spellings and the other by
unrelated ones.

:data:`SIMILARITY_SIGNATURE` is sacrebleu's own signature of these settings,
including its version; numbers are comparable only when it matches.
"""

from __future__ import annotations

from sacrebleu.metrics import CHRF

_CHRF = CHRF()
# sacrebleu learns the number of references, which its signature states, from a first score.
_CHRF.sentence_score("", [""])
SIMILARITY_SIGNATURE = str(_CHRF.get_signature())
"""sacrebleu's signature of the chrF settings, e.g. ``nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0``."""


def similarity(original: str, counterfactual: str) -> float:
    """chrF (0-100) of ``counterfactual`` against ``original`` as its reference.

    >>> similarity("The team won the cup.", "The team won the cup.")
    100.0
    """
    return _CHRF.sentence_score(counterfactual, [original]).score

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

:data:`SIMILARITY_SIGNATURE` is sacrebleu's own signature of these settings
without its version, plus a short hash of the scores on :data:`PROBE_PAIRS`: chrF is
identified by what it computes, so a sacrebleu release that scores the same gives the
same signature (runs on two installs compare) and one that scores differently does
not; numbers are comparable only when it matches.
"""

from __future__ import annotations

import hashlib
import json

from sacrebleu.metrics import CHRF

_CHRF = CHRF()
# sacrebleu learns the number of references, which its signature states, from a first score.
_CHRF.sentence_score("", [""])

# (counterfactual, original) pairs that exercise what chrF does: a copy, nothing shared,
# an empty hypothesis, a one-word edit, case, whitespace (removed before counting),
# texts shorter than the n-gram order (effective order), punctuation, unspaced and
# non-Latin scripts, and canonically equivalent but differently encoded accents.
PROBE_PAIRS: tuple[tuple[str, str], ...] = (
    ("The team won the cup.", "The team won the cup."),
    ("xyz", "The team won the cup."),
    ("", "The team won the cup."),
    ("The team lost the cup.", "The team won the cup."),
    ("the TEAM won the Cup", "The team won the cup."),
    ("Theteam  won\tthe cup.", "The team won the cup."),
    ("ab", "abc"),
    ("a", "b"),
    ("Hello, world!!", "Hello world"),
    ("我们的球队输了。", "我们的球队赢了。"),
    ("ภาษาลาว", "ภาษาไทย"),
    ("Привет, мир!", "Привет мир"),
    ("e\u0301te\u0301", "\u00e9t\u00e9"),
    ("Die Mannschaft gewann den Pokal und feierte lange.", "Die Mannschaft verlor den Pokal."),
)


def _probe_hash() -> str:
    scores = [f"{_CHRF.sentence_score(hypothesis, [reference]).score:.6f}" for hypothesis, reference in PROBE_PAIRS]
    return hashlib.sha256(json.dumps(scores).encode("ascii")).hexdigest()[:12]


def _settings() -> str:
    signature = _CHRF.get_signature()
    signature.update("version", None)  # sacrebleu leaves out fields that are None
    return str(signature)


SIMILARITY_SIGNATURE = f"{_settings()}|probe:{_probe_hash()}"
"""sacrebleu's signature of the chrF settings without its version, plus the probe
hash, e.g. ``nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|probe:<12 hex digits>``."""


def similarity(original: str, counterfactual: str) -> float:
    """chrF (0-100) of ``counterfactual`` against ``original`` as its reference.

    >>> similarity("The team won the cup.", "The team won the cup.")
    100.0
    """
    return _CHRF.sentence_score(counterfactual, [original]).score

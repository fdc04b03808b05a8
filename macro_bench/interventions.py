"""Held-out deletion interventions: which tokens of x are deleted to test an explanation.

The benchmark draws them after generation; the generator never sees them. For
one document with content positions C (source tokens with a letter or digit,
:func:`macro_bench.tokenization.is_content_token`; punctuation and symbols are
never deleted) and an explanation E, a subset of C:

* **Size.** Every intervention of the document deletes the same number of
  content tokens, ``m = deletion_size(|C|) = max(1, ceil(0.2 |C|))``, so an
  outcome differs between interventions by *which* tokens go, never by how
  many. A fifth is the protocol-1 fraction: enough to move a prediction, small
  enough to leave a readable sentence (8-40 content tokens give m = 2-8).
* **Strata.** Intervention k targets the share ``STRATA[k % len(STRATA)]`` of
  its m deletions inside E, so the share of E in a deletion varies by design
  instead of by chance. The share j/m is constrained by E: at least
  ``lo = max(0, m - |C \\ E|)`` and at most ``hi = min(m, |E|)`` deleted
  tokens can come from E. The strata are mapped onto that achievable range,
  ``j_k = lo + floor(q_k (hi - lo) + 1/2)``, so a small or large E still gets
  the widest spread of shares it allows (|E| = 1 gives shares 0 and 1/m,
  E = all of C but one gives (m-1)/m and 1). ``lo < hi`` exactly when
  ``1 <= |E| < |C|`` (and m < |C|, true for every |C| >= 2): the documents
  where faithfulness is defined (:func:`is_testable`).
  Other documents get no interventions.
* **Which tokens.** The j_k tokens from E and the m - j_k from C \\ E are drawn
  uniformly without replacement by a NumPy PCG64 generator seeded with the
  first 8 bytes of SHA-256(stream, language, doc key, k) -- never Python's
  ``hash()``, which is salted per process -- so every model, process and
  machine gets the same sets. ``stream`` separates the draws for the
  explanation ("explanation") from those for the chance baseline ("random").
* **Chance baseline.** :func:`pseudo_explanation` draws a random subset of C
  of E's size (its own seed); stratified deletions for it, drawn the same way,
  give ``faithfulness_random``: what an explanation unrelated to the model
  scores on the same document.

Why K = 10 and strata 0, 1/4, 1/2, 3/4, 1 (each twice): see the faithfulness
card (:mod:`macro_bench.metrics.faithfulness`) and
``benchmarks/faithfulness_power.py``, the simulation behind the choice.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Collection, Sequence

import numpy as np

from macro_bench.tokenization import is_content_token

DEFAULT_INTERVENTIONS = 10
"""K: interventions per document (per explanation; the chance baseline adds K more)."""
STRATA = (0.0, 0.25, 0.5, 0.75, 1.0)
"""Target shares of each deletion inside E, cycled over k = 0..K-1."""
DELETION_FRACTION = 0.2
"""Share of a document's content tokens that each intervention deletes (rounded up)."""


def is_testable(explanation: Collection[int], content: Collection[int]) -> bool:
    """Whether deletions can test E: it holds at least one and fewer than all content positions."""
    return 1 <= len(explanation) < len(content)


def content_positions(tokens: Sequence[str]) -> list[int]:
    """Positions of the content tokens (a letter or a digit) in a token list."""
    return [i for i, token in enumerate(tokens) if is_content_token(token)]


def deletion_size(n_content: int) -> int:
    """m, the number of content tokens every intervention of a document deletes.

    ``max(1, ceil(0.2 n))`` for n >= 1, 0 for a text without content.

    Raises:
        ValueError: ``n_content`` is negative.
    """
    if n_content < 0:
        raise ValueError(f"a text cannot have {n_content} content tokens")
    if n_content == 0:
        return 0
    return max(1, math.ceil(DELETION_FRACTION * n_content))


def explained_deletion_counts(
    n_content: int, n_explanation: int, count: int = DEFAULT_INTERVENTIONS
) -> list[int]:
    """j_k, how many of intervention k's deletions come from E (see the module docstring).

    Raises:
        ValueError: the explanation is not testable (not ``1 <= n_explanation < n_content``)
            or ``count`` < 2.
    """
    if count < 2:
        raise ValueError(f"faithfulness needs at least 2 interventions per document, got {count}")
    if not 1 <= n_explanation < n_content:
        raise ValueError(
            f"an explanation of {n_explanation} of {n_content} content tokens cannot be tested "
            "by deletions; check is_testable(explanation, content) first"
        )
    size = deletion_size(n_content)
    lowest = max(0, size - (n_content - n_explanation))
    highest = min(size, n_explanation)
    return [
        lowest + math.floor(STRATA[k % len(STRATA)] * (highest - lowest) + 0.5) for k in range(count)
    ]


def stratified_deletions(
    content: Sequence[int],
    explanation: frozenset[int],
    *,
    language: str,
    doc_key: int | str,
    stream: str,
    count: int = DEFAULT_INTERVENTIONS,
) -> list[frozenset[int]]:
    """K deletion sets (positions in the source token list), stratified by their share of E.

    ``content`` is :func:`content_positions` of the source tokens and
    ``explanation`` a subset of it. The same arguments give the same sets in
    every process.

    Raises:
        ValueError: ``explanation`` holds a position that is not in ``content``,
            the explanation is not testable, or ``count`` < 2.
    """
    content_set = frozenset(content)
    stray = sorted(explanation - content_set)
    if stray:
        raise ValueError(
            f"explanation positions {stray} of document {doc_key!r} ({language}) are not content "
            "positions; pass the edited positions of Minimality, which holds content tokens only"
        )
    if not is_testable(explanation, content_set):
        raise ValueError(
            f"the explanation of document {doc_key!r} ({language}) holds {len(explanation)} of "
            f"{len(content_set)} content tokens, so deletions cannot test it; "
            "check is_testable(explanation, content) first"
        )
    explained = sorted(explanation)
    unexplained = sorted(content_set - explanation)
    size = deletion_size(len(content_set))
    sets = []
    for k, from_explained in enumerate(explained_deletion_counts(len(content_set), len(explained), count)):
        rng = _generator("macro-bench-deletion", stream, language, doc_key, k)
        deleted = rng.choice(explained, size=from_explained, replace=False).tolist()
        deleted += rng.choice(unexplained, size=size - from_explained, replace=False).tolist()
        sets.append(frozenset(deleted))
    return sets


def pseudo_explanation(
    content: Sequence[int], size: int, *, language: str, doc_key: int | str
) -> frozenset[int]:
    """A random subset of ``content`` of ``size`` positions: the chance-baseline explanation.

    Raises:
        ValueError: ``size`` is negative or larger than ``len(content)``.
    """
    if not 0 <= size <= len(content):
        raise ValueError(
            f"a pseudo-explanation of {size} positions cannot be drawn from the "
            f"{len(content)} content positions of document {doc_key!r} ({language})"
        )
    rng = _generator("macro-bench-pseudo-explanation", language, doc_key)
    return frozenset(rng.choice(sorted(content), size=size, replace=False).tolist())


def _generator(*parts: object) -> np.random.Generator:
    payload = "\x1f".join(str(part) for part in parts).encode("utf-8")
    seed = int.from_bytes(hashlib.sha256(payload).digest()[:8], "big")
    return np.random.Generator(np.random.PCG64(seed))

"""Minimality: how much of the original text the counterfactual changed.

Formula::

    minimality(x, x') = Levenshtein(tok(x), tok(x')) / max(|tok(x)|, |tok(x')|)

where ``tok`` is :func:`macro_bench.tokenization.comparable_token_texts` and
the Levenshtein distance counts token insertions, deletions and substitutions
(unit cost each). Both texts empty: 0.0.

Range: [0, 1]. Direction: lower is more minimal. 0 means no token changed
(a copy, or a change of whitespace only); 1 means no token survived in place,
e.g. a counterfactual that shares no token with the original.

The distance runs in rapidfuzz's compiled Levenshtein over the token lists.
rapidfuzz compares multi-character tokens by their 64-bit Python hash, so two
different tokens compare equal only on a hash collision (probability about
2**-64 per token pair). That is accepted because it is about five times
faster than first mapping the tokens to integers in Python.

Edited positions (E, the explanation that faithfulness tests)
--------------------------------------------------------------

A source token is in E when it is a content token (a letter or digit,
:func:`macro_bench.tokenization.is_content_token`) and **no** minimal
token-Levenshtein alignment of x to x' keeps it as a match. Why:

* Ties. Several alignments often have the same minimal cost, and which one a
  library returns is an implementation detail (``"the cat and the dog"`` ->
  ``"the dog"`` can keep either ``the``). A token that some minimal alignment
  keeps need not have been edited, so E holds only the tokens that every
  minimal alignment edits: a function of the two token lists alone,
  unchanged by which alignment is returned (a test enumerates all minimal
  alignments of small cases and checks this). The price is that some
  genuinely edited tokens drop out of E: in a swap ``a b`` -> ``b a`` either
  token can be the kept one, so E is empty.
* Punctuation and symbols never belong to E: a rewrite that ends with the
  original's ``.`` keeps only that period, and deleting a sentence's final
  period moves a model for reasons unrelated to the topic.
* Insertions mark nothing. Deletion interventions can only remove tokens of
  x, and an inserted word is not one; a counterfactual made only of
  insertions has an empty E and so an undefined faithfulness.

Test, for source token i: some minimal alignment matches it with a
counterfactual token j exactly when ``s_i == t_j`` and
``D(s[:i], t[:j]) + D(s[i+1:], t[j+1:]) == D(s, t)`` -- the cheapest alignment
through that match is the cheapest of the prefixes, the match (cost 0) and
the cheapest of the suffixes, and no alignment costs less than ``D(s, t)``.
Only the tokens that rapidfuzz's own minimal script replaces or deletes need
the test (the ones it keeps are kept by a minimal alignment), and only
against the counterfactual positions holding the same token, so it costs a
few compiled distance calls per document rather than a Python DP.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from rapidfuzz.distance import Levenshtein

from macro_bench import __version__
from macro_bench.tokenization import TOKENIZER_SIGNATURE, comparable_token_texts, is_content_token


def edited_positions(
    source_tokens: Sequence[str], counterfactual_tokens: Sequence[str]
) -> frozenset[int]:
    """E: the source content tokens that every minimal edit script changes.

    See "Edited positions" in the module docstring.
    """
    editops = Levenshtein.editops(source_tokens, counterfactual_tokens).as_list()
    return _edited_content(source_tokens, counterfactual_tokens, editops)


def minimality(source_tokens: Sequence[str], counterfactual_tokens: Sequence[str]) -> float:
    """Token Levenshtein distance divided by the longer token count, in [0, 1]."""
    longer = max(len(source_tokens), len(counterfactual_tokens))
    if longer == 0:
        return 0.0
    return Levenshtein.distance(source_tokens, counterfactual_tokens) / longer


class MinimalityResult(NamedTuple):
    """Minimality of one (original, counterfactual) pair.

    ``edited_positions`` index ``tokenize(original)``; ``n_source_tokens`` is
    its length, which deletion interventions need.
    """

    score: float
    edited_positions: frozenset[int]
    n_source_tokens: int


class Minimality:
    """Token-level minimality of a counterfactual, see the module docstring.

    >>> Minimality()("the cat sat down", "the dog sat down").score
    0.25
    """

    @property
    def signature(self) -> str:
        """Everything that determines the score, sacrebleu style."""
        return (
            f"tok:{TOKENIZER_SIGNATURE}|norm:nfc|dist:token-levenshtein"
            f"|denom:max-len|version:{__version__}"
        )

    def __call__(self, original: str, counterfactual: str) -> MinimalityResult:
        source_tokens = comparable_token_texts(original)
        counterfactual_tokens = comparable_token_texts(counterfactual)
        # One edit script gives both the distance (its length) and the positions.
        editops = Levenshtein.editops(source_tokens, counterfactual_tokens).as_list()
        longer = max(len(source_tokens), len(counterfactual_tokens))
        return MinimalityResult(
            score=len(editops) / longer if longer else 0.0,
            edited_positions=_edited_content(source_tokens, counterfactual_tokens, editops),
            n_source_tokens=len(source_tokens),
        )


def _edited_content(
    source_tokens: Sequence[str],
    counterfactual_tokens: Sequence[str],
    editops: Sequence[tuple[str, int, int]],
) -> frozenset[int]:
    # Tokens that this minimal script matches are kept by a minimal alignment,
    # so only the tokens it replaces or deletes need the full test.
    touched = {source for tag, source, _ in editops if tag != "insert"}
    candidates = [i for i in sorted(touched) if is_content_token(source_tokens[i])]
    if not candidates:
        return frozenset()
    total = len(editops)
    n_source, n_counterfactual = len(source_tokens), len(counterfactual_tokens)
    where_in_counterfactual: dict[str, list[int]] = {}
    for j, token in enumerate(counterfactual_tokens):
        where_in_counterfactual.setdefault(token, []).append(j)
    edited = set()
    for i in candidates:
        if not any(
            _match_is_minimal(source_tokens, counterfactual_tokens, i, j, total)
            for j in where_in_counterfactual.get(source_tokens[i], ())
            # Each side of a match costs at least its length difference.
            if abs(i - j) + abs((n_source - i) - (n_counterfactual - j)) <= total
        ):
            edited.add(i)
    return frozenset(edited)


def _match_is_minimal(
    source_tokens: Sequence[str], counterfactual_tokens: Sequence[str], i: int, j: int, total: int
) -> bool:
    """Whether some minimal alignment matches source ``i`` with counterfactual ``j``.

    The best alignment through that match costs D(prefixes) + D(suffixes); it is
    minimal exactly when that sum equals the total distance.
    """
    before = Levenshtein.distance(source_tokens[:i], counterfactual_tokens[:j], score_cutoff=total)
    if before > total:
        return False
    after = Levenshtein.distance(
        source_tokens[i + 1 :], counterfactual_tokens[j + 1 :], score_cutoff=total - before
    )
    return before + after == total

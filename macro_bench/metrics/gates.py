"""Validity gates on text: counterfactuals that are no edit of x, told from the text alone.

A flip counts as an explanation only when x' is a real edit of x. Each gate
below is a per-document flag, 1 or 0; the corpus score is the mean of the flag,
range [0, 1], lower is better (``label_insertion_rate`` is no failure: it is
reported so readers can see how often validity rests on the label word).

- ``empty_rate`` (:func:`is_empty`): nothing could be extracted, or what was
  extracted has no token, so no other metric can say anything about it.
- ``copy_rate`` (:func:`is_copy`): x' is x again, up to whitespace and Unicode
  canonical equivalence.
- ``prompt_echo_rate`` (:func:`is_prompt_echo`): x' reproduces the instruction
  (the generation prompt without x) or a long span of it. Small models continue
  the prompt instead of answering ("Edit the text as little as possible so
  that its topic becomes ..."): that text names the target label, so it flips
  the classifier without being an edit of anything.
- ``label_statement_rate`` (:func:`is_label_statement`): x' names a label word
  that x does not contain and keeps less than half of x (:func:`kept_share`
  < 0.5): a statement about a label (``1. The topic is "travel".``,
  ``Health:``), not an edit of x. It flips the classifier for the trivial
  reason that it says the label.
- ``label_insertion_rate`` (:func:`is_label_insertion`): x' names a label word
  that x does not contain and keeps at least half of x. That is an edit and is
  not gated, but its flip may rest on the inserted label word alone.

Tokens are those of :func:`macro_bench.tokenization.comparable_token_texts`,
so Chinese, Japanese, Thai and the other unspaced scripts count one token per
character. Label words are passed in by the dataset (its labels as the prompts
write them), so nothing here is specific to one dataset.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable

import regex
from rapidfuzz.distance import LCSseq

from macro_bench.tokenization import comparable_token_texts

_VISIBLE_CHAR = regex.compile(r"[^\s\p{Cc}\p{Cf}]")
# A content token spells something: it has a letter or a digit. Punctuation and
# symbols are left out of kept_share, so that keeping x's full stop is not
# keeping x.
_CONTENT_TOKEN = regex.compile(r"[\p{L}\p{N}]")
# What separates the words of a label ("science/technology", "science fiction").
_LABEL_PART_SEPARATOR = regex.compile(r"[^\p{L}\p{M}\p{N}]+")

ECHO_MIN_SPAN = 6
"""A run of this many words shared with the instruction is an echo whatever else x' holds.

Chosen on the committed protocol-1 samples (``benchmarks/validity_gates.py``, 1,000
outputs of SmolLM2-135M-Instruct and Gemma-3-270m): an x' that keeps at least half
of x shares at most 2 words in a row with the instruction; a label statement
shares up to 5, because it names the label in the prompt's own words ("has the
topic "science/technology"" is 5 words); x' that continue or paraphrase a
sentence of the prompt share 7 to 22. 6 is the least length above both."""
ECHO_MIN_SHORT_SPAN = 3
"""A shorter span is an echo only when it is at least this long and covers half of x'.

Short fragments of the instruction ("Answer with the", "The edited text is")
are echoes too, but one or two shared words ("Health:" shares "health" with
the list of topics) say nothing."""
KEPT_SHARE_THRESHOLD = 0.5
"""x' that keeps less than this share of x's content tokens is no edit of x."""


def normalize_whitespace(text: str) -> str:
    """Every run of whitespace as one ASCII space, none at either end.

    Whitespace is what ``str.split`` splits on: ASCII and Unicode spaces
    (NBSP, EN/EM/ideographic space, ...), tabs and line breaks.
    """
    return " ".join(text.split())


def is_copy(original: str, counterfactual: str | None) -> bool:
    """Whether the counterfactual repeats the original unchanged.

    Both sides are NFC-normalized, because a decomposed and a precomposed
    accent are the same text to a reader, and whitespace-normalized, because
    re-wrapping a text edits nothing. Invisible format characters (ZWNJ, ZWJ,
    bidi marks) are kept: ZWNJ and ZWJ are part of the spelling of Persian and
    Indic words, and keeping them makes ``is_copy(x, x')`` imply a minimality
    of 0. None (nothing extracted) is not a copy.
    """
    if counterfactual is None:
        return False
    return _comparable(original) == _comparable(counterfactual)


def is_empty(counterfactual: str | None) -> bool:
    """Whether nothing was extracted, or the extracted text has no token.

    Exactly the texts for which :func:`macro_bench.tokenization.tokenize`
    returns no token: None, "", or only whitespace, control characters and
    invisible format characters.
    """
    return counterfactual is None or _VISIBLE_CHAR.search(counterfactual) is None


def _comparable(text: str) -> str:
    return normalize_whitespace(unicodedata.normalize("NFC", text))


def _casefolded_tokens(text: str) -> list[str]:
    return [token.casefold() for token in comparable_token_texts(text)]


def _casefolded_words(text: str) -> list[str]:
    return [token.casefold() for token in comparable_token_texts(text) if _CONTENT_TOKEN.search(token)]


def echoed_instruction_span(text: str, instruction: str, original: str) -> int:
    """Length in words of the longest span of ``text`` copied from the instruction, not from x.

    Words are content tokens (with a letter or digit), compared
    case-insensitively; punctuation is skipped, because quoting a label
    (``"science/technology"``) is five tokens, three of them punctuation that
    says nothing about copying. The span is the longest run of consecutive
    words that ``text`` and the instruction share. ``original`` (x) is cut
    out of the instruction first, so the full generation prompt may be passed,
    and a shared run that is also a run of x's tokens does not count: copying
    x is what an edit does, not an echo.
    """
    if original and original in instruction:
        instruction = instruction.replace(original, "\n")
    instruction_tokens = _casefolded_words(instruction)
    positions = defaultdict(list)
    for j, token in enumerate(instruction_tokens):
        positions[token].append(j)
    text_tokens = _casefolded_words(text)
    original_joined = _joined(_casefolded_words(original))
    longest = 0
    # run_ending_at[j]: length of the common run ending at the current token of
    # text and at instruction token j; only positions of the current token live.
    run_ending_at: dict[int, int] = {}
    for i, token in enumerate(text_tokens):
        current = {j: run_ending_at.get(j - 1, 0) + 1 for j in positions.get(token, ())}
        for j, length in run_ending_at.items():
            # The run ending at (i - 1, j) is maximal when it does not continue here.
            if j + 1 not in current and length > longest and not _is_span_of(text_tokens[i - length : i], original_joined):
                longest = length
        run_ending_at = current
    for length in run_ending_at.values():
        end = len(text_tokens)
        if length > longest and not _is_span_of(text_tokens[end - length : end], original_joined):
            longest = length
    return longest


def _joined(tokens: list[str]) -> str:
    # A separator no token contains, at both ends too, so that only whole tokens match.
    return "\x00" + "\x00".join(tokens) + "\x00"


def _is_span_of(tokens: list[str], joined_original: str) -> bool:
    return _joined(tokens) in joined_original


def is_prompt_echo(counterfactual: str, instruction: str, original: str) -> bool:
    """Whether x' reproduces the instruction or a long span of it that is not part of x.

    Formula: with s = :func:`echoed_instruction_span` and n = the number of
    words (content tokens) of x', echo = s >= ``ECHO_MIN_SPAN`` (6) or
    (s >= ``ECHO_MIN_SHORT_SPAN`` (3) and 2 s >= n). ``instruction`` is the
    generation prompt; x is removed from it if present.
    """
    span = echoed_instruction_span(counterfactual, instruction, original)
    if span >= ECHO_MIN_SPAN:
        return True
    return span >= ECHO_MIN_SHORT_SPAN and 2 * span >= len(_content_tokens(counterfactual))


def _content_tokens(text: str) -> list[str]:
    return [token for token in comparable_token_texts(text) if _CONTENT_TOKEN.search(token)]


def kept_share(original: str, counterfactual: str) -> float:
    """Share of x's content tokens that x' keeps, in order.

    Formula: LCS(c(x), c(x')) / |c(x)|, where c(t) is the list of content
    tokens of t (tokens with a letter or digit, compared exactly after NFC) and
    LCS is the length of their longest common subsequence. Range [0, 1]: 1 when
    x' contains all of x's words in order, 0 when it shares none. An x with no
    content token has nothing that could be kept: 0.
    """
    source = _content_tokens(original)
    if not source:
        return 0.0
    return LCSseq.similarity(source, _content_tokens(counterfactual)) / len(source)


def label_words_in(text: str, label_words: Iterable[str]) -> set[str]:
    """The label words that ``text`` names, as whole tokens, case-insensitively.

    A label of several words ("science/technology") is named by the whole
    label and by each of its words (the parts between spaces and punctuation:
    "science", "technology"); the result holds each of those, as written in
    ``label_words``, whose token sequence occurs in ``text``. So "travellers"
    does not name "travel", and a Chinese label ("旅游", two tokens) is named
    only as a whole, never by one of its characters.
    """
    joined = _joined(_casefolded_tokens(text))
    named = set()
    for label in label_words:
        for candidate in {label, *_LABEL_PART_SEPARATOR.split(label)}:
            tokens = _casefolded_tokens(candidate)
            if tokens and _is_span_of(tokens, joined):
                named.add(candidate)
    return named


def _names_new_label(counterfactual: str, original: str, label_words: Iterable[str]) -> bool:
    label_words = list(label_words)
    return bool(label_words_in(counterfactual, label_words) - label_words_in(original, label_words))


def is_label_statement(counterfactual: str, original: str, label_words: Iterable[str]) -> bool:
    """Whether x' is a statement about a label rather than an edit of x.

    Formula: x' names a label word that x does not name (:func:`label_words_in`)
    and :func:`kept_share` (x, x') < 0.5.
    """
    return _names_new_label(counterfactual, original, label_words) and (
        kept_share(original, counterfactual) < KEPT_SHARE_THRESHOLD
    )


def is_label_insertion(counterfactual: str, original: str, label_words: Iterable[str]) -> bool:
    """Whether x' is an edit of x that inserts a label word x does not name.

    Formula: x' names a label word that x does not name and :func:`kept_share`
    (x, x') >= 0.5. Not a failure: it shows how often a flip may rest on the
    label word itself.
    """
    return _names_new_label(counterfactual, original, label_words) and (
        kept_share(original, counterfactual) >= KEPT_SHARE_THRESHOLD
    )

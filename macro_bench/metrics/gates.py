"""Validity gates on text: counterfactuals that are no edit of x, told from the text alone.

A flip counts as an explanation only when x' is a real edit of x. Each gate
below is a per-document flag, 1 or 0; the corpus score is the mean of the flag,
range [0, 1], lower is better (``label_insertion_rate`` is no failure: it is
reported so readers can see how often validity rests on the label word).

- ``empty_rate`` (:func:`is_empty`): nothing could be extracted, or what was
  extracted has no token, so no other metric can say anything about it.
- ``copy_rate`` (:func:`is_copy`): x' is x again, up to whitespace and Unicode
  canonical equivalence, also when it stands as one line among others or
  inside quotation marks (``The Turkish text is "<x>"``): quoting x edits nothing.
- ``not_an_edit_rate`` (:func:`is_not_an_edit`): x' is not an edit of x. It
  keeps too little of x (:func:`kept_share` < ``NOT_AN_EDIT_THRESHOLD``): a new
  sentence, a label answer in any language, an echoed prompt line; or it
  copies another field of the document that the prompt shows (the XNLI
  premise) instead of editing x. It reads tokens only, so it works the same in
  every language and script; its threshold keeps 99% of the human CAD edits.
- ``repetition_rate`` (:func:`is_repetition`): x' repeats itself where x does
  not: a word or phrase three times in a row ("wazee wazee wazee"), or a span
  of six words twice (a sentence written out again). Small models loop.
- ``prompt_echo_rate`` (:func:`is_instruction_echo`): x' reproduces the instruction's
  own wording (the generation prompt with the document's text left out) or a
  long span of it. Small models continue the prompt instead of answering ("Edit
  the text as little as possible so that its topic becomes ..."): that text
  names the target label, so it flips the classifier without being an edit of
  anything. Words of x, and of the XNLI premise, are never an echo: reusing
  them is what a counterfactual does.
- ``label_statement_rate`` (:func:`is_label_statement`): x' names a label word
  that x does not contain and is made of label words and the instruction's own
  wording (``1. The topic is "travel".``, ``Health:``, ``No``): a statement
  about a label, not an edit of x. A sentence that merely contains an everyday
  word that is also an answer word ("There is no fence.") is not one.
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

from macro_bench.tokenization import comparable_token_texts, has_no_token

# A content token spells something: it has a letter or a digit. Punctuation and
# symbols are left out of kept_share, so that keeping x's full stop is not
# keeping x.
_CONTENT_TOKEN = regex.compile(r"[\p{L}\p{N}]")
# What separates the words of a label ("science/technology", "science fiction").
_LABEL_PART_SEPARATOR = regex.compile(r"[^\p{L}\p{M}\p{N}]+")
_FIELD_LINE = regex.compile(r"(?m)^[ \t]*(\p{L}[\p{L} ]{0,30}:)[ \t]*$")
# "Hypothesis: ", "Text: ": a prompt's field label before a line that repeats the field.
_FIELD_LABEL = regex.compile(r"^\p{L}+\s?:\s*")
_QUOTES = "\"'“”„‟«»‹›「」『』‘’‚"
# A quotation of at least three words: "...", “...”, «...», 「...」.
_QUOTATION = regex.compile(r'(?:"[^"\n]*?\s[^"\n]*?\s[^"\n]*?"|“[^”\n]*?\s[^”\n]*?\s[^”\n]*?”|«[^»\n]*?\s[^»\n]*?\s[^»\n]*?»)')
_FINAL_PUNCTUATION = regex.compile(r"[\p{Sentence_Terminal}\p{Po}\s]+$")

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
ECHO_WORD_SHARE = 0.8
"""x' whose words come this much from the instruction (and not from x) is an echo, in any order."""
KEPT_SHARE_THRESHOLD = 0.5
"""x' that keeps at least this share of x and inserts a label word is a label insertion."""
NOT_AN_EDIT_THRESHOLD = 0.1
"""x' that keeps less than this share of x's content tokens is not an edit of x.

Calibrated by ``benchmarks/gate_agreement.py``: the 400 human CAD edits of NLI
hypotheses (``../shared/data/cad_nli``) must pass at least 99%, and this is the
highest threshold that keeps them; its table shows the trade-off against the
artifacts of the labelled set (``benchmarks/gate_labels``)."""
FIELD_COPY_SHARE = 0.9
"""x' that keeps this share of another field (the premise), and less than half of x, copies it.

The 400 human CAD edits keep at most 0.91 of their premise and none keeps all of it;
the one at 0.91 keeps more than half of x (``benchmarks/gate_agreement.py``)."""
LABEL_STATEMENT_MAX_WORDS = 4
"""An answer this short that names a new label and keeps less than half of x is a label statement."""
LABEL_STATEMENT_SUBSTANCE = 0.5
"""x' naming a new label is a label statement when less than this share of its words is substance.

A word is substance when x has it, or when it is neither a label word nor a word of
the instruction's own wording: "The team won the politics." (4 of 5 words from x)
is an edit; "1. The topic is "travel"." (only "1" and, when x has it, "the") is not."""


def normalize_whitespace(text: str) -> str:
    """Every run of whitespace as one ASCII space, none at either end.

    Whitespace is what ``str.split`` splits on: ASCII and Unicode spaces
    (NBSP, EN/EM/ideographic space, ...), tabs and line breaks.
    """
    return " ".join(text.split())


def is_copy(original: str, counterfactual: str | None) -> bool:
    """Whether the counterfactual repeats the original unchanged.

    Both sides are NFC-normalized, because a decomposed and a precomposed
    accent are the same text to a reader, whitespace-normalized, because
    re-wrapping a text edits nothing, and typographic apostrophes and quotes
    (’ “ ”) read as ASCII ones, because swapping them edits nothing either. Invisible format characters (ZWNJ, ZWJ,
    bidi marks) are kept: ZWNJ and ZWJ are part of the spelling of Persian and
    Indic words, and keeping them makes ``is_copy(x, x')`` imply a minimality
    of 0. None (nothing extracted) is not a copy.

    x' is also a copy when one of its lines is x unchanged, perhaps after a field
    label ("Hypothesis: <x>" below the premise, x with a comment on another line), or when it holds x, with or without x's final punctuation,
    between quotation marks (``The sentence "<x>" is about sports.``): quoting
    x is talking about it, not editing it.
    """
    if counterfactual is None:
        return False
    wanted = _comparable(original)
    if wanted == _comparable(counterfactual):
        return True
    if not wanted:
        return False
    lines = [_FIELD_LABEL.sub("", _comparable(line)) for line in counterfactual.splitlines()]
    if len(lines) > 1 and wanted in lines:
        return True
    return _quotes(_comparable(counterfactual), wanted)


def _quotes(text: str, original: str) -> bool:
    core = _FINAL_PUNCTUATION.sub("", original) or original
    quote = f"[{regex.escape(_QUOTES)}]"
    return regex.search(rf"{quote}\s*{regex.escape(core)}[\p{{Sentence_Terminal}}\p{{Po}}]*\s*{quote}", text) is not None


def is_empty(counterfactual: str | None) -> bool:
    """Whether nothing was extracted, or the extracted text has no token.

    Exactly the texts for which :func:`macro_bench.tokenization.tokenize`
    returns no token: None, "", or only whitespace, control characters and
    invisible format characters.
    """
    return counterfactual is None or has_no_token(counterfactual)


# Typographic variants of the apostrophe and quotation marks: swapping them edits nothing.
_TYPOGRAPHIC = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'", "“": '"', "”": '"', "„": '"'})


def _comparable(text: str) -> str:
    return normalize_whitespace(unicodedata.normalize("NFC", text)).translate(_TYPOGRAPHIC)


def _casefolded_tokens(text: str) -> list[str]:
    return [token.casefold() for token in comparable_token_texts(text)]


def _casefolded_words(text: str) -> list[str]:
    return [token.casefold() for token in comparable_token_texts(text) if _CONTENT_TOKEN.search(token)]


def echoed_instruction_span(text: str, instruction: str, original: str) -> int:
    """Length in words of the longest span of ``text`` copied from ``instruction``, not from x.

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
    """Whether x' reproduces a long span of the instruction that is not part of x.

    Formula: with s = :func:`echoed_instruction_span` and n = the number of
    words (content tokens) of x', echo = s >= ``ECHO_MIN_SPAN`` (6) or
    (s >= ``ECHO_MIN_SHORT_SPAN`` (3) and 2 s >= n). x is removed from
    ``instruction`` if present, so extraction passes the full prompt to drop
    echoed prompt lines; the gate (:func:`is_instruction_echo`) passes the
    instruction's own wording.
    """
    span = echoed_instruction_span(counterfactual, instruction, original)
    if span >= ECHO_MIN_SPAN:
        return True
    return span >= ECHO_MIN_SHORT_SPAN and 2 * span >= len(_content_tokens(counterfactual))


def is_instruction_echo(counterfactual: str, instruction_wording: str, original: str) -> bool:
    """The prompt-echo gate: x' reproduces the instruction's own wording, not the document.

    ``instruction_wording`` is the generation prompt with the document left out
    (:meth:`macro_bench.datasets.DatasetSpec.instruction_wording`), so words of x
    and of the XNLI premise never count. Formula: :func:`is_prompt_echo`; or a line
    of x' starts with one of the instruction's field labels (a line that is only a
    label and a colon once the document is left out: "Premise:", "Hypothesis:",
    "Text:") that x does not start with, so x' reproduces the prompt's layout; or
    x' has n >= ``ECHO_MIN_SHORT_SPAN`` (3) words and at least ``ECHO_WORD_SHARE``
    (0.8) of them are words of the instruction (its words, reordered).
    """
    if is_prompt_echo(counterfactual, instruction_wording, original):
        return True
    if _reproduces_field_layout(counterfactual, instruction_wording, original):
        return True
    words = _casefolded_words(counterfactual)
    instruction_words = set(_casefolded_words(instruction_wording))
    return len(words) >= ECHO_MIN_SHORT_SPAN and sum(word in instruction_words for word in words) >= ECHO_WORD_SHARE * len(words)


def _field_labels(instruction: str) -> set[str]:
    # The instruction's lines that are a label and a colon once the document is left out:
    # "Premise:", "Hypothesis:", "Text:", "Edited text:".
    return {match.casefold() for match in _FIELD_LINE.findall(instruction)}


def _reproduces_field_layout(counterfactual: str, instruction: str, original: str) -> bool:
    labels = _field_labels(instruction)
    if not labels:
        return False
    def starts_with_label(line: str) -> bool:
        line = line.strip().casefold()
        return any(line.startswith(label) for label in labels)
    return not starts_with_label(original) and any(starts_with_label(line) for line in counterfactual.splitlines())


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


def is_label_statement(counterfactual: str, original: str, label_words: Iterable[str], instruction_wording: str) -> bool:
    """Whether x' is a statement about a label rather than a text that names one.

    Formula: x' names a label word that x does not name (:func:`label_words_in`),
    and one of: it quotes a text of at least three words that x does not quote
    (``The sentence "Boot is near ..." is an example of a neutral relation.``);
    it frames the label in the instruction's words, sharing a run of
    at least ``ECHO_MIN_SHORT_SPAN`` (3) words with ``instruction_wording`` that is
    not a run of x ("The topic of the text is "science/technology", which ...");
    it is a short answer, at most ``LABEL_STATEMENT_MAX_WORDS`` (4) words keeping
    less than half of x ("This is a contradiction.", "No."); or the substance
    share of its words is below ``LABEL_STATEMENT_SUBSTANCE`` (0.5). Words are content tokens, compared
    case-insensitively; a word is substance when x has it, or when it is neither
    part of a label word nor a word of ``instruction_wording``. An x' without
    words is no statement.
    """
    label_words = list(label_words)
    if not _names_new_label(counterfactual, original, label_words):
        return False
    words = _casefolded_words(counterfactual)
    if not words:
        return False
    if echoed_instruction_span(counterfactual, instruction_wording, original) >= ECHO_MIN_SHORT_SPAN:
        return True
    if _QUOTATION.search(counterfactual) and not _QUOTATION.search(original):
        return True
    if len(words) <= LABEL_STATEMENT_MAX_WORDS and kept_share(original, counterfactual) < KEPT_SHARE_THRESHOLD:
        return True
    framing = {word for label in label_words for word in _casefolded_words(label)}
    framing.update(_casefolded_words(instruction_wording))
    from_original = set(_casefolded_words(original))
    substance = sum(1 for word in words if word in from_original or word not in framing)
    return substance < LABEL_STATEMENT_SUBSTANCE * len(words)


def is_not_an_edit(original: str, counterfactual: str, other_fields: Iterable[str] = ()) -> bool:
    """Whether x' is not an edit of x: it keeps too little of x, or it copies another field.

    Formula: :func:`kept_share` (x, x') < ``NOT_AN_EDIT_THRESHOLD`` (0.1), fewer
    than one in ten of x's words surviving in order in x'; or, for a field f of
    the document shown in the prompt beside x (the XNLI premise), x' is f written
    out (:func:`copies_other_field`). Tokens, not a language model or a word list,
    decide, so it is the same test in every language, and a label answer or new
    sentence in any language fails it. Human edits reuse runs of up to 10 words of
    the premise (CAD), so a shared run alone is no copy; keeping most of the
    premise and less than half of x is.
    """
    return kept_share(original, counterfactual) < NOT_AN_EDIT_THRESHOLD or copies_other_field(
        original, counterfactual, other_fields
    )


def copies_other_field(original: str, counterfactual: str, other_fields: Iterable[str]) -> bool:
    """Whether x' is another field of the document written out instead of an edit of x.

    Formula: for some field f, :func:`kept_share` (f, x') = 1 (x' holds all of f,
    in order), or kept_share (f, x') >= ``FIELD_COPY_SHARE`` (0.9) while
    kept_share (x, x') < ``KEPT_SHARE_THRESHOLD`` (0.5): x' keeps nearly all of f
    and less than half of x.
    """
    kept_of_x = kept_share(original, counterfactual)
    for field in other_fields:
        kept = kept_share(field, counterfactual)
        if kept == 1.0 or (kept >= FIELD_COPY_SHARE and kept_of_x < KEPT_SHARE_THRESHOLD):
            return True
    return False


REPEAT_MIN_RUN = 3
"""A word or phrase this many times in a row is a loop ("wazee wazee wazee")."""
REPEAT_MIN_SPAN = 6
"""A span of this many words or more, written twice, is a repeated sentence or clause.

Four words fired on a real edit of a French text with two parallel clauses ("... au
Super-G masculin assis" edited to "... debout", which x' then had twice); six is the
span the echo gate uses too."""


def is_repetition(original: str, counterfactual: str) -> bool:
    """Whether x' loops: it repeats itself in a way x does not.

    Formula: over the case-folded content tokens w of x', some phrase of
    1..``REPEAT_MIN_SPAN`` words occurs ``REPEAT_MIN_RUN`` (3) times in a row,
    or some span of ``REPEAT_MIN_SPAN`` (6) words occurs twice (anywhere), and
    the same does not hold of x for that phrase or span. Unspaced scripts count
    characters as words, as everywhere here.
    """
    words, source = _casefolded_words(counterfactual), _casefolded_words(original)
    return bool(_repeats(words) - _repeats(source))


def _repeats(words: list[str]) -> set[tuple[str, ...]]:
    found = set()
    for size in range(1, REPEAT_MIN_SPAN + 1):
        for start in range(len(words) - REPEAT_MIN_RUN * size + 1):
            phrase = tuple(words[start : start + size])
            if all(tuple(words[start + k * size : start + (k + 1) * size]) == phrase for k in range(1, REPEAT_MIN_RUN)):
                found.add(phrase)
    seen = set()
    for start in range(len(words) - REPEAT_MIN_SPAN + 1):
        span = tuple(words[start : start + REPEAT_MIN_SPAN])
        if span in seen:
            found.add(span)
        seen.add(span)
    return found


def is_label_insertion(counterfactual: str, original: str, label_words: Iterable[str]) -> bool:
    """Whether x' is an edit of x that inserts a label word x does not name.

    Formula: x' names a label word that x does not name and :func:`kept_share`
    (x, x') >= 0.5. Not a failure: it shows how often a flip may rest on the
    label word itself.
    """
    return _names_new_label(counterfactual, original, label_words) and (
        kept_share(original, counterfactual) >= KEPT_SHARE_THRESHOLD
    )

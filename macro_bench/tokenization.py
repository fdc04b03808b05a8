"""Language-aware word tokenization used by every token-level metric.

One precompiled ``regex`` pattern splits any text into tokens, each with its
character offsets into the text. The rules, in order of precedence:

1. **Unspaced scripts** -- Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar
   and Tibetan, i.e. every script in which a SIB-200 language is written
   without spaces between words: one token per letter, with the combining
   marks (``\\p{M}``) that follow it attached, so Thai/Khmer/Myanmar vowel
   signs and Tibetan subjoined letters stay with their base. For Han and kana
   membership uses Script_Extensions, so that the length and iteration marks
   ``ー``, ``〆`` (script Common, used only in Japanese/Chinese) count; for the
   others it uses Script, because Script_Extensions would also pull in the
   MODIFIER LETTER APOSTROPHE ``ʼ`` that many Latin orthographies spell words
   with. Yi and the Javanese script are also written without spaces but are
   not used by any SIB-200 language (Javanese is ``jav_Latn``), so they are
   not special-cased: their text splits at spaces like any other script.
   A word segmenter would give fewer, longer tokens for these scripts, but no
   segmenter exists for all of them and a per-letter split is the same rule for
   every model, which is what an edit distance needs.
2. **Words** in every other script: runs of letters, marks, digits and
   connector punctuation (``_``). Inside a run the following do not split it:
   an apostrophe (``'`` U+0027, ``‘`` U+2018, ``’`` U+2019) between word
   characters, because in Uzbek (``o'z``), Guarani (``mba'e``) and others it
   spells a letter and in English/French (``don't``, ``l'eau``) deleting a
   clitic is one edit of the word, not three edits; a ``.`` or ``,`` between
   digits (``1,000``, ``3.5``: one number is one token); and invisible format
   characters (``\\p{Cf}``) except ZERO WIDTH SPACE, because ZWNJ/ZWJ are part
   of Persian and Indic spelling (``می‌خواهم``) while ZWSP is a word break by
   definition. Hyphens split (``state-of-the-art`` is 7 tokens) so that
   replacing one part of a compound is one edit.
3. **Everything else that is visible**: one token per extended grapheme
   cluster (``\\X``), so each punctuation mark and symbol is its own token and
   an emoji -- including ZWJ sequences, flags and skin-tone variants -- is one
   token. Lone surrogates, private-use and unassigned code points also land
   here, one token each: a model's garbage is data.

Whitespace, control characters (``\\p{Cc}``: NUL, ESC, ...) and format
characters outside words (bidi marks, ZWSP, BOM) are never tokens; they only
separate tokens.

The tokens depend on the Unicode database of the ``regex`` module (and NFC on
Python's ``unicodedata``). :data:`TOKENIZER_SIGNATURE` identifies the tokenizer by
what it does, not by those packages' versions: the rules' name plus a short hash of
its output on :data:`PROBE_TEXT`, a text that exercises every rule above. A new
``regex`` release that tokenizes the same way gives the same signature, so runs made
on two installs compare; one that changes any rule's result on the probe changes it
(``tests/test_tokenization.py`` removes each rule in turn and checks).
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Collection, Sequence
from typing import NamedTuple

import regex

TOKENIZER_NAME = "unicode-script-v1"
"""Name and version of the rules below; bump the version whenever a rule changes."""

# These scripts are caseless, so testing Lo/Lm/Nl first (one lookup) spares
# the eight script lookups for every cased letter; it changes no match.
_UNSPACED_LETTER = (
    r"[[\p{Lo}\p{Lm}\p{Nl}]&&[\p{scx=Hani}\p{scx=Hira}\p{scx=Kana}"
    r"\p{sc=Thai}\p{sc=Laoo}\p{sc=Khmr}\p{sc=Mymr}\p{sc=Tibt}]]"
)
_INTRA_WORD_JOINER = r"(?:[\p{Cf}--\u200B]+|['\u2018\u2019]|(?<=\p{N})[.,](?=\p{N}))"
_OTHER_VISIBLE = r"(?![\s\p{Cf}\p{Cc}])\X"


def _token_pattern(
    unspaced_letter: str = _UNSPACED_LETTER,
    joiner: str = _INTRA_WORD_JOINER,
    unspaced_marks: str = r"\p{M}*",
    other: str = _OTHER_VISIBLE,
) -> regex.Pattern:
    """The token pattern from its rules (the module docstring); tests vary one rule at a time."""
    word_char = rf"[[\p{{L}}\p{{M}}\p{{N}}\p{{Pc}}]--{unspaced_letter}]"
    return regex.compile(
        rf"(?V1){word_char}+(?:{joiner}{word_char}+)*"
        rf"|{unspaced_letter}{unspaced_marks}"
        rf"|{other}"
    )


_TOKEN_PATTERN = _token_pattern()
_WHITESPACE = regex.compile(r"\s")
_LETTER_OR_DIGIT = regex.compile(r"[\p{L}\p{N}]")
_VISIBLE_CHARACTER = regex.compile(r"[^\s\p{Cc}\p{Cf}]")


class Token(NamedTuple):
    """A token and its character span: ``source[start:end] == text``."""

    text: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens following the rules in the module docstring.

    >>> [t.text for t in tokenize("我喜欢足球。")]
    ['我', '喜', '欢', '足', '球', '。']
    >>> [t.text for t in tokenize("Don't stop-gap!")]
    ["Don't", 'stop', '-', 'gap', '!']
    """
    return [Token(match[0], *match.span()) for match in _TOKEN_PATTERN.finditer(text)]


def has_no_token(text: str) -> bool:
    """Whether :func:`tokenize` finds no token in ``text``: it holds only whitespace, control
    characters and invisible format characters (or nothing)."""
    return _VISIBLE_CHARACTER.search(text) is None


def is_content_token(text: str) -> bool:
    """Whether a token carries words: it has at least one letter or digit (``\\p{L}``, ``\\p{N}``).

    Punctuation- and symbol-only tokens (``.``, ``«``, ``😀``) are not content:
    whether a sentence ends in ``.`` says nothing about its topic, so such
    tokens are never deleted by an intervention and never count as edited.

    >>> [is_content_token(t) for t in ["Don't", "3.5", "。", "-", "😀", "喜"]]
    [True, True, False, False, False, True]
    """
    return _LETTER_OR_DIGIT.search(text) is not None


def comparable_token_texts(text: str) -> list[str]:
    """The texts of ``tokenize(text)`` in NFC, for comparing two texts token by token.

    A precomposed and a decomposed accent are the same letter to a reader, so
    canonically equivalent tokens must compare equal; NFC is applied per token
    so that position ``i`` here is still ``tokenize(text)[i]``. Offsets are not
    built, which makes this about twice as fast as :func:`tokenize` -- it is the
    hot path of every token-level metric.
    """
    token_texts = _TOKEN_PATTERN.findall(text)
    if unicodedata.is_normalized("NFC", text):
        return token_texts
    return [unicodedata.normalize("NFC", token_text) for token_text in token_texts]


def remove_tokens(text: str, tokens: Sequence[Token], positions: Collection[int]) -> str:
    """``text`` without the tokens at ``positions``, for deletion interventions.

    ``tokens`` must be ``tokenize(text)``. Text between kept neighbours keeps
    its original spacing. Where a run of tokens is deleted, the gaps around it
    become one: the first of them that contains whitespace, from its first
    whitespace character on (``"a b c"`` minus ``b`` is ``"a c"``). If none
    does, the surviving neighbours are joined directly (``"a (b) c"`` minus
    ``b`` is ``"a () c"``; ``"我喜欢"`` minus ``喜`` is ``"我欢"``), or by one
    space where joining them directly would fuse tokens (``"a-b"`` minus ``-``
    is ``"a b"``). So the result always tokenizes to exactly the kept tokens,
    and a deletion at either end leaves no leading or trailing whitespace.

    Raises:
        IndexError: a position is not a valid index into ``tokens``.
    """
    n_tokens = len(tokens)
    deleted = set(positions)
    for position in deleted:
        if not 0 <= position < n_tokens:
            raise IndexError(f"token position {position} is outside 0..{n_tokens - 1}")
    if not deleted:
        return text
    kept = [i for i in range(n_tokens) if i not in deleted]
    if not kept:
        return ""
    joined = _join_kept(text, tokens, kept, space_every_join=False)
    if _TOKEN_PATTERN.findall(joined) == [tokens[i].text for i in kept]:
        return joined
    # Rarely a fusion spans more than the two neighbours of a deletion: in
    # "0'-0" minus "-", the apostrophe joins "0" and "0" into one word. A space
    # at every deletion that leaves no whitespace rules out all of them.
    return _join_kept(text, tokens, kept, space_every_join=True)


def _join_kept(text: str, tokens: Sequence[Token], kept: list[int], space_every_join: bool) -> str:
    pieces = [text[: tokens[0].start]] if kept[0] == 0 else []
    pieces.append(tokens[kept[0]].text)
    for left, right in zip(kept, kept[1:]):
        if right == left + 1:
            pieces.append(text[tokens[left].end : tokens[right].start])
        else:
            pieces.append(_gap_over_deletion(text, tokens, left, right, space_every_join))
        pieces.append(tokens[right].text)
    if kept[-1] == len(tokens) - 1:
        pieces.append(text[tokens[-1].end :])
    return "".join(pieces)


def _gap_over_deletion(
    text: str, tokens: Sequence[Token], left: int, right: int, space_every_join: bool
) -> str:
    for i in range(left, right):
        gap = text[tokens[i].end : tokens[i + 1].start]
        whitespace = _WHITESPACE.search(gap)
        if whitespace:
            # A format character before it could now extend the left token's
            # grapheme cluster (":" + ZWNJ is one cluster), so it goes.
            return gap[whitespace.start() :]
    if space_every_join:
        return " "
    left_text, right_text = tokens[left].text, tokens[right].text
    if _TOKEN_PATTERN.findall(left_text + right_text) == [left_text, right_text]:
        return ""
    return " "


# One stretch of text per rule of the module docstring, with characters that have had
# the same Unicode properties for many releases (no recently assigned or unassigned
# code point, whose properties a new Unicode database could change).
_PROBE_PARTS = (
    # Words in spaced scripts; apostrophes inside words; a modifier letter apostrophe.
    "Don't stop l'eau o'z mba'e rock\u2018n\u2019roll Ka\u02bcalaa",
    # Hyphens split; underscores join.
    "state-of-the-art snake_case",
    # Digits: separators between digits join, others split; other digit scripts.
    "1,000 3.5 12,5% 1.a ٣٤٥ ๓๔ १२",
    # Other spaced scripts, with combining marks.
    "Привет, мир! Καλημέρα مرحبا بالعالم שָׁלוֹם हिन्दी বাংলা 한국어 문장 ქართული",
    # Decomposed accents (NFC makes them equal to the precomposed ones).
    "Cafe\u0301 e\u0301te\u0301 été",
    # Format characters: ZWNJ and ZWJ and the soft hyphen join; ZWSP, bidi marks and BOM split.
    "می\u200cخواهم क्\u200dष co\u00adoperate foo\u200bbar \u200fabc\u200e \ufeffdef",
    # Controls and other spaces are never tokens.
    "a\x00b\x1bc\td\ne\u00a0f\u3000g",
    # Unspaced scripts: one letter per token with its marks; Han/kana by Script_Extensions.
    "我喜欢足球。我爱NLP模型 人々 カタカナーとひらがな〆切 NLP〆 NLPー",
    "ภาษาไทยง่ายนิดเดียว ພາສາລາວ ភាសាខ្មែរ မြန်မာစာ བོད་སྐད།",
    # Scripts written without spaces that no SIB-200 language uses split at spaces.
    "ꆈꌠꁱꂷ ꦧꦱꦗꦮ",
    # Punctuation and symbols, one grapheme cluster each, a mark on punctuation included.
    "«Hola» ¿Qué? ¡Sí! … – — 「引用」、 (x) $5 €3 + = § .\u0301",
    # Emoji: skin tone, ZWJ sequence, flag, variation selector; private use; a lone surrogate.
    "👍🏽 👨\u200d👩\u200d👧 🇫🇷 ❤\ufe0f \ue000 \ud800",
)
PROBE_TEXT = " ".join(_PROBE_PARTS)
"""The text :data:`TOKENIZER_SIGNATURE` hashes the tokenizer's output on."""


def tokenizer_probe_hash() -> str:
    """A short hash of everything the metrics take from this module, on :data:`PROBE_TEXT`.

    Covers the tokens and their spans, which are content tokens, the NFC comparison
    texts, and what :func:`remove_tokens` leaves after deleting every third token.
    """
    tokens = tokenize(PROBE_TEXT)
    output = {
        "tokens": [list(token) for token in tokens],
        "content": [is_content_token(token.text) for token in tokens],
        "comparable": comparable_token_texts(PROBE_TEXT),
        "removed": remove_tokens(PROBE_TEXT, tokens, range(0, len(tokens), 3)),
    }
    # ensure_ascii: a lone surrogate is written as an escape, so the text always encodes.
    payload = json.dumps(output, ensure_ascii=True, sort_keys=True)
    return hashlib.sha256(payload.encode("ascii")).hexdigest()[:12]


TOKENIZER_SIGNATURE = f"{TOKENIZER_NAME}+probe-{tokenizer_probe_hash()}"
"""The rules' name plus the hash of their output on the probe text: the same wherever
the tokenizer gives the same tokens, whatever the ``regex`` release."""

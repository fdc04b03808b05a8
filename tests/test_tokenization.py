"""Tokenization: hand-checked tokens per script, garbage input, and properties."""

from __future__ import annotations

import unicodedata

import pytest
import regex
from hypothesis import example, given, settings
from hypothesis import strategies as st

from macro_bench import tokenization
from macro_bench.tokenization import (
    TOKENIZER_NAME,
    TOKENIZER_SIGNATURE,
    Token,
    comparable_token_texts,
    remove_tokens,
    tokenize,
    tokenizer_probe_hash,
)

# Every code point, lone surrogates included (st.characters leaves them out unless asked).
any_char = st.one_of(st.characters(exclude_categories=()), st.characters(categories=["Cs"]))
any_text = st.text(alphabet=any_char, max_size=60)
# Characters that shape the rules, mixed densely so that properties meet them.
tricky_chars = st.sampled_from(
    list("ab1,.'’-_ 。我ก\u0e34\u0e48\u0301\u200b\u200c\u200d\u200e\x00\t\n")
    + ["\ud800", "👨", "🇫", "🏽", "\ufe0f", "ー", "ྐ", "्", "e\u0301", "\u3000"]
)
tricky_text = st.lists(tricky_chars, max_size=30).map("".join)


def texts(text: str) -> list[str]:
    return [token.text for token in tokenize(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("我喜欢足球。", ["我", "喜", "欢", "足", "球", "。"], id="chinese"),
        pytest.param(
            "サッカーW杯で日本が2010年に勝った。",
            ["サ", "ッ", "カ", "ー", "W", "杯", "で", "日", "本", "が", "2010", "年",
             "に", "勝", "っ", "た", "。"],
            id="japanese-kana-kanji-latin-digits",
        ),
        pytest.param(
            # Vowel signs and tone marks (Mn) stay on their consonant; เ and า are letters.
            "เพิ่มความ", ["เ", "พิ่", "ม", "ค", "ว", "า", "ม"], id="thai-marks"
        ),
        pytest.param("ການກາຍພັນ", ["ກ", "າ", "ນ", "ກ", "າ", "ຍ", "ພັ", "ນ"], id="lao"),
        pytest.param("ផ្លាស់", ["ផ្", "លា", "ស់"], id="khmer-coeng"),
        pytest.param("သန္ဓေ", ["သ", "န္", "ဓေ"], id="myanmar-virama"),
        pytest.param("སྐད་ཡིག", ["སྐ", "ད", "་", "ཡི", "ག"], id="tibetan-subjoined-and-tsheg"),
        pytest.param(
            "مرحبا بالعالم، كيف؟", ["مرحبا", "بالعالم", "،", "كيف", "؟"], id="arabic"
        ),
        pytest.param(
            # Matras, virama and candrabindu are marks inside the word.
            "हिन्दी भाषा क्षेत्र।", ["हिन्दी", "भाषा", "क्षेत्र", "।"], id="devanagari"
        ),
        pytest.param("한국어 문장입니다.", ["한국어", "문장입니다", "."], id="korean"),
        pytest.param(
            "Hello, world! It's state-of-the-art (really).",
            ["Hello", ",", "world", "!", "It's", "state", "-", "of", "-", "the", "-",
             "art", "(", "really", ")", "."],
            id="latin-punctuation-apostrophe-hyphen",
        ),
        pytest.param(
            "o'z mba'e l’eau 'quoted' students' books",
            ["o'z", "mba'e", "l’eau", "'", "quoted", "'", "students", "'", "books"],
            id="apostrophe-only-between-word-characters",
        ),
        pytest.param(
            "1,000 and 3.5. In 2011, x.y", ["1,000", "and", "3.5", ".", "In", "2011", ",",
                                            "x", ".", "y"],
            id="number-separators-only-between-digits",
        ),
        pytest.param("foo_bar", ["foo_bar"], id="connector-punctuation"),
        pytest.param(
            # U+02BC has Thai among its Script_Extensions but spells Latin words.
            "Kʼicheʼ oʻzbek", ["Kʼicheʼ", "oʻzbek"], id="modifier-letter-apostrophes-in-words"
        ),
        pytest.param("〆切ｶﾀｶﾅｰ", ["〆", "切", "ｶ", "ﾀ", "ｶ", "ﾅ", "ｰ"], id="common-script-kana-marks"),
        pytest.param(
            "جهش می\u200cافزاید", ["جهش", "می\u200cافزاید"], id="persian-zwnj-inside-word"
        ),
        pytest.param("ab\u200bcd", ["ab", "cd"], id="zero-width-space-separates"),
        pytest.param("\u200fabc\u200e def\ufeff", ["abc", "def"], id="bidi-marks-not-tokens"),
        pytest.param("\u200b\u200e\u2066\u2069", [], id="format-chars-only"),
        pytest.param(
            "👨\u200d👩\u200d👧 hi🇫🇷👍🏽 1️⃣ 😀😀",
            ["👨\u200d👩\u200d👧", "hi", "🇫🇷", "👍🏽", "1️⃣", "😀", "😀"],
            id="emoji-one-token-each",
        ),
        pytest.param("a\x00b\x1bc", ["a", "b", "c"], id="control-chars-separate"),
        pytest.param("a\ud800b\udfff", ["a", "\ud800", "b", "\udfff"], id="lone-surrogates"),
        pytest.param("\ue000\U0010fffd", ["\ue000", "\U0010fffd"], id="private-use"),
        pytest.param("e\u0301 \u0301x", ["e\u0301", "\u0301x"], id="lone-mark-starts-token"),
        pytest.param("", [], id="empty"),
        pytest.param(" \t\n\u3000\u00a0", [], id="unicode-whitespace-only"),
    ],
)
def test_tokens_by_script(text: str, expected: list[str]) -> None:
    assert texts(text) == expected


def test_offsets_point_into_the_text() -> None:
    assert tokenize("Hi, 我们!") == [
        Token("Hi", 0, 2),
        Token(",", 2, 3),
        Token("我", 4, 5),
        Token("们", 5, 6),
        Token("!", 6, 7),
    ]


def test_long_garbage_is_tokenized() -> None:
    garbage = "我喜欢足球。\x00\ud800👨\u200d👩 state-of-the-art " * 100
    tokens = tokenize(garbage)
    assert len(tokens) == 100 * len(tokenize("我喜欢足球。\x00\ud800👨\u200d👩 state-of-the-art "))


def test_signature_is_the_rules_name_and_the_hash_of_their_output() -> None:
    assert TOKENIZER_NAME == "unicode-script-v1"
    assert TOKENIZER_SIGNATURE == f"unicode-script-v1+probe-{tokenizer_probe_hash()}"
    assert regex.fullmatch(r"unicode-script-v1\+probe-[0-9a-f]{12}", TOKENIZER_SIGNATURE)


def test_signature_does_not_depend_on_the_regex_version(monkeypatch) -> None:
    before = tokenizer_probe_hash()
    for version in ("2023.12.25", "2026.11.19", "9999.1.1"):
        monkeypatch.setattr(regex, "__version__", version)
        assert tokenizer_probe_hash() == before
        assert version not in TOKENIZER_SIGNATURE


_UNSPACED_SCRIPTS = ("scx=Hani", "scx=Hira", "scx=Kana", "sc=Thai", "sc=Laoo", "sc=Khmr", "sc=Mymr", "sc=Tibt")
# Each rule of the tokenizer with one thing changed: (what changed, the pattern's pieces).
_RULE_CHANGES = [
    *((f"{script} spaced", {"unspaced_letter": tokenization._UNSPACED_LETTER.replace(rf"\p{{{script}}}", "")})
      for script in _UNSPACED_SCRIPTS),
    # Script_Extensions would add MODIFIER LETTER APOSTROPHE to Thai (for the other
    # scripts written without spaces the two give the same letters).
    ("Thai by Script_Extensions", {"unspaced_letter": tokenization._UNSPACED_LETTER.replace("sc=Thai", "scx=Thai")}),
    ("Han by Script", {"unspaced_letter": tokenization._UNSPACED_LETTER.replace("scx=Hani", "sc=Hani")}),
    ("kana by Script", {"unspaced_letter": tokenization._UNSPACED_LETTER.replace("scx=Hira", "sc=Hira").replace("scx=Kana", "sc=Kana")}),
    ("marks not attached to unspaced letters", {"unspaced_marks": ""}),
    ("apostrophes split words", {"joiner": tokenization._INTRA_WORD_JOINER.replace(r"|['\u2018\u2019]", "")}),
    ("curly apostrophes split words", {"joiner": tokenization._INTRA_WORD_JOINER.replace(r"\u2018\u2019", "")}),
    ("digit separators split numbers", {"joiner": tokenization._INTRA_WORD_JOINER.replace(r"|(?<=\p{N})[.,](?=\p{N})", "")}),
    ("format characters split words", {"joiner": tokenization._INTRA_WORD_JOINER.replace(r"[\p{Cf}--\u200B]+|", "")}),
    ("ZWSP joins words", {"joiner": tokenization._INTRA_WORD_JOINER.replace(r"--\u200B", "")}),
    ("hyphens join words", {"joiner": tokenization._INTRA_WORD_JOINER.replace("['", r"['\-")}),
    ("code points instead of grapheme clusters", {"other": r"(?![\s\p{Cf}\p{Cc}])."}),
    ("format and control characters are tokens", {"other": r"(?!\s)\X"}),
]


@pytest.mark.parametrize(("change", "pieces"), _RULE_CHANGES, ids=[change for change, _ in _RULE_CHANGES])
def test_changing_any_rule_changes_the_signature(monkeypatch, change, pieces) -> None:
    # The probe text exercises every rule, so a regex release (or an edit) that
    # changes what any rule does cannot keep the signature.
    before = tokenizer_probe_hash()
    changed = tokenization._token_pattern(**pieces)
    assert changed.pattern != tokenization._TOKEN_PATTERN.pattern, change
    monkeypatch.setattr(tokenization, "_TOKEN_PATTERN", changed)
    assert tokenizer_probe_hash() != before, change


def test_content_nfc_and_deletion_changes_change_the_signature(monkeypatch) -> None:
    before = tokenizer_probe_hash()
    with monkeypatch.context() as patch:
        patch.setattr(tokenization, "_LETTER_OR_DIGIT", regex.compile(r"\p{L}"))  # digits no longer content
        assert tokenizer_probe_hash() != before

    class NoNormalization:
        is_normalized = staticmethod(lambda form, text: False)
        normalize = staticmethod(lambda form, text: text)

    with monkeypatch.context() as patch:
        patch.setattr(tokenization, "unicodedata", NoNormalization)
        assert tokenizer_probe_hash() != before
    with monkeypatch.context() as patch:
        patch.setattr(tokenization, "_gap_over_deletion", lambda *args: " ")
        assert tokenizer_probe_hash() != before
    assert tokenizer_probe_hash() == before


@settings(max_examples=300)
@given(st.one_of(any_text, tricky_text))
@example("a\ud800\u200d😀\x00")
def test_tokens_are_ordered_exact_spans_and_only_invisibles_are_skipped(text: str) -> None:
    tokens = tokenize(text)
    covered = 0
    for token in tokens:
        assert text[token.start : token.end] == token.text != ""
        assert token.start >= covered
        skipped = text[covered : token.start]
        assert regex.fullmatch(r"[\s\p{Cc}\p{Cf}]*", skipped), ascii(skipped)
        covered = token.end
    assert regex.fullmatch(r"[\s\p{Cc}\p{Cf}]*", text[covered:])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Cafe\u0301 de\u0301ja\u0300", ["Café", "déjà"]),
        ("Café", ["Café"]),
        ("我喜欢", ["我", "喜", "欢"]),
    ],
)
def test_comparable_token_texts_are_nfc(text: str, expected: list[str]) -> None:
    assert comparable_token_texts(text) == expected


@given(st.one_of(any_text, tricky_text))
def test_comparable_token_texts_align_with_tokenize(text: str) -> None:
    assert comparable_token_texts(text) == [
        unicodedata.normalize("NFC", token.text) for token in tokenize(text)
    ]


@pytest.mark.parametrize(
    ("text", "positions", "expected"),
    [
        ("a b c", {1}, "a c"),
        ("a b c", {0}, "b c"),
        ("a b c", {2}, "a b"),
        ("a b c", {0, 1, 2}, ""),
        ("a b c", set(), "a b c"),
        ("Hello, world!", {1}, "Hello world!"),
        ("Hello, world!", {0}, ", world!"),
        ("Hello, world!", {3}, "Hello, world"),
        ("Hello, world!", {2, 3}, "Hello,"),
        ("a (b) c", {2}, "a () c"),
        ("a (b) c", {1, 2, 3}, "a c"),
        ("a  b\nc d", {1}, "a  c d"),
        ("a\nb c", {1}, "a\nc"),
        ("我喜欢足球。", {1, 2}, "我足球。"),
        ("state-of-the-art", {1}, "state of-the-art"),
        # "0'0" would be one word: the apostrophe joins across three tokens.
        ("0:'0", {1}, "0 '0"),
        ("0'-0", {2}, "0' 0"),
        ("0:'-0", {1, 3}, "0 ' 0"),
        # ZWNJ would join the ":" grapheme cluster once "0" is gone.
        (":0\u200c\r0", {1}, ":\r0"),
        ("a\x00b c", {1}, "a c"),
        ("  lead and trail  ", {1}, "  lead trail  "),
        ("  lead and trail  ", {0}, "and trail  "),
    ],
)
def test_remove_tokens_spacing(text: str, positions: set[int], expected: str) -> None:
    assert remove_tokens(text, tokenize(text), positions) == expected


def test_remove_tokens_takes_any_collection_of_positions() -> None:
    assert remove_tokens("a b c", tokenize("a b c"), [1, 1]) == "a c"
    assert remove_tokens("a b c", tokenize("a b c"), range(2)) == "c"


def test_remove_tokens_rejects_positions_outside_the_text() -> None:
    with pytest.raises(IndexError, match="outside 0..2"):
        remove_tokens("a b c", tokenize("a b c"), {3})
    with pytest.raises(IndexError):
        remove_tokens("a b c", tokenize("a b c"), {-1})


@settings(max_examples=300)
@given(st.data())
def test_removal_result_tokenizes_to_the_kept_tokens(data: st.DataObject) -> None:
    text = data.draw(st.one_of(any_text, tricky_text))
    tokens = tokenize(text)
    positions = data.draw(st.sets(st.integers(0, max(len(tokens) - 1, 0)))) if tokens else set()
    result = remove_tokens(text, tokens, positions)
    kept = [token.text for i, token in enumerate(tokens) if i not in positions]
    assert texts(result) == kept
    if 0 in positions:
        assert result == result.lstrip()
    if len(tokens) - 1 in positions:
        assert result == result.rstrip()

"""Validity gates on text: hand-computed values, each gate positive and negative."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from macro_bench.metrics import (
    Minimality,
    is_copy,
    is_empty,
    is_label_insertion,
    is_label_statement,
    is_prompt_echo,
    kept_share,
    label_words_in,
    normalize_whitespace,
)
from macro_bench.datasets import get_dataset
from macro_bench.metrics.gates import echoed_instruction_span
from macro_bench.tokenization import tokenize

from .test_extraction import PROTOCOL_1_PROMPT

any_char = st.one_of(st.characters(exclude_categories=()), st.characters(categories=["Cs"]))
any_text = st.text(alphabet=any_char, max_size=40)

SIB_LABELS = ["science/technology", "travel", "politics", "sports", "health", "entertainment", "geography"]
XNLI_LABELS = ["entailment", "neutral", "contradiction"]


def prompt_for(text: str, gold: str = "politics", target: str = "sports", language: str = "English") -> str:
    return PROTOCOL_1_PROMPT.format(text=text, gold=gold, target=target, language=language)


# --- kept_share -------------------------------------------------------------


@pytest.mark.parametrize(
    ("original", "counterfactual", "share"),
    [
        # 6 content tokens; "football" -> "film" keeps The, team, won, the, match.
        ("The football team won the match.", "The film team won the match.", 5 / 6),
        ("The team won.", "The team won.", 1.0),
        # Order matters: the longest common subsequence of a b c d and d c b a is one token.
        ("a b c d", "d c b a", 1 / 4),
        # Punctuation is no content: dropping it keeps everything.
        ("Yes, we won!", "Yes we won", 1.0),
        # Case is part of the word.
        ("The team", "the team", 1 / 2),
        ("The team won.", "", 0.0),
        ("The team won.", "Health:", 0.0),
        # x without a word token has nothing that could be kept.
        ("...", "...", 0.0),
        # Chinese: one token per character; 我喜欢 of 我喜欢足球 survives.
        ("我喜欢足球。", "我喜欢电影。", 3 / 5),
        # Decomposed and precomposed accents are the same word.
        ("Café ouvert", unicodedata.normalize("NFD", "Café fermé"), 1 / 2),
    ],
)
def test_kept_share_hand_values(original: str, counterfactual: str, share: float) -> None:
    assert kept_share(original, counterfactual) == pytest.approx(share, abs=1e-12)


@settings(max_examples=200)
@given(any_text, any_text)
def test_kept_share_is_a_share(original: str, counterfactual: str) -> None:
    assert 0.0 <= kept_share(original, counterfactual) <= 1.0


# --- label words ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "labels", "named"),
    [
        ('1. The topic is "science/technology".', SIB_LABELS, {"science/technology", "science", "technology"}),
        ("Science is fun.", SIB_LABELS, {"science"}),
        ("science and technology", SIB_LABELS, {"science", "technology"}),
        ("TRAVEL plans", SIB_LABELS, {"travel"}),
        # Whole tokens only: "travellers" and "sportsmen" name nothing.
        ("Travellers and sportsmen", SIB_LABELS, set()),
        ("Sports-related news", SIB_LABELS, {"sports"}),
        ("Health:", SIB_LABELS, {"health"}),
        ("This is a contradiction.", XNLI_LABELS, {"contradiction"}),
        # A Chinese label is named as a whole, never by one of its characters.
        ("我们去旅游吧", ["旅游", "体育"], {"旅游"}),
        ("游泳很好", ["旅游", "体育"], set()),
        ("", SIB_LABELS, set()),
    ],
)
def test_label_words_in(text: str, labels: list[str], named: set[str]) -> None:
    assert label_words_in(text, labels) == named


# --- label statements and insertions ----------------------------------------

VPN = (
    "Personal VPN (virtual private network) providers are an excellent way of circumventing both "
    "political censorship and commercial IP-geofiltering."
)
BASQUE = (
    "Prozesuari jarraituz, HJR-3 berriz berrikusiko da hautetsitako hurrengo legegintzaldian, 2015ean "
    "edo 2016an, prozesuan jarrai dezan."
)


SIB_WORDING = get_dataset("sib200").instruction_wording("science/technology", "travel", "English")
XNLI_WORDING = get_dataset("xnli").instruction_wording("entailment", "contradiction", "English")


@pytest.mark.parametrize(
    ("original", "counterfactual", "labels", "statement", "insertion"),
    [
        # From the committed protocol-1 runs (Gemma-3-270m eng_Latn doc 2, SmolLM2 eus_Latn doc 5).
        pytest.param(VPN, '1. The topic is "travel".', SIB_LABELS, True, False, id="numbered-topic-statement"),
        pytest.param(BASQUE, "Health:", SIB_LABELS, True, False, id="label-alone"),
        # A real edit names no label: neither.
        pytest.param(
            "The football team won", "The film team won", SIB_LABELS, False, False, id="real-edit"
        ),
        # Keeps all of x and inserts "travel": an insertion, not a statement.
        pytest.param(
            "The football team won the match.",
            "The football team won the travel match.",
            SIB_LABELS,
            False,
            True,
            id="insertion",
        ),
        # x names "travel" itself: saying it again names no new label.
        pytest.param("Travel is fun in May.", "Travel.", SIB_LABELS, False, False, id="label-of-x"),
        # Kept share exactly 0.5 (2 of a b c d) is an edit, not a short answer; 0.25 is.
        pytest.param("a b c d", "a b sports", SIB_LABELS, False, True, id="half-kept"),
        pytest.param("a b c d", "a sports", SIB_LABELS, True, False, id="quarter-kept"),
        # 5 words, 1 kept of 5: no short answer; substance 3 of 5 (a, f, g): an edit.
        pytest.param("a b c d e", "a sports f g h", SIB_LABELS, False, False, id="long-rewrite-with-label"),
        pytest.param(
            "The man is sleeping.", "This is a contradiction.", XNLI_LABELS, True, False, id="xnli-statement"
        ),
        # Everyday words that are also XNLI answer words: sentences, not statements (CAD edits).
        pytest.param("There is a fence.", "There is no fence.", [*XNLI_LABELS, "Yes", "Also", "No"], False, True, id="no-in-a-sentence"),
        pytest.param(
            "Someone is standing near the wall.", "No one is standing near the wall.", [*XNLI_LABELS, "No"], False, True,
            id="no-one",
        ),
        # A quoted text and a label: talking about a sentence (SmolLM2, chat template, XNLI).
        pytest.param(
            "Boot is near the La'al Ratty.",
            'The sentence "A little way along from Boot you\'ll find the La\'al Ratty" is an example of a neutral relation.',
            XNLI_LABELS, True, True, id="quoted-text-and-label",
        ),
        # The instruction's framing around a label: "the topic of the" is a 4-word run of it.
        pytest.param(
            "AI forms an important branch of computer science.",
            'The topic of the text is "science/technology", a branch of computer science.',
            # It keeps 5 of x's 8 words, so the kept-share test of label_insertion holds too.
            SIB_LABELS, True, True, id="framed-label",
        ),
        # Chinese: 18 content characters; the label alone is a statement, 璀璨 -> 体育 keeps 16/18.
        pytest.param("这些地区人口稀少，你也能欣赏到璀璨星空。", "旅游", ["旅游", "体育"], True, False, id="chinese-statement"),
        pytest.param(
            "这些地区人口稀少，你也能欣赏到璀璨星空。",
            "这些地区人口稀少，你也能欣赏到体育星空。",
            ["旅游", "体育"],
            False,
            True,
            id="chinese-insertion",
        ),
        pytest.param(
            "这些地区人口稀少，你也能欣赏到璀璨星空。",
            "这些地区人口很多，你也能欣赏到璀璨星空。",
            ["旅游", "体育"],
            False,
            False,
            id="chinese-real-edit",
        ),
    ],
)
def test_label_statement_and_insertion(
    original: str, counterfactual: str, labels: list[str], statement: bool, insertion: bool
) -> None:
    wording = XNLI_WORDING if set(labels) & set(XNLI_LABELS) else SIB_WORDING
    assert is_label_statement(counterfactual, original, labels, wording) is statement
    assert is_label_insertion(counterfactual, original, labels) is insertion


def test_chinese_insertion_kept_share_by_hand() -> None:
    assert kept_share("这些地区人口稀少，你也能欣赏到璀璨星空。", "这些地区人口稀少，你也能欣赏到体育星空。") == pytest.approx(16 / 18)


# --- prompt echo ------------------------------------------------------------

ENGLISH_X = "In the heat of the day, travelers can experience mirages that give the illusion of water (or other things)."


@pytest.mark.parametrize(
    ("counterfactual", "span", "echo"),
    [
        # Gemma-3-270m continued the prompt (eng_Latn doc 32): 31 words of it.
        (
            'Edit the text as little as possible so that its topic becomes "geography". Change only the words needed, '
            "keep everything else identical, and keep the text in English. Answer with the",
            31,
            True,
        ),
        # The whole x' is a 3-word piece of the instruction.
        ("Answer with the", 3, True),
        # 3 of 4 words.
        ("The edited text is", 3, True),
        # 3 of 10 words: a sentence that happens to share a short phrase.
        ("The edited text is about football matches in the city.", 3, False),
        # A 6-word run is an echo whatever the rest; 5 is not.
        ("Yesterday our team won the cup and everyone cheered loudly: keep everything else identical and keep", 6, True),
        ("Yesterday our team won the cup and everyone cheered loudly: everything else identical and keep", 5, False),
        # Label statements share at most "the topic": not an echo.
        ('The topic is "travel".', 2, False),
        ("Health:", 1, False),
        # A real edit of x.
        ("In the heat of the day, athletes can experience mirages that give the illusion of water.", 0, False),
    ],
)
def test_prompt_echo(counterfactual: str, span: int, echo: bool) -> None:
    instruction = prompt_for(ENGLISH_X, gold="travel", target="geography")
    assert echoed_instruction_span(counterfactual, instruction, ENGLISH_X) == span
    assert is_prompt_echo(counterfactual, instruction, ENGLISH_X) is echo


def test_words_of_x_are_no_echo() -> None:
    # x shares a long run with the instruction; copying x is no echo, with or
    # without x in the instruction, but the same run in an unrelated x' is.
    original = "Change only the words needed, keep everything else identical, the coach told the team."
    full_prompt = prompt_for(original)
    without_x = full_prompt.replace(original, "")
    for instruction in (full_prompt, without_x):
        assert echoed_instruction_span(original, instruction, original) == 0
        assert not is_prompt_echo(original, instruction, original)
    echo = "Change only the words needed, keep everything else identical."
    assert is_prompt_echo(echo, prompt_for("The team won."), "The team won.")


def test_chinese_echo_and_edit() -> None:
    original = "这些地区人口稀少，你也能欣赏到璀璨星空。"
    instruction = prompt_for(original, gold="travel", target="geography", language="Mandarin Chinese (Simplified)")
    assert not is_prompt_echo("这些地区人口很多，你也能欣赏到璀璨星空。", instruction, original)
    # A Chinese x' has no word in common with the English instruction...
    assert echoed_instruction_span("这些地区人口很多", instruction, original) == 0
    # ...but the instruction continued in place of an answer is an echo.
    continued = 'Edit the text as little as possible so that its topic becomes "geography".'
    assert is_prompt_echo(continued, instruction, original)


@settings(max_examples=200)
@given(any_text, any_text)
def test_prompt_echo_never_fails_on_garbage(counterfactual: str, original: str) -> None:
    assert isinstance(is_prompt_echo(counterfactual, prompt_for(original), original), bool)


# --- error rates ------------------------------------------------------------


def test_normalize_whitespace() -> None:
    assert normalize_whitespace(" a\u00a0\u3000b\n\tc\u2003 ") == "a b c"
    assert normalize_whitespace("") == ""


@pytest.mark.parametrize(
    ("original", "counterfactual", "copy"),
    [
        ("The team won.", "The team won.", True),
        ("The team won.", "  The\u00a0team\n won. ", True),
        ("Café", "Cafe\u0301", True),
        ("The team won.", "The team lost.", False),
        ("The team won.", "the team won.", False),
        ("a,b", "a, b", False),
        # ZWNJ is spelling in Persian: dropping it is an edit.
        ("می\u200cافزاید", "میافزاید", False),
        ("The team won.", None, False),
    ],
)
def test_is_copy(original: str, counterfactual: str | None, copy: bool) -> None:
    assert is_copy(original, counterfactual) is copy


@pytest.mark.parametrize(
    ("counterfactual", "empty"),
    [
        (None, True),
        ("", True),
        (" \n\t\u3000", True),
        ("\u200b\u200e\ufeff", True),
        ("\x00\x1b", True),
        ("a", False),
        (".", False),
        ("😀", False),
        ("\ud800", False),
    ],
)
def test_is_empty(counterfactual: str | None, empty: bool) -> None:
    assert is_empty(counterfactual) is empty


@given(any_text)
def test_empty_means_no_token(text: str) -> None:
    assert is_empty(text) == (tokenize(text) == [])


def _respell(text: str, choice: int) -> str:
    if choice == 0:
        return unicodedata.normalize("NFD", text)
    if choice == 1:
        return "\u3000" + text.replace(" ", " \n ") + "\t"
    return unicodedata.normalize("NFC", text)


@settings(max_examples=300)
@given(any_text, st.integers(0, 2))
def test_a_copy_has_minimality_zero(original: str, choice: int) -> None:
    counterfactual = _respell(original, choice)
    assert is_copy(original, counterfactual)
    assert Minimality()(original, counterfactual).score == 0.0


# --- protocol 3: is x' an edit of x? -----------------------------------------


@pytest.mark.parametrize(
    ("original", "counterfactual", "copy"),
    [
        ("The team won.", "The team won.", True),
        # One line of several is x: a comment added on another line edits nothing.
        ("The team won.", "The team won.\nThe team was happy.", True),
        # After a prompt field label, below the premise.
        ("The team won.", "A man runs.\nHypothesis: The team won.", True),
        # x inside quotation marks, with or without its final period.
        ("The team won.", 'The Turkish text is "The team won."', True),
        ("The team won.", "The sentence «The team won» is about sports.", True),
        # Typographic apostrophes read as ASCII ones.
        ("L'équipe a gagné.", "L’équipe a gagné.", True),
        # Real edits: an insertion that contains x's words, a quoted phrase that is not all of x.
        ("The team won.", "The team won the cup.", False),
        ("The team won the cup.", 'The team won "the cup".', False),
    ],
)
def test_copy_also_catches_x_quoted_or_on_its_own_line(original: str, counterfactual: str, copy: bool) -> None:
    assert is_copy(original, counterfactual) is copy


@pytest.mark.parametrize(
    ("original", "counterfactual", "premise", "kept", "not_an_edit"),
    [
        # 10 content words; keeping 1 of them is exactly the threshold (0.1): an edit.
        ("a b c d e f g h i j", "a x y z", "", 0.1, False),
        # 0 of 10: a new sentence.
        ("a b c d e f g h i j", "k l m", "", 0.0, True),
        # CAD: the human edit keeps 4 of 6 words of x; the premise is not copied.
        ("A man is playing a guitar.", "A blond man plays some music.", "A bald man is playing a guitar.", 2 / 6, False),
        # The premise written out (all of it, in order): not an edit of x, though x shares words with it.
        ("A man plays.", "A bald man is playing a guitar on the stage.", "A bald man is playing a guitar on the stage.", 2 / 3, True),
        # Nearly all of the premise (9 of 10 words) and less than half of x: a copy of it.
        ("x1 x2 x3 p1", "p1 p2 p3 p4 p5 p6 p7 p8 p9", "p1 p2 p3 p4 p5 p6 p7 p8 p9 p10", 1 / 4, True),
        # 9 of 10 words of the premise, but 3 of 4 of x: an edit that reuses the premise.
        ("x1 x2 x3 p1", "x1 x2 x3 p1 p2 p3 p4 p5 p6 p7 p8 p9", "p1 p2 p3 p4 p5 p6 p7 p8 p9 p10", 1.0, False),
    ],
)
def test_not_an_edit(original: str, counterfactual: str, premise: str, kept: float, not_an_edit: bool) -> None:
    from macro_bench.metrics.gates import is_not_an_edit

    assert kept_share(original, counterfactual) == pytest.approx(kept)
    assert is_not_an_edit(original, counterfactual, [premise] if premise else []) is not_an_edit


@pytest.mark.parametrize(
    ("original", "counterfactual", "loops"),
    [
        ("Baada ya 9/11 jitihada", "Baada ya 9/11 watu wazee wazee wazee", True),
        # A 2-word phrase three times in a row.
        ("a b c", "a b x y x y x y", True),
        # A 6-word span twice.
        ("He begged.", "He begged you to go home. He begged you to go home.", True),
        # Twice, 5 words: not yet a loop.
        ("He begged.", "He begged you to go. He begged you to go.", False),
        # x repeats it itself: an edit keeping the repetition is no loop.
        ("very very very good", "very very very bad", False),
        ("The cat sat on the mat.", "The dog sat on the mat.", False),
    ],
)
def test_repetition(original: str, counterfactual: str, loops: bool) -> None:
    from macro_bench.metrics.gates import is_repetition

    assert is_repetition(original, counterfactual) is loops


@pytest.mark.parametrize(
    ("counterfactual", "echo"),
    [
        # The prompt's layout: a line starting with one of its field labels.
        ("Premise: A man runs.\nHypothesis:", True),
        ("A man runs.\nHypothesis: The team won.", True),
        # 4 of 5 words are the instruction's ("the", "hypothesis", "is", "edited"): reordered instruction.
        ("The hypothesis is edited here.", True),
        # The premise's words are not the instruction's: a CAD edit reusing them is no echo.
        ("A blond man plays some music on the stage.", False),
        ("The team lost.", False),
    ],
)
def test_instruction_echo_reads_the_wording_not_the_document(counterfactual: str, echo: bool) -> None:
    from macro_bench.metrics.gates import is_instruction_echo

    assert is_instruction_echo(counterfactual, XNLI_WORDING, "The team won.") is echo

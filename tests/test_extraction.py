import csv
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from macro_bench.extraction import extract_counterfactual
from macro_bench.protocol import generation_prompt

SHARED_SIB200 = Path(__file__).resolve().parents[1].parent / "shared/data/sib200"
needs_shared_data = pytest.mark.skipif(
    not SHARED_SIB200.is_dir(), reason=f"real SIB-200 release not found at {SHARED_SIB200}"
)
EDIT = "The team won the match."

MESSY_ANSWERS = [
    ("padded", "  \n The team won the match. \t\n", EDIT),
    ("label", "Edited text: The team won the match.", EDIT),
    ("bold label", "**Edited text:** The team won the match.", EDIT),
    ("label own line", "Counterfactual:\nThe team won the match.", EDIT),
    ("answer label", "Answer: The team won the match.", EDIT),
    ("output label with target", "Output (sports): The team won the match.", EDIT),
    ("markdown heading label", "### Edited text\n\nThe team won the match.", EDIT),
    ("french label", "Texte modifié : L'équipe a gagné le match.", "L'équipe a gagné le match."),
    ("spanish label", "Texto editado: El equipo ganó el partido.", "El equipo ganó el partido."),
    ("chinese label", "修改后的文本：球队赢得了比赛。", "球队赢得了比赛。"),
    ("here is", "Here is the edited text:\nThe team won the match.", EDIT),
    ("sure inline", "Sure! Here's the modified sentence: The team won the match.", EDIT),
    ("sure paragraph", "Sure! Here's the modified sentence:\n\nThe team won the match.", EDIT),
    ("bare sure line", "Sure!\nThe team won the match.", EDIT),
    ("straight quotes", '"The team won the match."', EDIT),
    ("curly quotes", "“The team won the match.”", EDIT),
    ("guillemets", "«L'équipe a gagné le match.»", "L'équipe a gagné le match."),
    ("corner brackets", "「チームが試合に勝った。」", "チームが試合に勝った。"),
    ("white corner brackets", "『チームが試合に勝った。』", "チームが試合に勝った。"),
    ("single quotes keep apostrophe", "'The team didn't lose the match.'", "The team didn't lose the match."),
    ("label then quotes", 'Edited text: "The team won the match."', EDIT),
    ("fence", "```\nThe team won the match.\n```", EDIT),
    ("fence with language", "```text\nThe team won the match.\n```", EDIT),
    ("fence cut off", "```\nThe team won the match.", EDIT),
    ("inline backticks", "`The team won the match.`", EDIT),
    ("chatter around fence", "Sure, here it is:\n```\nThe team won the match.\n```\nLet me know if you need more.", EDIT),
    (
        "chatter around quote",
        'Here is the edited text:\n\n"The team won the match."\n\nThis changes the topic from politics to sports.',
        EDIT,
    ),
    ("lead-in into quote", 'I changed it to "The team won the match." because that is about sports.', EDIT),
    ("quote then explanation", '"The team won the match." This edit changes the topic to sports.', EDIT),
    ("quote then new line", '"The team won the match."\nI replaced election with match.', EDIT),
    ("explanation paragraph", "The team won the match.\n\nExplanation: I changed 'election' to 'match'.", EDIT),
    ("this edit paragraph", "The team won the match.\n\nThis edit changes the topic to sports.", EDIT),
    ("explanation line", "The team won the match.\nExplanation: the topic is now sports.", EDIT),
    ("parenthetical", 'The team won the match. (I replaced "election" with "match")', EDIT),
    ("chatter first paragraph", "I changed the topic to sports.\n\nThe team won the match.", EDIT),
    ("later quoted paragraph", "To make it about sports, swap the event.\n\n“The team won the match.”", EDIT),
    ("role marker", "assistant\nThe team won the match.", EDIT),
    ("chatml", "<|im_start|>assistant\nThe team won the match.<|im_end|>", EDIT),
    ("next turn hallucinated", "The team won the match.<|eot_id|><|start_header_id|>user", EDIT),
    ("instruction echo", "Edit the text so that its topic becomes sports.\nThe team won the match.", EDIT),
    ("reasoning", "<think>\nPolitics to sports: swap the event.\n</think>\n\nThe team won the match.", EDIT),
    ("original echo", "Original: The election was held.\nEdited: The team won the match.", EDIT),
    ("crlf", "Edited text:\r\n\r\nThe team won the match.\r\n\r\nExplanation: swapped.", EDIT),
    ("multi-line first paragraph", "The team won.\nThe fans cheered.\n\nNote: two lines.", "The team won.\nThe fans cheered."),
    ("bold answer", "**The team won the match.**", EDIT),
    ("label inside bold answer", "Sure!\n\n**Edited text:** “The team won the match.”", EDIT),
]


@pytest.mark.parametrize(("generation", "expected"), [case[1:] for case in MESSY_ANSWERS], ids=[case[0] for case in MESSY_ANSWERS])
def test_messy_answers(generation, expected):
    assert extract_counterfactual(generation) == expected


# Sentences shaped like SIB-200 ones, which must survive untouched.
SENTENCES_THAT_LOOK_LIKE_NOISE = [
    '"Hello," he said, "we won."',
    "“Hello,” he said, “we won.”",
    "Women: It is recommended that any women travellers say that they are married.",
    "The changes include: new rules for the league.",
    "Here, at 11:20, the police moved the protesters.",
    "The new version of the software (released in 2010) was faster.",
    "This flight is not the only option if you want to skip the South Pacific. (see below)",
    "«Стардаст» (або «Зорны пыл») усталюе новы абсалютны рэкорд.",
    "I computer ancùo vien usài par far modificar imagini e filmati.",
    "Iya `e de simata na tongengngangi engkana dinosaurus.",
    "\u200eڤروبهن ݢڤوبوت بق سيدڠ لݢيسلاتيف",
    "Answer the phone, she said.",
]


@pytest.mark.parametrize("sentence", SENTENCES_THAT_LOOK_LIKE_NOISE)
def test_sentences_that_look_like_noise_are_kept(sentence):
    assert extract_counterfactual(sentence) == sentence
    assert extract_counterfactual(f"Edited text: {sentence}", sentence) == sentence
    assert extract_counterfactual(f"{sentence}\n\nExplanation: no change needed.", sentence) == sentence


@pytest.mark.parametrize(
    "generation",
    [
        "",
        "   \n\t ",
        "\u200b\u200e\ufeff\u2063",
        "\x00\x01",
        "Answer:",
        "**Edited text:**",
        "Sure! Here's the edited text:",
        "assistant\n",
        "<|im_start|>assistant\n<|im_end|>",
        "```\n```",
        '""',
        "<think>The topic is politics, so I need to",
    ],
)
def test_nothing_extractable_is_none(generation):
    assert extract_counterfactual(generation) is None


# --- what knowing x changes -------------------------------------------------


def test_quotation_in_x_keeps_its_quotes():
    original = "“We won,” the coach said."
    assert extract_counterfactual("“We lost,” the coach said.", original) == "“We lost,” the coach said."
    quotation = '"We will win the election."'
    assert extract_counterfactual('"We will win the match."', quotation) == '"We will win the match."'
    explained = '"We will win the match."\n\nThis edit changes the topic to sports.'
    assert extract_counterfactual(explained, quotation) == '"We will win the match."'
    # Without x, a wholly quoted answer is taken to be wrapped.
    assert extract_counterfactual('"We will win the match."') == "We will win the match."


def test_only_quotes_beyond_those_of_x_are_removed():
    original = '"We will win the election."'
    assert extract_counterfactual('""We will win the match.""', original) == '"We will win the match."'
    assert extract_counterfactual('Edited text: “"We will win the match."”', original) == '"We will win the match."'


def test_added_quotes_around_inner_quotes_are_removed_given_x():
    original = 'He said "go" to the voters.'
    answer = '"He said "go" to the fans."'
    assert extract_counterfactual(answer, original) == 'He said "go" to the fans.'
    # Without x, the pair cannot be told from two quotations and is kept.
    assert extract_counterfactual(answer) == answer


def test_echoed_text_line_is_dropped_only_when_it_is_x():
    original = "The election was held."
    assert extract_counterfactual("Text: The election was held.\nThe match was held.", original) == "The match was held."
    assert extract_counterfactual("Text: The match was held.", original) == "The match was held."


def test_unchanged_answer_is_returned_not_dropped():
    original = "The election was held."
    assert extract_counterfactual(f"{original}\n\nI could not change the topic.", original) == original


def test_later_quoted_paragraph_that_is_x_is_not_taken():
    original = "The election was held."
    answer = 'The match was held.\n\n"The election was held."'
    assert extract_counterfactual(answer, original) == "The match was held."


def test_echo_of_the_real_generation_prompt_is_dropped():
    original = 'The president said "we will win" before the election.'
    prompt = generation_prompt(original, "politics", "sports", "English")
    edit = 'The coach said "we will win" before the match.'
    assert extract_counterfactual(f"{prompt} {edit}", original) == edit
    assert extract_counterfactual(f"user\n{prompt}\nassistant\n{edit}", original) == edit
    transcript = (
        "<|im_start|>system\nYou are helpful.<|im_end|>\n"
        f"<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n{edit}<|im_end|>"
    )
    assert extract_counterfactual(transcript, original) == edit


def test_non_string_generation_is_a_type_error():
    with pytest.raises(TypeError, match="generation must be a str, got NoneType"):
        extract_counterfactual(None)


# --- garbage is data --------------------------------------------------------


@pytest.mark.parametrize(
    ("generation", "expected"),
    [
        ("The team\x00 won.", "The team\x00 won."),
        ("\ud800 The team won. \udfff", "\ud800 The team won. \udfff"),
        ("\x1b[31mThe team won.\x1b[0m", "\x1b[31mThe team won.\x1b[0m"),
        ("\u202eThe team won.\u202c", "\u202eThe team won.\u202c"),
        ("⚽🏆 The team won! 🎉", "⚽🏆 The team won! 🎉"),
        ("\u200b\n\nThe team won.", "The team won."),
    ],
)
def test_odd_characters_are_kept_as_data(generation, expected):
    assert extract_counterfactual(generation) == expected


def test_long_repetition_comes_back_whole():
    answer = "The team won the match. " * 100
    assert extract_counterfactual(f"Edited text: {answer}") == answer.strip()


MEGABYTE = 1_000_000
PATHOLOGICAL = {
    "letters": "a" * MEGABYTE,
    "open curly quotes after a lead-in": "I changed it to " + "“" * MEGABYTE,
    "straight quotes": '"' * MEGABYTE,
    "blank lines": "a\n\n" * (MEGABYTE // 3),
    "fences": "```\n" * (MEGABYTE // 4),
    "labels": "Edited text: " * (MEGABYTE // 13),
    "lead-in lines": "Sure!\n" * (MEGABYTE // 6),
    "parentheses": "(" * MEGABYTE + ")",
    "apostrophes": "a'" * (MEGABYTE // 2),
    "mixed": ("“a”\n: (I `*#\n\n" * (MEGABYTE // 16)),
}


@pytest.mark.parametrize("name", PATHOLOGICAL)
def test_megabyte_of_garbage_takes_linear_time(name):
    # Linear scans take about a second at worst; catastrophic backtracking on a
    # megabyte would take hours, so a generous budget is still a sharp test. CPU time of
    # this process, so a busy machine does not fail it.
    started = time.process_time()
    result = extract_counterfactual(PATHOLOGICAL[name], "a")
    assert time.process_time() - started < 15
    assert result is None or len(result) <= len(PATHOLOGICAL[name])


# --- properties -------------------------------------------------------------

STRUCTURE = [
    "\n", "\n\n", "\r\n", " ", ":", "：", '"', "'", "`", "```", "```text\n", "“", "”", "«", "»", "「", "」",
    "‘", "’", "„", "(", ")", "**", "#", "Edited text:", "Answer:", "Sure! Here's the edited text:", "Sure!",
    "assistant\n", "<|im_start|>assistant\n", "<|im_end|>", "</s>", "<think>", "</think>", "[/INST]",
    "Explanation:", "This edit", "I replaced", "Original:", "Text:", "Edit the text so that",
    "\x00", "\ud800", "\u200b", "\u200f", "\ufeff", "🎉", "The team won.",
]
ANY_CHARACTER = st.characters(codec=None, exclude_categories=())
messy_generations = st.lists(
    st.one_of(st.sampled_from(STRUCTURE), st.text(ANY_CHARACTER, max_size=6)), max_size=16
).map("".join)


def normalized(generation: str) -> str:
    return generation.replace("\r\n", "\n").replace("\r", "\n")


@settings(max_examples=500, deadline=None)
@given(generation=messy_generations, original=st.one_of(st.none(), messy_generations))
def test_result_is_a_stripped_piece_of_the_answer_or_none(generation, original):
    result = extract_counterfactual(generation, original)
    if result is not None:
        assert result == result.strip()
        assert result != ""
        assert result in normalized(generation)


# Sentences without any of the characters that build structure.
plain_sentences = st.text(
    st.sampled_from("abcxyzABCXYZ0123456789 .,;!?-éßчжиأبتกขคदनम中文字"), min_size=1, max_size=60
).filter(lambda text: any(char.isalpha() for char in text))
WRAPPERS = [
    "{}",
    "Edited text: {}",
    "**Counterfactual:**\n{}",
    "Sure! Here's the modified sentence:\n\n{}",
    '"{}"',
    "“{}”",
    "«{}»",
    "```\n{}\n```",
    "<|im_start|>assistant\n{}<|im_end|>",
    "{}\n\nExplanation: I changed the topic.",
    "{} (I replaced one word.)",
    'Here is the edited text:\n\n"{}"\n\nThis changes the topic.',
]


@settings(max_examples=300, deadline=None)
@given(sentence=plain_sentences, wrapper=st.sampled_from(WRAPPERS))
def test_plain_sentence_survives_every_wrapper(sentence, wrapper):
    assert extract_counterfactual(wrapper.format(sentence)) == sentence.strip()
    assert extract_counterfactual(wrapper.format(sentence), sentence) == sentence.strip()


# --- the real release -------------------------------------------------------


def real_test_texts() -> list[tuple[str, str]]:
    texts = []
    for path in sorted(SHARED_SIB200.glob("*/test.tsv")):
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t", strict=True))
        texts += [(path.parent.name, row["text"].strip()) for row in rows]
    return texts


@needs_shared_data
def test_every_real_test_text_passes_through_unchanged():
    texts = real_test_texts()
    assert len(texts) == 205 * 204
    changed = [(language, text) for language, text in texts if extract_counterfactual(text, text) != text]
    assert changed == []


QUOTE_CHARACTERS = set("\"'`“”‘’„«»‹›「」『』＂")
REAL_WRAPPERS = WRAPPERS[1:]


@needs_shared_data
def test_real_texts_with_quotes_come_back_from_every_wrapper_given_x():
    # Quotes are what wrappers and explanations could be confused with; colons
    # and parentheses are covered by the pass-through test above.
    hard = [text for _, text in real_test_texts() if QUOTE_CHARACTERS & set(text)]
    assert len(hard) > 6000
    failures = [
        (wrapper, text)
        for text in hard
        for wrapper in REAL_WRAPPERS
        if extract_counterfactual(wrapper.format(text), text) != text
    ]
    assert failures == []

"""Pull the counterfactual x' out of whatever a model answered.

The model was asked to edit x and "answer with the edited text only"; models
wrap the answer in chat markup, lead-ins, labels, quotes, code fences and
explanations anyway.  :func:`extract_counterfactual` peels those off in a fixed
order and returns the edited text, or None when nothing is left.

Precedence, first to last:

1. Line breaks are normalized (``\\r\\n`` and ``\\r`` become ``\\n``).
2. Reasoning: everything up to the last ``</think>`` is dropped; an answer that
   opens ``<think>`` and never closes it has no counterfactual (None).
3. In an echoed chat transcript the answer is the last assistant turn
   (after the last ``<|im_start|>assistant``, ``[/INST]``, ...), and it ends
   at the first end-of-turn token (``<|im_end|>``,
   ``<|eot_id|>``, ``<end_of_turn>``, ``</s>``, ...): what follows is a
   hallucinated next turn.
4. A fenced code block (```` ``` ````, with or without a language tag, closed or
   cut off) anywhere in the answer wins: the first non-empty one is the answer,
   and steps 5-8 run on its content only.
5. Leading noise is peeled off, repeatedly: chat role markers
   (``<|im_start|>assistant``, ``assistant`` on its own line, ``[/INST]``);
   then, only while something follows on later lines, a blank or
   invisible-only line, a "user"/"system" turn marker, an echo of the
   instruction, an echo of x labelled "Original:" (or "Text:"/"Hypothesis:"
   when it equals ``original``), a bare opener line ("Sure!") or a label alone
   on its line ("**Edited text**"); a label with a colon from a fixed list
   ("Edited text:", "Edited hypothesis:", "**Counterfactual:**", "Answer:",
   "Output:", "Texte modifié :", "Texto editado:", ...); a lead-in up to its colon
   ("Sure! Here's the modified sentence:") -- it must start with an opener
   (Sure, Here's, I changed, The edited text, ...) and mention editing; and a
   chatter paragraph ("Sure! I changed the topic.") when the next paragraph
   is not an explanation too.
   An echo of the instruction is a line that opens like one of the prompts
   (protocol 1: "A text classifier ...", "The following ... text has the
   topic ...", "Edit the text ..."; protocol 2, in the words each registered
   dataset's prompt uses (:class:`macro_bench.datasets.DatasetSpec`'s
   ``edited_noun``, ``label_noun`` and ``echo_openings``): "You classified the
   topic ...", "The possible topics are ...", "Premise: ...", "Edit the
   hypothesis ...") or, given ``instruction``, a line that
   :func:`macro_bench.metrics.gates.is_prompt_echo` flags: one that shares a
   long run of words with the instruction that is not a run of x, so x itself
   and edits of it are never taken for an echo.  A line that opens a list
   ("1. The following text has the topic ...") is left for step 7, which takes
   the list's first item.  An answer that is nothing but echoes (what is left
   is empty, another echo, or a cut-off repeat of one) is kept from its first
   echo on, for the ``prompt_echo_rate`` gate to count: peeling would leave
   only its last, often cut-off piece ("Answer with the").
6. Chatter around a quotation: when the answer starts with a quotation that
   is followed by a line break or an explanation, or a lead-in runs straight
   into one (``I changed it to "..." because ...``), the quotation is the
   answer.
7. Otherwise the answer is one paragraph (paragraphs are split at blank
   lines): the first if it is wholly one quotation, else the first later
   paragraph that is (optionally after a label) and is not x itself, else the
   first.  When it opens a list (``1.``, ``1)``, ``-``, ``*``, ``•``, also
   stacked as in ``* 1.``) and x does not open with such a marker, the answer
   is the list's first item, without its markers: the items are alternatives,
   not one edit (Gemma-3-270m wrote 249 of its 500 protocol-1 answers as
   lists).  A number counts as a marker only when no lowercase letter follows,
   so that ordinal dates opening Czech, Icelandic or Estonian sentences ("17.
   září") are kept.  Within the paragraph, lines from the first explanation
   line on ("Explanation: ...", "This edit ...", "I replaced ...") or the
   first line that echoes the instruction (as in step 5) and a final
   parenthetical that explains ("(I replaced X with Y)") are dropped.
8. Wrappers around the whole result are removed, repeatedly: ``**bold**`` and
   quote pairs (``"``, ``'``, `````, “”, ‘’, „“, «», »«, ‹›, 「」, 『』, ＂＂).  A
   pair at both ends is removed when the opening quote's match is the last
   character; with ``original`` also when the text inside has exactly as
   many of those quote characters as x (``"He said "run"."`` for x = ``He
   said "go".``).  When x itself starts and ends with the pair -- 31 of the
   41,820 SIB-200 test texts are quotations -- only quotes beyond x's are
   removed.  Without ``original`` such a quotation loses its outer pair.
   Then a quote at either end that has no partner is removed (a reply cut
   off by the token limit, ``"The Vietnamese people are ...``), unless x has
   an unpaired quote of the same pair: then it may be x's own.  An opening
   quote is unpaired when nothing closes it; a closing quote when the quotes
   of its pair before it are all paired (an odd count for ``"``); an
   apostrophe after a letter (``the players'``) is a possessive, never a
   quote.  Without ``original``, x counts as having no unpaired quote and no
   list marker.

The SIB-200 release passes through unchanged given ``original``: no text of
any split loses anything, every test text comes back exactly from the
wrappers the tests try, and from an echoed instruction line before or after
it.  (Without ``original``, texts that open with "- " or with an unpaired
quote, such as the Afrikaans article ``‘n``, lose it: pass x.)  The result is stripped of whitespace but keeps
invisible characters at its edges, because SIB-200 texts start or end with
ZWSP, LRM or U+2063; it is None when it has nothing visible.  It is always a
contiguous piece of the line-normalized answer, so extraction never invents
text.  Patterns are anchored and only see the first ``_HEAD_LIMIT``
characters of a line or paragraph, loops are capped, and the rest is plain
string scanning, so a megabyte of garbage takes about a second at worst.
"""

from __future__ import annotations

import itertools
import re
from typing import NamedTuple

import regex

from macro_bench.datasets import DatasetSpec, registered_datasets
from macro_bench.metrics.gates import is_prompt_echo

# Regexes only ever look at this many characters from the start of a piece of
# text: leads-in, labels and echoed instructions are short, and the cap keeps a
# megabyte of garbage from costing more than a linear scan.
_HEAD_LIMIT = 2000
# More peeling rounds, fenced blocks and paragraphs than any real answer has;
# the caps only bound the work on pathological input.
_MAX_PEEL_ROUNDS = 32
_MAX_BLOCKS = 64

_END_OF_TURN_TOKENS = (
    "<|im_end|>",
    "<|eot_id|>",
    "<|end_of_text|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|end|>",
    "<|END_OF_TURN_TOKEN|>",
    "<｜end▁of▁sentence｜>",
    "<|return|>",
)

# When a whole chat transcript comes back, the answer is the last assistant turn.
_ASSISTANT_TURN = re.compile(
    r"<\|im_start\|>[ \t]*assistant|<\|start_header_id\|>[ \t]*assistant[ \t]*<\|end_header_id\|>"
    r"|<start_of_turn>[ \t]*model|<\|assistant\|>|\[/INST\]"
)

_ROLE_MARKER = re.compile(
    r"""(?ix)
    (?: <\|im_start\|>\s*assistant\b
      | <\|start_header_id\|>\s*assistant\s*<\|end_header_id\|>
      | <start_of_turn>\s*model\b
      | <\|assistant\|>
      | <\|im_start\|> | <s> | <bos> | <\|begin_of_text\|> | \[/INST\]
      | assistant[ \t]*(?:\n|:|$) | model[ \t]*\n
      | \#{2,}[ \t]*(?:response|assistant)[ \t]*:?
    )"""
)

# A whole transcript echoed back has "user"/"system" turns as well.
_ROLE_LINE = re.compile(r"(?i)(?:<\|im_start\|>)?[ \t]*(?:user|system|human|assistant|model)[ \t]*:?[ \t]*")

# {edited}: the nouns the registered datasets' prompts name x with ("Edited hypothesis:").
_LABEL_WORD = r"""
    (?: (?:minimally[ \t]+)?(?:edited|modified|rewritten|revised|changed|updated|altered)
        (?:[ \t]+(?:text|sentence|version|passage|{edited}|counterfactual|answer|output|result))?
      | (?:new|final|counterfactual)
        [ \t]+ (?:text|sentence|version|passage|{edited}|counterfactual|answer|output|result)
      | counterfactual(?:[ \t]+explanation)? | answer | output | result | response | text | {edited} | edit
      | texte[ \t]+(?:modifié|édité|réécrit) | réponse
      | texto[ \t]+(?:editado|modificado) | respuesta
      | (?:geänderter|bearbeiteter)[ \t]+text | antwort
      | 修改后的文本 | 编辑后的文本 | 修改后 | 答案 | 回答
    )
"""
# "**Edited text (sports):**", "### Answer:", "Texte modifié :" -- then the answer.
_LABEL_PREFIX = rf"""(?ix)
    (?:\#+[ \t]*)? (?:\*\*|__)? [ \t]* {_LABEL_WORD}
    (?:[ \t]*\([^()\n]{{{{0,60}}}}\))? [ \t]* (?:\*\*|__)? [ \t]* [:：] [ \t]* (?:\*\*|__)?
    """
# The same label alone on its line, without a colon: "**Edited text**".
_LABEL_LINE = (
    rf"(?ix) (?:\#+[ \t]*)? (?:\*\*|__)? [ \t]* {_LABEL_WORD} (?:[ \t]*\([^()\n]{{{{0,60}}}}\))? [ \t]* (?:\*\*|__)? [ \t]*"
)
_ORIGINAL_LABEL = re.compile(r"(?i)(?:\*\*)?(?:original(?:[ \t]+(?:text|sentence))?|input)[ \t]*[:：][ \t]*(?:\*\*)?")
# x echoed after the prompt's own label for it ("Text:", "Hypothesis:").
_TEXT_LABEL = r"(?i)(?:\*\*)?(?:text|{edited})[ \t]*[:：][ \t]*(?:\*\*)?"

_EDIT_VERB = r"""
    (?:chang|replac|edit|modif|rewr|swap|alter|adjust|updat|revis|mak|made|shift|substitut|keep|kept|remov|add)\w*
"""
# "The"/"My" only open a lead-in when an edit noun follows, and "I" only with
# an edit verb, because SIB-200 sentences start "The changes ...", and Friulian
# or Venetian ones "I ...".
_OPENER = rf"""
    (?: sure | certainly | of[ \t]+course | okay | ok | absolutely | alright
      | here(?:'s|’s|[ \t]+is|[ \t]+are)? | below(?:[ \t]+is)?
      | i(?:'ve|’ve|[ \t]+have|[ \t]+would|'d|’d|[ \t]+will|'ll|’ll)?[ \t]+{_EDIT_VERB}
      | this[ \t]+is
      | (?:the|my)[ \t]+(?:(?:minimally[ \t]+)?(?:edited|modified|rewritten|revised|updated|changed|altered)
          [ \t]+(?:text|sentence|version|passage)|counterfactual|edit|answer|result)
    )\b
"""
# A lead-in must also talk about the edit, so that a sentence that merely
# starts with "The" or "Here" is never mistaken for one.
_EDIT_MENTION = re.compile(
    r"(?i)\b(?:edit|modif|rewr|revis|counterfactual|chang|updat|alter|replac|version|new[ \t]+(?:text|sentence))"
)
_LEAD_IN_START = re.compile(rf"(?ix)(?:\*\*)?{_OPENER}")
# An opener line with nothing else in it: "Sure!", "Certainly, here you go."
_BARE_OPENER_LINE = re.compile(
    r"""(?ix)
    (?:\*\*)?(?:sure|certainly|of[ \t]+course|okay|ok|absolutely|alright)(?:[ \t]+thing)?[!.,]?
    (?:[ \t]+(?:here|this)\b[^\n]{0,60})? (?:\*\*)?"""
)

# Echoes of the instruction that need no ``instruction`` to be recognized: the
# openings of the protocol-1 prompt and of every registered dataset's protocol-2
# prompt, in the nouns it names x and the labels with, and its other line openings
# (the premise line of the XNLI prompt: x is its hypothesis).
_INSTRUCTION_ECHO_TEMPLATE = r"""(?ix)
    (?: (?:please[ \t]+)?(?:minimally[ \t]+)?(?:edit|rewrite|modify|change|revise|alter)
        [ \t]+(?:the|this)[ \t]+(?:following[ \t]+)?(?:text|sentence|passage|{edited})\b
      | a[ \t]+text[ \t]+classifier\b
      | the[ \t]+following\b [^\n]{{0,80}}? \btext[ \t]+has[ \t]+the[ \t]+(?:topic|label|category)\b
      | answer[ \t]+with[ \t]+the[ \t]+edited[ \t]+(?:text|{edited})[ \t]+only\b
      | you[ \t]+classified[ \t]+the[ \t]+(?:label|{label})\b
      | the[ \t]+possible[ \t]+(?:labels|{labels})[ \t]+are\b{openings}
    )"""

_EXPLANATION_IN_PARENS = r"""
    (?: i(?:'ve|’ve|[ \t]+have)?[ \t]+\w+
      | (?:changed|replaced|edited|modified|swapped|removed|added|substituted|edit|change|note|topic|label|category)\b
      | (?:this|the)[ \t]+(?:edit|change|modification)\b
    )"""
_EXPLANATION_START = re.compile(
    rf"""(?ix)
    (?: (?:\*\*)?(?:explanation|note|notes|reason|reasoning|rationale|justification
        |changes?(?:[ \t]+made)?|edits?(?:[ \t]+made)?|(?:new|target)[ \t]+(?:label|topic|category)
        |label|topic|category)(?:\*\*)?[ \t]*(?:\*\*)?[:：]
      | \([ \t]*{_EXPLANATION_IN_PARENS}
      | (?:this|the|my)[ \t]+(?:edit|edits|change|changes|modification|revision|rewrite|counterfactual
        |new[ \t]+(?:text|sentence|version)|edited|modified|revised|rewritten|updated)\b
      | i(?:'ve|’ve|[ \t]+have)?[ \t]+(?:changed|replaced|edited|modified|swapped|removed|added|rewrote
        |rephrased|shifted|altered|made|substituted|kept)\b
      | by[ \t]+(?:changing|replacing|swapping|substituting)\b
    )"""
)

_EXPLANATION_IN_PARENS_START = re.compile(rf"(?ix){_EXPLANATION_IN_PARENS}")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
# Anything but whitespace and invisible format/control characters.  SIB-200
# texts themselves start or end with ZWSP, LRM or U+2063, so these are kept at
# the edges of an answer, and only an answer made of nothing else is empty.
_VISIBLE = regex.compile(r"[^\s\p{Cc}\p{Cf}]")

# Opening quote -> closing quote.  Symmetric pairs close at the next occurrence;
# asymmetric pairs nest.
_QUOTE_PAIRS = {
    '"': '"',
    "'": "'",
    "`": "`",
    "＂": "＂",
    "“": "”",
    "‘": "’",
    "„": "“",
    "«": "»",
    "»": "«",
    "‹": "›",
    "「": "」",
    "『": "』",
}
# An apostrophe between two letters (don't, l’homme) never closes a quote.
_APOSTROPHES = frozenset("'’")
_OPENING_QUOTE = re.compile("[" + re.escape("".join(set(_QUOTE_PAIRS) - _APOSTROPHES)) + "]")
_QUOTE_NOT_BETWEEN_LETTERS = {
    quote: regex.compile(rf"(?<!\p{{L}}){quote}|{quote}(?!\p{{L}})") for quote in _APOSTROPHES
}
# "1.", "1)", "-", "*", "•" opening a list item, alone or before text.  A number
# opens an item only when no lowercase letter follows, so that the ordinal dates
# that open Czech, Icelandic, Estonian and Faroese sentences ("17. září") are
# not taken for one.
_LIST_MARKER = regex.compile(r"(?:[-*•](?:[ \t]++|$)|[0-9]{1,2}[.)](?:[ \t]++(?!\p{Ll})|$))")
# Finds the next opener or closer of a pair at C speed.
_QUOTE_SCANNERS = {
    opener: re.compile("[" + re.escape(opener + closer) + "]") for opener, closer in _QUOTE_PAIRS.items()
}


def extract_counterfactual(
    generation: str, original: str | None = None, instruction: str | None = None
) -> str | None:
    """The edited text in a model's answer, or None when it holds none.

    ``original`` is the text the model was asked to edit; it keeps a quotation,
    list marker or unpaired quote of x from being removed and lets an echoed
    "Text: <x>" line be dropped.  ``instruction`` is the generation prompt (x
    in it is ignored); lines that echo it are dropped like the instruction
    echoes recognized without it.  See the module docstring for the order in
    which wrappers are removed.
    """
    if not isinstance(generation, str):
        raise TypeError(f"generation must be a str, got {type(generation).__name__}")
    original_stripped = original.strip() if isinstance(original, str) else None
    text = generation.replace("\r\n", "\n").replace("\r", "\n")
    text = _after_reasoning(text)
    if text is None:
        return None
    text = _before_end_of_turn(_after_last_assistant_turn(text))
    fenced = _first_fenced_block(text)
    if fenced is not None:
        text = fenced
    text = _peel_leading_noise(text.strip(), original_stripped, instruction)
    answer = _quoted_answer(text, original_stripped)
    if answer is None:
        paragraph = _first_list_item(_choose_paragraph(text, original_stripped), original_stripped)
        answer = _drop_trailing_explanation(paragraph, original_stripped, instruction)
    answer = _unwrap(answer, original_stripped)
    return None if _is_blank(answer) else answer


def _is_blank(text: str) -> bool:
    return _VISIBLE.search(text) is None


def _after_reasoning(text: str) -> str | None:
    close = text.rfind("</think>")
    if close >= 0:
        return text[close + len("</think>") :]
    if text[:_HEAD_LIMIT].strip().startswith("<think>"):
        return None
    return text


def _after_last_assistant_turn(text: str) -> str:
    last_turn = None
    for last_turn in _ASSISTANT_TURN.finditer(text):
        pass
    return text if last_turn is None else text[last_turn.end() :]


def _before_end_of_turn(text: str) -> str:
    text = text.strip()
    for _ in range(_MAX_PEEL_ROUNDS):
        leading = next((token for token in _END_OF_TURN_TOKENS if text.startswith(token)), None)
        if leading is None:
            break
        text = text[len(leading) :].strip()
    cut = min((i for i in (text.find(token) for token in _END_OF_TURN_TOKENS) if i >= 0), default=len(text))
    return text[:cut]


def _first_fenced_block(text: str) -> str | None:
    """Content of the first non-empty ``` block; an unclosed fence runs to the end.

    When every block is empty, the text before the first fence if it has any,
    else the text after the last one, so that an empty block is no answer.
    """
    search_from = 0
    first_fence = None
    for _ in range(_MAX_BLOCKS):
        start = text.find("```", search_from)
        if start < 0:
            break
        if first_fence is None:
            first_fence = start
        body_start = start + 3
        close = text.find("```", body_start)
        body_end = close if close >= 0 else len(text)
        body = text[body_start:body_end]
        newline = body.find("\n")
        # "```python\n..." -- a single word right after the fence is a language tag.
        if newline >= 0 and " " not in body[:newline] and len(body[:newline]) <= 20:
            body = body[newline + 1 :]
        body = body.strip()
        if body:
            return body
        search_from = close + 3 if close >= 0 else len(text)
    if first_fence is None:
        return None
    before = text[:first_fence]
    return before if not _is_blank(before) else text[search_from:]


def _first_line(text: str) -> tuple[str, str]:
    """(first line, rest after its newline); rest is "" when there is one line."""
    newline = text.find("\n")
    if newline < 0:
        return text, ""
    return text[:newline], text[newline + 1 :]


def _first_paragraph(text: str) -> tuple[str, str]:
    blank = _BLANK_LINE.search(text)
    if blank is None:
        return text, ""
    return text[: blank.start()], text[blank.end() :]


def _peel_leading_noise(text: str, original: str | None, instruction: str | None) -> str:
    """``text`` from its answer on; "" when it is all noise ("Answer:", "assistant").

    An answer that is nothing but echoes of the instruction (and noise, and
    cut-off repeats of an echo) is kept from its first echo on: peeling would
    leave only its last, often cut-off, piece, or nothing.
    """
    from_first_echo = None
    echoed_lines = []
    for _ in range(_MAX_PEEL_ROUNDS):
        peeled = _peel_once(text, original, instruction)
        if peeled is None:
            break
        if _opens_with_echo(text, original, instruction):
            from_first_echo = text if from_first_echo is None else from_first_echo
            echoed_lines.append(_first_line(text[:_HEAD_LIMIT])[0].strip())
        text = peeled
    if from_first_echo is not None and _is_all_echo(text, original, instruction, echoed_lines):
        return from_first_echo
    return text


def _is_all_echo(rest: str, original: str | None, instruction: str | None, echoed_lines: list[str]) -> bool:
    """Whether what is left after peeling echoes is nothing, another echo or a cut-off repeat of one."""
    line = _first_line(rest[:_HEAD_LIMIT])[0].strip()
    return (
        _is_blank(line)
        or _opens_with_echo(line, original, instruction)
        or any(echoed.startswith(line) for echoed in echoed_lines)
    )


def _opens_with_echo(text: str, original: str | None, instruction: str | None) -> bool:
    line = _first_line(text[:_HEAD_LIMIT])[0]
    return _is_instruction_echo(line, original, instruction) and not _opens_list(line, original)


def _peel_once(text: str, original: str | None, instruction: str | None) -> str | None:
    """``text`` minus one piece of leading noise, or None when it starts with the answer."""
    head = text[:_HEAD_LIMIT]
    marker = _ROLE_MARKER.match(head)
    if marker:
        return text[marker.end() :].strip()

    line, rest_of_text = _first_line(text)
    line_head = line[:_HEAD_LIMIT]
    rest_of_text = rest_of_text.strip()
    if rest_of_text and (
        _is_blank(line_head)
        or _ROLE_LINE.fullmatch(line_head)
        or _opens_with_echo(line_head, original, instruction)
        or _is_original_echo(line_head, original)
        or _BARE_OPENER_LINE.fullmatch(line_head)
        or _prompt_patterns().label_line.fullmatch(line_head)
    ):
        return rest_of_text

    label = _prompt_patterns().label_prefix.match(head)
    if label:
        return text[label.end() :].strip()

    lead_in_end = _lead_in_colon_end(line_head)
    if lead_in_end is not None:
        return text[lead_in_end:].strip()

    # A chatter paragraph goes only when what follows is not chatter too, or an
    # answer like "Here, changes were made.\n\nExplanation: ..." would lose its text.
    paragraph, rest_of_paragraphs = _first_paragraph(text)
    rest_of_paragraphs = rest_of_paragraphs.strip()
    if (
        rest_of_paragraphs
        and _is_chatter(paragraph[:_HEAD_LIMIT])
        and not _EXPLANATION_START.match(rest_of_paragraphs[:_HEAD_LIMIT])
    ):
        return rest_of_paragraphs
    return None


class _PromptPatterns(NamedTuple):
    """The patterns that know the registered datasets' prompt wording."""

    label_prefix: re.Pattern
    label_line: re.Pattern
    text_label: re.Pattern
    instruction_echo: re.Pattern


def _compile_prompt_patterns(datasets: tuple[DatasetSpec, ...]) -> _PromptPatterns:
    edited = "|".join(re.escape(dataset.edited_noun) for dataset in datasets)
    label_nouns = [re.escape(dataset.label_noun) for dataset in datasets]
    return _PromptPatterns(
        label_prefix=re.compile(_LABEL_PREFIX.format(edited=edited)),
        label_line=re.compile(_LABEL_LINE.format(edited=edited)),
        text_label=re.compile(_TEXT_LABEL.format(edited=edited)),
        instruction_echo=re.compile(_INSTRUCTION_ECHO_TEMPLATE.format(
            edited=edited,
            label="|".join(label_nouns),
            labels="|".join(f"{noun}s" for noun in label_nouns),
            openings="".join(f"\n      | {opening}" for dataset in datasets for opening in dataset.echo_openings),
        )),
    )


# The patterns and the registered datasets they were compiled for.
_compiled: tuple[tuple[DatasetSpec, ...], _PromptPatterns] | None = None


def _prompt_patterns() -> _PromptPatterns:
    """The prompt-wording patterns for the datasets registered now (compiled once per registry state)."""
    global _compiled
    datasets = registered_datasets()
    if _compiled is None or _compiled[0] is not datasets:
        _compiled = (datasets, _compile_prompt_patterns(datasets))
    return _compiled[1]


def _is_instruction_echo(line: str, original: str | None, instruction: str | None) -> bool:
    if _prompt_patterns().instruction_echo.match(line):
        return True
    return instruction is not None and is_prompt_echo(line, instruction, original or "")


def _opens_list(text: str, original: str | None) -> bool:
    """Whether ``text`` starts with a list marker that x does not start with."""
    return _LIST_MARKER.match(text) is not None and (original is None or _LIST_MARKER.match(original) is None)


def _first_list_item(paragraph: str, original: str | None) -> str:
    """The first item, without its markers, of a list the answer opens with (step 7)."""
    if not _opens_list(paragraph[:_HEAD_LIMIT], original):
        return paragraph
    for _ in range(_MAX_PEEL_ROUNDS):
        marker = _LIST_MARKER.match(paragraph[:_HEAD_LIMIT])
        if marker is None:
            break
        paragraph = paragraph[marker.end() :]
    item, _, rest = paragraph.partition("\n")
    for line in rest.split("\n"):
        if _LIST_MARKER.match(line.strip()[:_HEAD_LIMIT]):
            break
        item += "\n" + line
    return item.strip()


def _is_original_echo(line: str, original: str | None) -> bool:
    label = _ORIGINAL_LABEL.match(line)
    if label:
        return True
    label = _prompt_patterns().text_label.match(line)
    if label is None or original is None:
        return False
    return _same_as_original(line[label.end() :].strip(), original)


def _is_lead_in(head: str) -> bool:
    return bool(_LEAD_IN_START.match(head) and _EDIT_MENTION.search(head))


def _lead_in_colon_end(line: str) -> int | None:
    """End of "Sure! Here's the modified sentence:" (past the colon and any bold)."""
    colon = min((i for i in (line.find(":"), line.find("：")) if i >= 0), default=-1)
    if colon < 0 or not _is_lead_in(line[:colon]):
        return None
    end = colon + 1
    if line.startswith("**", end):
        end += 2
    return end


def _is_chatter(paragraph: str) -> bool:
    stripped = paragraph.strip()
    return bool(_EXPLANATION_START.match(stripped) or _is_lead_in(stripped))


def _opens_quote(text: str) -> bool:
    return bool(text) and text[0] in _QUOTE_PAIRS


def _matching_close(text: str, start: int) -> int | None:
    """Index of the quote that closes the one at ``start``, or None."""
    opener = text[start]
    closer = _QUOTE_PAIRS[opener]
    if opener == closer and closer not in _APOSTROPHES:
        close = text.find(closer, start + 1)
        return close if close >= 0 else None
    depth = 1
    for found in _QUOTE_SCANNERS[opener].finditer(text, start + 1):
        index = found.start()
        if closer in _APOSTROPHES and text[index] == closer and _between_letters(text, index):
            continue
        if text[index] == closer:
            depth -= 1
            if depth == 0:
                return index
        else:
            depth += 1
    return None


def _between_letters(text: str, index: int) -> bool:
    return 0 < index < len(text) - 1 and text[index - 1].isalpha() and text[index + 1].isalpha()


def _wholly_quoted(text: str) -> bool:
    return _edges_quoted(text) and _matching_close(text, 0) == len(text) - 1


def _quoted_answer(text: str, original: str | None) -> str | None:
    """The quotation that is the answer when chatter surrounds it (step 6)."""
    start = 0
    if not _opens_quote(text):
        line = _first_line(text[:_HEAD_LIMIT])[0]
        if not _LEAD_IN_START.match(line):
            return None
        opening = _OPENING_QUOTE.search(line)
        if opening is None or not _is_lead_in(line[: opening.start()]):
            return None
        start = opening.start()
    close = _matching_close(text, start)
    if close is None or (start == 0 and close == len(text) - 1):
        return None
    after = text[close + 1 :]
    if start == 0 and not (after.startswith("\n") or _EXPLANATION_START.match(after[:_HEAD_LIMIT].strip())):
        return None
    if start == 0 and _quotes_like_original(text, original):
        return None
    return text[start + 1 : close].strip() or None


def _edges_quoted(text: str) -> bool:
    return len(text) >= 2 and _opens_quote(text) and text[-1] == _QUOTE_PAIRS[text[0]]


def _quotes_like_original(text: str, original: str | None) -> bool:
    """Whether ``original`` starts and ends with the same quote pair as ``text``."""
    return original is not None and _edges_quoted(original) and original[0] == text[0]


def _more_quotes_at_both_ends(text: str, original: str) -> bool:
    opener, closer = text[0], text[-1]

    def run_lengths(value: str) -> tuple[int, int]:
        return len(value) - len(value.lstrip(opener)), len(value) - len(value.rstrip(closer))

    (text_lead, text_trail), (original_lead, original_trail) = run_lengths(text), run_lengths(original)
    return text_lead > original_lead and text_trail > original_trail


def _inner_quotes_match_original(text: str, original: str | None) -> bool:
    """Whether ``text`` minus its outer pair has the quotes of x: then the pair was added.

    This unwraps ``"He said "run"."`` for x = ``He said "go".``, where the
    inner quotes keep the pair from matching up by position alone.
    """
    if original is None:
        return False
    opener, closer = text[0], text[-1]
    inner = text[1:-1]
    return all(inner.count(char) == original.count(char) for char in {opener, closer})


def _same_as_original(text: str, original: str | None) -> bool:
    return original is not None and (text == original or _unwrap(text, None) == _unwrap(original, None))


def _choose_paragraph(text: str, original: str | None) -> str:
    """The first wholly quoted paragraph that is not an echo of x, else the first one."""
    blanks = list(itertools.islice(_BLANK_LINE.finditer(text), _MAX_BLOCKS))
    starts = [0] + [blank.end() for blank in blanks]
    ends = [blank.start() for blank in blanks] + [len(text)]
    first = text[starts[0] : ends[0]].strip()
    if _wholly_quoted(first):
        return first
    for start, end in zip(starts[1:], ends[1:]):
        paragraph = text[start:end].strip()
        label = _prompt_patterns().label_prefix.match(paragraph[:_HEAD_LIMIT])
        if label:
            paragraph = paragraph[label.end() :].strip()
        if _wholly_quoted(paragraph) and not _same_as_original(paragraph, original):
            return paragraph
    return first


def _drop_trailing_explanation(paragraph: str, original: str | None, instruction: str | None) -> str:
    lines = paragraph.split("\n")
    kept = [lines[0]]
    for line in lines[1:]:
        line_head = line[:_HEAD_LIMIT].strip()
        if _EXPLANATION_START.match(line_head) or _is_instruction_echo(line_head, original, instruction):
            break
        kept.append(line)
    answer = "\n".join(kept).strip()
    if answer.endswith(")"):
        open_paren = answer.rfind("(")
        explanation = answer[open_paren + 1 :]
        if open_paren > 0 and explanation.count(")") == 1 and _EXPLANATION_IN_PARENS_START.match(explanation[:_HEAD_LIMIT]):
            answer = answer[:open_paren].strip()
    return answer


def _unwrap(text: str, original: str | None) -> str:
    for _ in range(_MAX_PEEL_ROUNDS):
        text = text.strip()
        if len(text) >= 4 and text.startswith("**") and text.endswith("**") and "**" not in text[2:-2]:
            text = text[2:-2]
            continue
        if _edges_quoted(text) and _pair_was_added(text, original):
            text = text[1:-1]
            continue
        if _opens_quote(text) and _matching_close(text, 0) is None and not _unpaired_in_original(text[0], original):
            text = text[1:]
            continue
        if _closes_unpaired_quote(text) and not _unpaired_in_original(text[-1], original):
            text = text[:-1]
            continue
        return text
    return text.strip()


def _pair_was_added(text: str, original: str | None) -> bool:
    if _quotes_like_original(text, original):
        # x is a quotation; only a pair beyond the ones x has was added.
        return _more_quotes_at_both_ends(text, original)
    return _wholly_quoted(text) or _inner_quotes_match_original(text, original)


def _quote_count(text: str, quote: str) -> int:
    """Occurrences of ``quote`` in ``text``, apostrophes between two letters (don't) left out."""
    if quote not in _APOSTROPHES:
        return text.count(quote)
    return len(_QUOTE_NOT_BETWEEN_LETTERS[quote].findall(text))


def _closes_unpaired_quote(text: str) -> bool:
    """Whether ``text`` ends with a closing quote that no opening quote before it pairs with.

    Quotes pair up in order, so a symmetric quote (") is unpaired at the end
    when the text has an odd number of them.  An apostrophe after a letter
    (the players') is a possessive, never an unpaired quote.
    """
    last = text[-1:]
    if not last or (last in _APOSTROPHES and len(text) > 1 and text[-2].isalpha()):
        return False
    for opener, closer in _QUOTE_PAIRS.items():
        if closer != last:
            continue
        if opener == closer:
            if _quote_count(text, closer) % 2 == 1:
                return True
        elif _quote_count(text, opener) < _quote_count(text, closer):
            return True
    return False


def _unpaired_in_original(quote: str, original: str | None) -> bool:
    """Whether x has an unpaired quote of a pair that ``quote`` belongs to: then it is x's own."""
    if original is None:
        return False
    for opener, closer in _QUOTE_PAIRS.items():
        if quote not in (opener, closer):
            continue
        if opener == closer:
            if _quote_count(original, opener) % 2 == 1:
                return True
        elif _quote_count(original, opener) != _quote_count(original, closer):
            return True
    return False

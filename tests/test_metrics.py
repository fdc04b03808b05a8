"""Metric kernels against hand-computed values, reference implementations and properties."""

from __future__ import annotations

import math
import random

import nltk
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import Levenshtein

from macro_bench.metrics import (
    Minimality,
    MinimalityResult,
    edited_positions,
    flip,
    minimality,
    predict,
    target_hit,
)
from macro_bench.tokenization import TOKENIZER_SIGNATURE, comparable_token_texts, tokenize

from .records import make_record

any_char = st.one_of(st.characters(exclude_categories=()), st.characters(categories=["Cs"]))
any_text = st.text(alphabet=any_char, max_size=40)
small_vocabulary_tokens = st.lists(st.sampled_from("abcde"), max_size=12)

# --- minimality -------------------------------------------------------------

SOURCE = ["a", "b", "c"]


@pytest.mark.parametrize(
    ("counterfactual", "positions", "score"),
    [
        pytest.param(["x", "b", "c"], {0}, 1 / 3, id="substitute-start"),
        pytest.param(["a", "x", "c"], {1}, 1 / 3, id="substitute-middle"),
        pytest.param(["a", "b", "x"], {2}, 1 / 3, id="substitute-end"),
        pytest.param(["b", "c"], {0}, 1 / 3, id="delete-start"),
        pytest.param(["a", "c"], {1}, 1 / 3, id="delete-middle"),
        pytest.param(["a", "b"], {2}, 1 / 3, id="delete-end"),
        # An insertion edits no source token (see tests/test_faithfulness.py for E).
        pytest.param(["x", "a", "b", "c"], set(), 1 / 4, id="insert-start"),
        pytest.param(["a", "x", "b", "c"], set(), 1 / 4, id="insert-middle"),
        pytest.param(["a", "b", "c", "x"], set(), 1 / 4, id="insert-end"),
        pytest.param(["a", "b", "c"], set(), 0.0, id="identical"),
        pytest.param([], {0, 1, 2}, 1.0, id="delete-all"),
        pytest.param(["x", "y", "z", "w"], {0, 1, 2}, 1.0, id="nothing-shared"),
    ],
)
def test_edits_against_three_tokens(
    counterfactual: list[str], positions: set[int], score: float
) -> None:
    assert edited_positions(SOURCE, counterfactual) == frozenset(positions)
    assert minimality(SOURCE, counterfactual) == pytest.approx(score, abs=1e-15)


def test_one_of_four_tokens_replaced_is_a_quarter() -> None:
    assert minimality(["the", "cat", "sat", "down"], ["the", "dog", "sat", "down"]) == 0.25


def test_empty_texts() -> None:
    assert minimality([], []) == 0.0
    assert edited_positions([], []) == frozenset()
    assert minimality([], ["a", "b"]) == 1.0
    assert edited_positions([], ["a", "b"]) == frozenset()


def test_minimality_on_texts() -> None:
    result = Minimality()("我喜欢足球。", "我讨厌足球。")
    assert result == MinimalityResult(
        score=2 / 6, edited_positions=frozenset({1, 2}), n_source_tokens=6
    )
    inserted = Minimality()("The match ended.", "The football match ended.")
    assert inserted == MinimalityResult(1 / 5, frozenset(), 4)


def test_canonically_equivalent_text_is_no_edit() -> None:
    assert Minimality()("Café olé", "Cafe\u0301 ole\u0301").score == 0.0


def test_garbage_counterfactuals_score_without_error() -> None:
    original = "The team won the cup."
    for garbage in ["", "\x00", "\ud800", "\u200b\u200e", "😀" * 500, original * 100]:
        result = Minimality()(original, garbage)
        assert 0.0 <= result.score <= 1.0
        assert result.n_source_tokens == 6
    assert Minimality()(original, "").score == 1.0


def test_minimality_signature() -> None:
    signature = Minimality().signature
    assert f"tok:{TOKENIZER_SIGNATURE}|" in signature
    assert "dist:token-levenshtein" in signature and "denom:max-len" in signature


@given(small_vocabulary_tokens, small_vocabulary_tokens)
def test_minimality_agrees_with_nltk_and_stays_in_range(
    source: list[str], counterfactual: list[str]
) -> None:
    longer = max(len(source), len(counterfactual))
    expected = nltk.edit_distance(source, counterfactual) / longer if longer else 0.0
    assert minimality(source, counterfactual) == pytest.approx(expected, abs=1e-15)
    assert 0.0 <= minimality(source, counterfactual) <= 1.0
    positions = edited_positions(source, counterfactual)
    assert positions <= frozenset(range(len(source)))
    # A token shared with nothing in the counterfactual is edited by every alignment.
    assert positions >= {i for i, token in enumerate(source) if token not in counterfactual}
    # A token that rapidfuzz's minimal script keeps is not edited.
    touched = {s for tag, s, _ in Levenshtein.editops(source, counterfactual).as_list() if tag != "insert"}
    assert positions <= touched


@given(small_vocabulary_tokens)
def test_identical_tokens_are_minimal(tokens: list[str]) -> None:
    assert minimality(tokens, list(tokens)) == 0.0
    assert edited_positions(tokens, list(tokens)) == frozenset()


@settings(max_examples=200)
@given(any_text, any_text)
def test_minimality_class_matches_the_token_functions(original: str, counterfactual: str) -> None:
    source = comparable_token_texts(original)
    edited = comparable_token_texts(counterfactual)
    result = Minimality()(original, counterfactual)
    assert result.score == minimality(source, edited)
    assert result.edited_positions == edited_positions(source, edited)
    assert result.n_source_tokens == len(tokenize(original))


def test_hash_comparison_of_multi_character_tokens_is_exact_on_real_vocabulary() -> None:
    # rapidfuzz compares tokens by hash; a collision would show as a missing edit.
    vocabulary = [f"w{i}" for i in range(5000)] + [chr(0x4E00 + i) for i in range(5000)]
    rng = random.Random(0)
    for _ in range(200):
        source = rng.sample(vocabulary, 20)
        counterfactual = rng.sample(vocabulary, 20)
        assert Levenshtein.distance(source, counterfactual) == nltk.edit_distance(
            source, counterfactual
        )


# --- validity ---------------------------------------------------------------


def test_flip_and_target_hit() -> None:
    assert flip(2, 5) == 1.0 and flip(3, 3) == 0.0
    assert target_hit(5, 5) == 1.0 and target_hit(4, 5) == 0.0


# Two labels one nat apart: softmax gives e/(e+1) and 1/(e+1).
ONE_NAT_APART = [math.e / (math.e + 1), 1 / (math.e + 1)]
# Logliks (-2, -1, -1): weights (1/e, 1, 1) over 2 + 1/e.
TIED_PAIR = [1 / (1 + 2 * math.e), math.e / (1 + 2 * math.e), math.e / (1 + 2 * math.e)]


@pytest.mark.parametrize(
    ("logliks", "label", "probabilities"),
    [
        pytest.param([0.0, math.log(3.0)], 1, [0.25, 0.75], id="softmax"),
        pytest.param([-1000.0, -1001.0], 0, ONE_NAT_APART, id="far-below-zero"),
        pytest.param([1000.0, 999.0], 0, ONE_NAT_APART, id="far-above-zero"),
        pytest.param(
            [math.nan, -1.0, -1.0 - math.log(3.0)], 1, [0.0, 0.75, 0.25], id="nan-is-minus-inf"
        ),
        pytest.param([-2.0, -1.0, -1.0], 1, TIED_PAIR, id="tie-goes-to-lowest-index"),
        pytest.param([-math.inf] * 7, 0, [1 / 7] * 7, id="all-minus-inf-uniform"),
        pytest.param([math.nan] * 7, 0, [1 / 7] * 7, id="all-nan-uniform"),
        pytest.param([0.0, math.inf, -1.0], 1, [0.0, 1.0, 0.0], id="plus-inf-takes-all"),
        pytest.param([math.inf, 0.0, math.inf], 0, [0.5, 0.0, 0.5], id="plus-inf-shared"),
        pytest.param([-math.inf, 0.0], 1, [0.0, 1.0], id="minus-inf-gets-nothing"),
    ],
)
def test_predict_defined_for_every_input(logliks, label: int, probabilities: list[float]) -> None:
    predicted, distribution = predict(logliks)
    assert predicted == label
    assert distribution == pytest.approx(probabilities, abs=1e-15)


def test_logged_label_scores_are_strict_json_and_predict_alike() -> None:
    import json

    from macro_bench.metrics.validity import as_logged

    scores = [math.nan, 0.0, math.inf, -math.inf, -2.5, math.inf, np.float64(-1.0)]
    logged = as_logged(scores)
    assert logged == ["nan", 0.0, "inf", "-inf", -2.5, "inf", -1.0]
    # allow_nan=False is what every other JSON parser accepts.
    read_back = json.loads(json.dumps(logged, allow_nan=False))
    # Two +inf labels (2 and 5) share all the probability, as for the raw scores.
    assert predict(read_back) == predict(scores) == (2, [0.0, 0.0, 0.5, 0.0, 0.0, 0.5, 0.0])


def test_predict_accepts_numpy_and_rejects_empty() -> None:
    assert predict(np.array([-3.0, -1.0, -2.0]))[0] == 1
    with pytest.raises(ValueError, match="at least one"):
        predict([])


@given(
    st.lists(
        st.one_of(st.floats(), st.sampled_from([math.nan, math.inf, -math.inf])),
        min_size=1,
        max_size=10,
    )
)
def test_predict_never_returns_nan(logliks: list[float]) -> None:
    predicted, distribution = predict(logliks)
    assert all(math.isfinite(p) and 0.0 <= p <= 1.0 for p in distribution)
    assert math.fsum(distribution) == pytest.approx(1.0, abs=1e-12)
    sanitized = [-math.inf if math.isnan(v) else v for v in logliks]
    assert predicted == sanitized.index(max(sanitized))
    assert distribution[predicted] == max(distribution)


def _record(generation_tokens, max_gen_toks, generation=" The dog sat on the", counterfactual="The dog sat on the"):
    return make_record(generation=generation, counterfactual=counterfactual, generation_tokens=generation_tokens,
                       max_gen_toks=max_gen_toks)


@pytest.mark.parametrize(
    ("tokens", "limit", "truncated"),
    # slack = max(2, ceil(0.05 * limit)): 4 tokens at 64, 2 at 20, 13 at 256
    [(63, 64, True), (60, 64, True), (59, 64, False), (18, 20, True), (17, 20, False), (243, 256, True), (242, 256, False)],
)
def test_truncation_counts_generations_that_re_encode_just_under_the_limit(tokens, limit, truncated):
    from macro_bench.metrics.document import gate_flags

    flags = gate_flags(_record(tokens, limit))
    assert flags["truncated"] is truncated and flags["valid"] is (not truncated)
    assert gate_flags(_record(None, limit))["truncated"] is None


@pytest.mark.parametrize(
    ("generation", "counterfactual", "truncated"),
    [
        # x' runs to the end of a generation that hit the limit, mid-sentence: cut.
        (" The dog sat on the", "The dog sat on the", True),
        # A complete x', then the model went on talking until the limit: judged on x'.
        (" The dog sat on the mat.\n\nThe answer is: The dog sat on", "The dog sat on the mat.", False),
        # x' written out again and again until the limit: its first occurrence is complete.
        (" The dog sat on the\nThe dog sat on the\nThe dog", "The dog sat on the", False),
        # x' ends the generation with a sentence terminator (any script's): it ended.
        (" The dog sat on the mat.", "The dog sat on the mat.", False),
        (" The dog sat on the mat。」", "The dog sat on the mat。", False),
        # Only closing quotes and markup follow x': it still runs to the end.
        (' "The dog sat on the"**', "The dog sat on the", True),
        # Extraction changed x' so that it cannot be found: a cut generation counts against it.
        (" THE DOG sat", "The dog sat on the", True),
    ],
)
def test_truncated_judges_the_counterfactual_not_the_generation(generation, counterfactual, truncated):
    from macro_bench.metrics.document import gate_flags
    from macro_bench.metrics.gate_registry import cut_by_limit

    assert cut_by_limit(generation, counterfactual) is truncated
    assert gate_flags(_record(64, 64, generation, counterfactual))["truncated"] is truncated
    # Below the limit nothing was cut, whatever the text.
    assert gate_flags(_record(40, 64, generation, counterfactual))["truncated"] is False

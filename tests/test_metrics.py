"""Metric kernels against hand-computed values, reference implementations and properties."""

from __future__ import annotations

import math
import random
import warnings

import nltk
import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import Levenshtein

from macro_bench.metrics import (
    NO_DEFINED_RATIO,
    FaithfulnessResult,
    Minimality,
    MinimalityResult,
    edited_positions,
    faithfulness,
    flip,
    fluency_ratio,
    geometric_mean,
    minimality,
    pearson_correlation,
    predict,
    target_hit,
)
from macro_bench.tokenization import TOKENIZER_SIGNATURE, comparable_token_texts, tokenize

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
        # An insertion marks the source tokens on both sides that exist.
        pytest.param(["x", "a", "b", "c"], {0}, 1 / 4, id="insert-start"),
        pytest.param(["a", "x", "b", "c"], {0, 1}, 1 / 4, id="insert-middle"),
        pytest.param(["a", "b", "c", "x"], {2}, 1 / 4, id="insert-end"),
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
    # Inserting into an empty source has no neighbour to mark.
    assert minimality([], ["a", "b"]) == 1.0
    assert edited_positions([], ["a", "b"]) == frozenset()


def test_minimality_on_texts() -> None:
    result = Minimality()("我喜欢足球。", "我讨厌足球。")
    assert result == MinimalityResult(
        score=2 / 6, edited_positions=frozenset({1, 2}), n_source_tokens=6
    )
    inserted = Minimality()("The match ended.", "The football match ended.")
    assert inserted == MinimalityResult(1 / 5, frozenset({0, 1}), 4)


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
    if source and counterfactual != source:
        assert positions


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


# --- faithfulness -----------------------------------------------------------

EDITED = frozenset({0, 1})
# Overlaps with EDITED: 0, 1, 2, 1.
DELETION_SETS = [frozenset({5}), frozenset({0, 5}), frozenset({0, 1}), frozenset({1, 7})]


def test_perfect_positive_and_negative_correlation() -> None:
    positive = faithfulness(DELETION_SETS, [0.0, 0.1, 0.2, 0.1], EDITED)
    assert positive.defined and positive.score == pytest.approx(1.0, abs=1e-12)
    negative = faithfulness(DELETION_SETS, [0.3, 0.2, 0.1, 0.2], EDITED)
    assert negative.defined and negative.score == pytest.approx(-1.0, abs=1e-12)


def test_hand_computed_intermediate_correlation() -> None:
    # a = (0, 1, 2), o = (1, 3, 2): centered (-1, 0, 1) and (-1, 1, 0),
    # r = 1 / (sqrt(2) * sqrt(2)) = 0.5.
    result = faithfulness(DELETION_SETS[:3], [1.0, 3.0, 2.0], EDITED)
    assert result == FaithfulnessResult(score=pytest.approx(0.5, abs=1e-15), defined=True)


@pytest.mark.parametrize(
    ("deletion_sets", "outcomes"),
    [
        pytest.param(DELETION_SETS, [0.1, 0.1, 0.1, 0.1], id="constant-outcomes"),
        pytest.param([frozenset({4})] * 4, [0.0, 0.1, 0.2, 0.3], id="no-overlap-constant"),
        pytest.param(DELETION_SETS, [0.0, math.nan, 0.2, 0.1], id="nan-outcome"),
        pytest.param(DELETION_SETS, [0.0, math.inf, 0.2, 0.1], id="inf-outcome"),
        pytest.param(DELETION_SETS[:1], [0.3], id="one-intervention"),
        pytest.param([], [], id="no-intervention"),
    ],
)
def test_undefined_faithfulness_is_zero_and_flagged(deletion_sets, outcomes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert faithfulness(deletion_sets, outcomes, EDITED) == FaithfulnessResult(0.0, False)


def test_constant_sequence_is_undefined_even_where_its_mean_rounds() -> None:
    # fsum(v / n) differs from v by an ulp for some (v, n), e.g. n = 7 below:
    # centering alone would then give a "defined" r of 0.0 from rounding noise.
    rng = random.Random(1)
    for n_points in range(2, 12):
        for _ in range(300):
            value = rng.uniform(-1, 1)
            assert pearson_correlation(list(range(n_points)), [value] * n_points) is None
    assert pearson_correlation(list(range(7)), [0.48433070077152696] * 7) is None


def test_faithfulness_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="3 deletion sets but 2 outcomes"):
        faithfulness(DELETION_SETS[:3], [0.1, 0.2], EDITED)
    with pytest.raises(ValueError, match="equal lengths"):
        pearson_correlation([1.0, 2.0], [1.0])


def test_pearson_matches_scipy_on_random_inputs() -> None:
    rng = np.random.default_rng(0)
    for case in range(500):
        n_points = int(rng.integers(2, 12))
        scale = 10.0 ** rng.integers(-150, 150)
        x = rng.integers(0, 4, n_points).astype(float)
        y = rng.normal(size=n_points) * scale if case % 2 else rng.uniform(-1, 1, n_points)
        if np.all(x == x[0]) or np.all(y == y[0]):
            assert pearson_correlation(list(x), list(y)) is None
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = scipy.stats.pearsonr(x, y).statistic
        assert pearson_correlation(list(x), list(y)) == pytest.approx(expected, abs=1e-12)


@given(
    st.lists(
        st.tuples(st.integers(0, 8), st.floats(-1, 1, allow_nan=False)), min_size=2, max_size=10
    )
)
def test_pearson_is_bounded_and_silent(points: list[tuple[int, float]]) -> None:
    x, y = zip(*points)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = pearson_correlation(x, y)
    assert r is None or -1.0 <= r <= 1.0


# --- fluency ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        # Per-unit log-likelihood -2 (x) vs -4 (x'): PPL ratio e^4 / e^2 = e^2.
        ((-10.0, 5, -20.0, 5), math.exp(2)),
        # Same per-unit log-likelihood at different lengths: equally fluent.
        ((-10.0, 5, -20.0, 10), 1.0),
        # x' more fluent: -1 vs -0.5 per unit gives e^-0.5.
        ((-10.0, 10, -5.0, 10), math.exp(-0.5)),
        ((0.0, 3, 0.0, 4), 1.0),
    ],
)
def test_fluency_ratio_hand_values(arguments, expected: float) -> None:
    assert fluency_ratio(*arguments) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize(
    "arguments",
    [
        (-10.0, 0, -5.0, 3),
        (-10.0, 3, -5.0, 0),
        (math.nan, 3, -5.0, 3),
        (-10.0, 3, -math.inf, 3),
        (-10.0, math.inf, -5.0, 3),
    ],
)
def test_fluency_ratio_undefined(arguments) -> None:
    assert fluency_ratio(*arguments) is None


def test_fluency_ratio_never_overflows() -> None:
    assert fluency_ratio(0.0, 1, -1e300, 1) == math.exp(700)
    assert fluency_ratio(-1e300, 1, 0.0, 1) == math.exp(-700)
    with pytest.raises(ValueError, match="negative"):
        fluency_ratio(-1.0, -1, -1.0, 1)


def test_geometric_mean() -> None:
    assert geometric_mean([2.0, 8.0]) == pytest.approx(4.0, rel=1e-15)
    assert geometric_mean([2.0, None, 8.0, None]) == pytest.approx(4.0, rel=1e-15)
    assert geometric_mean([0.5, 2.0]) == pytest.approx(1.0, rel=1e-15)
    assert geometric_mean([math.exp(700)] * 3 + [math.exp(-700)]) == pytest.approx(math.exp(350))


def test_geometric_mean_of_nothing_defined_is_the_neutral_ratio() -> None:
    assert NO_DEFINED_RATIO == 1.0
    assert geometric_mean([]) == 1.0
    assert geometric_mean([None, None]) == 1.0


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_geometric_mean_rejects_impossible_ratios(bad: float) -> None:
    with pytest.raises(ValueError, match="finite positive"):
        geometric_mean([1.0, bad])


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

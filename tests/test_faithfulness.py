"""Faithfulness 2, its explanation E and interventions; fluency 2; chrF similarity.

Hand-computed values, brute-force references, and four simulated models whose
faithfulness is known in advance (issue 10 (a)-(d)).
"""

from __future__ import annotations

import functools
import importlib
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import sacrebleu
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import Levenshtein
from sacrebleu.metrics import CHRF

from macro_bench.interventions import (
    DEFAULT_INTERVENTIONS,
    STRATA,
    content_positions,
    deletion_size,
    explained_deletion_counts,
    pseudo_explanation,
    stratified_deletions,
)
from macro_bench.metrics import (
    FLUENCY_CLIP,
    SIMILARITY_SIGNATURE,
    Minimality,
    edited_positions,
    faithfulness,
    is_testable,
    log_perplexity_ratio,
    similarity,
)
from macro_bench.tokenization import comparable_token_texts, is_content_token

# The module (macro_bench.metrics exports a function of the same name).
similarity_module = importlib.import_module("macro_bench.metrics.similarity")

# --- content tokens ----------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "content"),
    [
        ("word", True),
        ("Don't", True),
        ("3.5", True),
        ("喜", True),
        ("ሰላም", True),
        ("ক", True),
        ("١٢", True),  # Arabic-Indic digits
        (".", False),
        ("。", False),
        ("«", False),
        ("-", False),
        ("😀", False),
        ("$", False),
        ("\u0301", False),  # a lone combining mark is not a letter
    ],
)
def test_is_content_token(token: str, content: bool) -> None:
    assert is_content_token(token) is content


def test_content_positions_skip_punctuation_and_symbols() -> None:
    assert content_positions(["«", "The", "team", "won", "3", "-", "0", "!", "»"]) == [1, 2, 3, 4, 6]
    assert content_positions([".", "…"]) == []


# --- E: tie-invariant, content only ----------------------------------------


def _all_minimal_alignments_kept(source: list[str], target: list[str]) -> list[frozenset[int]]:
    """For every minimal alignment (enumerated from the full DP table), the source positions it matches."""
    n, m = len(source), len(target)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        for j in range(m + 1):
            if i == 0 or j == 0:
                table[i][j] = i + j
            else:
                table[i][j] = min(
                    table[i - 1][j] + 1,
                    table[i][j - 1] + 1,
                    table[i - 1][j - 1] + (source[i - 1] != target[j - 1]),
                )

    @functools.cache
    def paths(i: int, j: int) -> frozenset[frozenset[int]]:
        if i == 0 and j == 0:
            return frozenset({frozenset()})
        found: set[frozenset[int]] = set()
        if i and j and source[i - 1] == target[j - 1] and table[i][j] == table[i - 1][j - 1]:
            found |= {kept | {i - 1} for kept in paths(i - 1, j - 1)}
        if i and j and table[i][j] == table[i - 1][j - 1] + 1:
            found |= paths(i - 1, j - 1)
        if i and table[i][j] == table[i - 1][j] + 1:
            found |= paths(i - 1, j)
        if j and table[i][j] == table[i][j - 1] + 1:
            found |= paths(i, j - 1)
        return frozenset(found)

    return list(paths(n, m))


def _edited_by_every_minimal_alignment(source: list[str], target: list[str]) -> frozenset[int]:
    kept_somewhere = frozenset().union(*_all_minimal_alignments_kept(source, target))
    return frozenset(i for i, token in enumerate(source) if is_content_token(token) and i not in kept_somewhere)


def test_two_tied_minimal_alignments_give_the_same_explanation() -> None:
    source = "the cat and the dog".split()
    target = "the dog".split()
    alignments = _all_minimal_alignments_kept(source, target)
    # Keep the first "the" (delete "cat and the") or the second (delete "the cat and"):
    # both cost 3, and each would mark a different set of edited tokens.
    assert sorted(map(sorted, alignments)) == [[0, 4], [3, 4]]
    assert Levenshtein.distance(source, target) == 3
    edited_by_each = {frozenset(range(5)) - kept for kept in alignments}
    assert edited_by_each == {frozenset({1, 2, 3}), frozenset({0, 1, 2})}
    # E is what both edit, whichever alignment a library returns.
    assert edited_positions(source, target) == frozenset({1, 2})
    rapidfuzz_kept_forward = {s for tag, s, _ in Levenshtein.editops(source, target).as_list() if tag != "insert"}
    rapidfuzz_kept_reversed = {
        len(source) - 1 - s for tag, s, _ in Levenshtein.editops(source[::-1], target[::-1]).as_list() if tag != "insert"
    }
    # rapidfuzz itself picks different alignments for the list and its reverse here...
    assert rapidfuzz_kept_forward != rapidfuzz_kept_reversed
    # ...and E does not move.
    reversed_e = edited_positions(source[::-1], target[::-1])
    assert frozenset(len(source) - 1 - i for i in reversed_e) == frozenset({1, 2})


small_tokens = st.lists(st.sampled_from(["a", "b", "c", "."]), max_size=7)


@settings(max_examples=400)
@given(small_tokens, small_tokens)
def test_explanation_is_what_every_minimal_alignment_edits(source: list[str], target: list[str]) -> None:
    assert edited_positions(source, target) == _edited_by_every_minimal_alignment(source, target)


@settings(max_examples=300)
@given(st.lists(st.sampled_from(["a", "b", "c", "d", ","]), max_size=25),
       st.lists(st.sampled_from(["a", "b", "c", "d", ","]), max_size=25))
def test_explanation_is_unchanged_when_both_token_lists_are_reversed(source: list[str], target: list[str]) -> None:
    # Reversal maps minimal alignments one to one, but rapidfuzz's tie-breaking is not symmetric.
    reversed_e = edited_positions(source[::-1], target[::-1])
    assert frozenset(len(source) - 1 - i for i in reversed_e) == edited_positions(source, target)


@pytest.mark.parametrize(
    ("original", "counterfactual", "explanation"),
    [
        pytest.param("The team won the cup .", "The team lost the cup .", {2}, id="one-substitution"),
        pytest.param("The team won the cup .", "The team won the cup !", set(), id="punctuation-only-edit"),
        # A whole rewrite that keeps only the final period: every content token is edited.
        pytest.param("The team won the cup .", "Voters chose a new mayor .", {0, 1, 2, 3, 4}, id="rewrite-keeps-period"),
        pytest.param("The match ended .", "The football match ended .", set(), id="pure-insertion-marks-nothing"),
        # Either token of a swap is kept by some minimal alignment.
        pytest.param("red blue", "blue red", set(), id="swap"),
        pytest.param("我喜欢足球。", "我讨厌足球。", {1, 2}, id="unspaced-script"),
        pytest.param("The team won .", "", {0, 1, 2}, id="everything-deleted"),
    ],
)
def test_explanation_on_texts(original: str, counterfactual: str, explanation: set[int]) -> None:
    assert Minimality()(original, counterfactual).edited_positions == frozenset(explanation)


# --- interventions -----------------------------------------------------------


@pytest.mark.parametrize(("n_content", "size"), [(0, 0), (1, 1), (4, 1), (5, 1), (6, 2), (8, 2), (20, 4), (21, 5), (40, 8)])
def test_deletion_size_is_a_fifth_rounded_up(n_content: int, size: int) -> None:
    assert deletion_size(n_content) == size


def test_deletion_size_rejects_negative_counts() -> None:
    with pytest.raises(ValueError, match="-1 content tokens"):
        deletion_size(-1)


@pytest.mark.parametrize(
    ("n_content", "n_explanation", "counts"),
    [
        # m = 4 and E big enough: the strata 0, 1/4, ..., 1 exactly.
        (20, 10, [0, 1, 2, 3, 4]),
        # |E| = 1: only 0 or 1 of 4 deletions can be in E; strata map onto 0..1.
        (20, 1, [0, 0, 1, 1, 1]),
        # E all but one: at least 3 of 4 deletions are in E.
        (20, 19, [3, 3, 4, 4, 4]),
        # m = 2: shares 0, 1/2, 1.
        (8, 2, [0, 1, 1, 2, 2]),
        # m = 1 (|C| = 4): a deletion is inside E or not.
        (4, 2, [0, 0, 1, 1, 1]),
    ],
)
def test_explained_deletion_counts_spread_over_the_achievable_range(n_content, n_explanation, counts) -> None:
    assert explained_deletion_counts(n_content, n_explanation, count=10) == counts * 2


@pytest.mark.parametrize(("n_content", "n_explanation"), [(20, 0), (20, 20), (1, 1), (0, 0)])
def test_explained_deletion_counts_reject_untestable_explanations(n_content: int, n_explanation: int) -> None:
    with pytest.raises(ValueError, match="cannot be tested"):
        explained_deletion_counts(n_content, n_explanation)


def test_defaults() -> None:
    assert DEFAULT_INTERVENTIONS == 10 and STRATA == (0.0, 0.25, 0.5, 0.75, 1.0)


TOKENS = "« The new coach of the national team said on Friday that the players were ready for the final . »".split()
CONTENT = content_positions(TOKENS)
EXPLANATION = frozenset({2, 3, 7, 8, 18})  # "new coach", "team said", "final"


def _draw(**overrides) -> list[frozenset[int]]:
    arguments = {"language": "eng_Latn", "doc_key": 17, "stream": "explanation"} | overrides
    explanation = arguments.pop("explanation", EXPLANATION)
    return stratified_deletions(CONTENT, explanation, **arguments)


def test_stratified_deletions_follow_the_design() -> None:
    sets = _draw()
    size = deletion_size(len(CONTENT))
    assert len(CONTENT) == 18 and size == 4
    assert len(sets) == DEFAULT_INTERVENTIONS
    assert all(len(deleted) == size and deleted <= set(CONTENT) for deleted in sets)
    assert [len(deleted & EXPLANATION) for deleted in sets] == explained_deletion_counts(18, 5)
    assert [len(deleted & EXPLANATION) for deleted in sets] == [0, 1, 2, 3, 4] * 2
    punctuation = {i for i, token in enumerate(TOKENS) if not is_content_token(token)}
    assert punctuation == {0, 19, 20} and not any(deleted & punctuation for deleted in sets)


def test_stratified_deletions_are_seeded_by_stream_language_document_and_k() -> None:
    base = _draw()
    assert base == _draw()
    assert base != _draw(language="fra_Latn")
    assert base != _draw(doc_key=18)
    assert base != _draw(doc_key="17-b")
    assert base != _draw(stream="random")
    assert _draw(count=4) == base[:4]
    assert len(set(base)) > 5  # different k, different draws


def test_stratified_deletions_are_identical_in_another_process_with_another_hash_seed() -> None:
    code = (
        "from macro_bench.interventions import stratified_deletions; "
        "print([sorted(s) for s in stratified_deletions(range(1, 30), frozenset({3, 9, 11}), "
        "language='zho_Hans', doc_key=1523, stream='random')])"
    )
    outputs = set()
    for seed in ("0", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        outputs.add(completed.stdout)
    expected = stratified_deletions(range(1, 30), frozenset({3, 9, 11}), language="zho_Hans", doc_key=1523, stream="random")
    assert outputs == {f"{[sorted(s) for s in expected]}\n"}


def test_stratified_deletions_reject_bad_explanations_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"positions \[0\] of document 17 \(eng_Latn\) are not content"):
        _draw(explanation=frozenset({0, 2}))
    with pytest.raises(ValueError, match="holds 0 of 18 content tokens"):
        _draw(explanation=frozenset())
    with pytest.raises(ValueError, match="holds 18 of 18 content tokens"):
        _draw(explanation=frozenset(CONTENT))
    with pytest.raises(ValueError, match="at least 2 interventions"):
        _draw(count=1)


def test_pseudo_explanation() -> None:
    drawn = pseudo_explanation(CONTENT, 5, language="eng_Latn", doc_key=17)
    assert len(drawn) == 5 and drawn <= set(CONTENT)
    assert drawn == pseudo_explanation(CONTENT, 5, language="eng_Latn", doc_key=17)
    assert drawn != pseudo_explanation(CONTENT, 5, language="eng_Latn", doc_key=18)
    assert pseudo_explanation(CONTENT, 0, language="eng_Latn", doc_key=17) == frozenset()
    with pytest.raises(ValueError, match="19 positions cannot be drawn from the 18 content positions"):
        pseudo_explanation(CONTENT, 19, language="eng_Latn", doc_key=17)


def test_is_testable() -> None:
    assert is_testable({1}, {1, 2})
    assert not is_testable(set(), {1, 2})
    assert not is_testable({1, 2}, {1, 2})
    assert not is_testable({1}, {1})


# --- the faithfulness kernel ---------------------------------------------------

E = frozenset({0, 1, 2, 3})
# Shares of E: 0, 1/2, 1/2, 1.
SETS = [frozenset({10, 11}), frozenset({0, 10}), frozenset({1, 11}), frozenset({2, 3})]


def test_hand_computed_rank_correlation_with_ties() -> None:
    # Ranks of the shares (1, 2.5, 2.5, 4), of the outcomes (1, 3, 2, 4); centered
    # (-1.5, 0, 0, 1.5) and (-1.5, .5, -.5, 1.5): r = 4.5 / sqrt(4.5 * 5) = 3 / sqrt(10).
    assert faithfulness(SETS, [0.1, 0.3, 0.2, 0.4], E) == pytest.approx(3 / math.sqrt(10), abs=1e-15)
    assert faithfulness(SETS, [0.0, 0.5, 0.5, 0.9], E) == pytest.approx(1.0, abs=1e-15)
    assert faithfulness(SETS, [0.9, 0.5, 0.5, 0.0], E) == pytest.approx(-1.0, abs=1e-15)


def test_share_not_count_is_correlated() -> None:
    # Sets of different sizes: 1 of 1 (share 1) beats 1 of 4 (share 1/4) although the counts tie.
    sets = [frozenset({0}), frozenset({0, 10, 11, 12}), frozenset({10})]
    assert faithfulness(sets, [0.5, 0.2, 0.0], E) == pytest.approx(1.0)


def test_faithfulness_matches_scipy_spearman_on_random_inputs() -> None:
    rng = np.random.default_rng(0)
    for _ in range(300):
        count = int(rng.integers(3, 16))
        sets = [frozenset(rng.choice(12, size=4, replace=False).tolist()) for _ in range(count)]
        outcomes = rng.normal(size=count).round(int(rng.integers(0, 3)))
        shares = [len(s & E) / 4 for s in sets]
        value = faithfulness(sets, outcomes.tolist(), E)
        if len(set(shares)) == 1 or len(set(outcomes.tolist())) == 1:
            assert value is None
        else:
            assert value == pytest.approx(scipy.stats.spearmanr(shares, outcomes).statistic, abs=1e-12)


@pytest.mark.parametrize(
    ("deletion_sets", "outcomes"),
    [
        pytest.param(SETS, [0.1, 0.1, 0.1, 0.1], id="constant-outcomes"),
        pytest.param([frozenset({0, 10})] * 4, [0.0, 0.1, 0.2, 0.3], id="constant-shares"),
        pytest.param(SETS, [0.0, math.nan, 0.2, 0.1], id="nan-outcome"),
        pytest.param(SETS, [0.0, -math.inf, 0.2, 0.1], id="inf-outcome"),
        pytest.param(SETS[:1], [0.3], id="one-intervention"),
        pytest.param([], [], id="no-intervention"),
        pytest.param([frozenset(), *SETS[1:]], [0.0, 0.1, 0.2, 0.3], id="empty-deletion"),
    ],
)
def test_undefined_faithfulness_is_none(deletion_sets, outcomes) -> None:
    assert faithfulness(deletion_sets, outcomes, E) is None


def test_faithfulness_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="3 deletion sets but 2 outcomes"):
        faithfulness(SETS[:3], [0.1, 0.2], E)


# --- (a)-(d): simulated models over 200 documents ---------------------------------

N_DOCUMENTS = 200


@functools.cache
def _simulated_documents() -> tuple:
    """(tokens, E, content) of 200 sentences of 8-40 words ending in "." with a partial rewrite."""
    rng = np.random.default_rng(2026)
    documents = []
    for doc_key in range(N_DOCUMENTS):
        n_words = int(rng.integers(8, 41))
        words = [f"w{v}" for v in rng.integers(0, 500, n_words)]
        edited = rng.choice(n_words, size=int(rng.integers(1, n_words)), replace=False)
        rewritten = [f"new{doc_key}x{i}" if i in set(edited.tolist()) else word for i, word in enumerate(words)]
        original, counterfactual = " ".join(words) + " .", " ".join(rewritten) + " ."
        tokens = comparable_token_texts(original)
        explanation = Minimality()(original, counterfactual).edited_positions
        content = content_positions(tokens)
        assert explanation == frozenset(edited.tolist()) and is_testable(explanation, content)
        documents.append((doc_key, tokens, explanation, content))
    return tuple(documents)


def _language_faithfulness(outcome, pseudo: bool = False) -> list[float | None]:
    """Per-document faithfulness with outcomes o_k = outcome(doc, deleted, rng)."""
    rng = np.random.default_rng(7)
    values = []
    for doc_key, tokens, edited, content in _simulated_documents():
        explanation = edited
        if pseudo:
            explanation = pseudo_explanation(content, len(edited), language="eng_Latn", doc_key=doc_key)
        stream = "random" if pseudo else "explanation"
        sets = stratified_deletions(content, explanation, language="eng_Latn", doc_key=doc_key, stream=stream)
        weights = rng.uniform(0.5, 1.0, len(tokens))
        outcomes = [outcome(tokens, edited, deleted, weights, rng) for deleted in sets]
        values.append(faithfulness(sets, outcomes, explanation))
    return values


def _noise(rng) -> float:
    return float(rng.normal(0, 0.01))


def _only_final_punctuation(tokens, edited, deleted, weights, rng) -> float:
    return 0.6 * (len(tokens) - 1 in deleted) + _noise(rng)


def _only_edited_words(tokens, edited, deleted, weights, rng) -> float:
    return sum(weights[i] for i in deleted & edited) / 10 + _noise(rng)


def _only_kept_words(tokens, edited, deleted, weights, rng) -> float:
    return sum(weights[i] for i in deleted - edited) / 10 + _noise(rng)


def _random_sensitivities(tokens, edited, deleted, weights, rng) -> float:
    # Sensitivities unrelated to E: a fixed random sign per token of the document.
    signs = np.where(weights > 0.75, 1.0, -1.0)
    return sum(signs[i] * weights[i] for i in deleted) / 10 + _noise(rng)


def _mean_and_interval(values: list[float | None]) -> tuple[float, float, float]:
    defined = np.array([v for v in values if v is not None])
    assert len(defined) == len(values), "every simulated document is testable and noisy, so defined"
    interval = scipy.stats.bootstrap((defined,), np.mean, n_resamples=2000, random_state=0).confidence_interval
    return float(defined.mean()), interval.low, interval.high


def test_a_model_that_reads_only_the_final_period_scores_near_zero_not_negative() -> None:
    mean, low, high = _mean_and_interval(_language_faithfulness(_only_final_punctuation))
    assert low < 0.0 < high and abs(mean) < 0.1


def test_a_model_that_reads_only_the_edited_words_scores_near_plus_one() -> None:
    mean, low, _ = _mean_and_interval(_language_faithfulness(_only_edited_words))
    assert mean > 0.9 and low > 0.85


def test_a_model_that_reads_only_the_kept_words_scores_near_minus_one() -> None:
    mean, _, high = _mean_and_interval(_language_faithfulness(_only_kept_words))
    assert mean < -0.9 and high < -0.85


def test_a_model_with_random_sensitivities_gets_an_interval_covering_zero() -> None:
    mean, low, high = _mean_and_interval(_language_faithfulness(_random_sensitivities))
    assert low < 0.0 < high and abs(mean) < 0.1


def test_the_chance_baseline_of_a_faithful_model_covers_zero() -> None:
    # faithfulness_random: a pseudo-explanation of E's size, its own interventions.
    mean, low, high = _mean_and_interval(_language_faithfulness(_only_edited_words, pseudo=True))
    assert low < 0.0 < high and abs(mean) < 0.1


# --- fluency 2 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        # NLL per token 2 (x) vs 3 (x'): log ratio 1.
        ((-10.0, 5, -30.0, 10), 1.0),
        # Same NLL per token at different lengths: 0.
        ((-10.0, 5, -20.0, 10), 0.0),
        # x' more fluent: 1 vs 0.5 per token.
        ((-10.0, 10, -5.0, 10), -0.5),
        # Clipped: NLL 1 -> 5 per token is 4 > ln 10 = 2.302...
        ((-4.0, 4, -20.0, 4), math.log(10)),
        ((-20.0, 4, -4.0, 4), -math.log(10)),
        # Just inside the clip.
        ((-1.0, 1, -3.3, 1), 2.3),
        # A one-token output scored absurdly (the "*" of issue 10) only reaches the clip.
        ((-40.0, 20, -1e9, 1), math.log(10)),
    ],
)
def test_log_perplexity_ratio_hand_values(arguments, expected: float) -> None:
    assert log_perplexity_ratio(*arguments) == pytest.approx(expected, abs=1e-12)


def test_fluency_clip_is_ln_10() -> None:
    assert FLUENCY_CLIP == math.log(10)


@pytest.mark.parametrize(
    "arguments",
    [(-10.0, 0, -5.0, 3), (-10.0, 3, -5.0, 0), (math.nan, 3, -5.0, 3), (-10.0, 3, -math.inf, 3)],
)
def test_log_perplexity_ratio_undefined(arguments) -> None:
    assert log_perplexity_ratio(*arguments) is None


@pytest.mark.parametrize("bad", [-1, 2.5, True, None])
def test_log_perplexity_ratio_rejects_impossible_token_counts(bad) -> None:
    with pytest.raises(ValueError, match="tokens_counterfactual must be a non-negative integer"):
        log_perplexity_ratio(-1.0, 3, -1.0, bad)


def test_log_perplexity_ratio_accepts_numpy_counts() -> None:
    assert log_perplexity_ratio(-10.0, np.int64(5), -30.0, np.int32(10)) == pytest.approx(1.0)


def test_a_few_extreme_documents_move_the_mean_by_at_most_their_share() -> None:
    ordinary = [log_perplexity_ratio(-30.0, 10, -33.0, 10)] * 47  # 0.3 each
    extreme = [log_perplexity_ratio(-30.0, 10, -1e6, 1)] * 3
    mean = np.mean(ordinary + extreme)
    assert mean - 0.3 == pytest.approx(3 * (math.log(10) - 0.3) / 50)


# --- similarity (chrF) ---------------------------------------------------------------

PAIRS = [
    ("The team won the cup.", "The team won the cup."),
    ("The team won the cup.", "The party won the election."),
    ("The team won the cup.", ""),
    ("我喜欢足球。", "我讨厌足球。"),
    ("Timu ilishinda kombe.", "The team won the cup."),
    ("ቡድኑ ዋንጫውን አሸነፈ።", "ፓርቲው ምርጫውን አሸነፈ።"),
    ("\u0645\u0631\u062d\u0628\u0627 \u0628\u0643\u0645", "\u0645\u0631\u062d\u0628\u0627"),
    ("abc", "\ufffd\x00😀"),
]


@pytest.mark.parametrize(("original", "counterfactual"), PAIRS)
def test_similarity_equals_sacrebleu_sentence_chrf(original: str, counterfactual: str) -> None:
    assert similarity(original, counterfactual) == sacrebleu.sentence_chrf(counterfactual, [original]).score


def test_similarity_range_and_direction() -> None:
    assert similarity("The team won the cup.", "The team won the cup.") == 100.0
    assert similarity("abc", "xyz") == 0.0
    near = similarity("The team won the cup.", "The team won the cups.")
    far = similarity("The team won the cup.", "The party won the election.")
    assert 0.0 < far < near < 100.0


def test_similarity_signature_is_sacrebleus_settings_and_a_probe_hash_not_its_version() -> None:
    chrf = CHRF()
    chrf.sentence_score("a", ["a"])
    sacrebleus = str(chrf.get_signature())
    assert sacrebleus == f"nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:{sacrebleu.__version__}"
    settings, _, probe = SIMILARITY_SIGNATURE.rpartition("|probe:")
    assert settings == sacrebleus.rpartition("|version:")[0]
    assert probe == similarity_module._probe_hash() and len(probe) == 12
    assert "version" not in SIMILARITY_SIGNATURE


def test_similarity_signature_does_not_depend_on_the_sacrebleu_version(monkeypatch) -> None:
    from sacrebleu.metrics import base

    monkeypatch.setattr(base, "__version__", "0.0.1")
    chrf = CHRF()
    chrf.sentence_score("a", ["a"])
    assert str(chrf.get_signature()).endswith("|version:0.0.1")  # the patch reaches sacrebleu
    assert f"{similarity_module._settings()}|probe:{similarity_module._probe_hash()}" == SIMILARITY_SIGNATURE


def test_similarity_signature_changes_when_chrf_scores_differently(monkeypatch) -> None:
    before = similarity_module._probe_hash()

    class Shifted(CHRF):
        """A chrF that scores partial matches a little differently (another release, say)."""

        def sentence_score(self, hypothesis, references):
            score = super().sentence_score(hypothesis, references)
            if 0 < score.score < 100:
                score.score += 1e-4
            return score

    chrf = Shifted()
    chrf.sentence_score("", [""])
    monkeypatch.setattr(similarity_module, "_CHRF", chrf)
    assert similarity_module._probe_hash() != before


def test_similarity_probe_scores_are_far_from_rounding_boundaries() -> None:
    # The hash rounds to 6 decimals; a score within float noise of a rounding boundary
    # could hash differently on another platform.
    for hypothesis, reference in similarity_module.PROBE_PAIRS:
        scaled = similarity(reference, hypothesis) * 1e6
        assert abs(scaled - math.floor(scaled) - 0.5) > 1e-3, (hypothesis, reference)

"""Paired comparison: differences, direction-aware verdicts, p-values against scipy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from macro_bench.aggregate.compare import compare_models, verdict_sentence
from macro_bench.aggregate.leaderboard import Settings
from macro_bench.aggregate.problems import Problems
from tests.test_aggregate_fixtures import synthetic_documents

LANGUAGES = ["fra_Latn", "deu_Latn", "zho_Hans", "yor_Latn", "ace_Arab"]


@pytest.fixture(scope="module")
def documents():
    return synthetic_documents({"A": 2.0, "B": -1.0}, LANGUAGES, n_documents=150, seed=8)


@pytest.fixture(scope="module")
def comparison(documents):
    return compare_models(documents, "A", "B", Settings(n_resamples=2000, seed=3), problems=Problems(echo=False))


def row(table: pd.DataFrame, **where):
    mask = np.ones(len(table), dtype=bool)
    for column, wanted in where.items():
        mask &= table[column].to_numpy() == wanted
    assert mask.sum() == 1
    return table[mask].iloc[0]


def test_difference_is_a_minus_b_on_shared_documents(comparison, documents):
    for language in LANGUAGES:
        a = documents[(documents["model"] == "A") & (documents["language"] == language)].set_index("doc_key")
        b = documents[(documents["model"] == "B") & (documents["language"] == language)].set_index("doc_key")
        r = row(comparison.by_language, language=language, metric="flip_rate")
        assert r.difference == pytest.approx(a["flip_rate"].mean() - b["flip_rate"].mean())
        # Conditional metrics: only documents where both models' values are defined.
        both = a["fluency"].notna() & b["fluency"].notna()
        fluency = row(comparison.by_language, language=language, metric="fluency")
        assert fluency.difference == pytest.approx(a["fluency"][both].mean() - b["fluency"][both].mean())
        assert fluency.n_documents == both.sum()


def test_pvalues_agree_with_scipy_paired_permutation_test(comparison, documents):
    a = documents[(documents["model"] == "A") & (documents["language"] == "fra_Latn")].sort_values("doc_key", key=lambda k: k.astype(int))
    b = documents[(documents["model"] == "B") & (documents["language"] == "fra_Latn")].sort_values("doc_key", key=lambda k: k.astype(int))
    for metric in ("score", "accuracy", "minimality", "faithfulness"):
        # Conditional metrics are paired on the documents where both models have them.
        both = a[metric].notna().to_numpy() & b[metric].notna().to_numpy()
        reference = stats.permutation_test(
            (a[metric].to_numpy()[both], b[metric].to_numpy()[both]), lambda x, y: np.mean(x - y),
            permutation_type="samples", n_resamples=20000, random_state=np.random.default_rng(1),
        ).pvalue
        ours = row(comparison.by_language, language="fra_Latn", metric=metric).p_value
        assert ours == pytest.approx(reference, abs=0.02 + 0.1 * reference)


def test_verdicts_follow_each_metric_direction(comparison):
    # A is much stronger: higher flip rate (up is better) and lower minimality (down is better): both "A".
    assert (comparison.by_family[comparison.by_family["metric"] == "flip_rate"]["better"] == "A").all()
    minimality = row(comparison.overall, metric="minimality")
    assert minimality.difference < 0 and minimality.better == "A"
    verdict = row(comparison.verdict, metric="score", level="language")
    assert (verdict.a_better, verdict.b_better, verdict.compared) == (5, 0, 5)
    assert verdict_sentence(comparison, "score") == (
        "A better on score in 5 of 5 languages at p < 0.05, worse in 0 (5 and 0 after Benjamini-Hochberg)."
    )
    swapped = compare_models(comparison.coverage.shared, "B", "A", Settings(n_resamples=200), problems=Problems(echo=False))
    assert row(swapped.overall, metric="minimality").better == "B"
    assert row(swapped.verdict, metric="score", level="language").b_better == 5


def test_identical_models_have_no_significant_difference(documents):
    a = documents[documents["model"] == "A"]
    same = compare_models(pd.concat([a, a.assign(model="A2")]), "A", "A2", Settings(n_resamples=300), problems=Problems(echo=False))
    # Each model's mean is one BLAS matrix product over the resample weights, whose summation
    # order may differ between the two columns: identical data can differ by ~1e-17.
    assert np.allclose(same.by_language["difference"].dropna(), 0, rtol=0, atol=1e-12)
    assert (same.by_language["p_value"].dropna() == 1).all()
    assert (same.verdict["a_better"] + same.verdict["b_better"] == 0).all()


def test_no_fluency_verdict_between_different_scorers(documents):
    apart = compare_models(documents, "A", "B", Settings(n_resamples=100), problems=Problems(echo=False), fluency_comparable=False)
    for table in (apart.by_language, apart.by_family, apart.overall):
        fluency = table[table["metric"] == "fluency"]
        assert fluency["difference"].isna().all() and fluency["p_value"].isna().all()
        assert (fluency["better"] == "no verdict").all()
        assert fluency["a"].notna().all()  # each side's value is still shown
        others = table[table["metric"] == "minimality"]
        assert others["p_value"].notna().all()
    verdict = row(apart.verdict, metric="fluency", level="language")
    assert (verdict.a_better, verdict.b_better, verdict.compared) == (0, 0, 0)


def test_family_pvalue_and_interval_are_consistent_for_a_clear_difference(comparison):
    r = row(comparison.overall, metric="score")
    assert r.ci_low > 0 and r.p_value < 0.01
    assert r.a == pytest.approx(r.difference + r.b)

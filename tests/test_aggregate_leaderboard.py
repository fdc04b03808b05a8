"""Leaderboard tables: values recomputed by hand with pandas, coverage, held-out view, model families."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from macro_bench.aggregate.leaderboard import Settings, build_leaderboard
from macro_bench.aggregate.model_family import family_from_name, parse_overrides, resolve_model_family
from macro_bench.aggregate.problems import InputError, Problems
from macro_bench.languages import load_languages
from tests.test_aggregate_fixtures import synthetic_documents

LANGUAGES = ["fra_Latn", "deu_Latn", "spa_Latn", "zho_Hans", "yor_Latn", "ace_Arab"]
MODELS = {"org/weak-1B": ("weak", "test"), "org/strong-1B": ("strong", "test")}


@pytest.fixture(scope="module")
def documents():
    return synthetic_documents({"org/weak-1B": -0.5, "org/strong-1B": 1.5}, LANGUAGES, n_documents=80, seed=5)


@pytest.fixture(scope="module")
def board(documents):
    return build_leaderboard(documents, MODELS, Settings(n_resamples=300, seen_families=("Indo-European",)), Problems(echo=False))


def expected_by_language(documents: pd.DataFrame) -> pd.DataFrame:
    # pandas' mean skips NaN: each metric over the documents where it is defined.
    return documents.groupby(["model", "language"]).mean(numeric_only=True)


def value(table: pd.DataFrame, **where) -> float:
    mask = np.ones(len(table), dtype=bool)
    for column, wanted in where.items():
        mask &= table[column].to_numpy() == wanted
    assert mask.sum() == 1, where
    return float(table.loc[mask, "value"].iloc[0])


def test_per_language_values_are_means_over_each_metrics_own_documents(board, documents):
    expected = expected_by_language(documents)
    counts = documents.groupby(["model", "language"]).count()
    for (model, language), row in expected.iterrows():
        for metric in ("score", "valid_rate", "minimality", "fluency", "copy_rate", "faithfulness", "accuracy"):
            assert value(board.by_language, model=model, language=language, metric=metric) == pytest.approx(row[metric])
        for metric in ("minimality", "faithfulness", "copy_rate", "score"):
            n = board.by_language.set_index(["model", "language", "metric"]).loc[(model, language, metric), "n_documents"]
            assert n == counts.loc[(model, language), metric]
    # Hand-computed: minimality averages valid documents only, score counts invalid ones as 0.
    cell = documents[(documents["model"] == "org/weak-1B") & (documents["language"] == "fra_Latn")]
    valid = cell[cell["valid_rate"] == 1]
    assert value(board.by_language, model="org/weak-1B", language="fra_Latn", metric="minimality") == pytest.approx(
        valid["minimality"].sum() / len(valid))
    assert value(board.by_language, model="org/weak-1B", language="fra_Latn", metric="score") == pytest.approx(
        (1 - valid["minimality"]).sum() / len(cell))


def test_reported_metrics_are_exactly_the_registrys(board):
    from macro_bench.metrics.registry import BY_NAME, NAMES

    assert set(board.overall["metric"]) == set(NAMES)
    assert board.overall["metric"].drop_duplicates().tolist()[:3] == ["score", "valid_rate", "minimality"]
    for metric in NAMES:
        n = board.overall.loc[board.overall["metric"] == metric, "n_documents"]
        if BY_NAME[metric].population == "all":
            assert (n == 6 * 80).all()


def test_family_and_overall_values_average_languages_first(board, documents):
    expected = expected_by_language(documents).reset_index()
    families = {code: load_languages()[code].family for code in LANGUAGES}
    expected["family"] = expected["language"].map(families)
    per_family = expected.groupby(["model", "family"])["score"].mean()
    for (model, family), score in per_family.items():
        assert value(board.by_language_family, model=model, language_family=family, metric="score") == pytest.approx(score)
    # Indo-European has 3 of the 6 languages but 1/4 of the weight in the overall score.
    overall = per_family.groupby("model").mean()
    for model, score in overall.items():
        assert value(board.overall, model=model, metric="score") == pytest.approx(score)
    assert value(board.overall, model="org/strong-1B", metric="score") != pytest.approx(expected.groupby("model")["score"].mean()["org/strong-1B"])


def test_intervals_contain_the_estimate_and_ranking_follows_score(board):
    for table in (board.by_language, board.by_language_family, board.overall, board.by_model_family):
        defined = table.dropna(subset=["value"])
        assert (defined["ci_low"] <= defined["value"] + 1e-12).all()
        assert (defined["value"] <= defined["ci_high"] + 1e-12).all()
        assert (defined["ci_high"] > defined["ci_low"]).any()
    assert board.models["model"].tolist() == ["org/strong-1B", "org/weak-1B"]
    assert board.models["rank"].tolist() == [1, 2]


def test_language_confusion_is_undefined_where_the_identifier_cannot_judge(board):
    undefined = board.by_language[(board.by_language["metric"] == "language_confusion_rate") & (board.by_language["language"] == "ace_Arab")]
    assert undefined["value"].isna().all()
    # Austronesian (only ace_Arab here) has no defined value and is not counted.
    row = board.by_language_family[(board.by_language_family["metric"] == "language_confusion_rate") & (board.by_language_family["language_family"] == "Austronesian")]
    assert row["value"].isna().all() and (row["n_languages"] == 0).all()


def test_held_out_view_reports_seen_heldout_and_gap(board):
    row = board.held_out[(board.held_out["model"] == "org/weak-1B") & (board.held_out["metric"] == "score")].iloc[0]
    families = board.by_language_family[(board.by_language_family["model"] == "org/weak-1B") & (board.by_language_family["metric"] == "score")].set_index("language_family")["value"]
    assert row.seen_value == pytest.approx(families["Indo-European"])
    assert row.held_out_value == pytest.approx(families.drop("Indo-European").mean())
    assert row.gap_value == pytest.approx(row.seen_value - row.held_out_value)
    assert row.gap_ci_low <= row.gap_value <= row.gap_ci_high
    assert row.n_seen_families == 1 and row.n_held_out_families == 3


def test_unknown_or_all_seen_families_are_errors(documents):
    with pytest.raises(InputError, match="Klingon.*the families are"):
        build_leaderboard(documents, MODELS, Settings(n_resamples=10, seen_families=("Klingon",)), Problems(echo=False))
    every = tuple({load_languages()[c].family for c in LANGUAGES})
    with pytest.raises(InputError, match="at least one family seen and one held out"):
        build_leaderboard(documents, MODELS, Settings(n_resamples=10, seen_families=every), Problems(echo=False))


def test_models_are_compared_on_shared_documents_only_and_the_rest_is_listed(documents):
    partial = documents[~((documents["model"] == "org/weak-1B") & ((documents["language"] == "yor_Latn") | (documents["doc_key"].astype(int) > 70)))]
    problems = Problems(echo=False)
    board = build_leaderboard(partial, MODELS, Settings(n_resamples=50), problems)
    assert "yor_Latn" not in set(board.by_language["language"])
    assert board.coverage.languages_left_out["language"].tolist() == ["yor_Latn"]
    assert any("yor_Latn" in w for w in problems.warnings)
    coverage = board.coverage.table.set_index(["model", "language"])
    assert coverage.loc[("org/strong-1B", "fra_Latn"), "documents_scored"] == 80
    assert coverage.loc[("org/strong-1B", "fra_Latn"), "documents_used"] == 70
    assert coverage.loc[("org/strong-1B", "yor_Latn"), "documents_left_out"] == 80
    assert not board.coverage.complete
    shared = documents[(documents["doc_key"].astype(int) <= 70) & (documents["language"] == "fra_Latn") & (documents["model"] == "org/strong-1B")]
    assert value(board.by_language, model="org/strong-1B", language="fra_Latn", metric="flip_rate") == pytest.approx(shared["flip_rate"].mean())


def test_model_family_by_model_family_averages_models(documents):
    three = pd.concat([documents, documents[documents["model"] == "org/weak-1B"].assign(model="org/weak-2B", flip_rate=1.0)])
    families = {"org/weak-1B": ("weak", "x"), "org/weak-2B": ("weak", "x"), "org/strong-1B": ("strong", "x")}
    board = build_leaderboard(three, families, Settings(n_resamples=20), Problems(echo=False))
    per_family = board.by_language_family[board.by_language_family["metric"] == "flip_rate"].set_index(["model", "language_family"])["value"]
    got = value(board.by_model_family, model_family="weak", language_family="Sino-Tibetan", metric="flip_rate")
    assert got == pytest.approx((per_family[("org/weak-1B", "Sino-Tibetan")] + 1.0) / 2)


def test_model_family_resolution(tmp_path, monkeypatch):
    assert family_from_name("HuggingFaceTB/SmolLM2-135M-Instruct") == "SmolLM2"
    assert family_from_name("google/gemma-3-270m") == "gemma-3"
    assert family_from_name("Qwen/Qwen2.5-0.5B-Instruct") == "Qwen2.5"
    assert resolve_model_family("google/gemma-3-270m", None, {"gemma-3-270m": "Gemma"}) == ("Gemma", "override")
    local = tmp_path / "checkpoint"
    local.mkdir()
    (local / "config.json").write_text(json.dumps({"model_type": "llama", "architectures": ["LlamaForCausalLM"]}))
    assert resolve_model_family("my-run", str(local), {}) == ("llama", f"hf-config {local / 'config.json'}")
    cache = tmp_path / "hub" / "models--google--gemma-3-270m" / "snapshots" / "abc"
    cache.mkdir(parents=True)
    (cache / "config.json").write_text(json.dumps({"architectures": ["Gemma3ForCausalLM"]}))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert resolve_model_family("google/gemma-3-270m", "google/gemma-3-270m", {})[0] == "Gemma3ForCausalLM"
    with pytest.raises(ValueError, match="NAME=FAMILY"):
        parse_overrides(["gemma"])

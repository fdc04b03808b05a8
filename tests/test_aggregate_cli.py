"""The macro-bench command line end to end on synthetic lm-eval folders."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from macro_bench.aggregate.metric_specs import REPORTED, REPORTED_NAMES
from macro_bench.cli import main
from tests.test_aggregate_fixtures import synthetic_documents, write_lm_eval_run

REPO = Path(__file__).resolve().parents[1]
LANGUAGES = ["fra_Latn", "hin_Deva", "zho_Hans", "yor_Latn", "arb_Arab", "ace_Arab"]
MODELS = {"HuggingFaceTB/SmolLM2-135M": 0.0, "google/gemma-3-270m": 0.8}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    documents = synthetic_documents(MODELS, LANGUAGES, n_documents=30, seed=4)
    for model in MODELS:
        write_lm_eval_run(folder, model, documents, other_tasks=("arc_easy",))
    # A rerun of one language, so the newest-run rule is exercised end to end.
    smol = documents[(documents["model"] == "HuggingFaceTB/SmolLM2-135M") & (documents["language"] == "fra_Latn")]
    write_lm_eval_run(folder, "HuggingFaceTB/SmolLM2-135M", smol, when=datetime(2025, 6, 1, 0, 0, 0, 1))
    return folder


def test_examples_default_matches_the_examples_module():
    from macro_bench.aggregate.examples import DEFAULT_PER_CELL
    from macro_bench.cli import build_parser

    assert build_parser().parse_args(["leaderboard", "x", "--out", "y"]).examples == DEFAULT_PER_CELL


def test_help_is_fast_and_lists_every_command():
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "macro_bench.cli", "--help"], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0
    assert "leaderboard" in result.stdout and "compare" in result.stdout
    assert "SIB-200" in result.stdout and "XNLI" in result.stdout  # both datasets
    # Lazy imports: asking for help loads neither pandas nor lm-eval.
    assert not re.search(r"\|\s+(pandas|lm_eval|scipy)\s*$", result.stderr, re.MULTILINE)
    for command in ("leaderboard", "compare"):
        sub = subprocess.run([sys.executable, "-m", "macro_bench.cli", command, "--help"], capture_output=True, text=True, cwd=REPO)
        assert sub.returncode == 0 and "--out" in sub.stdout and "--strict" in sub.stdout


def test_leaderboard_writes_every_format(runs, tmp_path, capsys):
    out = tmp_path / "board"
    code = main(["leaderboard", str(runs), "--out", str(out), "--bootstrap", "200", "--seen-families", "Indo-European",
                 "--model-family", "gemma-3-270m=Gemma"])
    assert code == 0
    assert "wrote" in capsys.readouterr().out
    markdown = (out / "leaderboard.md").read_text()
    assert "### Ranking" in markdown and "valid x (1 - minimality), 0 for an invalid counterfactual" in markdown
    assert "30 per language" in markdown
    assert "arc_easy" in markdown  # ignored tasks are listed
    assert "newer" in markdown  # and so is the superseded run
    ranking = pd.read_csv(out / "leaderboard_ranking.csv")
    assert ranking.set_index("model").loc["google/gemma-3-270m", "model_family"] == "Gemma"
    assert ranking.set_index("model").loc["HuggingFaceTB/SmolLM2-135M", "model_family"] == "SmolLM2"
    by_language = pd.read_csv(out / "leaderboard_by_language.csv")
    assert set(by_language["language"]) == set(LANGUAGES)
    assert {"value", "ci_low", "ci_high", "n_documents"} <= set(by_language.columns)
    assert len(pd.read_csv(out / "leaderboard_held_out.csv")) == 2 * len(REPORTED_NAMES)
    data = json.loads((out / "leaderboard.json").read_text())  # strict JSON: no NaN
    assert data["reproducibility"]["lm_eval_versions"] == {"0.4.13": sorted(MODELS)}
    assert data["tables"]["coverage"][0]["documents_used"] == 30
    # The metric cards, in the column order of the tables.
    assert [(m["name"], m["higher_is_better"]) for m in data["metrics"]] == [(s.name, s.higher_is_better) for s in REPORTED]
    html = (out / "leaderboard.html").read_text()
    # Per metric a language-family and a model-family heatmap, and the trade-off scatter.
    assert html.count("<svg") == 2 * len(REPORTED_NAMES) + 1
    assert 'class="sortable"' in html and "<script>" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)  # self-contained
    ids = re.findall(r' id="([^"]+)"', html)
    assert len(ids) == len(set(ids))  # links and the filter boxes find exactly one element
    # Every model x language cell links to its examples, and every link has a target.
    links = set(re.findall(r'href="#(ex-[^"]+)"', html))
    assert len(links) == len(MODELS) * len(LANGUAGES)
    assert all(f'id="{anchor}"' in html for anchor in links)
    assert len(pd.read_csv(out / "leaderboard_examples.csv")) == len(MODELS) * len(LANGUAGES) * 6


def test_both_formats_render_the_same_sections(runs, tmp_path):
    from macro_bench.aggregate import render_html, render_markdown, report_build
    from macro_bench.aggregate.leaderboard import Settings
    from macro_bench.aggregate.pipeline import make_leaderboard
    from macro_bench.aggregate.problems import Problems

    report = report_build.leaderboard_report(make_leaderboard([runs], {}, Settings(n_resamples=20), Problems(echo=False)))
    markdown, html = render_markdown.render(report), render_html.render(report)

    def headings(sections):
        for section in sections:
            yield section.heading
            yield from headings(section.children)

    for heading in headings(report.sections):
        assert re.search(rf"^#+ {re.escape(heading)}$", markdown, re.MULTILINE), heading
        assert re.search(rf"<h\d>{re.escape(heading)}</h\d>", html), heading


def test_datasets_are_separate_tables_never_averaged(tmp_path):
    sib = synthetic_documents(MODELS, ["fra_Latn", "zho_Hans"], n_documents=20, seed=1)
    xnli = synthetic_documents({"google/gemma-3-270m": 0.0}, ["fra_Latn", "hin_Deva"], n_documents=10, seed=2, dataset="xnli")
    for model in MODELS:
        write_lm_eval_run(tmp_path / "runs", model, pd.concat([sib, xnli]))
    out = tmp_path / "out"
    assert main(["leaderboard", str(tmp_path / "runs"), "--out", str(out), "--bootstrap", "30"]) == 0
    markdown = (out / "leaderboard.md").read_text()
    assert "## Dataset sib200" in markdown and "## Dataset xnli" in markdown
    assert "no value here is averaged across datasets" in markdown
    ranking = pd.read_csv(out / "leaderboard_ranking.csv")
    assert ranking.groupby("dataset")["model"].apply(list).to_dict() == {
        "sib200": ["google/gemma-3-270m", "HuggingFaceTB/SmolLM2-135M"], "xnli": ["google/gemma-3-270m"]}
    overall = pd.read_csv(out / "leaderboard_overall.csv")
    score = overall[(overall["metric"] == "score") & (overall["model"] == "google/gemma-3-270m")].set_index("dataset")["value"]
    expected = xnli.groupby("language")["score"].mean().mean()
    assert score["xnli"] == pytest.approx(expected, rel=1e-5)  # xnli's own documents only (CSV keeps 6 digits)
    assert set(pd.read_csv(out / "leaderboard_by_language.csv").query("dataset == 'xnli'")["language"]) == {"fra_Latn", "hin_Deva"}
    assert json.loads((out / "leaderboard.json").read_text())["averaged_across_datasets"] is False


def test_compare_writes_a_verdict(runs, tmp_path):
    out = tmp_path / "compare"
    code = main(["compare", str(runs / "google__gemma-3-270m"), str(runs / "HuggingFaceTB__SmolLM2-135M"), "--out", str(out), "--bootstrap", "200"])
    assert code == 0
    markdown = (out / "compare.md").read_text()
    assert re.search(r"google/gemma-3-270m better on score in \d+ of 6 languages at p < 0.05, worse in \d+", markdown)
    verdict = pd.read_csv(out / "compare_verdict.csv")
    assert set(verdict["level"]) == {"language", "language_family"}
    assert (out / "compare.html").read_text().count("<svg") == 1
    assert "No fluency verdict" in markdown  # both models scored their own fluency


def test_compare_shows_models_under_their_model_name(runs, tmp_path, capsys):
    out = tmp_path / "named"
    code = main(["compare", str(runs / "google__gemma-3-270m"), str(runs / "HuggingFaceTB__SmolLM2-135M"), "--out", str(out),
                 "--bootstrap", "50", "--model-name", "gemma-3-270m=Gemma", "--model-name", "HuggingFaceTB/SmolLM2-135M=Smol"])
    assert code == 0
    assert re.search(r"Gemma better on score in \d+ of 6 languages", (out / "compare.md").read_text())
    assert set(pd.read_csv(out / "compare_coverage.csv")["model"]) == {"Gemma", "Smol"}
    assert main(["compare", str(runs / "google__gemma-3-270m"), str(runs / "HuggingFaceTB__SmolLM2-135M"), "--out", str(out),
                 "--bootstrap", "20", "--model-name", "gemma-3-270m=same", "--model-name", "SmolLM2-135M=same"]) == 2
    assert "two different models as one" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--model-name", "--model-family"])
def test_a_malformed_name_pair_exits_with_a_message(runs, tmp_path, capsys, option):
    assert main(["leaderboard", str(runs), "--out", str(tmp_path / "x"), option, "no-equals-sign"]) == 2
    assert f"{option} expects NAME=" in capsys.readouterr().err


def test_bad_input_exits_with_a_message_naming_the_file(runs, tmp_path, capsys):
    assert main(["leaderboard", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")]) == 2
    assert f"{tmp_path / 'nowhere'}: no such file or folder" in capsys.readouterr().err
    assert main(["compare", str(runs), "--models", "gemma-3-270m", "nobody", "--out", str(tmp_path / "y")]) == 2
    assert "--models nobody matches 0 models" in capsys.readouterr().err
    broken = tmp_path / "broken"
    documents = synthetic_documents({"org/m-1B": 0.0}, ["fra_Latn", "deu_Latn"], n_documents=5)
    results = write_lm_eval_run(broken, "org/m-1B", documents)
    next(broken.rglob("samples_macro_sib200_deu_Latn_*.jsonl")).unlink()
    assert main(["leaderboard", str(broken), "--out", str(tmp_path / "z"), "--bootstrap", "20"]) == 0
    assert "samples_macro_sib200_deu_Latn" in capsys.readouterr().err
    assert main(["leaderboard", str(broken), "--out", str(tmp_path / "z"), "--strict"]) == 2
    assert "--strict" in capsys.readouterr().err
    assert results.exists()


def test_compare_reads_the_folder_leaderboard_reads(runs, tmp_path, capsys):
    """lm-eval's --output_path holds one subfolder per model: compare takes it as leaderboard does."""
    per_model, parent = tmp_path / "per_model", tmp_path / "parent"
    assert main(["compare", str(runs / "google__gemma-3-270m"), str(runs / "HuggingFaceTB__SmolLM2-135M"),
                 "--out", str(per_model), "--bootstrap", "50"]) == 0
    assert main(["compare", str(runs), "--models", "gemma-3-270m", "SmolLM2-135M",
                 "--out", str(parent), "--bootstrap", "50"]) == 0
    for table in ("compare_overall.csv", "compare_by_language.csv", "compare_verdict.csv"):
        assert (parent / table).read_text() == (per_model / table).read_text(), table
    # Without --models: the only two models, A as the folder lists them (by recorded name).
    assert main(["compare", str(runs), "--out", str(tmp_path / "default"), "--bootstrap", "50"]) == 0
    meta = json.loads((tmp_path / "default" / "compare.json").read_text())
    assert (meta["model_a"], meta["model_b"]) == ("HuggingFaceTB/SmolLM2-135M", "google/gemma-3-270m")
    # A folder with a third model needs --models, which may use the --model-name names.
    three = tmp_path / "three"
    shutil.copytree(runs, three)
    write_lm_eval_run(three, "org/m-1B", synthetic_documents({"org/m-1B": 0.0}, LANGUAGES[:2], n_documents=5))
    capsys.readouterr()
    assert main(["compare", str(three), "--out", str(tmp_path / "x"), "--bootstrap", "20"]) == 2
    err = capsys.readouterr().err
    assert "holds 3 model(s)" in err and "org/m-1B" in err and "--models A B" in err
    assert main(["compare", str(three), "--models", "Smol", "google__gemma-3-270m", "--model-name",
                 "HuggingFaceTB/SmolLM2-135M=Smol", "--out", str(tmp_path / "named"), "--bootstrap", "20"]) == 0
    assert set(pd.read_csv(tmp_path / "named" / "compare_coverage.csv")["model"]) == {"Smol", "google/gemma-3-270m"}


def test_two_runs_of_one_model_can_be_compared(tmp_path):
    documents = synthetic_documents({"org/m-1B": 0.0}, ["fra_Latn", "zho_Hans"], n_documents=20)
    write_lm_eval_run(tmp_path / "plain", "org/m-1B", documents)
    write_lm_eval_run(tmp_path / "chat", "org/m-1B", documents.assign(flip_rate=1.0))
    assert main(["compare", str(tmp_path / "chat"), str(tmp_path / "plain"), "--out", str(tmp_path / "c"), "--bootstrap", "50",
                 "--model-name", "org/m-1B=M"]) == 0
    assert set(pd.read_csv(tmp_path / "c" / "compare_coverage.csv")["model"]) == {f"M (A: {tmp_path / 'chat'})", f"M (B: {tmp_path / 'plain'})"}
    overall = pd.read_csv(tmp_path / "c" / "compare_overall.csv").set_index("metric")
    assert overall.loc["flip_rate", "difference"] > 0
    # One model scored both runs' fluency itself: the same scorer, so fluency gets a verdict.
    assert overall.loc["fluency", "better"] in ("A", "B", "none")


def test_model_name_shows_a_local_path_under_a_readable_name(runs, tmp_path):
    out = tmp_path / "named"
    code = main(["leaderboard", str(runs), "--out", str(out), "--bootstrap", "50",
                 "--model-name", "google/gemma-3-270m=Gemma-3 270M", "--model-family", "Gemma-3 270M=Gemma"])
    assert code == 0
    ranking = pd.read_csv(out / "leaderboard_ranking.csv").set_index("model")
    assert set(ranking.index) == {"Gemma-3 270M", "HuggingFaceTB/SmolLM2-135M"}
    assert ranking.loc["Gemma-3 270M", "model_family"] == "Gemma"
    coverage = pd.read_csv(out / "leaderboard_coverage.csv")
    assert "google/gemma-3-270m" not in set(coverage["model"])
    # The recorded model stays findable in the provenance.
    assert "google/gemma-3-270m" in (out / "leaderboard.md").read_text()


def test_model_name_refuses_to_merge_two_models(runs, tmp_path, capsys):
    code = main(["leaderboard", str(runs), "--out", str(tmp_path / "merged"), "--bootstrap", "50",
                 "--model-name", "google/gemma-3-270m=same", "--model-name", "HuggingFaceTB/SmolLM2-135M=same"])
    assert code != 0
    assert "two different models as one" in capsys.readouterr().err

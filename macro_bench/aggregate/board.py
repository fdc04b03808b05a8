"""A committed leaderboard: the folder ``leaderboards/<BOARD>/`` and the reports it declares.

A board holds ``runs/`` (lm-eval's own output) and ``leaderboard.args``: the arguments of
``macro-bench leaderboard`` after the runs folder, one per line, without ``--out`` (the
board folder is the output); optionally ``compare.args``: the arguments of ``macro-bench
compare``, paths relative to the repository root, written to ``<BOARD>/compare/``. Lines
starting with ``#`` and empty lines are skipped; each line is one argument, spaces kept
inside it. A folder without ``leaderboard.args`` (runs still being made) is no board yet.

This module is the one reader of those files: ``leaderboards/reproduce.sh`` rebuilds the
reports through it, ``tests/test_committed_leaderboard.py`` runs the same commands and
compares their output with the committed reports, and ``leaderboards/findings.py`` takes
the display names from them.

    python -m macro_bench.aggregate.board list [ROOT]         # the names of the boards under ROOT/leaderboards/
    python -m macro_bench.aggregate.board rebuild FOLDER...  # rebuild the reports of these boards in place
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

BOARDS_FOLDER = "leaderboards"
LEADERBOARD_ARGS, COMPARE_ARGS = "leaderboard.args", "compare.args"


def read_arguments(path: Path) -> list[str]:
    """The arguments of an argument file: its lines, stripped, without comments and empty lines."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


@dataclass(frozen=True)
class Report:
    """One report a board declares: the macro-bench command that builds it and where it is committed."""

    command: str  # "leaderboard" or "compare"; also the prefix of the report's file names
    arguments: list[str]  # without --out
    committed: Path  # relative to the repository root

    def argv(self, out: Path) -> list[str]:
        """The ``macro-bench`` arguments that write this report into ``out``."""
        return [self.command, *self.arguments, "--out", str(out)]


@dataclass(frozen=True)
class Board:
    """``root``: the repository root, where the board's commands run (the reports record paths relative
    to it); ``folder``: the board's folder relative to ``root``."""

    root: Path
    folder: Path

    @classmethod
    def at(cls, folder: Path) -> Board:
        """The board in ``folder`` (``<root>/leaderboards/<BOARD>``, absolute or relative to the working directory)."""
        folder = Path(folder).resolve()
        return cls(folder.parents[1], folder.relative_to(folder.parents[1]))

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def runs(self) -> Path:
        return self.folder / "runs"

    @property
    def leaderboard_args(self) -> list[str]:
        return read_arguments(self.root / self.folder / LEADERBOARD_ARGS)

    @property
    def compare_args(self) -> list[str] | None:
        """The arguments of the board's comparison; None when it declares none."""
        path = self.root / self.folder / COMPARE_ARGS
        return read_arguments(path) if path.is_file() else None

    def reports(self) -> list[Report]:
        found = [Report("leaderboard", [str(self.runs), *self.leaderboard_args], self.folder)]
        if self.compare_args is not None:
            found.append(Report("compare", self.compare_args, self.folder / "compare"))
        return found

    def model_names(self) -> dict[str, str]:
        """The ``--model-name RECORDED=SHOWN`` pairs of the leaderboard, read as ``macro-bench leaderboard`` reads them."""
        from macro_bench.aggregate.model_family import parse_overrides
        from macro_bench.cli import build_parser

        # --out is required by the parser, and nothing is written: any folder will do.
        args = build_parser().parse_args(self.reports()[0].argv(self.folder))
        return parse_overrides(args.model_name, "--model-name", "SHOWN")


def committed_boards(root: Path) -> list[Board]:
    """The boards under ``root/leaderboards/``, by name."""
    folders = sorted(p for p in (root / BOARDS_FOLDER).glob("*/") if (p / LEADERBOARD_ARGS).is_file())
    return [Board(root, folder.relative_to(root)) for folder in folders]


def rebuild(board: Board) -> int:
    """Writes the board's reports over the committed ones; the first failing command's exit status, else 0."""
    from macro_bench.cli import main

    with contextlib.chdir(board.root):
        for report in board.reports():
            argv = report.argv(report.committed)
            print(f"macro-bench {shlex.join(argv)}", flush=True)
            if status := main(argv):
                return status
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m macro_bench.aggregate.board", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="print the name of every board under ROOT/leaderboards/ (a folder with leaderboard.args)")
    listing.add_argument("root", nargs="?", type=Path, default=Path("."), metavar="ROOT",
                         help="the repository root (default: the working directory)")
    rebuilding = commands.add_parser("rebuild", help="rebuild the reports of the boards in FOLDER... in place")
    rebuilding.add_argument("folders", nargs="+", type=Path, metavar="FOLDER")
    args = parser.parse_args(argv)
    if args.command == "list":
        for board in committed_boards(args.root):
            print(board.name)
        return 0
    for folder in args.folders:
        if status := rebuild(Board.at(folder)):
            return status
    return 0


if __name__ == "__main__":
    sys.exit(main())

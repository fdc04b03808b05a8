"""The tables of a board's section in leaderboards/README.md, printed from its committed reports.

    python leaderboards/readme_tables.py leaderboards/<BOARD>

Prints three markdown tables and a list, separated by blank lines, each of which the README holds verbatim
(``tests/test_readme_tables.py`` checks it, so a rebuilt board cannot leave stale figures behind):

1. **headline**: per dataset and model, score, valid_rate, flip_rate, minimality and accuracy on
   the documents every model shares, with their 95% intervals (``leaderboard_overall.csv``);
2. **valid per language**: valid counterfactuals / documents per model and task
   (``findings.py`` section 7; "not yet" where a run is missing);
3. **verdict**: the paired comparison A vs B on score and valid_rate, per language and over all
   shared documents (``compare/compare_by_language.csv``, ``compare/compare_overall.csv``; only for
   a board with a ``compare.args``);
4. **wall times**: lm-eval's ``total_evaluation_time_seconds`` of every run, per model
   (``findings.py`` section 6).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from macro_bench.aggregate.render_markdown import table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from findings import Board, collect  # noqa: E402  (findings.py is a script beside this one, not a package)

VERDICT_METRICS = ("score", "valid_rate")


def _interval(row) -> str:
    return f"{row.value:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}]"


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    """The reports' own markdown table, without its final newline (the README holds tables inline)."""
    return table(header, rows).rstrip("\n")


def headline(board: Path) -> str:
    overall = pd.read_csv(board / "leaderboard_overall.csv")
    rows = []
    for (dataset, model), group in overall.groupby(["dataset", "model"], sort=False):
        by_metric = {row.metric: row for row in group.itertuples()}
        minimality = by_metric.get("minimality")
        minimality_text = (f"{minimality.value:.3f} (n = {minimality.n_documents})"
                           if minimality is not None and minimality.n_documents else "n/a (no valid)")
        rows.append([dataset, model, str(by_metric["score"].n_documents), _interval(by_metric["score"]),
                     _interval(by_metric["valid_rate"]), _interval(by_metric["flip_rate"]), minimality_text,
                     _interval(by_metric["accuracy"])])
    return _markdown(["dataset", "model", "documents", "score", "valid_rate", "flip_rate (ungated)",
                      "minimality (valid only)", "accuracy"], rows)


def valid_per_language(valid_by_language: list[dict]) -> str:
    cells: dict[str, dict[tuple[str, str], str]] = {}
    tasks: set[tuple[str, str]] = set()
    for row in valid_by_language:
        task = (row["dataset"], row["language"])
        tasks.add(task)
        cells.setdefault(row["model"], {})[task] = f"{row['valid']}/{row['documents']}"
    # XNLI first: the dataset the board's comparison rests on.
    ordered = sorted(tasks, key=lambda task: (task[0] != "xnli", task))
    header = ["model"] + [f"{dataset} {language.split('_')[0]}" for dataset, language in ordered]
    return _markdown(header, [[model] + [by_task.get(task, "not yet") for task in ordered]
                              for model, by_task in sorted(cells.items())])


def verdict(board: Path) -> str | None:
    compare = board / "compare"
    if not (compare / "compare.json").is_file():
        return None
    names = json.loads((compare / "compare.json").read_text(encoding="utf-8"))
    model_a, model_b = names["model_a"], names["model_b"]
    by_language = pd.read_csv(compare / "compare_by_language.csv")
    overall = pd.read_csv(compare / "compare_overall.csv").assign(language="all shared")
    better = {"A": model_a, "B": model_b}
    rows = [
        [row.dataset, row.language, str(row.n_documents), row.metric, f"{row.a:.3f}", f"{row.b:.3f}",
         f"{row.difference:+.3f} [{row.ci_low:+.3f}, {row.ci_high:+.3f}]", f"{row.p_value:.3f}",
         f"{row.q_value:.3f}", better.get(row.better, "neither")]
        for table in (by_language, overall) for row in table[table.metric.isin(VERDICT_METRICS)].itertuples()
    ]
    return _markdown(["dataset", "language", "documents", "metric", f"A ({model_a})", f"B ({model_b})",
                      "A - B [95% CI]", "p", "q (BH)", "better at p < 0.05"], rows)


def wall_times(rows: list[dict]) -> str:
    return "\n".join(f"  - {row['model']}: " + ", ".join(f"{task.removeprefix('macro_')} {seconds:,.0f} s"
                                                         for task, seconds in sorted(row["seconds"].items())) + ";"
                     for row in rows)


def tables(board: Path) -> list[str]:
    found = collect(Board.at(board))
    made = [headline(board), valid_per_language([vars(row) for row in found.valid_by_language])]
    comparison = verdict(board)
    return made + ([comparison] if comparison else []) + [wall_times([vars(row) for row in found.wall_times])]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("board", type=Path)
    args = parser.parse_args(argv)
    print("\n\n".join(tables(args.board)))


if __name__ == "__main__":
    main()

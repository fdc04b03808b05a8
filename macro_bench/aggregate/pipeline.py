"""The two commands end to end: load runs, build tables, write every format."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from macro_bench.aggregate.compare import Comparison, compare_models
from macro_bench.aggregate.leaderboard import Leaderboard, Settings, build_leaderboard
from macro_bench.aggregate.loading import LoadedRuns, check_consistency, load_runs
from macro_bench.aggregate.model_family import override_matches, resolve_model_family
from macro_bench.aggregate.problems import InputError, Problems
from macro_bench.aggregate.provenance import reproducibility


@dataclass
class LeaderboardReport:
    board: Leaderboard
    runs: LoadedRuns
    reproducibility: dict


@dataclass
class ComparisonReport:
    comparison: Comparison
    runs: LoadedRuns  # both runs, models named as in the comparison
    reproducibility: dict


def resolve_families(runs: LoadedRuns, overrides: dict[str, str], problems: Problems) -> dict[str, tuple[str, str]]:
    for name in overrides:
        if not any(override_matches(name, model) for model in runs.models):
            problems.warn(f"--model-family {name}=... matches no model of these runs (models: {', '.join(runs.models)})")
    pretrained = runs.task_runs.groupby("model", sort=False)["pretrained"].first()
    return {model: resolve_model_family(model, pretrained.get(model) or None, overrides) for model in runs.models}


def display_names(models: list[str], names: dict[str, str], problems: Problems) -> dict[str, str]:
    """Map recorded model names to the names given by ``--model-name RECORDED=SHOWN``.

    lm-eval records a local model by its path, which makes an unreadable table; the
    recorded ``pretrained=`` stays in the reproducibility section.
    """
    mapping = {}
    for recorded, shown in names.items():
        matched = [model for model in models if override_matches(recorded, model)]
        if not matched:
            problems.warn(f"--model-name {recorded}=... matches no model of these runs (models: {', '.join(models)})")
        mapping.update(dict.fromkeys(matched, shown))
    shown_names = [mapping.get(model, model) for model in models]
    if len(set(shown_names)) < len(shown_names):
        raise InputError(f"--model-name would show two different models as one ({', '.join(shown_names)}); give each its own name")
    return mapping


def _renamed(runs: LoadedRuns, mapping: dict[str, str]) -> LoadedRuns:
    if not mapping:
        return runs
    return LoadedRuns(
        *(frame.assign(model=frame["model"].replace(mapping)) for frame in (runs.documents, runs.task_runs, runs.excluded, runs.superseded)),
        runs.problems,
    )


def make_leaderboard(
    run_dirs: list[Path],
    overrides: dict[str, str],
    settings: Settings,
    problems: Problems,
    names: dict[str, str] | None = None,
) -> LeaderboardReport:
    runs = load_runs(run_dirs, problems)
    runs = _renamed(runs, display_names(runs.models, names or {}, problems))
    families = resolve_families(runs, overrides, problems)
    board = build_leaderboard(runs.documents, families, settings, problems)
    return LeaderboardReport(board, runs, reproducibility(runs.task_runs))


def _single_model(path: Path, problems: Problems) -> LoadedRuns:
    runs = load_runs([path], problems)
    if len(runs.models) != 1:
        raise InputError(
            f"{path}: holds {len(runs.models)} models ({', '.join(runs.models)}); "
            "compare takes one model per argument: pass that model's own folder"
        )
    return runs


def make_comparison(
    run_a: Path, run_b: Path, settings: Settings, alpha: float, problems: Problems,
    names: dict[str, str] | None = None,
) -> ComparisonReport:
    runs_a, runs_b = _single_model(run_a, problems), _single_model(run_b, problems)
    mapping = display_names(list(dict.fromkeys(runs_a.models + runs_b.models)), names or {}, problems)
    runs_a, runs_b = _renamed(runs_a, mapping), _renamed(runs_b, mapping)
    name_a, name_b = runs_a.models[0], runs_b.models[0]
    if name_a == name_b:
        # Two runs of one model (say, with and without a chat template) stay apart.
        name_a, name_b = f"{name_a} (A: {run_a})", f"{name_b} (B: {run_b})"
        runs_a, runs_b = _renamed(runs_a, {runs_a.models[0]: name_a}), _renamed(runs_b, {runs_b.models[0]: name_b})
    both = LoadedRuns(
        pd.concat([runs_a.documents, runs_b.documents], ignore_index=True),
        pd.concat([runs_a.task_runs, runs_b.task_runs], ignore_index=True),
        pd.concat([runs_a.excluded, runs_b.excluded], ignore_index=True),
        pd.concat([runs_a.superseded, runs_b.superseded], ignore_index=True),
        problems,
    )
    check_consistency(both.task_runs, problems)
    comparison = compare_models(both.documents, name_a, name_b, settings, alpha, problems)
    return ComparisonReport(comparison, both, reproducibility(both.task_runs))


def write_leaderboard(report: LeaderboardReport, out_dir: Path) -> list[Path]:
    from macro_bench.aggregate import render_data, render_html, render_markdown

    out_dir.mkdir(parents=True, exist_ok=True)
    tables = render_data.leaderboard_tables(report)
    written = [
        _write(out_dir / "leaderboard.md", render_markdown.leaderboard_markdown(report)),
        _write(out_dir / "leaderboard.html", render_html.leaderboard_html(report)),
        render_data.write_json(tables, render_data.leaderboard_meta(report), out_dir / "leaderboard.json"),
    ]
    return written + render_data.write_csv(tables, out_dir, "leaderboard")


def write_comparison(report: ComparisonReport, out_dir: Path) -> list[Path]:
    from macro_bench.aggregate import render_data, render_html, render_markdown

    out_dir.mkdir(parents=True, exist_ok=True)
    tables = render_data.comparison_tables(report)
    written = [
        _write(out_dir / "compare.md", render_markdown.comparison_markdown(report)),
        _write(out_dir / "compare.html", render_html.comparison_html(report)),
        render_data.write_json(tables, render_data.comparison_meta(report), out_dir / "compare.json"),
    ]
    return written + render_data.write_csv(tables, out_dir, "compare")


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path

"""The two commands end to end: load runs, check signatures, build one table per dataset, write every format."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from macro_bench.aggregate import examples as examples_view
from macro_bench.aggregate.compare import Comparison, compare_models
from macro_bench.aggregate.leaderboard import Leaderboard, Settings, build_leaderboard, language_families
from macro_bench.aggregate.loading import LoadedRuns, check_consistency, find_results_files, load_runs, parse_results_file
from macro_bench.aggregate.model_family import override_matches, resolve_model_family
from macro_bench.aggregate.problems import InputError, Problems
from macro_bench.aggregate.provenance import reproducibility
from macro_bench.aggregate.signatures import (
    FieldDifference, check_signatures, fluency_scorer, self_scored_datasets, self_scored_models,
)


@dataclass
class LeaderboardReport:
    boards: dict[str, Leaderboard]  # one per dataset, by dataset name; never averaged together
    runs: LoadedRuns
    reproducibility: dict
    settings: Settings
    problems: Problems
    signature_differences: list[FieldDifference] = field(default_factory=list)
    self_scored: set[str] = field(default_factory=set)  # datasets with self-scored fluency
    # (dataset, model, language) -> example documents
    examples: dict[tuple[str, str, str], list[examples_view.Example]] = field(default_factory=dict)
    examples_per_cell: int = 0
    # dataset -> the models that scored their own fluency there (the others share a scorer)
    self_scored_models: dict[str, set[str]] = field(default_factory=dict)


@dataclass
class ComparisonReport:
    comparisons: dict[str, Comparison]  # one per dataset both runs have
    model_a: str
    model_b: str
    runs: LoadedRuns  # both runs, models named as in the comparison
    reproducibility: dict
    settings: Settings
    alpha: float
    problems: Problems
    signature_differences: list[FieldDifference] = field(default_factory=list)
    fluency_scorers: dict[str, tuple[str, str]] = field(default_factory=dict)  # dataset -> (A's, B's)


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


def _datasets(runs: LoadedRuns) -> list[str]:
    return sorted(runs.documents["dataset"].unique())


def _seen_families_per_dataset(runs: LoadedRuns, seen: tuple[str, ...], problems: Problems) -> dict[str, tuple[str, ...]]:
    """--seen-families restricted to each dataset's families; a dataset where it cannot split gets none."""
    if not seen:
        return {}
    families = {
        dataset: language_families(sorted(runs.documents.loc[runs.documents["dataset"] == dataset, "language"].unique()))
        for dataset in _datasets(runs)
    }
    every = sorted({f for fs in families.values() for f in fs})
    unknown = sorted(set(seen) - set(every))
    if unknown:
        raise InputError(
            f"--seen-families names {', '.join(unknown)}, not a language family of these runs; "
            f"the families are: {', '.join(every)}"
        )
    split = {}
    for dataset, names in families.items():
        own = tuple(f for f in seen if f in names)
        if own and len(own) < len(names):
            split[dataset] = own
        else:
            problems.note(f"dataset {dataset}: --seen-families leaves no seen or no held-out family among {', '.join(names)}; no held-out view")
    return split


def make_leaderboard(
    run_dirs: list[Path],
    overrides: dict[str, str],
    settings: Settings,
    problems: Problems,
    names: dict[str, str] | None = None,
    allow_mixed_signatures: bool = False,
    examples_per_cell: int = examples_view.DEFAULT_PER_CELL,
) -> LeaderboardReport:
    runs = load_runs(run_dirs, problems)
    runs = _renamed(runs, display_names(runs.models, names or {}, problems))
    differences = check_signatures(runs.task_runs, allow_mixed_signatures, problems)
    families = resolve_families(runs, overrides, problems)
    seen = _seen_families_per_dataset(runs, settings.seen_families, problems)
    boards, examples = {}, {}
    for dataset in _datasets(runs):
        documents = runs.documents[runs.documents["dataset"] == dataset]
        models = [m for m in runs.models if m in set(documents["model"])]
        dataset_settings = Settings(settings.n_resamples, settings.confidence, settings.seed, seen.get(dataset, ()))
        board = build_leaderboard(documents, {m: families[m] for m in models}, dataset_settings, problems, dataset)
        boards[dataset] = board
        for (model, language), shown in examples_view.collect(
            board.coverage.shared, runs.task_runs, examples_per_cell, settings.seed, dataset, problems
        ).items():
            examples[(dataset, model, language)] = shown
    return LeaderboardReport(
        boards, runs, reproducibility(runs.task_runs), settings, problems, differences,
        self_scored_datasets(runs.task_runs), examples, examples_per_cell, self_scored_models(runs.task_runs),
    )


def _models_in(path: Path) -> set[str]:
    """The models of a folder's macro-bench results files, read from those files alone."""
    probe = Problems()  # the real load reports any problem of these files
    return {
        run.model
        for results in find_results_files([path])
        for run in parse_results_file(results, probe, defaultdict(set), defaultdict(set))
    }


def _chosen_models(
    runs: LoadedRuns, paths: list[Path], models: tuple[str, str] | None, names: dict[str, str]
) -> tuple[str, str]:
    """(A, B) among the recorded models: ``models`` as the user named them, else the only two."""
    found = runs.models
    where = ", ".join(str(path) for path in paths)
    if models is None:
        if len(found) != 2:
            raise InputError(
                f"{where} {'holds' if len(paths) == 1 else 'hold'} {len(found)} model(s) ({', '.join(found)}); "
                "compare takes two: name them with --models A B"
            )
        return found[0], found[1]
    chosen = []
    for name in models:
        matched = [model for model in found if override_matches(name, model)
                   or any(override_matches(recorded, model) and shown == name for recorded, shown in names.items())]
        if len(matched) != 1:
            raise InputError(f"--models {name} matches {len(matched)} models of {where}; the models are: {', '.join(found)}")
        chosen.append(matched[0])
    if chosen[0] == chosen[1]:
        raise InputError(f"--models names one model twice ({chosen[0]}); name two different models")
    return chosen[0], chosen[1]


def _only(runs: LoadedRuns, model: str) -> LoadedRuns:
    return LoadedRuns(
        *(frame[frame["model"] == model].reset_index(drop=True)
          for frame in (runs.documents, runs.task_runs, runs.excluded, runs.superseded)),
        runs.problems,
    )


def _scorer(task_runs: pd.DataFrame, dataset: str, model: str) -> str:
    runs = task_runs[(task_runs["dataset"] == dataset) & (task_runs["model"] == model)]
    scorers = sorted({fluency_scorer(r.signature, r.pretrained, r.model) for r in runs.itertuples()})
    return " / ".join(scorers)


def make_comparison(
    run_dirs: list[Path], settings: Settings, alpha: float, problems: Problems,
    names: dict[str, str] | None = None, allow_mixed_signatures: bool = False,
    models: tuple[str, str] | None = None,
) -> ComparisonReport:
    """Model A against model B, from the folders ``leaderboard`` reads.

    ``run_dirs`` are lm-eval output folders or results files: one folder (say the
    ``--output_path`` of both runs) holding two models, any folders holding them, or two
    folders holding one model each, A first. ``models`` names A and B (as recorded, by the
    recorded name's last part or lm-eval's folder name, or as ``--model-name`` shows them)
    among more than two models, or to set which is A. Two folders holding two runs of one
    model (say, with and without a chat template) are compared as two models.
    """
    paths = list(dict.fromkeys(Path(path) for path in run_dirs))
    if models is None and len(paths) == 2 and all(len(_models_in(path)) == 1 for path in paths):
        runs_a, runs_b = load_runs([paths[0]], problems), load_runs([paths[1]], problems)
        where_a, where_b = str(paths[0]), str(paths[1])
    else:
        runs = load_runs(paths, problems)
        model_a, model_b = _chosen_models(runs, paths, models, names or {})
        runs_a, runs_b = _only(runs, model_a), _only(runs, model_b)
        where_a = where_b = ", ".join(str(path) for path in paths)
    mapping = display_names(list(dict.fromkeys(runs_a.models + runs_b.models)), names or {}, problems)
    runs_a, runs_b = _renamed(runs_a, mapping), _renamed(runs_b, mapping)
    name_a, name_b = runs_a.models[0], runs_b.models[0]
    if name_a == name_b:
        # Two runs of one model (say, with and without a chat template) stay apart.
        name_a, name_b = f"{name_a} (A: {where_a})", f"{name_b} (B: {where_b})"
        runs_a, runs_b = _renamed(runs_a, {runs_a.models[0]: name_a}), _renamed(runs_b, {runs_b.models[0]: name_b})
    shared = sorted(set(_datasets(runs_a)) & set(_datasets(runs_b)))
    if not shared:
        raise InputError(
            f"{name_a} ({', '.join(_datasets(runs_a))}) and {name_b} ({', '.join(_datasets(runs_b))}) share no dataset"
        )
    for only, name in ((set(_datasets(runs_a)) - set(shared), name_a), (set(_datasets(runs_b)) - set(shared), name_b)):
        if only:
            problems.warn(f"{name}: dataset(s) {', '.join(sorted(only))} not in the other model's runs; left out of the comparison")
    both = LoadedRuns(
        pd.concat([runs_a.documents, runs_b.documents], ignore_index=True),
        pd.concat([runs_a.task_runs, runs_b.task_runs], ignore_index=True),
        pd.concat([runs_a.excluded, runs_b.excluded], ignore_index=True),
        pd.concat([runs_a.superseded, runs_b.superseded], ignore_index=True),
        problems,
    )
    both.documents = both.documents[both.documents["dataset"].isin(shared)]
    both.task_runs = both.task_runs[both.task_runs["dataset"].isin(shared)].reset_index(drop=True)
    check_consistency(both.task_runs, problems)
    differences = check_signatures(both.task_runs, allow_mixed_signatures, problems)
    comparisons, scorers = {}, {}
    for dataset in shared:
        scorers[dataset] = (_scorer(both.task_runs, dataset, name_a), _scorer(both.task_runs, dataset, name_b))
        comparable = scorers[dataset][0] == scorers[dataset][1] and " / " not in scorers[dataset][0]
        documents = both.documents[both.documents["dataset"] == dataset]
        comparisons[dataset] = compare_models(documents, name_a, name_b, settings, alpha, problems, dataset, comparable)
    return ComparisonReport(
        comparisons, name_a, name_b, both, reproducibility(both.task_runs), settings, alpha, problems, differences, scorers
    )


def write_leaderboard(report: LeaderboardReport, out_dir: Path) -> list[Path]:
    from macro_bench.aggregate import render_data, render_html, render_markdown, report_build

    out_dir.mkdir(parents=True, exist_ok=True)
    model = report_build.leaderboard_report(report)
    tables = render_data.leaderboard_tables(report)
    written = [
        _write(out_dir / "leaderboard.md", render_markdown.render(model)),
        _write(out_dir / "leaderboard.html", render_html.render(model)),
        render_data.write_json(tables, render_data.leaderboard_meta(report), out_dir / "leaderboard.json"),
    ]
    return written + render_data.write_csv(tables, out_dir, "leaderboard")


def write_comparison(report: ComparisonReport, out_dir: Path) -> list[Path]:
    from macro_bench.aggregate import render_data, render_html, render_markdown, report_build

    out_dir.mkdir(parents=True, exist_ok=True)
    model = report_build.comparison_report(report)
    tables = render_data.comparison_tables(report)
    written = [
        _write(out_dir / "compare.md", render_markdown.render(model)),
        _write(out_dir / "compare.html", render_html.render(model)),
        render_data.write_json(tables, render_data.comparison_meta(report), out_dir / "compare.json"),
    ]
    return written + render_data.write_csv(tables, out_dir, "compare")


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path

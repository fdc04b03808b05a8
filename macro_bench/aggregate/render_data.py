"""CSV and JSON output, for machines: tidy (long) tables, one row per value, with a
``dataset`` column wherever tables of several datasets are stacked (never averaged)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from macro_bench.aggregate.metric_specs import REPORTED


def _records(frame: pd.DataFrame) -> list[dict]:
    # JSON has no NaN: undefined values become null.
    return [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for row in frame.to_dict(orient="records")
    ]


def _metrics() -> list[dict]:
    return [
        {"name": s.name, "higher_is_better": s.higher_is_better, "population": s.population, "range": s.value_range,
         "description": s.description}
        for s in REPORTED
    ]


def _stacked(parts: dict[str, pd.DataFrame | None]) -> pd.DataFrame:
    frames = [frame.assign(dataset=dataset)[["dataset", *frame.columns]] for dataset, frame in parts.items() if frame is not None]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _differences(differences) -> pd.DataFrame:
    return pd.DataFrame(
        [{"dataset": d.dataset, "field": d.field, "value": value, "models": ", ".join(models)}
         for d in differences for value, models in d.values.items()],
        columns=["dataset", "field", "value", "models"],
    )


def leaderboard_tables(report) -> dict[str, pd.DataFrame]:
    boards = report.boards
    tables = {
        "ranking": _stacked({d: b.models for d, b in boards.items()}),
        "overall": _stacked({d: b.overall for d, b in boards.items()}),
        "by_language": _stacked({d: b.by_language for d, b in boards.items()}),
        "by_language_family": _stacked({d: b.by_language_family for d, b in boards.items()}),
        "by_model_family": _stacked({d: b.by_model_family for d, b in boards.items()}),
        "coverage": _stacked({d: b.coverage.table for d, b in boards.items()}),
        "languages_left_out": _stacked({d: b.coverage.languages_left_out for d, b in boards.items()}),
        "runs": report.runs.task_runs,
        "excluded_tasks": report.runs.excluded,
        "superseded_runs": report.runs.superseded,
        "signature_differences": _differences(report.signature_differences),
        "examples": pd.DataFrame(
            [{"dataset": d, "model": m, "language": lang, "doc_key": e.doc_key, "picked_as": e.picked_as, "valid": e.valid}
             for (d, m, lang), shown in report.examples.items() for e in shown],
            columns=["dataset", "model", "language", "doc_key", "picked_as", "valid"],
        ),
    }
    if any(b.held_out is not None for b in boards.values()):
        tables["held_out"] = _stacked({d: b.held_out for d, b in boards.items()})
    return tables


def comparison_tables(report) -> dict[str, pd.DataFrame]:
    comparisons = report.comparisons
    return {
        "verdict": _stacked({d: c.verdict for d, c in comparisons.items()}),
        "overall": _stacked({d: c.overall for d, c in comparisons.items()}),
        "by_language_family": _stacked({d: c.by_family for d, c in comparisons.items()}),
        "by_language": _stacked({d: c.by_language for d, c in comparisons.items()}),
        "coverage": _stacked({d: c.coverage.table for d, c in comparisons.items()}),
        "languages_left_out": _stacked({d: c.coverage.languages_left_out for d, c in comparisons.items()}),
        "runs": report.runs.task_runs,
        "excluded_tasks": report.runs.excluded,
        "superseded_runs": report.runs.superseded,
        "signature_differences": _differences(report.signature_differences),
    }


def write_csv(tables: dict[str, pd.DataFrame], out_dir: Path, prefix: str) -> list[Path]:
    written = []
    for name, frame in tables.items():
        path = out_dir / f"{prefix}_{name}.csv"
        frame.to_csv(path, index=False, float_format="%.6g")
        written.append(path)
    return written


def write_json(tables: dict[str, pd.DataFrame], meta: dict, path: Path) -> Path:
    document = {**meta, "metrics": _metrics(), "tables": {name: _records(frame) for name, frame in tables.items()}}
    # No indent: json's C encoder only runs without one, and these files reach tens of MB.
    path.write_text(json.dumps(document, ensure_ascii=False, default=str), encoding="utf-8")
    return path


def _settings(settings) -> dict:
    return {"n_resamples": settings.n_resamples, "confidence": settings.confidence, "seed": settings.seed}


def leaderboard_meta(report) -> dict:
    return {
        "kind": "macro-bench leaderboard",
        "datasets": list(report.boards),
        "averaged_across_datasets": False,
        "settings": {**_settings(report.settings), "seen_families": list(report.settings.seen_families),
                     "examples_per_cell": report.examples_per_cell},
        "compared_on_shared_documents_only": True,
        "all_documents_shared": all(b.coverage.complete for b in report.boards.values()),
        "fluency_self_scored": sorted(report.self_scored),
        "mixed_signatures": bool(report.signature_differences),
        "reproducibility": report.reproducibility,
        "warnings": report.problems.warnings,
        "notes": report.problems.notes,
    }


def comparison_meta(report) -> dict:
    return {
        "kind": "macro-bench comparison",
        "model_a": report.model_a,
        "model_b": report.model_b,
        "datasets": list(report.comparisons),
        "averaged_across_datasets": False,
        "settings": {**_settings(report.settings), "alpha": report.alpha},
        "all_documents_shared": all(c.coverage.complete for c in report.comparisons.values()),
        "fluency_scorers": {d: {"a": a, "b": b} for d, (a, b) in report.fluency_scorers.items()},
        "fluency_verdict": {d: c.fluency_comparable for d, c in report.comparisons.items()},
        "mixed_signatures": bool(report.signature_differences),
        "reproducibility": report.reproducibility,
        "warnings": report.problems.warnings,
        "notes": report.problems.notes,
    }

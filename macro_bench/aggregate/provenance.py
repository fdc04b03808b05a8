"""What a report must say about where its numbers came from."""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from macro_bench import __version__


def reproducibility(task_runs: pd.DataFrame) -> dict:
    """lm-eval versions, task versions, metric signatures (per dataset), and per model its args and run dates."""

    def models_by(column: str) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = defaultdict(list)
        for value, group in task_runs.groupby(column, sort=True):
            grouped[str(value) or "(not recorded)"] = sorted(group["model"].unique())
        return dict(grouped)

    models = []
    for model, group in task_runs.groupby("model", sort=False):
        models.append(
            {
                "model": model,
                "model_args": sorted(group["model_args"].unique()),
                "started": sorted(group["started"].unique()),
                "results_files": sorted(group["results_file"].unique()),
                "tasks": int(len(group)),
            }
        )
    return {
        "macro_bench_version": __version__,
        "lm_eval_versions": models_by("lm_eval_version"),
        "task_versions": {str(v): int(n) for v, n in task_runs["task_version"].value_counts().sort_index().items()},
        "signatures": {
            str(dataset): {str(signature): sorted(group["model"].unique()) for signature, group in runs.groupby("signature", sort=True)}
            for dataset, runs in task_runs.groupby("dataset", sort=True)
        },
        "models": models,
    }

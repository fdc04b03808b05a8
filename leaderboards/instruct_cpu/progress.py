"""Where the board's runs stand: which model x task runs are done, and the CPU hours left.

    python leaderboards/instruct_cpu/progress.py

Reads run.sh's models and tasks (its defaults), the finished runs under ``runs/`` (lm-eval's
``total_evaluation_time_seconds`` of each) and ``budget.txt``. A missing run is estimated at the
slowest finished run of the same model and dataset (an upper figure: a run resumed from its cache
records only the part after the resume, so the faster runs can understate a whole run); where the
model has none, at budget.py's estimate (load + documents x seconds per document). Wall times were measured with
one torch thread on a shared 2-core machine, some beside other jobs, so the figures are rough:
each model's fastest and slowest finished run are printed beside the estimate.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

BOARD = Path(__file__).resolve().parent
DOCUMENTS = {"xnli": 50, "sib200": 30}


def board_plan(run_sh: str) -> tuple[list[str], list[str]]:
    """run.sh's default models and tasks."""
    models = re.search(r"models=\(\$\{MODELS:-([^}]*)\}\)", run_sh).group(1).split()
    languages = {name: re.search(rf"{name}_languages=\(([^)]*)\)", run_sh).group(1).split() for name in ("xnli", "sib")}
    tasks = [f"macro_xnli_{code}" for code in languages["xnli"]] + [f"macro_sib200_{code}" for code in languages["sib"]]
    return models, tasks


def finished_runs(runs: Path) -> dict[tuple[str, str], float]:
    """(model, task) -> lm-eval's total_evaluation_time_seconds, for every run with results."""
    seconds = {}
    for path in sorted(runs.glob("*/*/results_*.json")):
        results = json.loads(path.read_text(encoding="utf-8"))
        for task in results["results"]:
            seconds[path.parts[-3], task] = float(results["total_evaluation_time_seconds"])
    return seconds


def budget_estimates(budget_txt: str) -> dict[tuple[str, str], float]:
    """(model, dataset) -> budget.py's seconds for one run: load + documents x seconds per document."""
    estimates = {}
    for line in budget_txt.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            for dataset, documents in DOCUMENTS.items():
                estimates[row["model"], dataset] = row["load_s"] + documents * row[f"{dataset}_s_per_doc"]
    return estimates


def remaining(models: list[str], tasks: list[str], done: dict[tuple[str, str], float],
              budget: dict[tuple[str, str], float]) -> dict[str, tuple[list[str], float]]:
    """model -> (its missing tasks, their estimated seconds)."""
    left = {}
    for model in models:
        missing = [task for task in tasks if (model, task) not in done]
        seconds = 0.0
        for task in missing:
            dataset = task.split("_")[1]
            measured = [s for (m, t), s in done.items() if m == model and t.split("_")[1] == dataset]
            seconds += max(measured) if measured else budget[model, dataset]
        left[model] = (missing, seconds)
    return left


def main() -> None:
    models, tasks = board_plan((BOARD / "run.sh").read_text(encoding="utf-8"))
    done = finished_runs(BOARD / "runs")
    left = remaining(models, tasks, done, budget_estimates((BOARD / "budget.txt").read_text(encoding="utf-8")))
    for model in models:
        finished = [task for task in tasks if (model, task) in done]
        missing, seconds = left[model]
        spread = f", {min(done[model, t] for t in finished):.0f}-{max(done[model, t] for t in finished):.0f} s each" \
            if finished else ""
        print(f"{model}: {len(finished)} of {len(tasks)} runs done "
              f"({sum(done[model, t] for t in finished) / 3600:.1f} h measured{spread}); "
              f"left: {', '.join(missing) or 'none'}; about {seconds / 3600:.1f} CPU hours")
    total = sum(seconds for _, seconds in left.values())
    print(f"board: about {total / 3600:.1f} CPU hours left, {total / 7200:.1f} h of wall time on 2 cores")


if __name__ == "__main__":
    main()

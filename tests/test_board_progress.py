"""leaderboards/instruct_cpu/progress.py: the CPU hours left on the instruct board, by hand."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("board_progress", REPO / "leaderboards" / "instruct_cpu" / "progress.py")
progress = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(progress)


def test_the_plan_is_run_sh_defaults():
    models, tasks = progress.board_plan((REPO / "leaderboards" / "instruct_cpu" / "run.sh").read_text(encoding="utf-8"))
    assert models == ["qwen1.5b", "qwen0.5b", "smollm2"]
    assert len(tasks) == 9 and tasks[0] == "macro_xnli_eng_Latn" and tasks[-1] == "macro_sib200_swh_Latn"


def test_remaining_uses_the_models_own_runs_then_the_budget():
    budget = progress.budget_estimates('{"model": "a", "load_s": 100, "xnli_s_per_doc": 2.0, "sib200_s_per_doc": 10.0}\n'
                                       "board: ...\n")
    assert budget == {("a", "xnli"): 200.0, ("a", "sib200"): 400.0}
    done = {("a", "macro_xnli_eng_Latn"): 300.0, ("a", "macro_xnli_arb_Arab"): 500.0}
    tasks = ["macro_xnli_eng_Latn", "macro_xnli_arb_Arab", "macro_xnli_zho_Hans", "macro_sib200_eng_Latn"]
    # zho: the slower of the two measured XNLI runs (500 s); SIB-200: the budget's 400 s
    assert progress.remaining(["a"], tasks, done, budget) == {"a": (["macro_xnli_zho_Hans", "macro_sib200_eng_Latn"],
                                                                    pytest.approx(900.0))}

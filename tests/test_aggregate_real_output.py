"""The loader on files written by lm-eval itself, not by our fixture writer.

Two scripted models (tests/scripted_lm.py) run the real macro_sib200 tasks through
lm_eval.simple_evaluate, and lm-eval's own EvaluationTracker writes the results and
samples files, exactly as ``lm_eval --output_path OUT --log_samples`` does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from macro_bench.protocol import PROTOCOL_VERSION
from macro_bench.aggregate.loading import load_runs
from macro_bench.aggregate.problems import Problems
from macro_bench.cli import main

from .scripted_lm import KEYWORDS, ScriptedLM

TASKS_DIR = Path(__file__).resolve().parents[1] / "tasks"
SENTENCES = {
    "eng_Latn": [(1, "sports", "The football team won the final ."), (2, "health", "A doctor opened a new clinic ."),
                 (3, "geography", "The mountain is very high .")],
    "fra_Latn": [(1, "sports", "L'équipe de football a gagné ."), (2, "health", "Un doctor a ouvert une clinique ."),
                 (3, "geography", "La mountain est très haute .")],
}


def _write_lm_eval_output(out: Path, root: Path, name: str, script: dict) -> None:
    import lm_eval
    from lm_eval.loggers import EvaluationTracker
    from lm_eval.tasks import TaskManager

    script_path = root / f"{name.replace('/', '_')}.json"
    script_path.write_text(json.dumps(script, ensure_ascii=False), encoding="utf-8")
    tracker = EvaluationTracker(output_path=str(out))
    manager = TaskManager(include_path=str(TASKS_DIR), include_defaults=False, metadata={"sib200_dir": str(root)})
    results = lm_eval.simple_evaluate(
        model=ScriptedLM(script=str(script_path)), model_args=f"pretrained={name}",
        tasks=[f"macro_sib200_{code}" for code in SENTENCES], task_manager=manager,
        log_samples=True, evaluation_tracker=tracker,
    )
    samples = results.pop("samples")
    # The same two calls lm_eval's command line makes (lm_eval/_cli/run.py).
    tracker.save_results_aggregated(results=results, samples=samples)
    for task in results["configs"]:
        tracker.save_results_samples(task_name=task, samples=samples[task])


@pytest.fixture(scope="module")
def lm_eval_output(tmp_path_factory):
    root = tmp_path_factory.mktemp("sib200")
    for code, rows in SENTENCES.items():
        (root / code).mkdir()
        for split in ("train", "dev", "test"):
            (root / code / f"{split}.tsv").write_text(
                "index_id\tcategory\ttext\n" + "".join(f"{i}\t{c}\t{t}\n" for i, c, t in rows), encoding="utf-8"
            )
    out = tmp_path_factory.mktemp("runs")
    # "editor" swaps each topic keyword for the travel keyword; "copier" returns the text unchanged.
    editor = {t: t.replace("football", "hotel").replace("doctor", "hotel").replace("mountain", "hotel")
              for rows in SENTENCES.values() for _, _, t in rows}
    copier = {t: t for rows in SENTENCES.values() for _, _, t in rows}
    _write_lm_eval_output(out, root, "org/editor-1B", editor)
    _write_lm_eval_output(out, root, "org/copier-1B", copier)
    return out


def test_real_lm_eval_files_load_without_warnings_and_match_lm_eval_aggregates(lm_eval_output):
    problems = Problems(echo=False)
    runs = load_runs([lm_eval_output], problems)
    # The loader recomputes every aggregate from the samples and warns on any mismatch.
    assert problems.warnings == []
    assert sorted(runs.models) == ["org/copier-1B", "org/editor-1B"]
    assert len(runs.documents) == 2 * 2 * 3
    assert runs.task_runs["signature"].str.contains(f"|protocol:{PROTOCOL_VERSION}|", regex=False).all()
    assert set(runs.task_runs["dataset"]) == {"sib200"} and sorted(set(runs.documents["doc_key"])) == ["1", "2", "3"]
    copier = runs.documents[runs.documents["model"] == "org/copier-1B"]
    assert (copier["copy_rate"] == 1).all() and (copier["valid_rate"] == 0).all() and (copier["score"] == 0).all()
    assert copier["minimality"].isna().all()  # defined for valid counterfactuals only
    editor = runs.documents[runs.documents["model"] == "org/editor-1B"]
    assert (editor["flip_rate"] == 1).all()
    assert KEYWORDS["travel"][0] == "hotel"


def test_leaderboard_and_compare_on_real_lm_eval_files(lm_eval_output, tmp_path):
    assert main(["leaderboard", str(lm_eval_output), "--out", str(tmp_path / "board"), "--bootstrap", "100", "--strict"]) == 0
    ranking = pd.read_csv(tmp_path / "board" / "leaderboard_ranking.csv")
    assert ranking["model"].tolist() == ["org/editor-1B", "org/copier-1B"]
    folders = {p.name: p for p in lm_eval_output.iterdir()}
    assert main(["compare", str(folders["org__editor-1B"]), str(folders["org__copier-1B"]), "--out", str(tmp_path / "cmp"),
                 "--bootstrap", "100", "--strict"]) == 0
    overall = pd.read_csv(tmp_path / "cmp" / "compare_overall.csv").set_index("metric")
    assert overall.loc["flip_rate", "difference"] == 1.0
    assert overall.loc["copy_rate", "difference"] == -1.0
    # The examples view re-reads lm-eval's own records: the editor's edit is the keyword.
    html = (tmp_path / "board" / "leaderboard.html").read_text()
    assert "<del>football</del>" in html and "<ins>hotel</ins>" in html
    examples = pd.read_csv(tmp_path / "board" / "leaderboard_examples.csv")
    assert set(examples.loc[examples["model"] == "org/copier-1B", "picked_as"]) == {"copy"}

"""Reading lm-eval output folders, and what happens with bad input."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from macro_bench.aggregate.loading import load_runs
from macro_bench.aggregate.problems import InputError, Problems
from tests.test_aggregate_fixtures import synthetic_documents, write_lm_eval_run

LANGUAGES = ["fra_Latn", "zho_Hans", "yor_Latn"]
MODEL = "org/tiny-1B"


@pytest.fixture
def documents():
    return synthetic_documents({MODEL: 0.5, "org/other-2B": 1.0}, LANGUAGES, n_documents=12, seed=2)


def quiet(strict: bool = False) -> Problems:
    return Problems(strict=strict, echo=False)


def samples_file(results: Path, language: str, dataset: str = "sib200") -> Path:
    return results.with_name(f"samples_macro_{dataset}_{language}_{results.stem.removeprefix('results_')}.jsonl")


def test_reads_every_document_with_its_metrics(tmp_path, documents):
    write_lm_eval_run(tmp_path, MODEL, documents)
    write_lm_eval_run(tmp_path, "org/other-2B", documents)
    runs = load_runs([tmp_path], quiet())
    assert len(runs.documents) == len(documents)
    merged = runs.documents.merge(documents, on=["dataset", "model", "language", "doc_key"], suffixes=("", "_expected"))
    assert len(merged) == len(documents)
    for metric in ("score", "minimality", "fluency", "language_confusion_rate"):
        np.testing.assert_allclose(merged[metric], merged[f"{metric}_expected"], equal_nan=True)
    assert set(runs.task_runs["signature"]) == {runs.task_runs["signature"].iloc[0]}
    assert set(runs.task_runs["dataset"]) == {"sib200"}
    assert runs.problems.warnings == []


def test_datasets_are_read_from_task_names_and_metadata(tmp_path, documents):
    xnli = documents.assign(dataset="xnli")
    write_lm_eval_run(tmp_path, MODEL, pd.concat([documents, xnli]))
    runs = load_runs([tmp_path], quiet())
    assert sorted(runs.task_runs["task"].unique())[:2] == ["macro_sib200_fra_Latn", "macro_sib200_yor_Latn"]
    assert runs.documents.groupby("dataset").size().to_dict() == {"sib200": 36, "xnli": 36}
    assert set(runs.task_runs.loc[runs.task_runs["dataset"] == "xnli", "task"]) == {f"macro_xnli_{c}" for c in LANGUAGES}


def test_string_doc_keys_are_read(tmp_path, documents):
    results = write_lm_eval_run(tmp_path, MODEL, documents)
    path = samples_file(results, "fra_Latn")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    for line in lines:
        line["doc"]["doc_key"] = f"xnli-{line['doc']['doc_key']}"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    runs = load_runs([tmp_path], quiet())
    keys = runs.documents.loc[runs.documents["language"] == "fra_Latn", "doc_key"]
    assert keys.str.startswith("xnli-").all() and len(keys) == 12


def test_protocol_1_runs_are_left_out_by_name(tmp_path, documents):
    results = write_lm_eval_run(tmp_path, MODEL, documents)
    path = samples_file(results, "zho_Hans")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    for line in lines:
        line.pop("score", None)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    runs = load_runs([tmp_path], quiet())
    assert "zho_Hans" not in set(runs.documents["language"])
    assert any(str(path) in w and "not a protocol-2 run" in w for w in runs.problems.warnings)


def test_newest_run_per_model_and_task_is_used_and_the_older_listed(tmp_path, documents):
    old = write_lm_eval_run(tmp_path, MODEL, documents, when=datetime(2025, 3, 1, 8, 0, 0, 1))
    newer_docs = documents.assign(minimality=0.5)
    # The newer run covers two of the three languages.
    new = write_lm_eval_run(tmp_path, MODEL, newer_docs[newer_docs["language"] != "yor_Latn"], when=datetime(2025, 3, 2, 8, 0, 0, 1))
    runs = load_runs([tmp_path], quiet())
    used = runs.task_runs.set_index("language")["results_file"]
    assert used["fra_Latn"] == str(new) and used["zho_Hans"] == str(new) and used["yor_Latn"] == str(old)
    assert (runs.documents.loc[runs.documents["language"] != "yor_Latn", "minimality"] == 0.5).all()
    assert len(runs.superseded) == 2
    assert any(new.name in note and "newer" in note for note in runs.problems.notes)


def test_other_tasks_are_ignored_and_listed(tmp_path, documents):
    write_lm_eval_run(tmp_path, MODEL, documents, other_tasks=("arc_easy", "hellaswag"))
    runs = load_runs([tmp_path], quiet())
    assert set(runs.documents["language"]) == set(LANGUAGES)
    assert any("arc_easy" in note and "hellaswag" in note for note in runs.problems.notes)


def test_folder_with_only_other_tasks_is_an_error_naming_them(tmp_path, documents):
    write_lm_eval_run(tmp_path, MODEL, documents.iloc[0:0], other_tasks=("arc_easy",))
    with pytest.raises(InputError, match=r"no macro_<dataset>_<lang_Script> results.*arc_easy"):
        load_runs([tmp_path], quiet())


def test_folder_without_results_files_is_an_error_naming_it(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=f"{tmp_path / 'empty'}: no lm-eval results files"):
        load_runs([tmp_path / "empty"], quiet())
    with pytest.raises(InputError, match="no such file or folder"):
        load_runs([tmp_path / "missing"], quiet())


def test_missing_samples_file_is_left_out_and_listed(tmp_path, documents):
    results = write_lm_eval_run(tmp_path, MODEL, documents)
    samples_file(results, "zho_Hans").unlink()
    runs = load_runs([tmp_path], quiet())
    assert "zho_Hans" not in set(runs.documents["language"])
    assert runs.excluded["task"].tolist() == ["macro_sib200_zho_Hans"]
    assert any("samples_macro_sib200_zho_Hans" in w and "--log_samples" in w for w in runs.problems.warnings)
    with pytest.raises(InputError, match="samples_macro_sib200_zho_Hans.*--strict"):
        load_runs([tmp_path], quiet(strict=True))


def test_corrupt_and_truncated_lines_are_named_by_line_number(tmp_path, documents):
    results = write_lm_eval_run(tmp_path, MODEL, documents)
    path = samples_file(results, "fra_Latn")
    lines = path.read_text().splitlines()
    lines[2] = "{not json"
    lines[-1] = lines[-1][: len(lines[-1]) // 2]  # a run killed mid-write
    path.write_text("\n".join(lines) + "\n")
    runs = load_runs([tmp_path], quiet())
    assert (runs.documents["language"] == "fra_Latn").sum() == 10
    warning = next(w for w in runs.problems.warnings if "corrupt" in w)
    assert str(path) in warning and "line 3, 12" in warning
    # 10 of 12 documents: also reported as partial.
    assert any("10 documents, but" in w for w in runs.problems.warnings)


def test_corrupt_results_file_is_named(tmp_path, documents):
    results = write_lm_eval_run(tmp_path, MODEL, documents)
    write_lm_eval_run(tmp_path, "org/other-2B", documents)
    results.write_text(results.read_text()[:100])
    runs = load_runs([tmp_path], quiet())
    assert runs.models == ["org/other-2B"]
    assert any(str(results) in w and "unreadable results file" in w for w in runs.problems.warnings)


def test_samples_that_disagree_with_results_are_reported(tmp_path, documents):
    results = write_lm_eval_run(tmp_path, MODEL, documents)
    data = json.loads(results.read_text())
    data["results"]["macro_sib200_yor_Latn"]["flip_rate,macro"] = 0.987
    results.write_text(json.dumps(data))
    runs = load_runs([tmp_path], quiet())
    assert any("samples_macro_sib200_yor_Latn" in w and "flip_rate 0.987" in w for w in runs.problems.warnings)


def test_conditional_metrics_are_checked_over_their_own_documents(tmp_path, documents):
    # lm-eval averages minimality over valid documents only; so does the check, and it passes.
    write_lm_eval_run(tmp_path, MODEL, documents)
    assert documents["minimality"].isna().any()
    assert load_runs([tmp_path], quiet()).problems.warnings == []


def test_mismatched_task_versions_are_warned(tmp_path, documents):
    write_lm_eval_run(tmp_path, MODEL, documents, task_version=1.0)
    write_lm_eval_run(tmp_path, "org/other-2B", documents, task_version=2.0)
    runs = load_runs([tmp_path], quiet())
    assert any("task versions differ" in w and "version 2.0" in w for w in runs.problems.warnings)
    with pytest.raises(InputError, match="task versions differ"):
        load_runs([tmp_path], quiet(strict=True))


def test_repeated_documents_keep_the_first(tmp_path, documents):
    results = write_lm_eval_run(tmp_path, MODEL, documents)
    path = samples_file(results, "fra_Latn")
    first = path.read_text().splitlines()[0]
    with path.open("a") as handle:
        handle.write(first.replace('"score": ', '"score": 0.0, "x": ') + "\n")
    runs = load_runs([tmp_path], quiet())
    assert (runs.documents["language"] == "fra_Latn").sum() == 12
    assert any("1 repeated document" in w for w in runs.problems.warnings)


def test_results_file_argument_and_nested_folders(tmp_path, documents):
    nested = tmp_path / "sweep" / "day1"
    results = write_lm_eval_run(nested, MODEL, documents)
    assert load_runs([tmp_path], quiet()).models == [MODEL]
    assert load_runs([results], quiet()).models == [MODEL]
    with pytest.raises(InputError, match="not an lm-eval results file"):
        load_runs([samples_file(results, "fra_Latn")], quiet())


def test_metrics_outside_the_table_are_listed_not_silently_dropped(tmp_path, documents):
    results = write_lm_eval_run(tmp_path, MODEL, documents)
    data = json.loads(results.read_text())
    data["results"]["macro_sib200_fra_Latn"]["brevity,macro"] = 0.5
    results.write_text(json.dumps(data))
    runs = load_runs([tmp_path], quiet())
    assert any("'brevity'" in note and "macro_sib200_fra_Latn" in note for note in runs.problems.notes)

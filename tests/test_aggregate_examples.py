"""The examples view: a seeded stratified choice of documents, a word diff, gates, garbage records."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pandas as pd

from macro_bench.aggregate.examples import Example, read_records, select, word_diff
from macro_bench.aggregate.pipeline import make_leaderboard
from macro_bench.aggregate.leaderboard import Settings
from macro_bench.aggregate.problems import Problems
from tests.records import make_record
from tests.test_aggregate_fixtures import synthetic_documents, write_lm_eval_run


def test_word_diff_marks_replaced_deleted_and_inserted_words():
    original, edited = word_diff("The team won the final .", "The band won the big final !")
    assert original == [("The ", False), ("team", True), (" won the final ", False), (".", True)]
    assert edited == [("The ", False), ("band", True), (" won the ", False), ("big", True), (" final ", False), ("!", True)]
    # Adjacent edited words form one mark with the space between them.
    assert word_diff("a b c d", "a x y d")[1] == [("a ", False), ("x y", True), (" d", False)]
    # Scripts without spaces are diffed per character, as minimality counts them.
    assert word_diff("我喜欢足球", "我喜欢篮球")[1] == [("我喜欢", False), ("篮", True), ("球", False)]
    assert word_diff("same", "same") == ([("same", False)], [("same", False)])


def _cell(flags: list[dict]) -> pd.DataFrame:
    columns = ["valid_rate", "flip_rate", "target_rate", "empty_rate", "copy_rate", "truncation_rate", "prompt_echo_rate",
               "label_statement_rate", "label_insertion_rate", "language_confusion_rate"]
    rows = []
    for i, given in enumerate(flags):
        row = dict.fromkeys(columns, 0.0)
        row.update(given)
        rows.append({"doc_key": str(i), "row": i, "minimality": math.nan, **row})
    return pd.DataFrame(rows)


def test_selection_is_stratified_round_robin_and_seeded():
    # 10 valid, 10 no-flip, 3 copies, 1 empty (gates undefined), 2 language-confused.
    flags = ([{"valid_rate": 1.0, "flip_rate": 1.0}] * 10 + [{}] * 10 + [{"copy_rate": 1.0}] * 3
             + [{"empty_rate": 1.0, "copy_rate": math.nan, "language_confusion_rate": math.nan}]
             + [{"language_confusion_rate": 1.0, "flip_rate": 1.0}] * 2)
    cell = _cell(flags)
    chosen = select(cell, 6, 0, "sib200", "m", "fra_Latn")
    strata = [stratum for _, stratum in chosen]
    # First round: one per non-empty stratum in the fixed order; then round two.
    assert strata == ["valid", "no_flip", "empty", "copy", "language_confused", "valid"]
    assert len({row.doc_key for row, _ in chosen}) == 6
    assert [row.doc_key for row, _ in chosen] == [row.doc_key for row, _ in select(cell, 6, 0, "sib200", "m", "fra_Latn")]
    # The file order does not matter, the seed does.
    shuffled = cell.sample(frac=1.0, random_state=3)
    assert [r.doc_key for r, _ in select(shuffled, 6, 0, "sib200", "m", "fra_Latn")] == [r.doc_key for r, _ in chosen]
    others = [tuple(r.doc_key for r, _ in select(cell, 6, seed, "sib200", "m", "fra_Latn")) for seed in range(1, 6)]
    assert len(set(others)) > 1
    # A small cell shows everything it has.
    assert len(select(cell.iloc[:2], 6, 0, "sib200", "m", "fra_Latn")) == 2


def test_examples_come_from_the_records_and_agree_with_the_metrics(tmp_path):
    documents = synthetic_documents({"org/m-1B": 0.5}, ["fra_Latn", "zho_Hans"], n_documents=40, seed=9)
    write_lm_eval_run(tmp_path, "org/m-1B", documents)
    report = make_leaderboard([tmp_path], {}, Settings(n_resamples=10), Problems(echo=False), examples_per_cell=5)
    shown = report.examples[("sib200", "org/m-1B", "fra_Latn")]
    assert len(shown) == 5 and shown[0].picked_as == "valid" and shown[0].valid
    by_key = documents[documents["language"] == "fra_Latn"].set_index("doc_key")
    for example in shown:
        truth = by_key.loc[example.doc_key]
        assert example.valid == (truth["valid_rate"] == 1.0)
        failed = {gate for gate, verdict in example.gate_verdicts() if verdict == "failed"}
        assert (example.picked_as in failed) or example.picked_as in ("valid", "no_flip")
        if truth["empty_rate"] == 1:
            assert example.counterfactual is None
        else:
            assert "".join(text for text, _ in example.counterfactual).startswith("Synthetic sentence")
        if truth["target_rate"] == 1:
            assert example.prediction_after == example.target
        elif truth["empty_rate"] == 0 and truth["flip_rate"] == 0:
            assert example.prediction_after == example.prediction_before
        # Label names come from the sample's own requests, so no "label #k" is left.
        assert "label #" not in example.prediction_after


def test_labels_are_named_from_the_requests_only_when_they_match_the_record():
    from macro_bench.aggregate.examples import _prediction_after, label_names

    sample = {"arguments": {f"gen_args_{i}": {"arg_0": "ctx", "arg_1": f" {name}"} for i, name in enumerate(["a", "b", "c"])}}
    assert label_names(sample) == ["a", "b", "c"]
    # A dataset this version does not know: its labels are named from the requests only.
    record = make_record(dataset="unknown", model_label_logliks=[-1, -5, -5], prediction_original="a", target_label="b",
                         label_logliks_counterfactual=[-5, -5, "nan"])
    flags = {"target": 0.0}
    # Labels 0 and 1 tie at -5 and NaN counts as -inf: the lowest index wins.
    assert _prediction_after(record, flags, ["a", "b", "c"]) == "a"
    record = replace(record, label_logliks_counterfactual=[-5, -6, -1])
    assert _prediction_after(record, flags, ["a", "b", "c"]) == "c"
    # Choices that are whole sentences (not label names) are not used.
    assert _prediction_after(record, flags, ["x, right? Yes", "x, right? Also", "x, right? No"]) == (
        "label #2 (neither the prediction nor the target)")
    assert _prediction_after(replace(record, label_logliks_counterfactual=None), flags, []) == "(not classified: no counterfactual)"
    # A macro-bench dataset's own labels name them, whatever the requests look like (the XNLI
    # board showed "label #2" for contradiction before).
    xnli = replace(record, dataset="xnli", prediction_original="entailment", target_label="neutral")
    assert _prediction_after(xnli, flags, ["x, right? Yes", "x, right? Also", "x, right? No"]) == "contradiction"
    # ... but not when they disagree with the record's own prediction.
    assert _prediction_after(replace(xnli, prediction_original="neutral"), flags, []) == "label #2 (neither the prediction nor the target)"


def test_a_garbage_record_is_reported_not_fatal(tmp_path):
    documents = synthetic_documents({"org/m-1B": 0.5}, ["fra_Latn"], n_documents=6, seed=1)
    results = write_lm_eval_run(tmp_path, "org/m-1B", documents)
    path = results.with_name(f"samples_macro_sib200_fra_Latn_{results.stem.removeprefix('results_')}.jsonl")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    for line in lines:
        line["filtered_resps"][0] = "not json {"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert isinstance(read_records(path, {0})[0], str)
    problems = Problems(echo=False)
    report = make_leaderboard([tmp_path], {}, Settings(n_resamples=10), problems, examples_per_cell=2)
    shown = report.examples[("sib200", "org/m-1B", "fra_Latn")]
    assert all(isinstance(e, Example) and "no readable record" in e.problem for e in shown)
    assert any(str(path) in w and "no readable record" in w for w in problems.warnings)


def test_no_examples_when_turned_off(tmp_path):
    documents = synthetic_documents({"org/m-1B": 0.5}, ["fra_Latn"], n_documents=6, seed=1)
    write_lm_eval_run(tmp_path, "org/m-1B", documents)
    report = make_leaderboard([tmp_path], {}, Settings(n_resamples=10), Problems(echo=False), examples_per_cell=0)
    assert report.examples == {}

"""The record: every committed samples file's records load and are written back byte for byte; bad ones are named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from macro_bench.record import Fluency, Record, RecordError

REPO = Path(__file__).resolve().parents[1]
BOARD_RUNS = REPO / "leaderboards" / "instruct_cpu" / "runs"
LABELLED = REPO / "benchmarks" / "gate_labels" / "labelled.jsonl"


def _logged(samples_file: Path) -> list[str]:
    return [json.loads(line)["filtered_resps"][0] for line in samples_file.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_every_record_of_the_committed_board_round_trips_byte_for_byte():
    files = sorted(BOARD_RUNS.rglob("samples_*.jsonl"))
    assert len(files) == 27  # 3 models x (6 XNLI + 3 SIB-200 languages)
    records = [(text, Record.from_json(text)) for path in files for text in _logged(path)]
    assert len(records) == 3 * (6 * 50 + 3 * 30)
    for text, record in records:
        assert record.protocol == "3"
        assert bool(record.context) == (record.dataset == "xnli")  # the premise travels with x; SIB-200 has none
        assert record.to_json() == text
    # The board's valid counterfactuals carry both sub-records, typed.
    measured = [record for _, record in records if record.fluency is not None]
    assert measured and all(isinstance(record.fluency, Fluency) for record in measured)
    assert any(record.interventions is not None and record.interventions.random.prob_after for _, record in records)


def test_protocol_2_records_still_load():
    """The labelled gate set (benchmarks/gate_labels) holds 332 protocol-2 records from the replaced board."""
    records = [json.loads(line)["record"] for line in LABELLED.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 332 and {record["protocol"] for record in records} == {"2"}
    for data in records:
        assert Record.from_dict(data).to_dict() == data


def _protocol_3_record() -> dict:
    stored = json.loads((REPO / "benchmarks" / "readme_example.json").read_text(encoding="utf-8"))
    return stored["records"][0]["record"]


def test_a_protocol_3_record_keeps_its_context_and_a_judge_its_logliks():
    data = _protocol_3_record()
    assert data["protocol"] == "3" and "context" in data
    assert Record.from_dict(data).to_dict() == data
    judged = dict(data)
    position = list(judged).index("label_logliks_counterfactual")
    items = list(judged.items())
    items.insert(position, ("judge_label_logliks", [-1.0, "-inf", -2.0]))
    judged = dict(items)
    record = Record.from_dict(judged)
    assert record.judge_label_logliks == [-1.0, "-inf", -2.0]
    assert record.to_json() == json.dumps(judged, ensure_ascii=False)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"protocol": "1"}, "'protocol': expected one of the protocols this version reads \\(2, 3\\), got '1'"),
        ({"protocol": None}, "'protocol'"),
        ({"max_gen_toks": "64"}, "'max_gen_toks': expected an integer, got '64'"),
        ({"generation_tokens": True}, "'generation_tokens': expected an integer or null"),
        ({"model_label_logliks": []}, "'model_label_logliks': expected a list of label log-likelihoods"),
        ({"label_logliks_counterfactual": [-1.0, "NaN"]}, "'label_logliks_counterfactual'"),
        ({"language_identified": {"label": "en"}}, "'language_identified'"),
        ({"surprise": 1}, "'surprise': unknown"),
        ({"fluency": {"loglik_original": -1.0, "tokens_original": 3, "loglik_counterfactual": "x", "tokens_counterfactual": 4}},
         "'fluency.loglik_counterfactual': expected a number or null"),
        ({"interventions": {"explanation": {"explanation": [0], "deletions": [[0]], "prob_after": []},
                            "random": {"explanation": [1], "deletions": [[1]], "prob_after": [0.5]}}},
         "'interventions.explanation.prob_after': expected one probability per deletion"),
    ],
)
def test_a_malformed_record_names_the_field(change, message):
    with pytest.raises(RecordError, match=message):
        Record.from_dict({**_protocol_3_record(), **change})


def test_a_missing_field_or_a_non_object_is_named():
    data = _protocol_3_record()
    del data["target_label"]
    with pytest.raises(RecordError, match="'target_label': missing"):
        Record.from_dict(data)
    with pytest.raises(RecordError, match="record: not JSON"):
        Record.from_json("{")
    with pytest.raises(RecordError, match="'record': expected a JSON object"):
        Record.from_json("[1]")

"""The aggregator reports exactly the registry's metrics, with the registry's directions,
the same list the task template's metric_list is generated from."""

from __future__ import annotations

import yaml

from macro_bench.aggregate.metric_specs import CONDITIONAL, REPORTED, REPORTED_NAMES
from macro_bench.metrics.registry import METRICS, NAMES, metric_list_yaml


def test_aggregator_metrics_are_the_template_metric_list():
    # metric_list_yaml() is what `python -m macro_bench.task_configs` writes into each template.
    template = yaml.safe_load(metric_list_yaml())["metric_list"]
    assert sorted(REPORTED_NAMES) == sorted(entry["metric"] for entry in template) == sorted(NAMES)
    directions = {entry["metric"]: entry["higher_is_better"] for entry in template}
    assert {spec.name: spec.higher_is_better for spec in REPORTED} == directions
    assert all(entry["aggregation"] == "mean" for entry in template)


def test_score_comes_first_with_its_components_and_conditionals_follow_the_populations():
    assert REPORTED_NAMES[:3] == ("score", "valid_rate", "minimality")
    assert CONDITIONAL == {spec.name for spec in METRICS if spec.population != "all"}
    assert {"minimality", "fluency", "faithfulness", "copy_rate", "language_confusion_rate"} <= CONDITIONAL
    assert "score" not in CONDITIONAL and "valid_rate" not in CONDITIONAL


def test_leaderboard_json_lists_the_registry(tmp_path):
    import json

    from macro_bench.cli import main
    from tests.test_aggregate_fixtures import synthetic_documents, write_lm_eval_run

    documents = synthetic_documents({"org/m-1B": 0.0}, ["fra_Latn"], n_documents=8)
    write_lm_eval_run(tmp_path / "runs", "org/m-1B", documents)
    assert main(["leaderboard", str(tmp_path / "runs"), "--out", str(tmp_path / "out"), "--bootstrap", "10"]) == 0
    listed = json.loads((tmp_path / "out" / "leaderboard.json").read_text())["metrics"]
    assert [(m["name"], m["higher_is_better"]) for m in listed] == [(s.name, s.higher_is_better) for s in REPORTED]

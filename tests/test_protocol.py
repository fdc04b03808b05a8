"""Protocol 2: targets from the model's own prediction, document order, generated task files."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pytest

from macro_bench import protocol
from macro_bench.datasets.sib200 import LABELS, SPEC
from macro_bench.task_configs import expected_files

REPO = Path(__file__).resolve().parents[1]
SIB200 = str(REPO.parent / "shared" / "data" / "sib200")


def test_target_is_never_the_prediction_and_is_the_same_for_the_same_prediction():
    for doc_key in range(300):
        for prediction in LABELS:
            target = protocol.choose_target(doc_key, prediction, LABELS)
            assert target != prediction and target in LABELS
            assert target == protocol.choose_target(doc_key, prediction, LABELS)


def test_target_matches_the_documented_sha256_rule():
    # others[sha256("macro-bench-target\x1f7\x1ftravel")[:8] as big-endian int % 6]
    digest = int.from_bytes(hashlib.sha256(b"macro-bench-target\x1f7\x1ftravel").digest()[:8], "big")
    others = [label for label in LABELS if label != "travel"]
    assert protocol.choose_target(7, "travel", LABELS) == others[digest % 6]


def test_targets_spread_over_all_other_labels():
    counts = Counter(protocol.choose_target(i, "sports", LABELS) for i in range(1200))
    assert set(counts) == set(LABELS) - {"sports"}
    assert min(counts.values()) > 150  # 200 expected each


def test_a_prediction_outside_the_labels_is_a_clear_error():
    with pytest.raises(ValueError, match="prediction 'sport' is not one of the labels"):
        protocol.choose_target(1, "sport", LABELS)


def test_generation_prompt_names_prediction_target_labels_text_and_language():
    doc = {"index_id": 3, "category": "health", "text": "A doctor came."}
    prompt = SPEC.generation_prompt(doc, "sports", "travel", "Hausa")
    assert prompt.startswith('You classified the topic of the following Hausa text as "sports".')
    assert "Text: A doctor came.\n\n" in prompt and 'classify its topic as "travel" instead' in prompt
    assert ", ".join(LABELS) in prompt and "keep the text in Hausa" in prompt
    assert '"health"' not in prompt  # the gold label is never named as an answer
    assert prompt.endswith("Edited text:")


def test_committed_task_files_equal_the_generator_output():
    files = expected_files(REPO / "tasks")
    committed = {
        path: path.read_text(encoding="utf-8")
        for folder in ("macro_sib200", "macro_xnli")
        for path in [*(REPO / "tasks" / folder).glob("*yaml"), REPO / "tasks" / folder / "utils.py"]
    }
    assert committed == files, "run `python -m macro_bench.task_configs` and commit the result"
    # Per dataset: its languages' tasks, the template and the glue.
    assert len(committed) == (205 + 2) + (15 + 2)


def test_template_metric_list_is_the_registry():
    import yaml

    from macro_bench.metrics.registry import METRICS

    template = (REPO / "tasks" / "macro_sib200" / "_macro_sib200_template_yaml").read_text(encoding="utf-8")
    metric_list = yaml.safe_load("metric_list:" + template.split("\nmetric_list:", 1)[1])["metric_list"]
    assert [(m["metric"], m["higher_is_better"], m["aggregation"]) for m in metric_list] == [
        (spec.name, spec.higher_is_better, "mean") for spec in METRICS
    ]


def test_document_order_mixes_topics_and_is_the_same_in_every_language():
    from macro_bench.documents import load_documents

    english = load_documents(macro_dataset="sib200", macro_language="eng_Latn", sib200_dir=SIB200)["test"]
    thai = load_documents(macro_dataset="sib200", macro_language="tha_Thai", sib200_dir=SIB200)["test"]
    assert english["index_id"] == thai["index_id"] == english["doc_key"]
    # The files are sorted by topic; the first 20 documents in our order are not.
    assert len(set(english["category"][:20])) >= 4
    from macro_bench.datasets.sib200 import load_local_split

    file_rows = load_local_split(REPO.parent / "shared" / "data" / "sib200", "eng_Latn", "test")
    assert sorted(english["index_id"]) == sorted(row["index_id"] for row in file_rows)  # reordered, nothing lost
    digest = int.from_bytes(hashlib.sha256(b"macro-bench-order\x1f" + str(english["index_id"][0]).encode()).digest()[:8], "big")
    assert digest == min(protocol.document_order_key(i) for i in english["index_id"])

"""The protocol: target choice, prompts, generated task configs (interventions: tests/test_faithfulness.py)."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pytest

from macro_bench import protocol
from macro_bench.data import LABELS
from macro_bench.task_configs import expected_files

REPO = Path(__file__).resolve().parents[1]


def test_target_is_never_gold_and_depends_on_index_id_only():
    for index_id in range(300):
        for gold in LABELS:
            target = protocol.choose_target(index_id, gold)
            assert target != gold and target in LABELS


def test_target_matches_the_documented_sha256_rule():
    # others[sha256("macro-bench-target\x1f7")[:8] as big-endian int % 6]
    digest = int.from_bytes(hashlib.sha256(b"macro-bench-target\x1f7").digest()[:8], "big")
    others = [label for label in LABELS if label != "travel"]
    assert protocol.choose_target(7, "travel") == others[digest % 6]


def test_targets_spread_over_all_other_labels():
    counts = Counter(protocol.choose_target(i, "sports") for i in range(1200))
    assert set(counts) == set(LABELS) - {"sports"}
    assert min(counts.values()) > 150  # 200 expected each


def test_unknown_gold_label_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown SIB-200 label 'sport'"):
        protocol.choose_target(1, "sport")


def test_classification_prompt_is_lm_eval_sib_prompt_1():
    import lm_eval
    import yaml

    path = Path(lm_eval.__file__).parent / "tasks/afrobench/sib/prompt_1/sib_eng.yaml"
    template = yaml.safe_load(path.read_text())["doc_to_text"]
    assert protocol.classification_prompt("A b.") == template.replace("{{text}}", "A b.")
    assert protocol.LABEL_CONTINUATIONS == tuple(" " + label for label in LABELS)


def test_generation_prompt_names_text_labels_target_and_language():
    prompt = protocol.generation_prompt("Le chat dort.", "science/technology", "sports", "French")
    assert "Text: Le chat dort.\n" in prompt
    assert '"science/technology"' in prompt and '"sports"' in prompt and "in French" in prompt
    assert prompt.endswith("Edited text:")


def test_committed_task_yamls_equal_the_generator_output():
    folder = REPO / "tasks" / "macro_sib200"
    committed = {p.name: p.read_text(encoding="utf-8") for p in folder.glob("macro_sib200_*.yaml")}
    assert committed == expected_files(), "run `python -m macro_bench.task_configs` and commit the result"
    assert len(committed) == 205


def test_document_order_mixes_topics_and_is_the_same_in_every_language():
    from macro_bench.documents import load_documents

    sib200 = str(REPO.parent / "shared" / "data" / "sib200")
    english = load_documents(sib200_language="eng_Latn", sib200_dir=sib200)["test"]
    thai = load_documents(sib200_language="tha_Thai", sib200_dir=sib200)["test"]
    assert english["index_id"] == thai["index_id"]
    # The files are sorted by topic; the first 20 documents in our order are not.
    assert len(set(english["category"][:20])) >= 4
    from macro_bench.data import load_local_split

    file_rows = load_local_split(REPO.parent / "shared" / "data" / "sib200", "eng_Latn", "test")
    assert sorted(english["index_id"]) == sorted(row["index_id"] for row in file_rows)  # reordered, nothing lost
    digest = int.from_bytes(hashlib.sha256(b"macro-bench-order\x1f" + str(english["index_id"][0]).encode()).digest()[:8], "big")
    assert digest == min(protocol.document_order_key(i) for i in english["index_id"])

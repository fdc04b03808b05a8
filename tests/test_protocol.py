"""The protocol: target choice, held-out deletion sets, prompts, generated task configs."""

from __future__ import annotations

import hashlib
import math
import subprocess
import sys
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


@pytest.mark.parametrize(("n_tokens", "size"), [(1, 1), (4, 1), (5, 1), (6, 2), (10, 2), (11, 3), (37, 8)])
def test_deletion_set_size_is_ceil_of_a_fifth_at_least_one(n_tokens, size):
    sets = protocol.deletion_sets(n_tokens, "eng_Latn", 3)
    assert len(sets) == protocol.DEFAULT_INTERVENTIONS
    assert all(len(s) == size == max(1, math.ceil(0.2 * n_tokens)) for s in sets)
    assert all(0 <= p < n_tokens for s in sets for p in s)


def test_deletion_sets_differ_by_language_document_and_k():
    base = protocol.deletion_sets(30, "eng_Latn", 5)
    assert len(set(base)) > 1
    assert base != protocol.deletion_sets(30, "fra_Latn", 5)
    assert base != protocol.deletion_sets(30, "eng_Latn", 6)
    assert protocol.deletion_sets(30, "eng_Latn", 5, count=3) == base[:3]


def test_deletion_sets_are_identical_in_another_process_with_another_hash_seed():
    code = "from macro_bench import protocol; print([sorted(s) for s in protocol.deletion_sets(25, 'zho_Hans', 1523)])"
    outputs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO,
                       env={"PYTHONHASHSEED": seed, "PATH": ""}).stdout
        for seed in ("0", "12345")
    }
    assert outputs == {f"{[sorted(s) for s in protocol.deletion_sets(25, 'zho_Hans', 1523)]}\n"}


def test_deletion_sets_of_an_empty_text_are_empty_and_count_is_validated():
    assert protocol.deletion_sets(0, "eng_Latn", 1, count=2) == [frozenset(), frozenset()]
    with pytest.raises(ValueError, match="at least 1"):
        protocol.deletion_sets(5, "eng_Latn", 1, count=0)


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

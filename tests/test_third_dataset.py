"""A third dataset, defined in this file and nowhere else, runs end to end through lm-eval.

The toy dataset is a :class:`~macro_bench.datasets.DatasetSpec` with two topics, one
language and a tab-separated file in a temporary folder. It is registered through the
public registry, its task folder is written by the generator that writes ``tasks/``
(:func:`macro_bench.task_configs.write_task_configs`), and ``simple_evaluate`` runs it with
the scripted model of ``tests/scripted_lm.py`` (its keyword classifier knows both topics:
"football" is sports, "doctor" is health). No file outside ``tests/`` knows the dataset.
Each expected value is worked out by hand as in ``tests/test_end_to_end.py``.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from macro_bench import protocol
from macro_bench.datasets import DatasetSpec, get_dataset, register, registered_datasets, unregister
from macro_bench.extraction import extract_counterfactual
from macro_bench.metrics.registry import NAMES
from macro_bench.task_configs import write_task_configs

from .scripted_lm import ScriptedLM
from .test_end_to_end import _chrf, _mean_over_defined, _random_baseline

NAME = "toytopics"
LABELS = ("sports", "health")
TASK = f"macro_{NAME}_eng_Latn"
DIR_KEY = "toytopics_dir"
MAX_GEN_TOKS = 20
ECHO_LINE = "You classified the subject of this text as sports."

DOCS = [
    (1, "sports", "The football team won the final match ."),
    (2, "health", "A doctor opened a new clinic ."),
    # No keyword: both topics score alike, so the first one (sports) is predicted.
    (3, "health", "The election was held today ."),
    (4, "sports", "The football season starts in May ."),
]


def _load(language: str, metadata: Mapping[str, Any]) -> list[dict]:
    with (Path(metadata[DIR_KEY]) / f"{language}.tsv").open(encoding="utf-8", newline="") as handle:
        return [{"doc_id": int(key), "topic": topic, "text": text}
                for key, topic, text in csv.reader(handle, delimiter="\t")]


def _generation_prompt(doc: dict, prediction: str, target: str, language_name: str) -> str:
    # The "Text: ... Edit the text" frame is what the scripted model finds x in.
    return (
        f'You classified the subject of the following {language_name} text as "{prediction}". '
        f"The possible subjects are: {', '.join(LABELS)}.\n\n"
        f"Text: {doc['text']}\n\n"
        f'Edit the text so that you would classify its subject as "{target}". Answer with the edited text only.'
    )


TOY = DatasetSpec(
    name=NAME,
    labels=LABELS,
    label_words=lambda language: LABELS,
    edited_field="text",
    split="test",
    doc_key_field="doc_id",
    gold_field="topic",
    load=_load,
    generation_prompt=_generation_prompt,
    prompt_fields=("text",),
    language_codes=lambda: ("eng_Latn",),
    # The scripted model reads the text between "the text: '" and "' belong to: ".
    classification_yaml=(
        "output_type: multiple_choice\n"
        "doc_to_text: \"Sports or health? What category does the text: '{{text}}' belong to: \\n\\n\"\n"
        "doc_to_choice:\n  - \"sports\"\n  - \"health\"\n"
        "doc_to_target: topic\n"
    ),
    edited_noun="text",
    label_noun="subject",
    metadata_keys=(DIR_KEY,),
    local_dir=lambda metadata: Path(metadata[DIR_KEY]),
)


def _target(doc_id: int, prediction: str) -> str:
    return protocol.choose_target(doc_id, prediction, LABELS)


@pytest.fixture
def toy(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "eng_Latn.tsv").write_text("".join(f"{i}\t{topic}\t{text}\n" for i, topic, text in DOCS), encoding="utf-8")
    edit_1 = DOCS[0][2].replace("football", "doctor")
    edit_3 = "The election doctor was held today ."
    script = {
        DOCS[0][2]: f" {edit_1}",
        DOCS[1][2]: DOCS[1][2],
        # The first line opens like the toy's own prompt: extraction drops it.
        DOCS[2][2]: f"{ECHO_LINE}\n{edit_3}",
        DOCS[3][2]: "  \n",
    }
    (tmp_path / "script.json").write_text(json.dumps(script), encoding="utf-8")
    register(TOY)
    try:
        written = write_task_configs(tmp_path / "tasks", [TOY])
        yield {"data": data, "tasks": tmp_path / "tasks", "script": tmp_path / "script.json",
               "written": written, "edits": (edit_1, edit_3)}
    finally:
        unregister(NAME)


def test_a_dataset_defined_in_a_test_runs_end_to_end_through_lm_eval(toy):
    import lm_eval
    from lm_eval.tasks import TaskManager

    # The generator wrote the toy's folder: its template, glue and one task per language.
    assert toy["written"] == 3
    assert sorted(path.name for path in (toy["tasks"] / f"macro_{NAME}").iterdir()) == [
        f"_macro_{NAME}_template_yaml", f"{TASK}.yaml", "utils.py"]

    lm = ScriptedLM(script=str(toy["script"]))
    manager = TaskManager(include_path=str(toy["tasks"]), include_defaults=False, metadata={DIR_KEY: str(toy["data"])})
    results = lm_eval.simple_evaluate(model=lm, tasks=[TASK], task_manager=manager, log_samples=True,
                                      gen_kwargs=f"max_gen_toks={MAX_GEN_TOKS}")

    edit_1, edit_3 = toy["edits"]
    t1, t2, t3, t4 = _target(1, "sports"), _target(2, "health"), _target(3, "sports"), _target(4, "sports")
    # Two labels: the target is always the other one.
    assert (t1, t2, t3, t4) == ("health", "sports", "health", "health")
    clean = dict(copy_rate=0, truncation_rate=0, not_an_edit_rate=0, repetition_rate=0, prompt_echo_rate=0,
                 label_statement_rate=0, label_insertion_rate=0, language_confusion_rate=0)
    # A one-word edit: deleting E (the keyword) from x moves p(y) from 1 to 1/2, and
    # deleting anything else moves nothing, so faithfulness is exactly 1.
    expected = {
        1: dict(accuracy=1, flip_rate=1, target_rate=1, valid_rate=1, valid_target_rate=1, empty_rate=0, **clean,
                minimality=1 / 8, score=1 - 1 / 8, similarity=_chrf(DOCS[0][2], edit_1), fluency=0.0,
                faithfulness=1.0, faithfulness_coverage=1),
        2: dict(accuracy=1, flip_rate=0, target_rate=0, valid_rate=0, valid_target_rate=0, empty_rate=0,
                **clean | dict(copy_rate=1), score=0, faithfulness_coverage=0),
        # Inserting "doctor" flips the uniform guess (sports) to health: one insertion in 7
        # tokens. The edit deletes no token of x, so no deletion tests it: no faithfulness.
        3: dict(accuracy=0, flip_rate=1, target_rate=1, valid_rate=1, valid_target_rate=1, empty_rate=0, **clean,
                minimality=1 / 7, score=1 - 1 / 7, similarity=_chrf(DOCS[2][2], edit_3), fluency=0.0,
                faithfulness_coverage=0),
        4: dict(accuracy=1, flip_rate=0, target_rate=0, valid_rate=0, valid_target_rate=0, empty_rate=1,
                truncation_rate=0, score=0, faithfulness_coverage=0),
    }
    by_key = {sample["doc"]["doc_id"]: sample for sample in results["samples"][TASK]}
    assert set(by_key) == set(expected)
    for doc_id, values in expected.items():
        sample = by_key[doc_id]
        record = json.loads(sample["filtered_resps"][0])
        assert record["dataset"] == NAME and record["target_label"] == _target(doc_id, record["prediction_original"])
        if record["interventions"]:
            baseline = _random_baseline(record)
            if baseline is not None:
                values = values | {"faithfulness_random": baseline}
        assert {name: sample[name] for name in NAMES if name in sample} == pytest.approx(values, abs=1e-9), doc_id
    assert json.loads(by_key[3]["filtered_resps"][0])["counterfactual"] == edit_3
    # Without the instruction to compare with, only the registered spec's label noun tells
    # extraction that "You classified the subject" opens an echo of the prompt.
    assert extract_counterfactual(f"{ECHO_LINE}\n{edit_3}", DOCS[2][2]) == edit_3
    reported = {key.split(",")[0]: value for key, value in results["results"][TASK].items()
                if key.endswith(",macro") and "_stderr" not in key}
    assert reported == pytest.approx(_mean_over_defined(
        {i: {name: sample[name] for name in NAMES if name in sample} for i, sample in by_key.items()}), abs=1e-9)


def test_the_toy_dataset_is_gone_after_its_test():
    assert NAME not in {dataset.name for dataset in registered_datasets()}
    answer = f"{ECHO_LINE}\nThe election doctor was held today ."
    assert extract_counterfactual(answer, DOCS[2][2]) == answer
    with pytest.raises(KeyError, match="unknown macro-bench dataset 'toytopics'"):
        get_dataset(NAME)


def test_a_name_cannot_be_registered_twice_for_different_datasets():
    with pytest.raises(ValueError, match="already registered as 'sib200'"):
        register(dataclasses.replace(TOY, name="sib200"))

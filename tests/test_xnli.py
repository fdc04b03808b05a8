"""XNLI as a macro-bench dataset: data loading, and prompt parity with lm-eval's own xnli_<lang> tasks."""

from __future__ import annotations

from pathlib import Path

import pytest

from macro_bench.lm_eval_adapter import bridge as lm_eval_bridge
from macro_bench.datasets import xnli

REPO = Path(__file__).resolve().parents[1]
XNLI_DIR = REPO.parent / "shared" / "data" / "xnli"


def test_local_copy_loads_every_row_in_file_order_with_parallel_pair_ids():
    english = xnli.load("eng_Latn", {"xnli_dir": str(XNLI_DIR)})
    chinese = xnli.load("zho_Hans", {"xnli_dir": str(XNLI_DIR)})
    assert len(english) == len(chinese) == 2490
    assert english[0] == {
        "pair_id": 0,
        "premise": "And he said, Mama, I'm home.",
        "hypothesis": "He called his mom as soon as the school bus dropped him off.",
        "relation": "neutral",
        "label": 1,
    }
    assert [d["relation"] for d in english] == [d["relation"] for d in chinese]
    assert [d["pair_id"] for d in english] == list(range(2490))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a\tb\n", r"dev-en.tsv, line 1: 2 tab-separated field\(s\), expected 3"),
        ("a\tb\tmaybe\n", r"dev-en.tsv, line 1: field label is 'maybe'"),
        ("a\tb\tneutral\n \tb\tneutral\n", r"dev-en.tsv, line 2: field premise is empty"),
        ("", r"dev-en.tsv is empty"),
    ],
)
def test_bad_rows_name_the_file_line_and_field(tmp_path, content, message):
    (tmp_path / "dev-en.tsv").write_text(content, encoding="utf-8")
    with pytest.raises(xnli.XnliDataError, match=message):
        xnli.load("eng_Latn", {"xnli_dir": str(tmp_path)})


def test_missing_file_and_unknown_language_say_how_to_fix_them(tmp_path):
    with pytest.raises(xnli.XnliDataError, match=r"dev-de.tsv does not exist.*xnli_dir"):
        xnli.load("deu_Latn", {"xnli_dir": str(tmp_path)})
    with pytest.raises(xnli.XnliDataError, match="XNLI has no language 'hau_Latn'"):
        xnli.load("hau_Latn", {"xnli_dir": str(tmp_path)})


def test_quotes_are_literal_text(tmp_path):
    (tmp_path / "dev-en.tsv").write_text('He said "hi\tShe "left\tcontradiction\n', encoding="utf-8")
    (doc,) = xnli.load("eng_Latn", {"xnli_dir": str(tmp_path)})
    assert doc["premise"] == 'He said "hi' and doc["hypothesis"] == 'She "left'


@pytest.mark.parametrize("language", sorted(xnli.XNLI_CODES))
def test_choices_are_lm_eval_xnli_choices_character_for_character(language):
    import lm_eval
    import yaml

    code = xnli.XNLI_CODES[language]
    theirs = yaml.safe_load((Path(lm_eval.__file__).parent / "tasks" / "xnli" / f"xnli_{code}.yaml").read_text(encoding="utf-8"))
    assert xnli.doc_to_choice_template(language) == theirs["doc_to_choice"]
    assert theirs["doc_to_text"] == ""


def _lm_eval_xnli_task(code: str, rows: list[dict]):
    import datasets
    import lm_eval
    from lm_eval.api.task import ConfigurableTask
    from lm_eval.tasks._yaml_loader import load_yaml

    config = load_yaml(Path(lm_eval.__file__).parent / "tasks" / "xnli" / f"xnli_{code}.yaml", resolve_func=True)
    config.update(custom_dataset=lambda **_: datasets.DatasetDict({"validation": datasets.Dataset.from_list(rows)}),
                  training_split=None)
    return ConfigurableTask(config=config)


def _requests(task, apply_chat_template, limit=3):
    task.build_all_requests(limit=limit, rank=0, world_size=1, apply_chat_template=apply_chat_template,
                            chat_template=(lambda messages, add_generation_prompt=True: f"<u>{messages[-1]['content']}</u>")
                            if apply_chat_template else None)
    found = {}
    for instance in task.instances:
        found.setdefault(instance.doc["hypothesis"], []).append(tuple(instance.args))
    return found


@pytest.mark.parametrize("apply_chat_template", [False, True])
def test_requests_and_edited_hypotheses_are_classified_as_lm_eval_xnli_does(apply_chat_template):
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(REPO / "tasks"), include_defaults=False, metadata={"xnli_dir": str(XNLI_DIR)})
    task = manager.load(["macro_xnli_zho_Hans"])["tasks"]["macro_xnli_zho_Hans"]
    ours = _requests(task, apply_chat_template)
    docs = [instance.doc for instance in task.instances if instance.idx == 0]
    rows = [{k: d[k] for k in ("premise", "hypothesis", "label")} for d in docs]
    edited = [{**row, "hypothesis": row["hypothesis"] + "吗"} for row in rows]
    theirs = _requests(_lm_eval_xnli_task("zh", rows + edited), apply_chat_template, limit=6)
    assert ours == {row["hypothesis"]: theirs[row["hypothesis"]] for row in rows}
    live = lm_eval_bridge.LiveEvaluation(lm=None, task=task, apply_chat_template=apply_chat_template,
                                         system_instruction=None, fewshot_as_multiturn=False, cli_gen_kwargs=None)

    class Chat:
        @staticmethod
        def apply_chat_template(messages, add_generation_prompt=True):
            return f"<u>{messages[-1]['content']}</u>"

    for doc, row in zip(docs, edited, strict=True):
        assert lm_eval_bridge.classification_requests(live, Chat(), {**doc, "hypothesis": row["hypothesis"]}) == theirs[row["hypothesis"]]


def test_generation_prompt_edits_the_hypothesis_and_keeps_the_premise():
    doc = {"premise": "It rained.", "hypothesis": "The street is wet.", "relation": "entailment"}
    prompt = xnli.SPEC.generation_prompt(doc, "entailment", "contradiction", "English")
    assert "Premise: It rained.\nHypothesis: The street is wet.\n\n" in prompt
    assert 'as "entailment"' in prompt and 'as "contradiction" instead' in prompt
    assert prompt.endswith("Edited hypothesis:")
    assert "No" in xnli.label_words("eng_Latn") and "不是的" in xnli.label_words("zho_Hans")

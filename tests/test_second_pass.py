"""The second pass outside a full scripted run: prompt parity with lm-eval, options, early failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from macro_bench.lm_eval_adapter import bridge as lm_eval_bridge
from macro_bench.options import Options, OptionsError
from macro_bench.preflight import RunCheckError
from macro_bench.second_pass import SecondPass, SecondPassError, generation_settings

from .scripted_lm import ScriptedLM

REPO = Path(__file__).resolve().parents[1]
SIB200 = REPO.parent / "shared" / "data" / "sib200"
TASK = "macro_sib200_eng_Latn"


def _toy_chat_template(messages, add_generation_prompt=True):
    rendered = "".join(f"<{m['role']}>{m['content']}</{m['role']}>" for m in messages)
    return rendered + ("<assistant>" if add_generation_prompt else "")


class _ChatModel:
    apply_chat_template = staticmethod(_toy_chat_template)


def _build(task, apply_chat_template, system_instruction, limit=3):
    task.build_all_requests(
        limit=limit, rank=0, world_size=1, apply_chat_template=apply_chat_template,
        chat_template=_toy_chat_template if apply_chat_template else None,
        system_instruction=system_instruction,
    )
    requests = {}
    for instance in task.instances:
        requests.setdefault(instance.doc["text"], []).append(tuple(instance.args))
    return requests


def _lm_eval_sib_task(rows):
    """lm-eval's own sib_eng_prompt_1, fed the given rows."""
    import datasets
    import lm_eval
    from lm_eval.api.task import ConfigurableTask
    from lm_eval.tasks._yaml_loader import load_yaml

    config = load_yaml(Path(lm_eval.__file__).parent / "tasks/afrobench/sib/prompt_1/sib_eng.yaml", resolve_func=True)
    config.update(
        custom_dataset=lambda **_: datasets.DatasetDict(
            {"test": datasets.Dataset.from_list(rows), "validation": datasets.Dataset.from_list(rows)}
        ),
        metric_list=[{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
    )
    return ConfigurableTask(config=config)


@pytest.fixture(scope="module")
def our_task():
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(REPO / "tasks"), include_defaults=False, metadata={"sib200_dir": str(SIB200)})
    return manager.load([TASK])["tasks"][TASK]


@pytest.mark.parametrize("apply_chat_template", [False, True])
@pytest.mark.parametrize("system_instruction", [None, "Answer with one topic."])
def test_task_requests_and_edited_texts_are_classified_exactly_as_lm_eval_sib_task(
    our_task, apply_chat_template, system_instruction
):
    ours = _build(our_task, apply_chat_template, system_instruction)
    docs = [instance.doc for instance in our_task.instances if instance.idx == 0]
    rows = [{"index_id": d["index_id"], "category": d["category"], "text": d["text"]} for d in docs]
    edited_rows = [{**row, "text": f"{row['text']} Edited."} for row in rows]
    theirs = _build(_lm_eval_sib_task(rows + edited_rows), apply_chat_template, system_instruction, limit=6)
    assert ours == {row["text"]: theirs[row["text"]] for row in rows}
    # The second pass classifies an edited text with the task's own request building.
    live = lm_eval_bridge.LiveEvaluation(
        lm=None, task=our_task, apply_chat_template=apply_chat_template, system_instruction=system_instruction,
        fewshot_as_multiturn=False, cli_gen_kwargs=None,
    )
    for doc, edited in zip(docs, edited_rows, strict=True):
        pairs = lm_eval_bridge.classification_requests(live, _ChatModel(), {**doc, "text": edited["text"]})
        assert pairs == theirs[edited["text"]]


def test_options_come_from_metadata_and_bad_values_name_the_key():
    default = Options.from_metadata(None)
    assert default.judge is None and default.fluency_lm is None and default.interventions >= 3
    assert Options.from_metadata({"interventions": 12, "judge": "org/judge"}) == Options(12, "org/judge", None)
    for bad in ("8", 2, True):
        with pytest.raises(OptionsError, match="'interventions' must be an integer >= 3"):
            Options.from_metadata({"interventions": bad})
    with pytest.raises(OptionsError, match="'fluency_lm' must be a model path"):
        Options.from_metadata({"fluency_lm": ""})
    with pytest.raises(OptionsError, match="'judge': model_args 'dtype=float32' name no model"):
        Options.from_metadata({"judge": "dtype=float32"})


def test_extra_models_get_lm_eval_typed_arguments(monkeypatch):
    """--metadata judge 'trust_remote_code=False' must reach the model as False, not the string."""
    from lm_eval.api import registry

    received = {}

    class Recorder:
        @classmethod
        def create_from_arg_string(cls, arg_string, additional_config=None):
            from lm_eval.utils import simple_parse_args_string

            received.update(simple_parse_args_string(arg_string), **additional_config)
            return cls()

    monkeypatch.setattr(registry, "get_model", lambda name: Recorder)
    lm_eval_bridge.build_model("pretrained=org/m,trust_remote_code=False,max_length=512", 4, "cpu")
    assert received["trust_remote_code"] is False
    assert received["max_length"] == 512 and received["batch_size"] == 4 and received["device"] == "cpu"


def test_gen_kwargs_take_effect_or_are_refused():
    assert generation_settings(None)["max_gen_toks"] == 256
    # A blank line ends a chat answer; plain prompts get no default stop (answers start with one).
    assert generation_settings(None, apply_chat_template=True)["until"] == ["\n\n"]
    assert generation_settings(None, apply_chat_template=False)["until"] == []
    assert generation_settings({"until": "###"}, apply_chat_template=True)["until"] == ["###"]
    settings = generation_settings({"max_gen_toks": 32, "until": "\n\n", "temperature": 0.7, "do_sample": True})
    assert settings == {"max_gen_toks": 32, "until": ["\n\n"], "temperature": 0.7, "do_sample": True}
    with pytest.raises(SecondPassError, match="max_gen_toks must be a positive integer"):
        generation_settings({"max_gen_toks": "many"})
    with pytest.raises(SecondPassError, match="until must be a string or a list of strings"):
        generation_settings({"until": 3})


def test_filter_outside_an_lm_eval_run_fails_clearly():
    with pytest.raises(lm_eval_bridge.BridgeError, match="must run inside lm_eval.evaluator.evaluate"):
        SecondPass().apply([[(0.0, False)]], [{"text": "x"}])


def test_an_lm_eval_without_what_the_second_pass_needs_is_named(monkeypatch):
    from lm_eval import evaluator

    lm_eval_bridge.check_lm_eval()  # the pinned lm-eval passes

    def evaluate(lm, task_dict):  # no task, apply_chat_template, ... locals
        return None

    monkeypatch.setattr(evaluator, "evaluate", evaluate)
    with pytest.raises(lm_eval_bridge.BridgeError, match="evaluate has no local.*apply_chat_template.*0.4.13"):
        lm_eval_bridge.check_lm_eval()


class _NoLoglikelihoodLM(ScriptedLM):
    """Like a chat-completion API: it generates but cannot score log-likelihoods."""

    def loglikelihood(self, requests):
        raise NotImplementedError("Loglikelihood is not supported for chat completions.")


def _tiny_sib200(tmp_path):
    folder = tmp_path / "eng_Latn"
    folder.mkdir()
    for split in ("train", "dev", "test"):
        (folder / f"{split}.tsv").write_text("index_id\tcategory\ttext\n1\tsports\tA football match.\n", encoding="utf-8")
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"A football match.": "A film match."}), encoding="utf-8")
    return tmp_path, script


@pytest.mark.parametrize(
    ("model", "metadata", "error"),
    [
        (_NoLoglikelihoodLM, {}, NotImplementedError),
        # Refused by the start-up check, before the model is even used (issue 18).
        (ScriptedLM, {"interventions": 1}, RunCheckError),
    ],
)
def test_failures_come_before_any_generation(tmp_path, model, metadata, error):
    import lm_eval
    from lm_eval.tasks import TaskManager

    root, script = _tiny_sib200(tmp_path)
    lm = model(script=str(script))
    manager = TaskManager(include_path=str(REPO / "tasks"), include_defaults=False,
                          metadata={"sib200_dir": str(root), **metadata})
    with pytest.raises(error):
        lm_eval.simple_evaluate(model=lm, tasks=[TASK], task_manager=manager)
    assert lm.calls["generate_until"] == 0

"""The second pass outside a full scripted run: prompt parity with lm-eval, options, early failures, the stages on a fake scorer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from macro_bench.datasets import get_dataset
from macro_bench.lm_eval_adapter import bridge as lm_eval_bridge
from macro_bench.lm_eval_adapter.second_pass_filter import SecondPass
from macro_bench.metrics.document import derive_metrics, gate_flags
from macro_bench.options import Options, OptionsError
from macro_bench.preflight import RunCheckError
from macro_bench.record import Fluency, Record
from macro_bench.second_pass import Document, SecondPassError, generation_settings, run

from .scripted_lm import LABELS, ScriptedLM, label_loglik

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


# --- the stages, on a fake scorer (no lm-eval) ---------------------------------------------


class _FakeScorer:
    """A :class:`macro_bench.scoring.Scorer` with known answers that records every call.

    Generation looks x up in ``answers``; classification is the scripted keyword
    classifier (:func:`tests.scripted_lm.label_loglik`) on the doc's text; fluency is
    -1 nat per character; tokens are words.
    """

    def __init__(self, answers: dict[str, str], measures_fluency: bool = True) -> None:
        self.answers, self.measures_fluency = answers, measures_fluency
        self.calls: list[tuple[str, int]] = []

    def generate(self, prompts, settings):
        self.calls.append(("generate", len(prompts)))
        return [self.answers[item.doc["text"]] for item in prompts]

    def generated_tokens(self, text):
        return len(text.split())

    def classify(self, docs, stage):
        self.calls.append((stage, len(docs)))
        return [[label_loglik(doc["text"], label) for label in LABELS] for doc in docs]

    def fluency_logliks(self, texts):
        self.calls.append(("fluency", len(texts)))
        return [-float(len(item.text)) for item in texts]

    def fluency_tokens(self, text):
        return len(text.split())


_TEXTS = {
    # A one-word edit that flips sports to travel: valid, measured.
    "The football team played a long game in the old stadium on Sunday evening.":
        "The hotel team played a long game in the old stadium on Sunday evening.",
    # x again: the copy gate.
    "Our football coach spoke to the young players about the coming season.":
        "Our football coach spoke to the young players about the coming season.",
    # Nothing to extract.
    "The film was shown to a large crowd at the festival last year.": "",
}


def _documents() -> list[Document]:
    return [
        Document(doc_id, {"index_id": doc_id, "doc_key": doc_id, "language": "eng_Latn", "category": "sports", "text": text},
                 [label_loglik(text, label) for label in LABELS])
        for doc_id, text in enumerate(_TEXTS)
    ]


@pytest.mark.parametrize("judge", [None, "org/judge"])
def test_the_stages_make_one_call_each_in_order_and_measure_only_valid_counterfactuals(judge):
    scorer = _FakeScorer(_TEXTS)
    options = Options(interventions=10, judge=judge, fluency_lm=None)
    records = run(_documents(), get_dataset("sib200"), options, generation_settings(None), scorer, "t")
    # One call per stage, also with nothing to send (every data-parallel rank makes the same calls).
    assert [stage for stage, _ in scorer.calls] == [
        "generate", "classification, judge", "classification", "scoring, interventions", "fluency"]
    counts = dict(scorer.calls)
    assert counts["generate"] == 3 and counts["classification, judge"] == (3 if judge else 0)
    assert counts["classification"] == 2  # the empty answer is not classified
    assert counts["scoring, interventions"] == 20 and counts["fluency"] == 2  # 10 + 10 deletions; x and x'
    valid, copied, empty = records
    assert (valid.prediction_original, valid.counterfactual) == ("sports", _TEXTS[valid.original])
    assert gate_flags(valid)["valid"] and gate_flags(copied)["copy"] and gate_flags(empty)["empty"]
    assert valid.interventions is not None and len(valid.interventions.random.prob_after) == 10
    assert valid.fluency == Fluency(-float(len(valid.original)), 14, -float(len(valid.counterfactual)), 14)
    assert copied.interventions is copied.fluency is empty.interventions is empty.fluency is None
    assert empty.counterfactual is None and empty.label_logliks_counterfactual is None
    assert (valid.judge_label_logliks is None) is (judge is None)
    assert valid.generation_tokens == 14 and valid.max_gen_toks == 256 and valid.context == {}
    # Deleting the edited word ("football") takes the prediction away: faithfulness is measured.
    assert derive_metrics(valid)["faithfulness_coverage"] == 1.0
    for record in records:
        assert Record.from_json(record.to_json()) == record


def test_a_scorer_without_a_fluency_tokenizer_gets_an_empty_fluency_call():
    scorer = _FakeScorer(_TEXTS, measures_fluency=False)
    records = run(_documents(), get_dataset("sib200"), Options(10, None, None), generation_settings(None), scorer, "t")
    assert scorer.calls[-1] == ("fluency", 0)
    assert all(record.fluency is None for record in records) and records[0].interventions is not None


def test_no_documents_still_make_every_call():
    scorer = _FakeScorer({})
    assert run([], get_dataset("sib200"), Options(10, None, None), generation_settings(None), scorer, "t") == []
    assert scorer.calls == [("generate", 0), ("classification, judge", 0), ("classification", 0),
                            ("scoring, interventions", 0), ("fluency", 0)]

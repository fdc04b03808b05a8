"""End to end through lm-eval itself, with a scripted model whose every score is known.

Three languages with crafted SIB-200 style documents, one per failure the gates must
catch (a copy, an empty answer, a label statement, an echoed prompt, a truncated
generation, English for a Hausa text) beside real one-word edits in English and
Chinese. Each expected value is worked out by hand from the rules of
``tests/scripted_lm.py`` and the metric definitions; only chrF (checked against
sacrebleu itself) and the random baseline's Spearman correlation (over the logged
deletions) are computed by a library.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sacrebleu.metrics import CHRF
from scipy.stats import spearmanr

from macro_bench.protocol import PROTOCOL_VERSION
from macro_bench import protocol
from macro_bench.metrics.document import derive_metrics
from macro_bench.record import Record
from macro_bench.metrics.registry import NAMES

from .scripted_lm import KEYWORDS, LABELS, ScriptedLM

REPO = Path(__file__).resolve().parents[1]
TASKS_DIR = REPO / "tasks"
HEADER = "index_id\tcategory\ttext\n"
ENG, HAU, ZHO = "macro_sib200_eng_Latn", "macro_sib200_hau_Latn", "macro_sib200_zho_Hans"
MAX_GEN_TOKS = 20
SIX_SEVENTHS = 6 / 7


def _target(index_id: int, prediction: str) -> str:
    return protocol.choose_target(index_id, prediction, LABELS)


def _chrf(original: str, counterfactual: str) -> float:
    return CHRF().sentence_score(counterfactual, [original]).score


DOCS = {
    "eng_Latn": [
        (1, "sports", "The football team won the final match on Sunday ."),
        (2, "health", "A doctor opened a new clinic in the village ."),
        (3, "politics", "The election results were announced last night ."),
        # Gold entertainment, but the model predicts travel (hotel): the prompt must say travel.
        (4, "entertainment", "Our hotel near the beach was full in July ."),
        (5, "geography", "The mountain was covered in snow all winter ."),
        (6, "sports", "The football club signed a new player on Monday ."),
    ],
    "hau_Latn": [
        (7, "politics", "Shugaban kasar ya gana da jama'a a babban birnin tarayya ."),
    ],
    "zho_Hans": [
        (1, "sports", "我们的球队赢了。"),
    ],
}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    root = tmp_path_factory.mktemp("sib200")
    for language, rows in DOCS.items():
        folder = root / language
        folder.mkdir()
        lines = "".join(f"{i}\t{label}\t{text}\n" for i, label, text in rows)
        for split in ("train", "dev", "test"):
            (folder / f"{split}.tsv").write_text(HEADER + lines, encoding="utf-8")

    t1, t5 = _target(1, "sports"), _target(5, "geography")
    english_edit = DOCS["eng_Latn"][0][2].replace("football", KEYWORDS[t1][0])
    chinese_edit = "我们的球队赢了。".replace("球", KEYWORDS[t1][1])
    truncated = "The rocket club signed a new player on Monday and the fans went home happy after a very long day"
    assert len(truncated.split()) == MAX_GEN_TOKS
    echo = f'Edit the text as little as possible so that you would classify its topic as "{t5}" instead.'
    english_for_hausa = "The president met the people in the capital city with a hotel ."
    script = {
        DOCS["eng_Latn"][0][2]: f" {english_edit}",
        DOCS["eng_Latn"][1][2]: DOCS["eng_Latn"][1][2],
        DOCS["eng_Latn"][2][2]: "   \n",
        DOCS["eng_Latn"][3][2]: f'1. The topic is "{_target(4, "travel")}".',
        DOCS["eng_Latn"][4][2]: echo,
        DOCS["eng_Latn"][5][2]: truncated,
        DOCS["hau_Latn"][0][2]: english_for_hausa,
        "我们的球队赢了。": chinese_edit,
    }
    script_path = root / "script.json"
    script_path.write_text(json.dumps(script, ensure_ascii=False), encoding="utf-8")

    def invalid(accuracy, flip, target, **gates):
        values = dict(accuracy=accuracy, flip_rate=flip, target_rate=target, valid_rate=0, valid_target_rate=0,
                      score=0, faithfulness_coverage=0, empty_rate=0, truncation_rate=0)
        values.update(gates)
        return values

    clean = dict(copy_rate=0, not_an_edit_rate=0, repetition_rate=0, prompt_echo_rate=0, label_statement_rate=0,
                 label_insertion_rate=0, language_confusion_rate=0)
    # One-word edits: E = the keyword, whose deletion alone moves p(y) (1 -> 1/7), so the
    # stratified shares and the outcomes rank identically: faithfulness exactly 1.
    expected = {
        ENG: {
            1: dict(accuracy=1, flip_rate=1, target_rate=1, valid_rate=1, valid_target_rate=1, empty_rate=0,
                    truncation_rate=0, **clean, minimality=1 / 10, score=1 - 1 / 10,
                    similarity=_chrf(DOCS["eng_Latn"][0][2], english_edit), fluency=0.0,
                    faithfulness=1.0, faithfulness_coverage=1),
            2: invalid(1, 0, 0, **clean | dict(copy_rate=1)),
            3: invalid(1, 0, 0, empty_rate=1),
            # No keyword left: uniform, so the first label (science/technology) is predicted.
            # A label statement and an echoed instruction keep nothing of x: not edits of it either.
            4: invalid(0, 1, float(_target(4, "travel") == LABELS[0]), **clean | dict(label_statement_rate=1, not_an_edit_rate=1)),
            5: invalid(1, 1, float(t5 == LABELS[0]), **clean | dict(prompt_echo_rate=1, label_statement_rate=1, not_an_edit_rate=1)),
            6: invalid(1, 1, float(_target(6, "sports") == LABELS[0]), **clean | dict(truncation_rate=1)),
        },
        # The Hausa text has no keyword (science/technology); the English answer says hotel.
        # It shares the word "a" with the 10-word Hausa text: kept share exactly 0.1, so it counts as an
        # edit; the language gate stops it.
        HAU: {7: invalid(0, 1, float(_target(7, LABELS[0]) == "travel"), **clean | dict(language_confusion_rate=1))},
        ZHO: {
            1: dict(accuracy=1, flip_rate=1, target_rate=1, valid_rate=1, valid_target_rate=1, empty_rate=0,
                    truncation_rate=0, **clean, minimality=1 / 8, score=1 - 1 / 8,
                    similarity=_chrf("我们的球队赢了。", chinese_edit), fluency=0.0,
                    faithfulness=1.0, faithfulness_coverage=1),
        },
    }
    return {"root": root, "script": script_path, "expected": expected}


def _mean_over_defined(docs: dict[int, dict]) -> dict[str, float]:
    names = {name for values in docs.values() for name in values}
    return {name: sum(v[name] for v in docs.values() if name in v) / sum(name in v for v in docs.values()) for name in names}


def _random_baseline(record: dict) -> float | None:
    """Spearman of (share of the pseudo-explanation deleted, outcome) over the logged deletions."""
    measured = record["interventions"]["random"]
    explained = set(measured["explanation"])
    shares = [len(explained & set(deleted)) / len(deleted) for deleted in measured["deletions"]]
    outcomes = [1.0 - after for after in measured["prob_after"]]
    if len(set(shares)) < 2 or len(set(outcomes)) < 2:
        return None
    return float(spearmanr(shares, outcomes).statistic)


def _check(results: dict, samples: dict, expected: dict) -> None:
    for task, docs in expected.items():
        by_key = {s["doc"]["index_id"]: s for s in samples[task]}
        assert set(by_key) == set(docs)
        for index_id, values in docs.items():
            sample = by_key[index_id]
            record = json.loads(sample["filtered_resps"][0])
            if record["interventions"]:
                # p(y | x) is 1 for a keyword document: outcome = 1 - p(y | x without S).
                baseline = _random_baseline(record)
                if baseline is not None:
                    values = values | {"faithfulness_random": baseline}
            measured = {name: sample[name] for name in NAMES if name in sample}
            assert measured == pytest.approx(values, abs=1e-9), (task, index_id)
            # Every value is derived from the logged record alone.
            assert derive_metrics(Record.from_dict(record)) == pytest.approx(measured, abs=1e-12)
            assert record["max_gen_toks"] == MAX_GEN_TOKS
        reported = {key.split(",")[0]: value for key, value in results["results"][task].items()
                    if key.endswith(",macro") and "_stderr" not in key}
        aggregated = _mean_over_defined({i: {n: s[n] for n in NAMES if n in s}
                                         for i, s in by_key.items()})
        assert reported == pytest.approx(aggregated, abs=1e-9), task
        counts = results["configs"][task]["metadata"]["documents_per_metric"]
        assert counts == {name: sum(name in sample for sample in by_key.values()) for name in NAMES
                          if any(name in sample for sample in by_key.values())}
        assert counts["accuracy"] == len(docs)
        signature = results["configs"][task]["metadata"]["signature"]
        assert f"|protocol:{PROTOCOL_VERSION}|" in signature and "judge:self" in signature
        assert f'"max_gen_toks":{MAX_GEN_TOKS}' in signature


def test_simple_evaluate_gives_every_hand_computed_metric(scenario):
    import lm_eval
    from lm_eval.tasks import TaskManager

    lm = ScriptedLM(script=str(scenario["script"]))
    manager = TaskManager(include_path=str(TASKS_DIR), include_defaults=False,
                          metadata={"sib200_dir": str(scenario["root"])})
    results = lm_eval.simple_evaluate(model=lm, tasks=[ENG, HAU, ZHO], task_manager=manager, log_samples=True,
                                      gen_kwargs=f"max_gen_toks={MAX_GEN_TOKS}")
    _check(results, results["samples"], scenario["expected"])
    # The prompt names the model's own prediction (travel), not the gold label, and a target != it.
    (prompt,) = [p for p in lm.prompts if "Our hotel" in p]
    assert 'as "travel"' in prompt and "entertainment\"" not in prompt.split("The possible")[0]
    assert f'as "{_target(4, "travel")}" instead' in prompt and _target(4, "travel") != "travel"
    # Batched: the task requests once; per task one generation call, one call classifying
    # the counterfactuals, one for interventions and one rolling call where any is valid.
    assert lm.calls == {"generate_until": 3, "loglikelihood": 1 + 2 + 1 + 2, "loglikelihood_rolling": 2}


def test_lm_eval_command_line_gives_the_same_scores(scenario, tmp_path):
    # No --include_path: the installed start-up hook must make lm_eval find our tasks.
    # lm-eval 0.4.13 has no model plugins: register the scripted model at start-up.
    (tmp_path / "sitecustomize.py").write_text(
        f"import sys; sys.path.insert(0, {str(REPO)!r}); import tests.scripted_lm\n", encoding="utf-8"
    )
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    lm_eval = Path(sys.executable).with_name("lm_eval")
    out = tmp_path / "out"
    completed = subprocess.run(
        [str(lm_eval), "--model", "macro-bench-scripted", "--model_args", f"script={scenario['script']}",
         "--tasks", f"macro_sib200_eng_Lat*,{HAU},{ZHO}",  # a glob, as users type it
         "--metadata", json.dumps({"sib200_dir": str(scenario["root"])}),
         "--gen_kwargs", f"max_gen_toks={MAX_GEN_TOKS}",
         "--output_path", str(out), "--log_samples"],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    assert "valid_rate" in completed.stdout
    (results_file,) = out.rglob("results_*.json")
    results = json.loads(results_file.read_text(encoding="utf-8"))
    samples = {}
    for task in (ENG, HAU, ZHO):
        (path,) = out.rglob(f"samples_{task}_*.jsonl")
        samples[task] = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    _check(results, samples, scenario["expected"])


class _ExtraModel(ScriptedLM):
    """Judge and fluency scorer: always predicts geography; -1 nat per character."""

    built: list[str] = []

    @classmethod
    def create_from_arg_string(cls, arg_string: str, additional_config: dict | None = None):
        cls.built.append(arg_string)
        return cls()

    def loglikelihood(self, requests):
        self.calls["loglikelihood"] += 1
        return [(0.0 if request.args[1].strip() == "geography" else -100.0, False) for request in requests]

    def loglikelihood_rolling(self, requests):
        self.calls["loglikelihood_rolling"] += 1
        return [-float(len(request.args[0])) for request in requests]


@pytest.mark.parametrize("role", ["judge", "fluency_lm"])
def test_judge_and_fluency_lm_replace_the_model_load_once_and_sign(scenario, monkeypatch, role):
    import lm_eval
    from lm_eval.api import registry
    from lm_eval.tasks import TaskManager

    from macro_bench.lm_eval_adapter import second_pass_filter

    monkeypatch.setattr(registry, "get_model", lambda name: _ExtraModel)
    monkeypatch.setattr(second_pass_filter, "_EXTRA_MODELS", {})
    _ExtraModel.built.clear()
    lm = ScriptedLM(script=str(scenario["script"]))
    spec = "pretrained=org/extra,dtype=float32"
    manager = TaskManager(include_path=str(TASKS_DIR), include_defaults=False,
                          metadata={"sib200_dir": str(scenario["root"]), role: spec})
    results = lm_eval.simple_evaluate(model=lm, tasks=[ENG, ZHO], task_manager=manager, log_samples=True,
                                      gen_kwargs=f"max_gen_toks={MAX_GEN_TOKS}")
    assert _ExtraModel.built == [spec]  # once for both tasks
    english = {s["doc"]["index_id"]: s for s in results["samples"][ENG]}
    if role == "judge":
        # The judge predicts geography for x and every x': nothing flips, nothing is valid;
        # accuracy stays M's own (the task's requests), and the prompt still states M's prediction.
        for task in (ENG, ZHO):
            assert results["results"][task]["flip_rate,macro"] == 0.0
            assert results["results"][task]["valid_rate,macro"] == 0.0
        assert results["results"][ENG]["accuracy,macro"] == pytest.approx(5 / 6)
        assert 'as "sports"' in json.loads(english[1]["filtered_resps"][0])["instruction"]
    else:
        # -1 nat per character, whitespace tokens: fluency = (chars(x') - chars(x)) / 10 tokens.
        record = json.loads(english[1]["filtered_resps"][0])
        expected = (len(record["counterfactual"]) - len(record["original"])) / 10
        assert english[1]["fluency"] == pytest.approx(expected) and expected != 0
        assert lm.calls["loglikelihood_rolling"] == 0
    signature = results["configs"][ENG]["metadata"]["signature"]
    assert f"{'judge' if role == 'judge' else 'fluency'}:{spec}" in signature

"""Robustness through lm-eval itself: garbage answers, broken scores, bad data, reruns.

Every check here runs real ``lm_eval.simple_evaluate`` calls on crafted SIB-200
folders with ``tests/garbage_lm.py``, and writes the output with lm-eval's own
``EvaluationTracker`` exactly as the ``lm_eval`` command does:

* one run (``garbage_run``) holds every kind of broken answer and broken score, one
  per document, so that the expensive start-up is paid once;
* hypothesis draws random answers (control, format, combining, surrogate code points)
  and random scores (NaN, +-inf, huge) for a whole task per example;
* bad data folders must stop the run with an error naming the file and line;
* identical runs, runs in another process, and a run resumed from lm-eval's
  ``--use_cache`` after a crash must give the same numbers.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

from macro_bench import protocol
from macro_bench.data import LABELS, Sib200DataError
from macro_bench.documents import doc_to_text
from macro_bench.tokenization import tokenize

from .garbage_lm import PROMPT, GarbageLM, ModelCrashed
from .scripted_lm import KEYWORDS

REPO = Path(__file__).resolve().parents[1]
TASKS_DIR = REPO / "tasks"
HEADER = "index_id\tcategory\ttext\n"
ENG, FRA, DEU = "macro_sib200_eng_Latn", "macro_sib200_fra_Latn", "macro_sib200_deu_Latn"

BINARY_METRICS = (
    "flip_rate", "target_rate", "copy_rate", "empty_rate", "language_confusion_rate", "accuracy",
    "faithfulness_defined",
)
ALWAYS_REPORTED = (
    "flip_rate", "target_rate", "minimality", "faithfulness", "faithfulness_defined", "copy_rate",
    "empty_rate", "accuracy",
)
ABSENT = object()  # expected: the metric is left out for this document (undefined)

# Documents: a keyword sentence per gold label, tagged with "ref<id>" more often than
# an intervention deletes tokens. So every text the scoring pass classifies (x, x', each
# x without S_k) belongs to one document: the pass scores a text once however many
# documents produce it, and the garbage model scripts scores per document.
SENTENCES = {
    "sports": "The football team won the final match on Sunday",
    "health": "A doctor opened a clinic in the small village",
    "politics": "The election results were announced last night",
    "travel": "Our hotel near the beach was full in July",
    "entertainment": "The new film was shown in every cinema",
    "geography": "The mountain range crosses three large countries",
}
NON_SCIENCE = tuple(SENTENCES)  # gold labels; no document is science/technology (label 0)
REF_TAGS = 5


def _keyword(label: str) -> str:
    return KEYWORDS[label][0]


def _eng_doc(index_id: int) -> dict:
    gold = NON_SCIENCE[index_id % len(NON_SCIENCE)]
    text = SENTENCES[gold] + f" ref{index_id}" * REF_TAGS + " ."
    assert protocol.deletion_set_size(len(tokenize(text))) < REF_TAGS
    return {"index_id": index_id, "category": gold, "text": text, "language": "eng_Latn",
            "target_label": protocol.choose_target(index_id, gold)}


def _edit(doc: dict) -> str:
    """The ideal counterfactual: the gold keyword swapped for the target's keyword."""
    return doc["text"].replace(_keyword(doc["category"]), _keyword(doc["target_label"]))


def _prompt(doc: dict) -> str:
    return doc_to_text(doc)


# ---------------------------------------------------------------------------------
# The garbage cases. Each: (name, generation from doc, expected metric values).
# "pred(x')" of an empty counterfactual is the tie-break label 0 (science/technology),
# which is never gold here, so such documents flip.
# ---------------------------------------------------------------------------------

def _empty_expectation(doc: dict) -> dict:
    return {"empty_rate": 1.0, "copy_rate": 0.0, "minimality": 1.0, "flip_rate": 1.0,
            "target_rate": float(doc["target_label"] == LABELS[0]), "faithfulness": 0.0,
            "faithfulness_defined": 0.0, "accuracy": 1.0,
            "fluency": ABSENT, "language_confusion_rate": ABSENT, "counterfactual": None}


def _edit_expectation(doc: dict) -> dict:
    return {"empty_rate": 0.0, "copy_rate": 0.0, "flip_rate": 1.0, "target_rate": 1.0, "accuracy": 1.0,
            "language_confusion_rate": 0.0, "counterfactual": _edit(doc)}


def _zalgo(text: str) -> str:
    return "".join(c + "\u0301\u0334\u0317" if c.isalpha() else c for c in text)


GARBAGE_CASES = [
    ("empty string", lambda d: "", _empty_expectation),
    ("whitespace only", lambda d: " \t\n\u3000\u00a0\u2003 \r\n ", _empty_expectation),
    ("control characters only", lambda d: "\x00\x01\x07\x1b\x7f\x00", _empty_expectation),
    ("zero-width and bidi marks only", lambda d: "\u200b\u200c\u200d\u2060\ufeff\u200e\u202e\u2066",
     _empty_expectation),
    ("unclosed reasoning", lambda d: "<think>The topic is sports, so I should", _empty_expectation),
    # An answer that is nothing but the prompt keeps its first echoed line, so that
    # the prompt-echo gate counts it rather than empty_rate; it is no copy of x
    # although x is inside the prompt.
    ("prompt echoed back", lambda d: PROMPT,
     lambda d: {"empty_rate": 0.0, "copy_rate": 0.0, "counterfactual": _prompt(d).split("\n")[0]}),
    # A base model that echoes its prompt and continues: the continuation is the answer.
    ("prompt echoed, then the answer", lambda d: f"{PROMPT} {_edit(d)}", _edit_expectation),
    ("original copied", lambda d: d["text"],
     lambda d: {"copy_rate": 1.0, "empty_rate": 0.0, "minimality": 0.0, "flip_rate": 0.0, "target_rate": 0.0,
                "faithfulness": 0.0, "faithfulness_defined": 0.0, "fluency": 1.0,
                "language_confusion_rate": 0.0, "accuracy": 1.0, "counterfactual": d["text"]}),
    ("original copied, re-spaced", lambda d: "  " + d["text"].replace(" ", "  ") + " \n",
     lambda d: {"copy_rate": 1.0, "empty_rate": 0.0, "minimality": 0.0, "flip_rate": 0.0}),
    # Chinese for an English task; no keyword, so the classifier is uniform -> label 0.
    ("different language", lambda d: "这个城市的人们每天早上都在公园里散步。",
     lambda d: {"language_confusion_rate": 1.0, "empty_rate": 0.0, "copy_rate": 0.0, "minimality": 1.0,
                "flip_rate": 1.0}),
    ("100x longer than the input", lambda d: " ".join([_edit(d)] * 100),
     lambda d: {"empty_rate": 0.0, "copy_rate": 0.0, "language_confusion_rate": 0.0, "fluency": 1.0,
                "minimality": pytest.approx(0.99, abs=0.005), "target_rate": 1.0}),
    ("control characters inside", lambda d: "\x1b[31m" + _edit(d).replace(" ", " \x07\x0b ", 2) + "\x7f",
     lambda d: {"empty_rate": 0.0, "copy_rate": 0.0, "target_rate": 1.0}),
    ("NUL bytes inside", lambda d: _edit(d).replace(" ", "\x00 "),
     lambda d: {"empty_rate": 0.0, "copy_rate": 0.0, "target_rate": 1.0}),
    ("NUL bytes for spaces", lambda d: d["text"].replace(" ", "\x00"),
     lambda d: {"empty_rate": 0.0, "flip_rate": 0.0}),
    ("zero-width and bidi marks inside", lambda d: "\u202e" + _edit(d).replace(" ", "\u200b ") + "\u2066\u200f",
     lambda d: {"empty_rate": 0.0, "copy_rate": 0.0, "target_rate": 1.0}),
    ("combining marks on every letter", lambda d: _zalgo(_edit(d)),
     lambda d: {"empty_rate": 0.0, "copy_rate": 0.0}),
    ("combining marks only", lambda d: "\u0301" * 40, lambda d: {"copy_rate": 0.0}),
    ("emoji inside",
     lambda d: "\U0001F3E5 " + _edit(d) + " \U0001F469\u200d\u2695\ufe0f \U0001F1FA\U0001F1F3 \U0001F44D\U0001F3FD",
     lambda d: {"empty_rate": 0.0, "copy_rate": 0.0, "target_rate": 1.0}),
    # No letter: nothing for the language identifier, so confusion is not counted.
    ("emoji only", lambda d: "\U0001F3C8\u26bd\ufe0f\U0001F44D\U0001F3FD",
     lambda d: {"empty_rate": 0.0, "copy_rate": 0.0, "language_confusion_rate": ABSENT}),
    ("chatty answer with a quoted counterfactual",
     lambda d: f'Sure! Here is the edited text:\n\n"{_edit(d)}"\n\nI replaced "{_keyword(d["category"])}" '
               f'with "{_keyword(d["target_label"])}" to change the topic.',
     _edit_expectation),
    ("chatty answer with a code fence",
     lambda d: f"Of course.\n\n```text\n{_edit(d)}\n```\n\nThis edit changes the topic.",
     _edit_expectation),
]

# Broken scores: every classification request of the document gets these label
# log-likelihoods (x, x' and all interventions alike), or its rolling
# log-likelihoods (x and x') are this value. The answer itself is the ideal edit.
NAN, INF = math.nan, math.inf
UNIFORM = [1 / 7] * 7
LABEL_SCORE_CASES = [
    # (name, the 7 label scores, predicted label index, its probability vector)
    ("all NaN", [NAN] * 7, 0, UNIFORM),
    ("all +inf", [INF] * 7, 0, UNIFORM),
    ("all -inf", [-INF] * 7, 0, UNIFORM),
    ("all equal", [-3.25] * 7, 0, UNIFORM),
    ("NaN, +-inf mixed", [NAN, 0.0, INF, NAN, INF, -INF, 5.0], 2, [0, 0, 0.5, 0, 0.5, 0, 0]),
    ("huge finite", [-1e308, 1e308, -1e308, 1e307, -1e308, -1e308, -1e308], 1, [0, 1, 0, 0, 0, 0, 0]),
]


def _clamped_fluency(doc: dict) -> float:
    """Fluency when x and x' both score -1e300: per-byte values differ by ~1e298 nats,
    which the ratio clamps to exp(+-700) (finite), by the sign of the length change."""
    change = len(_edit(doc).encode()) - len(doc["text"].encode())
    return 1.0 if change == 0 else math.exp(-700.0 if change > 0 else 700.0)


ROLLING_SCORE_CASES = [
    # (name, rolling log-likelihood of x and x', expected fluency)
    ("rolling NaN", NAN, lambda d: ABSENT),
    ("rolling +inf", INF, lambda d: ABSENT),
    ("rolling -inf", -INF, lambda d: ABSENT),
    ("rolling huge finite", -1e300, _clamped_fluency),
]

# French documents whose answers hold lone surrogates, in a task of their own so that
# what lm-eval's sample writer does with them cannot hide other tasks' samples.
SURROGATE_ANSWERS = [
    "\ud800",
    "L'équipe de \udfff doctor a gagné le match.",
    "\udc80\udc80 hotel \ud83d",  # a high surrogate without its pair, as a cut-off emoji
    "L'équipe de doctor a gagné le match numéro un.",  # a clean answer after the broken ones
]


def _write_split(folder: Path, rows: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"{r['index_id']}\t{r['category']}\t{r['text']}\n" for r in rows]
    (folder / "test.tsv").write_text(HEADER + "".join(lines), encoding="utf-8")


@pytest.fixture(scope="module")
def garbage_setup(tmp_path_factory):
    """A SIB-200 folder and the GarbageLM script of every case above.

    The language folders hold only test.tsv: train and dev are never read, so a
    release copy without them must work.
    """
    root = tmp_path_factory.mktemp("sib200")
    docs, generations, label_scores, rolling_scores, expected = {}, {}, {}, {}, {}
    index_id = 0

    def add(generation, expectation):
        nonlocal index_id
        index_id += 1
        doc = _eng_doc(index_id)
        docs[index_id], generations[index_id] = doc, generation(doc)
        expected[index_id] = expectation(doc)
        return index_id

    for name, generation, expectation in GARBAGE_CASES:
        case = add(generation, expectation)
        expected[case]["case"] = name
    for name, scores, predicted, probabilities in LABEL_SCORE_CASES:
        case = add(_edit, lambda d, p=predicted: {
            "prediction": LABELS[p], "flip_rate": 0.0, "faithfulness": 0.0, "faithfulness_defined": 0.0,
            "accuracy": float(d["category"] == LABELS[p]), "target_rate": float(d["target_label"] == LABELS[p]),
            "empty_rate": 0.0, "copy_rate": 0.0})
        label_scores[case] = scores
        expected[case].update(case=name, probabilities=probabilities)
    for name, score, fluency in ROLLING_SCORE_CASES:
        case = add(_edit, lambda d, f=fluency: {"target_rate": 1.0, "flip_rate": 1.0, "fluency": f(d)})
        rolling_scores[case] = score
        expected[case]["case"] = name
        if expected[case]["fluency"] is ABSENT:
            expected[case].update(loglik_original=None, loglik_counterfactual=None)
    _write_split(root / "eng_Latn", list(docs.values()))

    french = [{"index_id": 900 + i, "category": "sports",
               "text": f"L'équipe de football a gagné le match numéro {i}."} for i in range(len(SURROGATE_ANSWERS))]
    _write_split(root / "fra_Latn", french)
    for row, answer in zip(french, SURROGATE_ANSWERS, strict=True):
        generations[row["index_id"]] = answer

    # A model whose rolling log-likelihoods are all NaN: no document has a fluency.
    german = [{"index_id": 950 + i, "category": "sports",
               "text": f"Die Mannschaft hat das Spiel Nummer {i} gewonnen."} for i in range(2)]
    _write_split(root / "deu_Latn", german)
    for row in german:
        generations[row["index_id"]] = row["text"].replace("Spiel", "Wahl")
        rolling_scores[row["index_id"]] = NAN
    return {"root": root, "docs": docs, "generations": generations, "label_scores": label_scores,
            "rolling_scores": rolling_scores, "expected": expected}


def _task_manager(root: Path):
    # What simple_evaluate(metadata={"sib200_dir": ...}) and `lm_eval --metadata` build,
    # restricted to our tasks folder so no test scans lm-eval's own 10k tasks.
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=str(TASKS_DIR), include_defaults=False, metadata={"sib200_dir": str(root)})


def _model(setup: dict, **kwargs) -> GarbageLM:
    return GarbageLM(setup["generations"], setup["label_scores"], setup["rolling_scores"], **kwargs)


def _evaluate(setup: dict, lm, tasks=(ENG, FRA, DEU), **kwargs) -> dict:
    import lm_eval

    return lm_eval.simple_evaluate(model=lm, tasks=list(tasks), task_manager=_task_manager(setup["root"]),
                                   log_samples=True, **kwargs)


def _save_like_the_cli(results: dict, tracker) -> None:
    """What lm_eval's `run` command does after simple_evaluate (lm_eval/_cli/run.py).

    Copies first: lm-eval's writers mutate the dicts they are given.
    """
    results = copy.deepcopy(results)
    samples = results.pop("samples")
    tracker.save_results_aggregated(results=results, samples=samples)
    for task_name in results["configs"]:
        tracker.save_results_samples(task_name=task_name, samples=samples[task_name])


@pytest.fixture(scope="module")
def garbage_run(garbage_setup, tmp_path_factory):
    from lm_eval.loggers import EvaluationTracker

    output_path = tmp_path_factory.mktemp("lm_eval_output")
    tracker = EvaluationTracker(output_path=str(output_path))
    lm = _model(garbage_setup)
    results = _evaluate(garbage_setup, lm, evaluation_tracker=tracker)
    _save_like_the_cli(results, tracker)
    return {"results": results, "output_path": output_path, "lm": lm}


def _by_index(samples: list[dict]) -> dict[int, dict]:
    return {sample["doc"]["index_id"]: sample for sample in samples}


def _reject_constant(name: str):
    raise ValueError(f"non-standard JSON constant {name}")


def _strict_json(text: str):
    """json.loads that rejects NaN, Infinity and -Infinity, as every other JSON parser does."""
    return json.loads(text, parse_constant=_reject_constant)


@pytest.mark.parametrize("text", ['{"a": NaN}', '{"a": Infinity}', '[-Infinity]'])
def test_strict_json_parser_rejects_what_python_json_writes_for_nan_and_inf(text):
    assert json.loads(text)  # Python's own json reads it back ...
    with pytest.raises(ValueError, match="non-standard JSON constant"):
        _strict_json(text)  # ... but no other JSON parser would


def _walk_numbers(value, where=""):
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk_numbers(item, f"{where}.{key}")
    elif isinstance(value, (list, tuple)):
        for position, item in enumerate(value):
            yield from _walk_numbers(item, f"{where}[{position}]")


def _assert_document_in_range(sample: dict) -> None:
    """Every per-document metric and measurement is in its documented range."""
    where = (sample["doc"]["index_id"], _measured(sample)["generation"][:60])
    values = {name: sample[name] for name in sample["metrics"]}
    measured = _measured(sample)
    assert set(ALWAYS_REPORTED) <= set(values), where
    for name, value in values.items():
        assert isinstance(value, float) and math.isfinite(value), (where, name, value)
    for name in BINARY_METRICS:
        if name in values:
            assert values[name] in (0.0, 1.0), (where, name)
    assert 0.0 <= values["minimality"] <= 1.0, where
    assert -1.0 <= values["faithfulness"] <= 1.0, where
    if not values["faithfulness_defined"]:
        assert values["faithfulness"] == 0.0, where
    if "fluency" in values:
        assert 0.0 < values["fluency"] < math.inf, where
    # The documented relations between the measurements.
    counterfactual = measured["counterfactual"]
    assert values["empty_rate"] == float(counterfactual is None or not tokenize(counterfactual)), where
    assert not (values["empty_rate"] and values["copy_rate"]), where
    if values["copy_rate"]:
        assert values["minimality"] == 0.0, where
    assert ("fluency" in values) == (
        measured["loglik_original"] is not None and measured["loglik_counterfactual"] is not None
    ), where
    for probabilities in (measured["label_probs_original"], measured["label_probs_counterfactual"]):
        assert len(probabilities) == len(LABELS) and all(0.0 <= p <= 1.0 for p in probabilities), where
        assert math.fsum(probabilities) == pytest.approx(1.0), where
    assert measured["prediction_original"] in LABELS and measured["prediction_counterfactual"] in LABELS
    n_tokens = measured["original_tokens"]
    assert len(measured["interventions"]) == protocol.DEFAULT_INTERVENTIONS, where
    for intervention in measured["interventions"]:
        positions = intervention["deleted_positions"]
        assert len(positions) == protocol.deletion_set_size(n_tokens), where
        assert all(0 <= p < n_tokens for p in positions), where
        assert math.isfinite(intervention["outcome"]) and -1.0 <= intervention["outcome"] <= 1.0, where
    assert not re.search("[\ud800-\udfff]", measured["generation"]), where


def _assert_results_in_range(results: dict, tasks) -> None:
    """The aggregated results hold no NaN or infinity, and every metric is in range."""
    for where, number in _walk_numbers(results["results"]):
        assert math.isfinite(number), (where, number)
    for task in tasks:
        reported = results["results"][task]
        for name in ALWAYS_REPORTED:
            assert f"{name},macro" in reported, (task, name)
        for key, value in reported.items():
            if not key.endswith(",macro"):
                continue
            metric = key.split(",")[0]
            if metric.endswith("_stderr"):
                assert value == "N/A" or (math.isfinite(value) and value >= 0), (task, key, value)
            elif metric == "faithfulness":
                assert -1.0 <= value <= 1.0, (task, key)
            elif metric == "fluency":
                assert 0.0 < value < math.inf, (task, key)
            else:
                assert 0.0 <= value <= 1.0, (task, key)


def _written_files(output_path: Path) -> tuple[dict, dict[str, list[str]]]:
    (results_file,) = output_path.rglob("results_*.json")
    samples = {}
    for path in output_path.rglob("samples_*.jsonl"):
        task = re.match(r"samples_(macro_sib200_\w+?)_\d{4}-", path.name).group(1)
        samples[task] = path.read_text(encoding="utf-8").splitlines()
    return _strict_json(results_file.read_text(encoding="utf-8")), samples


# ------------------------------------ model output ------------------------------------


def test_every_garbage_answer_and_score_gets_its_documented_metrics(garbage_setup, garbage_run):
    samples = _by_index(garbage_run["results"]["samples"][ENG])
    assert set(samples) == set(garbage_setup["docs"])
    for index_id, expected in garbage_setup["expected"].items():
        sample = samples[index_id]
        where = expected["case"]
        _assert_document_in_range(sample)
        measured = _measured(sample)
        values = {name: sample[name] for name in sample["metrics"]}
        for name, value in expected.items():
            if name == "case":
                continue
            if name == "counterfactual":
                assert measured["counterfactual"] == value, where
            elif name == "prediction":
                assert measured["prediction_original"] == value, where
                assert measured["prediction_counterfactual"] == value, where
            elif name == "probabilities":
                assert measured["label_probs_original"] == pytest.approx(value), where
                assert measured["label_probs_counterfactual"] == pytest.approx(value), where
            elif name in ("loglik_original", "loglik_counterfactual"):
                assert measured[name] is value, where
            elif value is ABSENT:
                assert name not in values, (where, name, values.get(name))
            else:
                assert values.get(name) == value, (where, name, values.get(name))


def test_garbage_run_results_are_finite_and_in_range(garbage_run):
    results = garbage_run["results"]
    _assert_results_in_range(results, (ENG, FRA, DEU))
    eng = results["results"][ENG]
    n_cases = len(GARBAGE_CASES) + len(LABEL_SCORE_CASES) + len(ROLLING_SCORE_CASES)
    assert eng["sample_len"] == n_cases


def test_task_without_any_defined_fluency_reports_none(garbage_run):
    """lm-eval aggregates a metric over the documents that report it; with none, the
    task has no fluency at all (not NaN, and not geometric_mean's 1.0 for no values)."""
    results = garbage_run["results"]
    assert all("fluency" not in sample["metrics"] for sample in results["samples"][DEU])
    assert not any(key.startswith("fluency") for key in results["results"][DEU])
    assert results["results"][DEU]["flip_rate,macro"] == 0.0  # the task itself was scored


def test_lone_surrogates_become_replacement_characters_and_score_in_range(garbage_run):
    samples = _by_index(garbage_run["results"]["samples"][FRA])
    assert len(samples) == len(SURROGATE_ANSWERS)
    for sample, answer in zip(sorted(samples.values(), key=lambda s: s["doc"]["index_id"]), SURROGATE_ANSWERS):
        _assert_document_in_range(sample)
        assert _measured(sample)["generation"] == re.sub("[\ud800-\udfff]", "\ufffd", answer)
    assert _measured(samples[900])["counterfactual"] == "\ufffd"


def test_results_file_written_by_lm_eval_is_strict_json_without_nan(garbage_run):
    written, _ = _written_files(garbage_run["output_path"])
    for task in (ENG, FRA, DEU):
        assert written["results"][task] == garbage_run["results"]["results"][task]
    assert "signature" in written["configs"][ENG]["metadata"]


def _measured(sample: dict) -> dict:
    """The scoring pass's measurements for a sample (a JSON string in filtered_resps)."""
    return json.loads(sample["filtered_resps"][0])


def _strict_sample(line: str) -> dict:
    sample = _strict_json(line)
    # Our filtered_resps is a JSON string (lm-eval writes it through str()); parse it
    # strictly too, so a NaN inside the measurements fails as well.
    sample["filtered_resps"] = [_strict_json(item) for item in sample["filtered_resps"]]
    return sample


def test_samples_file_written_by_lm_eval_is_strict_json_without_nan(garbage_run):
    _, written = _written_files(garbage_run["output_path"])
    in_memory = _by_index(garbage_run["results"]["samples"][ENG])
    lines = written[ENG]
    assert len(lines) == len(in_memory)
    for line in lines:
        sample = _strict_sample(line)
        expected = in_memory[sample["doc"]["index_id"]]
        assert sample["filtered_resps"] == [_measured(expected)]
        assert {name: sample[name] for name in sample["metrics"]} == {
            name: expected[name] for name in expected["metrics"]
        }


def test_samples_with_lone_surrogates_are_all_written(garbage_run):
    """lm-eval writes the raw answer ("resps") with ensure_ascii=False to a UTF-8 file.

    A lone surrogate cannot be encoded, and save_results_samples catches the error,
    logs "Could not save sample results" and moves on: the task's file is cut off.
    """
    _, written = _written_files(garbage_run["output_path"])
    lines = written.get(FRA, [])
    assert len(lines) == len(SURROGATE_ANSWERS), f"{len(lines)} of {len(SURROGATE_ANSWERS)} samples written"
    for line in lines:
        _strict_sample(line)


# Random garbage: answers from every corner of Unicode, scores from every corner of float.
_NASTY_PIECES = st.one_of(
    st.characters(),
    st.characters(categories=["Cc", "Cf", "Cs", "Mn", "Me", "Zs", "Zl", "Zp", "So", "Co", "Cn"]),
    st.sampled_from(list("\x00\n\r\t \"'`«»「」*#:\u200b\u200d\u202e\ufffd")
                    + ["```", "</think>", "<think>", "<|im_end|>", "Answer:", "\n\n", PROMPT, "doctor"]),
)
_ANSWERS = st.lists(_NASTY_PIECES, max_size=80).map("".join)
_SCORE = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([NAN, INF, -INF, 0.0, -1e308])
_LABEL_SCORES = st.none() | st.lists(_SCORE, min_size=7, max_size=7)
_ROLLING = st.none() | _SCORE
N_RANDOM_DOCS = 24


@pytest.fixture(scope="module")
def random_setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("sib200_random")
    docs = [_eng_doc(i) for i in range(1, N_RANDOM_DOCS + 1)]
    _write_split(root / "eng_Latn", docs)
    return {"root": root, "docs": docs}


@settings(max_examples=3, deadline=None, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_random_garbage_answers_and_scores_never_crash_or_leave_range(random_setup, tmp_path_factory, data):
    from lm_eval.loggers import EvaluationTracker

    ids = [doc["index_id"] for doc in random_setup["docs"]]
    generations = dict(zip(ids, data.draw(st.lists(_ANSWERS, min_size=len(ids), max_size=len(ids)))))
    label_scores = {i: s for i, s in zip(ids, data.draw(st.lists(_LABEL_SCORES, min_size=len(ids),
                                                                   max_size=len(ids)))) if s is not None}
    rolling = {i: s for i, s in zip(ids, data.draw(st.lists(_ROLLING, min_size=len(ids), max_size=len(ids))))
               if s is not None}
    note(f"generations={generations!r}\nlabel_scores={label_scores!r}\nrolling={rolling!r}")
    output_path = tmp_path_factory.mktemp("random_output")
    tracker = EvaluationTracker(output_path=str(output_path))
    results = _evaluate(random_setup, GarbageLM(generations, label_scores, rolling), tasks=(ENG,),
                        evaluation_tracker=tracker)
    _assert_results_in_range(results, (ENG,))
    samples = results["samples"][ENG]
    assert len(samples) == len(ids)
    for sample in samples:
        _assert_document_in_range(sample)
    _save_like_the_cli(results, tracker)
    written, _ = _written_files(output_path)
    assert written["results"][ENG] == results["results"][ENG]


# ----------------------------------------- data -----------------------------------------


def _valid_rows(n: int = 3) -> str:
    return HEADER + "".join(f"{i}\tsports\tThe football match {i} ended late .\n" for i in range(1, n + 1))


DATA_ERRORS = [
    # (name, test.tsv content or None for "no such file", regex the message must match, line)
    ("duplicate index_id", _valid_rows(2) + "2\thealth\tA doctor came .\n", r"duplicate index_id 2", 4),
    ("empty text", _valid_rows(2) + "3\thealth\t\n", r"text is empty", 4),
    ("whitespace-only text", _valid_rows(1) + "2\thealth\t   \n", r"text is empty", 3),
    ("unknown label", _valid_rows(1) + "2\tmedicine\tA doctor came .\n", r"unknown category 'medicine'", 3),
    ("wrong header", "id\tlabel\ttext\n" + _valid_rows(1).split("\n", 1)[1], r"header is id<TAB>label<TAB>text", 1),
    ("too few fields", _valid_rows(2) + "3\thealth\n", r"2 tab-separated field\(s\), expected 3", 4),
    ("too many fields", _valid_rows(1) + "2\thealth\tA doctor\tcame .\n", r"4 tab-separated field\(s\)", 3),
    ("blank line", _valid_rows(1) + "\n" + "3\thealth\tA doctor came .\n", r"0 tab-separated field\(s\)", 3),
    # No visible character: no token, nothing to classify, every answer to it "empty".
    ("invisible-only text", _valid_rows(2) + "3\thealth\t\u200b\u200e\x07\u2063\n", r"empty|visible", 4),
    ("non-integer index_id", _valid_rows(1) + "two\thealth\tA doctor came .\n", r"index_id 'two'", 3),
]


def _run_until_error(root: Path, task: str = ENG) -> str:
    """The message of the error that stops a run on this SIB-200 folder."""
    import lm_eval

    with pytest.raises(Exception) as raised:
        lm_eval.simple_evaluate(model=GarbageLM({}, fail={"generate_until", "loglikelihood", "loglikelihood_rolling"}),
                                tasks=[task], task_manager=_task_manager(root))
    error = raised.value
    assert not isinstance(error, ModelCrashed), "the loader accepted the data: the run went on to generation"
    # Our own error reaches the user, not one lm-eval or datasets made from it.
    assert isinstance(error, Sib200DataError), repr(error)
    return str(error)


@pytest.mark.parametrize(("content", "message", "line"), [case[1:] for case in DATA_ERRORS],
                         ids=[case[0] for case in DATA_ERRORS])
def test_bad_test_split_stops_the_run_naming_file_and_line(tmp_path, content, message, line):
    folder = tmp_path / "eng_Latn"
    folder.mkdir()
    (folder / "test.tsv").write_text(content, encoding="utf-8")
    error = _run_until_error(tmp_path)
    assert f"{folder / 'test.tsv'}, line {line}:" in error, error
    assert re.search(message, error), error


def test_zero_byte_split_stops_the_run_naming_the_file(tmp_path):
    _write_split(tmp_path / "eng_Latn", [])
    (tmp_path / "eng_Latn" / "test.tsv").write_text("", encoding="utf-8")
    error = _run_until_error(tmp_path)
    assert f"{tmp_path / 'eng_Latn' / 'test.tsv'} is empty" in error, error


def test_split_with_a_header_and_no_document_stops_the_run_naming_the_file(tmp_path):
    # lm-eval reads a task's first document while building it; with none it fails
    # inside `datasets` ("Invalid key: 0 is out of bounds for size 0"), naming nothing.
    _write_split(tmp_path / "eng_Latn", [])
    error = _run_until_error(tmp_path)
    assert str(tmp_path / "eng_Latn" / "test.tsv") in error, error
    assert re.search(r"no document", error), error


def test_missing_split_file_stops_the_run_naming_the_file(tmp_path):
    folder = tmp_path / "eng_Latn"
    folder.mkdir()
    for split in ("train", "dev"):
        (folder / f"{split}.tsv").write_text(_valid_rows(), encoding="utf-8")
    error = _run_until_error(tmp_path)
    assert f"SIB-200 split file {folder / 'test.tsv'} does not exist" in error, error
    assert "dev.tsv, train.tsv" in error, error


def test_missing_language_folder_stops_the_run_naming_the_folder(tmp_path):
    _write_split(tmp_path / "eng_Latn", [])
    error = _run_until_error(tmp_path, FRA)
    assert f"SIB-200 language folder {tmp_path / 'fra_Latn'} does not exist" in error, error


def test_missing_sib200_directory_stops_the_run_naming_it(tmp_path):
    error = _run_until_error(tmp_path / "nowhere")
    assert f"SIB-200 directory {tmp_path / 'nowhere'} does not exist" in error, error


# -------------------------------------- determinism --------------------------------------

# Fields of lm-eval's results that describe the run, not its numbers.
_RUN_FIELDS = ("date", "start_time", "end_time", "total_evaluation_time_seconds", "pretty_env_info")


def _comparable(results: dict) -> dict:
    return {key: value for key, value in results.items() if key not in _RUN_FIELDS}


def test_identical_runs_give_identical_results_and_samples(garbage_setup, garbage_run):
    again = _evaluate(garbage_setup, _model(garbage_setup))
    first = garbage_run["results"]
    assert _comparable(again) == _comparable(first)


_CHILD = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, {repo!r})
    import lm_eval
    from lm_eval.tasks import TaskManager
    from tests.garbage_lm import GarbageLM
    lm = GarbageLM.from_json({script!r})
    manager = TaskManager(include_path={tasks!r}, include_defaults=False, metadata={{"sib200_dir": {root!r}}})
    results = lm_eval.simple_evaluate(model=lm, tasks=[{task!r}], task_manager=manager, log_samples=True)
    positions = {{s["doc"]["index_id"]: [i["deleted_positions"] for i in json.loads(s["filtered_resps"][0])["interventions"]]
                 for s in results["samples"][{task!r}]}}
    print(json.dumps({{"hash": hash("macro-bench"), "positions": positions}}))
""")


def test_logged_interventions_are_identical_in_another_process(garbage_setup, garbage_run, tmp_path):
    script = tmp_path / "generations.json"
    script.write_text(json.dumps(garbage_setup["generations"]), encoding="utf-8")
    code = _CHILD.format(repo=str(REPO), script=str(script), tasks=str(TASKS_DIR), root=str(garbage_setup["root"]),
                         task=ENG)
    # Another hash seed than ours, so anything keyed on Python's salted hash() would differ.
    seed = "1" if os.environ.get("PYTHONHASHSEED") == "0" else "0"
    env = dict(os.environ, PYTHONHASHSEED=seed)
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300,
                               cwd=REPO)
    assert completed.returncode == 0, completed.stderr[-4000:]
    child = json.loads(completed.stdout.strip().splitlines()[-1])
    assert child["hash"] != hash("macro-bench")
    ours = {str(s["doc"]["index_id"]): [i["deleted_positions"] for i in _measured(s)["interventions"]]
            for s in garbage_run["results"]["samples"][ENG]}
    assert child["positions"] == ours
    assert all(len(sets) == protocol.DEFAULT_INTERVENTIONS and all(sets) for sets in ours.values())


# --------------------------------------- resumption ---------------------------------------


def test_run_resumed_from_use_cache_after_a_crash_gives_the_uninterrupted_metrics(garbage_setup, garbage_run,
                                                                                 tmp_path):
    """lm-eval 0.4.13's CachingLM (lm_eval/api/model.py) keys each request by
    sha256(json.dumps([method, *request.args])): the method and its arguments only, not
    the document or the model. It stores a call's answers when the call returns, so a
    crash inside loglikelihood keeps the generate_until call that finished before it.
    The scoring pass asks the evaluator's ``lm``, which is that CachingLM, so its
    label and rolling scores are cached and reused like lm-eval's own requests.
    """
    from sqlitedict import SqliteDict

    cache = str(tmp_path / "cache" / "run")
    # 1. Crash after generation: lm-eval has stored each answer as it came back.
    crashing = _model(garbage_setup, fail={"loglikelihood"})
    with pytest.raises(ModelCrashed):
        _evaluate(garbage_setup, crashing, use_cache=cache)
    assert crashing.calls == {"generate_until": 1, "loglikelihood": 1}
    with SqliteDict(cache + "_rank0.db") as stored:
        n_answers = len(stored)
    assert n_answers == len(garbage_setup["generations"])

    # 2. Resume: generating again would raise, so every answer must come from the cache.
    resuming = _model(garbage_setup, fail={"generate_until"})
    resumed = _evaluate(garbage_setup, resuming, use_cache=cache)
    # One batched call of each kind per task's scoring pass.
    assert resuming.calls == {"loglikelihood": 3, "loglikelihood_rolling": 3}
    uninterrupted = garbage_run["results"]
    for task in (ENG, FRA, DEU):
        assert resumed["results"][task] == uninterrupted["results"][task], task
        assert resumed["samples"][task] == uninterrupted["samples"][task], task

    # 3. The scoring pass reaches the model through lm-eval's CachingLM too: a third
    # run whose model can do nothing at all is answered wholly from the cache.
    dead = _model(garbage_setup, fail={"generate_until", "loglikelihood", "loglikelihood_rolling"})
    replayed = _evaluate(garbage_setup, dead, use_cache=cache)
    assert sum(dead.calls.values()) == 0
    for task in (ENG, FRA, DEU):
        assert replayed["results"][task] == uninterrupted["results"][task], task

"""Robustness through lm-eval itself: garbage answers, broken scores, bad data, reruns.

Protocol 2: the task's own ``multiple_choice`` requests classify x, then the second
pass (an lm-eval filter) generates x', classifies it, gates it, and scores
interventions and fluency for valid counterfactuals only; every metric is derived
from the JSON record it logs in ``filtered_resps[0]``. Every check here runs real
``lm_eval.simple_evaluate`` calls on crafted SIB-200 folders with
``tests/garbage_lm.py``, and writes the output with lm-eval's own
``EvaluationTracker`` exactly as the ``lm_eval`` command does:

* one run (``garbage_run``) holds every kind of broken answer and broken score, one
  per document, so that the expensive start-up is paid once; each document's
  metrics are worked out by hand from the rules of ``tests/garbage_lm.py``, the
  gates and the metric cards (only chrF, from sacrebleu, and the random baseline's
  Spearman correlation over the logged deletions are computed by a library);
* every document of every run is checked against the registry: its metrics are the
  ones its population defines, in the registry's range, finite, and derived from a
  record that is strict JSON;
* hypothesis draws random answers (control, format, combining, surrogate code points)
  and random scores (NaN, +-inf, huge) for a whole task per example;
* bad data folders must stop the run with an error naming the file and line;
* identical runs, runs in another process, and a run resumed from lm-eval's
  ``--use_cache`` after a crash in the second pass must give the same numbers.
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
from sacrebleu.metrics import CHRF
from scipy.stats import spearmanr

from macro_bench.protocol import PROTOCOL_VERSION
from macro_bench import interventions, protocol
from macro_bench.datasets.sib200 import LABELS, Sib200DataError
from macro_bench.metrics.document import derive_metrics
from macro_bench.record import Record
from macro_bench.metrics.fluency import FLUENCY_CLIP
from macro_bench.metrics.gates import is_empty
from macro_bench.metrics.registry import BY_NAME, NAMES
from macro_bench.metrics.validity import predict
from macro_bench.preflight import RunCheckError
from macro_bench.tokenization import comparable_token_texts

from .garbage_lm import PROMPT, GarbageLM, ModelCrashed, document_tag
from .scripted_lm import KEYWORDS

REPO = Path(__file__).resolve().parents[1]
TASKS_DIR = REPO / "tasks"
HEADER = "index_id\tcategory\ttext\n"
ENG, FRA, DEU = "macro_sib200_eng_Latn", "macro_sib200_fra_Latn", "macro_sib200_deu_Latn"
SCIENCE = LABELS[0]  # what the keyword classifier predicts for a text without keywords (uniform, lowest index)
NAN, INF = math.nan, math.inf
ABSENT = object()  # expected: the metric is left out for this document (undefined)

# Documents: a keyword sentence per gold label, tagged with "ref<id>" more often than
# an intervention deletes tokens, so every text the second pass classifies for a
# document (x, x', x without S_k) still names it (see tests/garbage_lm.py). No
# document is science/technology, the label of a text without any keyword.
SENTENCES = {
    "sports": "The football team won the final match on Sunday",
    "health": "A doctor opened a clinic in the small village",
    "politics": "The election results were announced last night",
    "travel": "Our hotel near the beach was full in July",
    "entertainment": "The new film was shown in every cinema",
    "geography": "The mountain range crosses three large countries",
}
NON_SCIENCE = tuple(SENTENCES)
REF_TAGS = 5


def _keyword(label: str) -> str:
    return KEYWORDS[label][0]


def _eng_doc(index_id: int) -> dict:
    gold = NON_SCIENCE[index_id % len(NON_SCIENCE)]
    text = SENTENCES[gold] + f" {document_tag(index_id)}" * REF_TAGS + " ."
    content = interventions.content_positions(comparable_token_texts(text))
    assert interventions.deletion_size(len(content)) < REF_TAGS
    return {"index_id": index_id, "category": gold, "text": text}


def _target(doc: dict, prediction: str | None = None) -> str:
    """t for the model's prediction on x (the gold label unless scores are scripted)."""
    return protocol.choose_target(doc["index_id"], prediction or doc["category"], LABELS)


def _edit(doc: dict, prediction: str | None = None) -> str:
    """The ideal counterfactual: the predicted label's keyword swapped for the target's."""
    prediction = prediction or doc["category"]
    return doc["text"].replace(_keyword(doc["category"]), _keyword(_target(doc, prediction)))


def _chrf(original: str, counterfactual: str) -> float:
    return CHRF().sentence_score(counterfactual, [original]).score


# ---------------------------------------------------------------------------------
# Hand-derived expectations. The keyword classifier gives x its gold label with
# probability 1 (accuracy 1), an answer without keyword the uniform distribution
# (prediction science/technology, never gold here, so a flip), the ideal edit the
# target. Rolling scores are -0.5 per whitespace token for x and x': fluency 0.
# One keyword swapped: minimality 1/n (n tokens of x, none added), E = {keyword};
# deleting it drops p(y) from 1 to 1/7 and nothing else moves p(y), and the strata
# put the keyword in some deletions and not in others: faithfulness exactly 1.
# An expectation with "exact" lists every metric the document has.
# ---------------------------------------------------------------------------------

def _expected_invalid(*, flip: float, target: float, accuracy: float = 1.0, **gates) -> dict:
    values = dict(accuracy=accuracy, flip_rate=flip, target_rate=target, valid_rate=0.0, valid_target_rate=0.0,
                  empty_rate=0.0, truncation_rate=0.0, score=0.0, faithfulness_coverage=0.0, copy_rate=0.0,
                  not_an_edit_rate=0.0, repetition_rate=0.0,
                  prompt_echo_rate=0.0, label_statement_rate=0.0, label_insertion_rate=0.0,
                  language_confusion_rate=0.0)
    values.update(gates)
    return {"exact": True, **values}


def _expected_empty(doc: dict) -> dict:
    # No text: no flip, and the gates that read the text are undefined.
    return {"exact": True, "accuracy": 1.0, "flip_rate": 0.0, "target_rate": 0.0, "valid_rate": 0.0,
            "valid_target_rate": 0.0, "empty_rate": 1.0, "truncation_rate": 0.0, "score": 0.0,
            "faithfulness_coverage": 0.0, "counterfactual_is_empty": True}


def _expected_valid(doc: dict, counterfactual: str, *, target: float = 1.0, faithful: bool = True) -> dict:
    minimality = 1 / len(doc["text"].split())
    values = dict(accuracy=1.0, flip_rate=1.0, target_rate=target, valid_rate=1.0, valid_target_rate=target,
                  empty_rate=0.0, truncation_rate=0.0, copy_rate=0.0, prompt_echo_rate=0.0, label_statement_rate=0.0,
                  not_an_edit_rate=0.0, repetition_rate=0.0,
                  label_insertion_rate=0.0, language_confusion_rate=0.0, minimality=minimality,
                  score=1 - minimality, similarity=_chrf(doc["text"], counterfactual), fluency=0.0,
                  faithfulness=1.0 if faithful else ABSENT, faithfulness_coverage=float(faithful))
    return {"exact": True, "counterfactual": counterfactual, **values}


def _expected_ideal_edit(doc: dict) -> dict:
    return _expected_valid(doc, _edit(doc))


def _expected_edit_with_noise(doc: dict) -> dict:
    """The ideal edit plus invisible or symbol characters: still valid. Its minimality and
    E depend on which tokens the noise sticks to (``"\x1b[31mThe"`` edits "The" too)."""
    return {"exact": False, "empty_rate": 0.0, "copy_rate": 0.0, "flip_rate": 1.0, "target_rate": 1.0,
            "valid_rate": 1.0, "language_confusion_rate": 0.0}


def _expected_copy(doc: dict) -> dict:
    return _expected_invalid(flip=0.0, target=0.0, copy_rate=1.0)


def _expected_no_letter(doc: dict) -> dict:
    # No keyword: uniform, a flip to science/technology. No letter at all: not text in the
    # document's language, so the language gate fires and nothing after it is measured.
    return {"exact": False, "empty_rate": 0.0, "copy_rate": 0.0, "language_confusion_rate": 1.0,
            "flip_rate": 1.0, "valid_rate": 0.0, "minimality": ABSENT, "score": 0.0,
            "target_rate": float(_target(doc) == SCIENCE), "faithfulness": ABSENT, "faithfulness_coverage": 0.0}


def _zalgo(text: str) -> str:
    return "".join(c + "\u0301\u0334\u0317" if c.isalpha() else c for c in text)


GARBAGE_CASES = [
    # (name, generation from doc, expected metrics from doc)
    ("empty string", lambda d: "", _expected_empty),
    ("whitespace only", lambda d: " \t\n\u3000\u00a0\u2003 \r\n ", _expected_empty),
    ("control characters only", lambda d: "\x00\x01\x07\x1b\x7f\x00", _expected_empty),
    ("zero-width and bidi marks only", lambda d: "\u200b\u200c\u200d\u2060\ufeff\u200e\u202e\u2066",
     _expected_empty),
    ("unclosed reasoning", lambda d: "<think>The topic is sports, so I should", _expected_empty),
    # An answer that is only the echoed prompt keeps its first line, which names the
    # labels (a label statement) and is the instruction (a prompt echo); it has no
    # keyword, so the classifier flips to science/technology.
    ("prompt echoed back", lambda d: PROMPT,
     lambda d: _expected_invalid(flip=1.0, target=float(_target(d) == SCIENCE), prompt_echo_rate=1.0,
                                 label_statement_rate=1.0, not_an_edit_rate=1.0) | {"counterfactual_is_first_prompt_line": True}),
    # A base model that echoes its prompt and continues: the continuation is the answer.
    ("prompt echoed, then the answer", lambda d: f"{PROMPT} {_edit(d)}", _expected_ideal_edit),
    ("original copied", lambda d: d["text"], _expected_copy),
    ("original copied, re-spaced", lambda d: "  " + d["text"].replace(" ", "  ") + " \n", _expected_copy),
    ("different language", lambda d: "这个城市的人们每天早上都在公园里散步。",
     lambda d: _expected_invalid(flip=1.0, target=float(_target(d) == SCIENCE), language_confusion_rate=1.0,
                                 not_an_edit_rate=1.0)),
    # 100 copies of the edit: 100 n whitespace tokens >= max_gen_toks (256), but x' ends with
    # the edit's full stop, so it was not cut (protocol 3); it loops, which the repetition gate stops.
    ("100x longer than the input", lambda d: " ".join([_edit(d)] * 100),
     lambda d: _expected_invalid(flip=1.0, target=1.0, truncation_rate=0.0, repetition_rate=1.0)),
    ("control characters inside", lambda d: "\x1b[31m" + _edit(d).replace(" ", " \x07\x0b ", 2) + "\x7f",
     _expected_edit_with_noise),
    ("NUL bytes inside", lambda d: _edit(d).replace(" ", "\x00 "), _expected_edit_with_noise),
    # x again with NUL for every space: the same tokens, so no flip; not a copy by the
    # gate's definition (NUL is no whitespace), which is documented and harmless here.
    ("NUL bytes for spaces", lambda d: d["text"].replace(" ", "\x00"),
     lambda d: {"exact": False, "empty_rate": 0.0, "flip_rate": 0.0, "valid_rate": 0.0}),
    ("zero-width and bidi marks inside", lambda d: "\u202e" + _edit(d).replace(" ", "\u200b ") + "\u2066\u200f",
     _expected_edit_with_noise),
    ("combining marks on every letter", lambda d: _zalgo(_edit(d)),
     lambda d: {"exact": False, "empty_rate": 0.0, "copy_rate": 0.0}),
    ("combining marks only", lambda d: "\u0301" * 40, _expected_no_letter),
    ("emoji inside",
     lambda d: "\U0001F3E5 " + _edit(d) + " \U0001F469\u200d\u2695\ufe0f \U0001F1FA\U0001F1F3 \U0001F44D\U0001F3FD",
     _expected_edit_with_noise),
    ("emoji only", lambda d: "\U0001F3C8\u26bd\ufe0f\U0001F44D\U0001F3FD", _expected_no_letter),
    ("chatty answer with a quoted counterfactual",
     lambda d: f'Sure! Here is the edited text:\n\n"{_edit(d)}"\n\nI replaced "{_keyword(d["category"])}" '
               f'with "{_keyword(_target(d))}" to change the topic.',
     _expected_ideal_edit),
    ("chatty answer with a code fence",
     lambda d: f"Of course.\n\n```text\n{_edit(d)}\n```\n\nThis edit changes the topic.", _expected_ideal_edit),
    ("closed reasoning, then the answer",
     lambda d: f"<think>The topic is {d['category']}; I swap one word.</think>\n{_edit(d)}", _expected_ideal_edit),
    ("answer, then a chat-template turn",
     lambda d: f"{_edit(d)}<|im_end|>\n<|im_start|>user\nThanks!<|im_end|>", _expected_ideal_edit),
]

# Broken label scores for every text of a document the model classifies (x, x' and
# the interventions alike): x' is then predicted like x, no flip, invalid.
UNIFORM = [1 / 7] * 7
LABEL_SCORE_CASES = [
    # (name, the 7 label scores, predicted label index, its probability vector)
    ("all NaN", [NAN] * 7, 0, UNIFORM),
    ("all +inf", [INF] * 7, 0, UNIFORM),
    ("all -inf", [-INF] * 7, 0, UNIFORM),
    ("all equal", [-3.25] * 7, 0, UNIFORM),
    ("tie at the top", [-INF, 0.0, 0.0, -INF, -INF, -INF, -INF], 1, [0, 0.5, 0.5, 0, 0, 0, 0]),
    ("NaN, +-inf mixed", [NAN, 0.0, INF, NAN, INF, -INF, 5.0], 2, [0, 0, 0.5, 0, 0.5, 0, 0]),
    ("huge finite", [-1e308, 1e308, -1e308, 1e307, -1e308, -1e308, -1e308], 1, [0, 1, 0, 0, 0, 0, 0]),
]
MIXED = LABEL_SCORE_CASES[5][1]


def _expected_broken_counterfactual_scores(doc: dict, predicted: int) -> dict:
    """x scores normally; x' gets scores that predict LABELS[predicted]."""
    if LABELS[predicted] == doc["category"]:
        return _expected_invalid(flip=0.0, target=0.0)
    return _expected_valid(doc, _edit(doc), target=float(_target(doc) == LABELS[predicted]))


# Broken scores for one kind of text only, on an otherwise ideal edit.
STAGE_SCORE_CASES = [
    # (name, {kind: scores}, expected metrics from doc)
    ("counterfactual scores all NaN", {"counterfactual": [NAN] * 7},
     lambda d: _expected_broken_counterfactual_scores(d, 0)),
    ("counterfactual scores NaN, +-inf mixed", {"counterfactual": MIXED},
     lambda d: _expected_broken_counterfactual_scores(d, 2)),
    # Every intervention uniform: p(y) drops to 1/7 whatever is deleted, constant
    # outcomes, so faithfulness (and its baseline) are undefined, never 0.
    ("deletion scores all NaN", {"deletion": [NAN] * 7},
     lambda d: _expected_valid(d, _edit(d), faithful=False) | {"faithfulness_random": ABSENT}),
    ("deletion scores all +inf", {"deletion": [INF] * 7},
     lambda d: _expected_valid(d, _edit(d), faithful=False) | {"faithfulness_random": ABSENT}),
]

# Rolling log-likelihoods of x and x' (one value for both, or (x, x')) on an ideal edit.
# x and x' have the same number n of whitespace tokens (one word swapped).
ROLLING_SCORE_CASES = [
    # (name, rolling scores, expected fluency, expected logged (loglik_original, loglik_counterfactual))
    ("rolling NaN", NAN, ABSENT, (None, None)),
    ("rolling +inf", INF, ABSENT, (None, None)),
    ("rolling -inf", -INF, ABSENT, (None, None)),
    ("rolling NaN for x' only", (-5.0, NAN), ABSENT, (-5.0, None)),
    # -1e300 / n on both sides: a difference of exactly 0, no overflow.
    ("rolling huge finite", -1e300, 0.0, (-1e300, -1e300)),
    # (1e300 - 5) / n nats per token worse: clipped to ln 10, and the other way round.
    ("rolling huge for x' only", (-5.0, -1e300), FLUENCY_CLIP, (-5.0, -1e300)),
    ("rolling huge for x only", (-1e300, -5.0), -FLUENCY_CLIP, (-1e300, -5.0)),
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

    def add(name, generation, expectation, scores=None, rolling=None):
        index_id = len(docs) + 1
        doc = _eng_doc(index_id)
        docs[index_id], generations[index_id] = doc, generation(doc)
        expected[index_id] = {"case": name, **expectation(doc)}
        if scores is not None:
            label_scores[index_id] = scores
        if rolling is not None:
            rolling_scores[index_id] = rolling

    for name, generation, expectation in GARBAGE_CASES:
        add(name, generation, expectation)
    for name, scores, predicted, probabilities in LABEL_SCORE_CASES:
        add(name, lambda d, p=predicted: _edit(d, LABELS[p]),
            lambda d, p=predicted, probs=probabilities: _expected_invalid(
                flip=0.0, target=0.0, accuracy=float(d["category"] == LABELS[p]))
            | {"prediction": LABELS[p], "probabilities": probs},
            scores=dict.fromkeys(("original", "counterfactual", "deletion"), scores))
    for name, scores, expectation in STAGE_SCORE_CASES:
        add(name, _edit, expectation, scores=scores)
    for name, rolling, fluency, logged in ROLLING_SCORE_CASES:
        add(name, _edit, lambda d, f=fluency, g=logged: _expected_ideal_edit(d) | {"fluency": f, "logged_fluency": g},
            rolling=rolling)
    _write_split(root / "eng_Latn", list(docs.values()))
    originals = {index_id: doc["text"] for index_id, doc in docs.items()}

    french = [{"index_id": 900 + i, "category": "sports",
               "text": f"L'équipe de football a gagné le match numéro {i}."} for i in range(len(SURROGATE_ANSWERS))]
    _write_split(root / "fra_Latn", french)
    for row, answer in zip(french, SURROGATE_ANSWERS, strict=True):
        generations[row["index_id"]] = answer

    # A model whose rolling log-likelihoods are all NaN on valid German edits: no
    # document of the task has a fluency.
    german = [{"index_id": 950 + i, "category": "health",
               "text": f"Der doctor hat das Spiel Nummer {i} in der Stadt gewonnen."} for i in range(2)]
    _write_split(root / "deu_Latn", german)
    for row in german:
        generations[row["index_id"]] = row["text"].replace("doctor", "film")
        rolling_scores[row["index_id"]] = NAN
    return {"root": root, "docs": docs, "originals": originals, "generations": generations,
            "label_scores": label_scores, "rolling_scores": rolling_scores, "expected": expected,
            "sizes": {ENG: len(docs), FRA: len(french), DEU: len(german)}}


def _task_manager(root: Path):
    # What simple_evaluate(metadata={"sib200_dir": ...}) and `lm_eval --metadata` build,
    # restricted to our tasks folder so no test scans lm-eval's own 10k tasks.
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=str(TASKS_DIR), include_defaults=False, metadata={"sib200_dir": str(root)})


def _model(setup: dict, **kwargs) -> GarbageLM:
    return GarbageLM(setup["originals"], setup["generations"], setup["label_scores"], setup["rolling_scores"],
                     **kwargs)


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


def _record(sample: dict) -> dict:
    """The second pass's record for a sample, parsed strictly: a NaN inside it fails."""
    return _strict_json(sample["filtered_resps"][0])


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


# ------------------------------- the registry's promises -------------------------------

# Every value_range the registry uses, read as (allowed per document, range of a task mean).
# A new range string fails here until this table says what it means.
_RANGES = {
    "{0, 1}": ({0.0, 1.0}, (0.0, 1.0)),
    "[0, 1]": ((0.0, 1.0), (0.0, 1.0)),
    "[0, 100]": ((0.0, 100.0), (0.0, 100.0)),
    "[-1, 1]": ((-1.0, 1.0), (-1.0, 1.0)),
    "[-ln 10, ln 10]": ((-math.log(10), math.log(10)), (-math.log(10), math.log(10))),
}


def _in_document_range(name: str, value: float) -> bool:
    allowed, _ = _RANGES[BY_NAME[name].value_range]
    return value in allowed if isinstance(allowed, set) else allowed[0] <= value <= allowed[1]


def _in_task_range(name: str, value: float) -> bool:
    low, high = _RANGES[BY_NAME[name].value_range][1]
    return low <= value <= high


def test_every_registry_range_is_known_here():
    assert {spec.value_range for spec in BY_NAME.values()} <= set(_RANGES)


def _metrics(sample: dict) -> dict[str, float]:
    return {name: sample[name] for name in NAMES if name in sample}


def _assert_document_in_range(sample: dict) -> None:
    """Every per-document metric is in its registry range, in its population, and
    derived from a strict-JSON record whose measurements are in range too."""
    record = _record(sample)
    where = (sample["doc"]["index_id"], record["generation"][:60])
    values = _metrics(sample)
    assert set(sample["metrics"]) <= set(NAMES), where
    for name, value in values.items():
        assert isinstance(value, float) and math.isfinite(value), (where, name, value)
        assert _in_document_range(name, value), (where, name, value)
    assert derive_metrics(Record.from_dict(record)) == values, where
    assert not re.search("[\ud800-\udfff]", record["generation"]), where

    # Populations (the registry's card): who has which metric.
    counterfactual = record["counterfactual"]
    generated = not is_empty(counterfactual)
    valid = values["valid_rate"] == 1.0
    for spec in BY_NAME.values():
        if spec.population in ("all", "measured"):  # GarbageLM has a tokenizer: measured = all
            assert spec.name in values, (where, spec.name)
        elif spec.population == "generated":
            assert (spec.name in values) == generated, (where, spec.name)
        elif spec.population == "judged":  # every language is judged (calibration table)
            assert (spec.name in values) == generated, (where, spec.name)
        elif spec.population == "valid" and spec.name != "fluency":
            assert (spec.name in values) == valid, (where, spec.name)
        elif spec.population == "faithfulness":
            assert spec.name not in values or values["faithfulness_coverage"] == 1.0, (where, spec.name)
    measured = record["fluency"]
    finite_fluency = measured is not None and None not in (
        measured["loglik_original"], measured["loglik_counterfactual"]
    )
    assert ("fluency" in values) == (valid and finite_fluency), where
    assert values["faithfulness_coverage"] == float("faithfulness" in values), where
    assert "faithfulness_random" not in values or "faithfulness" in values, where

    # The documented relations between metrics.
    assert values["valid_target_rate"] <= min(values["valid_rate"], values["target_rate"]), where
    assert values["valid_rate"] <= values["flip_rate"], where
    assert values["score"] == (1.0 - values["minimality"] if valid else 0.0), where
    if values["empty_rate"]:
        assert values["flip_rate"] == values["target_rate"] == 0.0, where
    for gate in ("copy_rate", "truncation_rate", "not_an_edit_rate", "repetition_rate", "prompt_echo_rate",
                 "label_statement_rate", "language_confusion_rate"):
        if values.get(gate):
            assert not valid, (where, gate)

    # The logged measurements.
    for field in ("model_label_logliks", "label_logliks_counterfactual"):
        if record[field] is not None:
            assert len(record[field]) == len(LABELS), where
            predicted, probabilities = predict(record[field])
            assert all(0.0 <= p <= 1.0 for p in probabilities) and math.fsum(probabilities) == pytest.approx(1.0)
    assert record["prediction_original"] in LABELS and record["target_label"] in LABELS, where
    assert record["target_label"] != record["prediction_original"], where
    if record["interventions"] is not None:
        assert valid, where
        tokens = comparable_token_texts(record["original"])
        content = set(interventions.content_positions(tokens))
        size = interventions.deletion_size(len(content))
        assert set(record["interventions"]) == {"explanation", "random"}, where
        for measured in record["interventions"].values():
            assert set(measured["explanation"]) <= content, where
            assert len(measured["deletions"]) == len(measured["prob_after"]) == interventions.DEFAULT_INTERVENTIONS
            for deleted in measured["deletions"]:
                assert len(deleted) == size and set(deleted) <= content, where
            assert all(0.0 <= p <= 1.0 for p in measured["prob_after"]), where


def _assert_results_in_range(results: dict, samples: dict[str, list[dict]], tasks) -> None:
    """The aggregated results hold no NaN or infinity, every metric is in range, and
    each is the mean over the documents that have it (as many as the metadata says)."""
    for where, number in _walk_numbers(results["results"]):
        assert math.isfinite(number), (where, number)
    for task in tasks:
        reported = results["results"][task]
        documents = [_metrics(sample) for sample in samples[task]]
        counts = {name: sum(name in values for values in documents) for name in NAMES}
        assert results["configs"][task]["metadata"]["documents_per_metric"] == {
            name: count for name, count in counts.items() if count
        }, task
        for name in NAMES:
            key = f"{name},macro"
            if not counts[name]:
                assert key not in reported, (task, name)
                continue
            mean = math.fsum(values[name] for values in documents if name in values) / counts[name]
            assert reported[key] == pytest.approx(mean, abs=1e-12), (task, name)
            assert _in_task_range(name, reported[key]), (task, name, reported[key])
            stderr = reported[f"{name}_stderr,macro"]
            assert stderr == "N/A" or (math.isfinite(stderr) and stderr >= 0), (task, name, stderr)


def _written_files(output_path: Path) -> tuple[dict, dict[str, list[str]]]:
    (results_file,) = output_path.rglob("results_*.json")
    samples = {}
    for path in output_path.rglob("samples_*.jsonl"):
        task = re.match(r"samples_(macro_sib200_\w+?)_\d{4}-", path.name).group(1)
        samples[task] = path.read_text(encoding="utf-8").splitlines()
    return _strict_json(results_file.read_text(encoding="utf-8")), samples


# ------------------------------------ model output ------------------------------------


def _random_baseline(record: dict) -> float | None:
    """Spearman of (share of the pseudo-explanation deleted, drop in p(y)) over the logged deletions."""
    measured = record["interventions"]["random"]
    explained = set(measured["explanation"])
    shares = [len(explained & set(deleted)) / len(deleted) for deleted in measured["deletions"]]
    outcomes = [1.0 - after for after in measured["prob_after"]]  # p(y | x) = 1 for a keyword document
    if len(set(shares)) < 2 or len(set(outcomes)) < 2:
        return None
    return float(spearmanr(shares, outcomes).statistic)


def test_every_garbage_answer_and_score_gets_its_documented_metrics(garbage_setup, garbage_run):
    samples = _by_index(garbage_run["results"]["samples"][ENG])
    assert set(samples) == set(garbage_setup["docs"])
    for index_id, expected in garbage_setup["expected"].items():
        sample = samples[index_id]
        expected = dict(expected)
        where = expected.pop("case")
        record = _record(sample)
        values = _metrics(sample)
        if expected.pop("exact"):
            if "faithfulness_random" not in expected and "faithfulness" in values:
                baseline = _random_baseline(record)
                expected["faithfulness_random"] = ABSENT if baseline is None else baseline
            names = {name for name in NAMES if name in expected and expected[name] is not ABSENT}
            assert set(values) == names, (where, set(values) ^ names)
        for name, value in expected.items():
            if name == "counterfactual":
                assert record["counterfactual"] == value, where
            elif name == "counterfactual_is_empty":
                assert is_empty(record["counterfactual"]), where
            elif name == "counterfactual_is_first_prompt_line":
                assert record["counterfactual"] == record["instruction"].split("\n")[0], where
            elif name == "prediction":
                assert record["prediction_original"] == value, where
                assert LABELS[predict(record["label_logliks_counterfactual"])[0]] == value, where
            elif name == "probabilities":
                assert predict(record["model_label_logliks"])[1] == pytest.approx(value), where
                assert predict(record["label_logliks_counterfactual"])[1] == pytest.approx(value), where
            elif name == "logged_fluency":
                logged = (record["fluency"]["loglik_original"], record["fluency"]["loglik_counterfactual"])
                assert logged == value, where
            elif value is ABSENT:
                assert name not in values, (where, name, values.get(name))
            else:
                assert values.get(name) == pytest.approx(value, abs=1e-12), (where, name, values.get(name))


def test_broken_scores_reached_every_kind_of_classified_text(garbage_run):
    # The stage cases above mean something only if the model saw each kind of text.
    kinds = garbage_run["lm"].kinds_scored
    assert kinds["original"] and kinds["counterfactual"] and kinds["deletion"], kinds


def test_every_document_of_the_garbage_run_keeps_the_registry_promises(garbage_setup, garbage_run):
    results = garbage_run["results"]
    for task, size in garbage_setup["sizes"].items():
        samples = results["samples"][task]
        assert len(samples) == size, task
        for sample in samples:
            _assert_document_in_range(sample)
    _assert_results_in_range(results, results["samples"], (ENG, FRA, DEU))
    assert results["results"][ENG]["sample_len"] == len(garbage_setup["docs"])


def test_task_without_any_defined_fluency_reports_none(garbage_run):
    """lm-eval aggregates a metric over the documents that report it; with none, the
    task has no fluency at all (not NaN, not 0), though its edits are valid."""
    results = garbage_run["results"]
    assert all(sample["valid_rate"] == 1.0 for sample in results["samples"][DEU])
    assert all("fluency" not in sample for sample in results["samples"][DEU])
    assert not any(key.startswith("fluency") for key in results["results"][DEU])
    assert "fluency" not in results["configs"][DEU]["metadata"]["documents_per_metric"]
    assert results["results"][DEU]["minimality,macro"] > 0.0  # the task itself was scored


def test_lone_surrogates_become_replacement_characters_and_score_in_range(garbage_run):
    samples = _by_index(garbage_run["results"]["samples"][FRA])
    assert len(samples) == len(SURROGATE_ANSWERS)
    for sample, answer in zip(sorted(samples.values(), key=lambda s: s["doc"]["index_id"]), SURROGATE_ANSWERS):
        assert _record(sample)["generation"] == re.sub("[\ud800-\udfff]", "\ufffd", answer)
    # A lone surrogate alone: one replacement character, a symbol (not empty, nothing to identify).
    assert _record(samples[900])["counterfactual"] == "\ufffd"
    assert samples[900]["empty_rate"] == 0.0 and samples[900]["language_confusion_rate"] == 1.0
    # The clean answer after the broken ones: a valid two-word French edit.
    assert samples[903]["valid_rate"] == 1.0


def test_results_file_written_by_lm_eval_is_strict_json_without_nan(garbage_run):
    written, _ = _written_files(garbage_run["output_path"])
    for task in (ENG, FRA, DEU):
        assert written["results"][task] == garbage_run["results"]["results"][task]
    assert f"|protocol:{PROTOCOL_VERSION}|" in written["configs"][ENG]["metadata"]["signature"]


def test_samples_files_written_by_lm_eval_are_strict_json_without_nan(garbage_run):
    _, written = _written_files(garbage_run["output_path"])
    for task in (ENG, FRA, DEU):
        in_memory = _by_index(garbage_run["results"]["samples"][task])
        lines = written.get(task, [])
        # lm-eval writes the raw answers (resps) with ensure_ascii=False to a UTF-8 file:
        # a lone surrogate there would make save_results_samples log "Could not save
        # sample results" and drop the rest of the task's file.
        assert len(lines) == len(in_memory), f"{task}: {len(lines)} of {len(in_memory)} samples written"
        for line in lines:
            sample = _strict_json(line)
            expected = in_memory[sample["doc"]["index_id"]]
            assert _record(sample) == _record(expected)
            assert _metrics(sample) == _metrics(expected)


# Random garbage: answers from every corner of Unicode, scores from every corner of float.
_NASTY_PIECES = st.one_of(
    st.characters(),
    st.characters(categories=["Cc", "Cf", "Cs", "Mn", "Me", "Zs", "Zl", "Zp", "So", "Co", "Cn"]),
    st.sampled_from(list("\x00\n\r\t \"'`«»「」*#:\u200b\u200d\u202e\ufffd")
                    + ["```", "</think>", "<think>", "<|im_end|>", "Answer:", "\n\n", PROMPT, "doctor", "ref3",
                       "The football team won"]),
)
_ANSWERS = st.lists(_NASTY_PIECES, max_size=80).map("".join)
_SCORE = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([NAN, INF, -INF, 0.0, -1e308])
_LABEL_SCORES = st.none() | st.lists(_SCORE, min_size=7, max_size=7)
_ROLLING = st.none() | _SCORE | st.tuples(_SCORE, _SCORE)
N_RANDOM_DOCS = 16


@pytest.fixture(scope="module")
def random_setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("sib200_random")
    docs = [_eng_doc(i) for i in range(1, N_RANDOM_DOCS + 1)]
    _write_split(root / "eng_Latn", docs)
    return {"root": root, "docs": docs}


@settings(max_examples=4, deadline=None, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_random_garbage_answers_and_scores_never_crash_or_leave_range(random_setup, tmp_path_factory, data):
    from lm_eval.loggers import EvaluationTracker

    ids = [doc["index_id"] for doc in random_setup["docs"]]
    # Some answers are the ideal edit, so that valid documents (interventions, fluency)
    # meet the random scores too.
    generations = {doc["index_id"]: data.draw(_ANSWERS | st.just(_edit(doc))) for doc in random_setup["docs"]}
    label_scores = {}
    for index_id in ids:
        by_kind = {kind: data.draw(_LABEL_SCORES) for kind in ("original", "counterfactual", "deletion")}
        label_scores[index_id] = {kind: scores for kind, scores in by_kind.items() if scores is not None}
    rolling = {i: s for i in ids if (s := data.draw(_ROLLING)) is not None}
    note(f"generations={generations!r}\nlabel_scores={label_scores!r}\nrolling={rolling!r}")
    output_path = tmp_path_factory.mktemp("random_output")
    tracker = EvaluationTracker(output_path=str(output_path))
    originals = {doc["index_id"]: doc["text"] for doc in random_setup["docs"]}
    results = _evaluate(random_setup, GarbageLM(originals, generations, label_scores, rolling), tasks=(ENG,),
                        evaluation_tracker=tracker)
    samples = results["samples"][ENG]
    assert len(samples) == len(ids)
    for sample in samples:
        _assert_document_in_range(sample)
    _assert_results_in_range(results, results["samples"], (ENG,))
    _save_like_the_cli(results, tracker)
    written, lines = _written_files(output_path)
    assert written["results"][ENG] == results["results"][ENG]
    assert len(lines[ENG]) == len(ids)
    for line in lines[ENG]:
        _record(_strict_json(line))


# ----------------------------------------- data -----------------------------------------


def _valid_rows(n: int = 3) -> str:
    return HEADER + "".join(f"{i}\tsports\tThe football match {i} ended late .\n" for i in range(1, n + 1))


DATA_ERRORS = [
    # (name, test.tsv content, regex the message must match, line)
    ("duplicate index_id", _valid_rows(2) + "2\thealth\tA doctor came .\n", r"duplicate index_id 2", 4),
    ("empty text", _valid_rows(2) + "3\thealth\t\n", r"text is empty", 4),
    ("whitespace-only text", _valid_rows(1) + "2\thealth\t   \n", r"text is empty", 3),
    ("unknown label", _valid_rows(1) + "2\tmedicine\tA doctor came .\n", r"unknown category 'medicine'", 3),
    ("wrong header", "id\tlabel\ttext\n" + _valid_rows(1).split("\n", 1)[1], r"header is id<TAB>label<TAB>text", 1),
    ("too few fields", _valid_rows(2) + "3\thealth\n", r"2 tab-separated field\(s\), expected 3", 4),
    ("too many fields", _valid_rows(1) + "2\thealth\tA doctor\tcame .\n", r"4 tab-separated field\(s\)", 3),
    ("blank line", _valid_rows(1) + "\n" + "3\thealth\tA doctor came .\n", r"0 tab-separated field\(s\)", 3),
    # No visible character: no token, nothing to classify, every answer to it "empty".
    ("invisible-only text", _valid_rows(2) + "3\thealth\t\u200b\u200e\x07\u2063\n", r"no visible character", 4),
    ("non-integer index_id", _valid_rows(1) + "two\thealth\tA doctor came .\n", r"index_id 'two'", 3),
    ("unclosed quote", _valid_rows(1) + '2\thealth\t"A doctor came .\n3\thealth\tA nurse came .\n',
     r"runs on to line|malformed quoting", 3),
]
_DEAD = {"generate_until": 1, "loglikelihood": 1, "loglikelihood_rolling": 1}


def _run_until_error(root: Path, task: str = ENG) -> str:
    """The message of the error that stops a run on this SIB-200 folder.

    simple_evaluate refuses the data before it uses the model (macro_bench.preflight);
    a task built without simple_evaluate is refused by its loader, with the same message.
    """
    import lm_eval

    with pytest.raises(Exception) as raised:
        lm_eval.simple_evaluate(model=GarbageLM({}, {}, fail=_DEAD), tasks=[task], task_manager=_task_manager(root))
    error = raised.value
    assert not isinstance(error, ModelCrashed), "the loader accepted the data: the run went on to the model"
    # Our own error reaches the user, not one lm-eval or datasets made from it.
    assert isinstance(error, RunCheckError), repr(error)
    with pytest.raises(Sib200DataError) as loader:
        _task_manager(root).load([task])
    assert str(loader.value).rstrip(".") in str(error), (str(loader.value), str(error))
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

# Fields of lm-eval's results that describe the run, not its numbers (samples: see _as_json).
_RUN_FIELDS = ("date", "start_time", "end_time", "total_evaluation_time_seconds", "pretty_env_info", "samples")


def _comparable(results: dict) -> dict:
    return {key: value for key, value in results.items() if key not in _RUN_FIELDS}


def _as_json(samples: list[dict]) -> str:
    """Samples as text, so that a NaN in lm-eval's raw responses equals another NaN."""
    return json.dumps(samples, sort_keys=True, default=repr)


def test_identical_runs_give_identical_results_and_samples(garbage_setup, garbage_run):
    again = _evaluate(garbage_setup, _model(garbage_setup))
    first = garbage_run["results"]
    for task in (ENG, FRA, DEU):
        assert _as_json(again["samples"][task]) == _as_json(first["samples"][task]), task
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
    records = {{s["doc"]["index_id"]: s["filtered_resps"][0] for s in results["samples"][{task!r}]}}
    print(json.dumps({{"hash": hash("macro-bench"), "records": records}}))
""")


def test_logged_records_are_identical_in_another_process(garbage_setup, garbage_run, tmp_path):
    script = tmp_path / "script.json"
    # Python's json keeps NaN and infinities, which the scripted scores hold.
    script.write_text(json.dumps(_model(garbage_setup).script()), encoding="utf-8")
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
    ours = {str(s["doc"]["index_id"]): _record(s) for s in garbage_run["results"]["samples"][ENG]}
    theirs = {index_id: _strict_json(record) for index_id, record in child["records"].items()}
    assert theirs == ours
    # Among them, interventions drawn for many valid documents: the seeded draws agree.
    with_interventions = [record for record in ours.values() if record["interventions"]]
    assert len(with_interventions) >= 10
    assert all(len(r["interventions"]["random"]["deletions"]) == interventions.DEFAULT_INTERVENTIONS
               for r in with_interventions)


# --------------------------------------- resumption ---------------------------------------


def test_run_resumed_from_use_cache_after_a_crash_gives_the_uninterrupted_metrics(garbage_setup, garbage_run,
                                                                                 tmp_path):
    """lm-eval 0.4.13's CachingLM (lm_eval/api/model.py) keys each request by
    sha256(json.dumps([method, *request.args])): the method and its arguments only, not
    the document or the model. It stores a call's answers when the call returns. The
    second pass asks the evaluator's ``lm``, which is that CachingLM, for everything:
    generations, classifications of x' and of the interventions, rolling scores.
    """
    uninterrupted_lm = garbage_run["lm"]
    uninterrupted = garbage_run["results"]
    last_scoring_call = uninterrupted_lm.calls["loglikelihood"]
    assert last_scoring_call >= 4  # the task's own requests, then the second pass's calls
    cache = str(tmp_path / "cache" / "run")

    # 1. Crash in the second pass's last scoring call: every generation (one call per
    # task) has come back and is cached, and so is every earlier scoring call.
    crashing = _model(garbage_setup, fail={"loglikelihood": last_scoring_call})
    with pytest.raises(ModelCrashed):
        _evaluate(garbage_setup, crashing, use_cache=cache)
    generations = [entry for entry in uninterrupted_lm.requests if entry[0] == "generate_until"]
    assert len(generations) == 3
    assert [entry for entry in crashing.requests if entry[0] == "generate_until"] == generations
    crashed_call = crashing.requests[-1]
    assert crashed_call[0] == "loglikelihood" and crashed_call[1] > 0

    # 2. Resume: generating again would raise, so every answer must come from the cache.
    # The model is asked the requests of the call that crashed (the same uncached ones)
    # and the rolling scores that came after it, nothing else.
    resuming = _model(garbage_setup, fail={"generate_until": 1})
    resumed = _evaluate(garbage_setup, resuming, use_cache=cache)
    last_scoring_position = max(i for i, entry in enumerate(uninterrupted_lm.requests) if entry[0] == "loglikelihood")
    after_crash = uninterrupted_lm.requests[last_scoring_position + 1 :]
    assert resuming.requests == [crashed_call, *after_crash]
    assert resuming.calls["generate_until"] == 0
    for task in (ENG, FRA, DEU):
        assert resumed["results"][task] == uninterrupted["results"][task], task
        assert _as_json(resumed["samples"][task]) == _as_json(uninterrupted["samples"][task]), task

    # 3. A third run whose model can do nothing at all is answered wholly from the cache.
    dead = _model(garbage_setup, fail=_DEAD)
    replayed = _evaluate(garbage_setup, dead, use_cache=cache)
    assert sum(dead.calls.values()) == 0
    for task in (ENG, FRA, DEU):
        assert replayed["results"][task] == uninterrupted["results"][task], task

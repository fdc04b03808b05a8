"""Synthetic protocol-2 lm-eval output for the aggregate tests and the speed benchmark.

``synthetic_documents`` draws per-document values of every registry metric with a known
model effect, following the registry's populations and the gates' rules (a metric
outside its population is NaN, i.e. absent); ``write_lm_eval_run`` writes them the way
lm-eval 0.4.13 does with ``--output_path OUT --log_samples``:
``OUT/<model>/results_<datetime>.json`` plus one ``samples_<task>_<datetime>.jsonl`` per
task, each line carrying the metric values and, in ``filtered_resps[0]``, a record
consistent with them (texts, predictions, gates). The tests at the bottom check the
layout against lm-eval's own helpers, so the fixtures cannot drift from the real format.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from macro_bench.protocol import PROTOCOL_VERSION
from macro_bench.aggregate.metric_specs import REPORTED_NAMES
from macro_bench.metrics.registry import BY_NAME

# Synthetic languages whose language confusion is undefined (the identifier cannot judge them);
# fixed here so the fixtures do not depend on the identifier's calibration.
UNJUDGED_LANGUAGES = frozenset({"ace_Arab"})
LABELS = ["science/technology", "travel", "politics", "sports", "health", "entertainment", "geography"]
LN10 = float(np.log(10))


def signature(dataset: str = "sib200", **fields: str) -> str:
    """A protocol-2 signature (the format of macro_bench.signature), with fields overridden."""
    values = {
        "macro-bench": "0.2.0", "protocol": PROTOCOL_VERSION, "dataset": dataset, "tok": "unicode-script-v1+regex-2026.11.15",
        "lid": "fasttext-lid.176+calibrated", "K": "10", "strata": "0,0.5,1", "judge": "self", "fluency": "self",
        "fluency-unit": "scorer-token,clip:2.30259", "similarity": "chrF2", "chat": "no", "system": "none",
        "fewshot": "0", "gen": '{"do_sample":false,"max_gen_toks":256}', "truncation": "counted", "seed": "sha256",
    }
    values.update(fields)
    return "|".join(f"{key}:{value}" for key, value in values.items())


def synthetic_documents(
    abilities: dict[str, float], languages: list[str], n_documents: int = 20, seed: int = 0, dataset: str = "sib200"
) -> pd.DataFrame:
    """Per-document metrics for each model x language x document of one dataset.

    A model's ability raises its flip rate and lowers its minimality; documents and
    languages have their own difficulty, shared by all models (as in a parallel corpus).
    Gates fire at fixed rates; ``valid`` = flip and no gate, ``score`` = valid x (1 -
    minimality). Language confusion is undefined where the language table has no
    language-ID code, and every ``generated`` metric where the output is empty.
    """
    rng = np.random.default_rng(seed)
    models = list(abilities)
    shape = (len(models), len(languages), n_documents)
    ability = np.array([abilities[m] for m in models])[:, None, None]
    language_difficulty = rng.normal(0, 0.5, len(languages))[None, :, None]
    doc_difficulty = rng.normal(0, 0.7, n_documents)[None, None, :]
    logit = ability - language_difficulty - doc_difficulty

    def draw(rate: float) -> np.ndarray:
        return rng.random(shape) < rate

    empty = draw(0.04)
    generated = ~empty
    copy = draw(0.04) & generated
    truncated = draw(0.03)
    not_an_edit = draw(0.05) & generated
    repetition = draw(0.02) & generated
    prompt_echo = draw(0.02) & generated
    label_statement = draw(0.02) & generated
    label_insertion = draw(0.05) & generated & ~label_statement
    judged = np.array([code not in UNJUDGED_LANGUAGES for code in languages])[None, :, None] & generated
    confused = draw(0.1) & judged
    # A copy is x itself, so M's prediction cannot change; an empty output is not a flip.
    flip = (rng.random(shape) < 1 / (1 + np.exp(-logit))) & generated & ~copy
    target = flip & draw(0.6)
    valid = flip & ~(empty | copy | truncated | not_an_edit | repetition | prompt_echo | label_statement | confused)
    minimality = np.clip(rng.beta(2, 5, shape) - 0.05 * ability + 0.05 * doc_difficulty, 0, 1)
    faithful = valid & draw(0.8)

    def where(mask: np.ndarray, values) -> np.ndarray:
        return np.where(mask, values, np.nan)

    values = {
        "score": np.where(valid, 1 - minimality, 0.0),
        "valid_rate": valid.astype(float),
        "valid_target_rate": (valid & target).astype(float),
        "flip_rate": flip.astype(float),
        "target_rate": target.astype(float),
        "empty_rate": empty.astype(float),
        "copy_rate": where(generated, copy.astype(float)),
        "truncation_rate": truncated.astype(float),
        "not_an_edit_rate": where(generated, not_an_edit.astype(float)),
        "repetition_rate": where(generated, repetition.astype(float)),
        "prompt_echo_rate": where(generated, prompt_echo.astype(float)),
        "label_statement_rate": where(generated, label_statement.astype(float)),
        "label_insertion_rate": where(generated, label_insertion.astype(float)),
        "language_confusion_rate": where(judged, confused.astype(float)),
        "minimality": where(valid, minimality),
        "similarity": where(valid, 100 * (1 - minimality)),
        "fluency": where(valid, np.clip(rng.normal(0.2 - 0.05 * ability, 0.4, shape), -LN10, LN10)),
        "faithfulness": where(faithful, rng.uniform(-1, 1, shape)),
        "faithfulness_random": where(faithful, rng.uniform(-1, 1, shape)),
        "faithfulness_coverage": faithful.astype(float),
        "accuracy": (rng.random(shape) < 1 / (1 + np.exp(-(logit + 1)))).astype(float),
    }
    assert set(values) == set(REPORTED_NAMES)
    grid = np.meshgrid(np.arange(len(models)), np.arange(len(languages)), np.arange(n_documents), indexing="ij")
    frame = pd.DataFrame(
        {
            "dataset": dataset,
            "model": np.asarray(models, dtype=object)[grid[0].ravel()],
            "language": np.asarray(languages, dtype=object)[grid[1].ravel()],
            "doc_key": (grid[2].ravel() + 1).astype(str).astype(object),
        }
    )
    for name in REPORTED_NAMES:
        frame[name] = values[name].ravel()
    return frame


def sanitized(model: str) -> str:
    from lm_eval.utils import sanitize_model_name

    return sanitize_model_name(model)


def _logliks(best: int) -> list[float]:
    scores = [-5.0 - 0.1 * i for i in range(len(LABELS))]
    scores[best] = -1.0
    return scores


def _record(dataset: str, language: str, row, text: str) -> dict:
    """A protocol-2 record whose gates agree with the row's metric values."""
    key = int(row.doc_key)
    predicted = key % len(LABELS)
    target = (key + 3) % len(LABELS)
    words = text.split()
    if row.empty_rate == 1:
        counterfactual = None
    elif row.copy_rate == 1:
        counterfactual = text
    else:
        edited = list(words)
        edited[2] = LABELS[target].split("/")[0]
        edited.insert(4, "indeed")
        counterfactual = " ".join(edited)
    if counterfactual is None:
        after = None
    elif row.target_rate == 1:
        after = _logliks(target)
    elif row.flip_rate == 1:
        after = _logliks(next(i for i in range(len(LABELS)) if i not in (predicted, target)))
    else:
        after = _logliks(predicted)
    return {
        "protocol": PROTOCOL_VERSION,
        "dataset": dataset,
        "language": language,
        "doc_key": key,
        "original": text,
        "context": {},
        "gold_label": LABELS[key % len(LABELS)] if row.accuracy == 1 else LABELS[(key + 1) % len(LABELS)],
        "model_label_logliks": _logliks(predicted),
        "prediction_original": LABELS[predicted],
        "target_label": LABELS[target],
        "instruction": f"You classified the topic of the following text as \"{LABELS[predicted]}\"...",
        "generation": f"Edited text: {counterfactual}" if counterfactual is not None else "I cannot do that <think>",
        "generation_tokens": 256 if row.truncation_rate == 1 else 30,
        "max_gen_toks": 256,
        "counterfactual": counterfactual,
        "label_logliks_counterfactual": after,
        "language_identified": (None if np.isnan(row.language_confusion_rate)
                                else {"label": "en" if row.language_confusion_rate else "xx", "confidence": 0.9}),
        "interventions": None,
        "fluency": None,
    }


def _sample_line(dataset: str, task: str, language: str, doc_id: int, row, rng: np.random.Generator) -> dict:
    text = f"Synthetic sentence {row.doc_key} in {language} " + "lorem ipsum " * int(rng.integers(3, 12))
    record = _record(dataset, language, row, text.strip())
    doc = {"index_id": int(row.doc_key), "category": record["gold_label"], "text": record["original"],
           "language": language, "doc_key": int(row.doc_key)}
    line = {
        "doc_id": doc_id,
        "doc": doc,
        "target": LABELS.index(record["gold_label"]),
        "arguments": {f"gen_args_{i}": {"arg_0": f"Classify: {record['original']}", "arg_1": f" {label}"} for i, label in enumerate(LABELS)},
        "resps": [[[value, False]] for value in record["model_label_logliks"]],
        "filtered_resps": [json.dumps(record, ensure_ascii=False), *[[value, False] for value in record["model_label_logliks"][1:]]],
        "filter": "macro",
    }
    metrics = {name: float(getattr(row, name)) for name in REPORTED_NAMES if not np.isnan(getattr(row, name))}
    line["metrics"] = list(metrics)
    line.update({"doc_hash": f"{int(row.doc_key):064x}", "prompt_hash": "0" * 64, "target_hash": "1" * 64})
    line.update(metrics)
    return line


def write_lm_eval_run(
    out_dir: Path,
    model: str,
    documents: pd.DataFrame,
    *,
    when: datetime = datetime(2025, 1, 2, 3, 4, 5, 678901),
    task_version: float = 2.0,
    signature_fields: dict[str, str] | None = None,
    other_tasks: tuple[str, ...] = (),
    seed: int = 0,
) -> Path:
    """Write one lm-eval run of ``model`` over the datasets and languages in ``documents``; return the results file."""
    rng = np.random.default_rng(seed)
    folder = Path(out_dir) / sanitized(model)
    folder.mkdir(parents=True, exist_ok=True)
    date_id = when.isoformat().replace(":", "-")
    results: dict = {"results": {}, "group_subtasks": {}, "configs": {}, "versions": {}, "n-shot": {}, "higher_is_better": {}, "n-samples": {}}
    own = documents[documents["model"] == model]
    for (dataset, language), group in own.groupby(["dataset", "language"], sort=True):
        task = f"macro_{dataset}_{language}"
        entry = {"alias": task}
        for name in REPORTED_NAMES:
            present = group[name].dropna()
            if len(present):
                entry[f"{name},macro"] = float(present.mean())
                entry[f"{name}_stderr,macro"] = "N/A"
        results["results"][task] = entry
        results["group_subtasks"][task] = []
        results["configs"][task] = {
            "task": task, "tag": [f"macro_{dataset}"],
            "metadata": {"version": task_version, "macro_dataset": dataset, "macro_language": language,
                         "signature": signature(dataset, **(signature_fields or {}))},
        }
        results["versions"][task] = task_version
        results["n-shot"][task] = 0
        results["higher_is_better"][task] = {name: BY_NAME[name].higher_is_better for name in REPORTED_NAMES}
        results["n-samples"][task] = {"original": len(group), "effective": len(group)}
        with (folder / f"samples_{task}_{date_id}.jsonl").open("w", encoding="utf-8") as handle:
            for doc_id, row in enumerate(group.itertuples(index=False)):
                handle.write(json.dumps(_sample_line(dataset, task, language, doc_id, row, rng), ensure_ascii=False) + "\n")
    for task in other_tasks:
        results["results"][task] = {"alias": task, "acc,none": 0.5, "acc_stderr,none": 0.01}
        results["versions"][task] = 1.0
        results["n-samples"][task] = {"original": 10, "effective": 10}
        with (folder / f"samples_{task}_{date_id}.jsonl").open("w", encoding="utf-8") as handle:
            handle.write(json.dumps({"doc_id": 0, "doc": {}, "filter": "none", "acc": 1.0}) + "\n")
    results["config"] = {"model": "hf", "model_args": f"pretrained={model},dtype=float32", "batch_size": "1", "limit": None, "bootstrap_iters": 0}
    results.update(
        {
            "git_hash": None,
            "date": when.timestamp(),
            "lm_eval_version": "0.4.13",
            "transformers_version": "5.0.0",
            "task_hashes": {},
            "model_source": "hf",
            "model_name": model,
            "model_name_sanitized": sanitized(model),
            "start_time": 0.0,
            "end_time": 1.0,
            "total_evaluation_time_seconds": "1.0",
        }
    )
    path = folder / f"results_{date_id}.json"
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def test_layout_matches_lm_eval_helpers(tmp_path):
    from lm_eval.utils import get_latest_filename, get_results_filenames, get_sample_results_filenames

    docs = synthetic_documents({"org/model-1B": 0.5}, ["fra_Latn", "zho_Hans"], n_documents=5)
    old = write_lm_eval_run(tmp_path, "org/model-1B", docs, when=datetime(2025, 1, 1, 9, 0, 0, 1))
    new = write_lm_eval_run(tmp_path, "org/model-1B", docs, when=datetime(2025, 1, 1, 10, 0, 0, 1))
    names = [str(p) for p in (tmp_path / "org__model-1B").iterdir()]
    assert sorted(get_results_filenames(names)) == sorted([str(old), str(new)])
    assert get_latest_filename(get_results_filenames(names)) == str(new)
    assert len(get_sample_results_filenames(names)) == 4
    samples = [json.loads(line) for line in (tmp_path / "org__model-1B" / f"samples_macro_sib200_fra_Latn_{new.stem[8:]}.jsonl").open()]
    assert [s["doc"]["doc_key"] for s in samples] == [1, 2, 3, 4, 5]
    assert json.loads(samples[0]["filtered_resps"][0])["doc_key"] == 1


def test_synthetic_documents_follow_the_registry_populations():
    docs = synthetic_documents({"a": 0.0, "b": 2.0}, ["fra_Latn", "ace_Arab"], n_documents=400, seed=1)
    assert len(docs) == 2 * 2 * 400
    # ace_Arab is one the identifier cannot judge, so confusion is undefined there.
    assert docs.loc[docs["language"] == "ace_Arab", "language_confusion_rate"].isna().all()
    assert docs.loc[docs["empty_rate"] == 1, "copy_rate"].isna().all()
    assert (docs["minimality"].notna() == (docs["valid_rate"] == 1)).all()
    np.testing.assert_allclose(docs["score"], np.where(docs["valid_rate"] == 1, 1 - docs["minimality"], 0.0))
    means = docs.groupby("model")["valid_rate"].mean()
    assert means["b"] > means["a"] + 0.1

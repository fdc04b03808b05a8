"""Synthetic lm-eval output for the aggregate tests and the speed benchmark.

``synthetic_documents`` draws per-document metric values with a known model effect;
``write_lm_eval_run`` writes them the way lm-eval 0.4.13 does with ``--output_path
OUT --log_samples``: ``OUT/<model>/results_<datetime>.json`` plus one
``samples_<task>_<datetime>.jsonl`` per task. The tests at the bottom check the layout
against lm-eval's own helpers, so the fixtures cannot drift from the real format.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from macro_bench.aggregate.metric_specs import TASK_METRIC_NAMES

SIGNATURE = "macro-bench:0.1.0|protocol:1|tok:unicode-script-v1|K:8|judge:self|fluency:self|seed:sha256"
LABELS = ["science/technology", "travel", "politics", "sports", "health", "entertainment", "geography"]


def synthetic_documents(
    abilities: dict[str, float],
    languages: list[str],
    n_documents: int = 20,
    seed: int = 0,
    confusion_undefined: tuple[str, ...] = ("ace_Arab",),
) -> pd.DataFrame:
    """Per-document metrics for each model x language x document.

    A model's ability raises its flip rate and lowers its minimality; documents and
    languages have their own difficulty, shared by all models (as in a parallel corpus).
    ``language_confusion_rate`` is absent for the languages in ``confusion_undefined``
    (the real calibration defines it for all 205 languages today, so ace_Arab stands in
    for a language where it is undefined, to keep that case tested) and ``fluency``
    where the counterfactual is empty, as the tasks write them.
    """
    rng = np.random.default_rng(seed)
    models = list(abilities)
    n_m, n_l, n_d = len(models), len(languages), n_documents
    shape = (n_m, n_l, n_d)
    ability = np.array([abilities[m] for m in models])[:, None, None]
    language_difficulty = rng.normal(0, 0.5, n_l)[None, :, None]
    doc_difficulty = rng.normal(0, 0.7, n_d)[None, None, :]
    logit = ability - language_difficulty - doc_difficulty
    empty = rng.random(shape) < 0.04
    flip = (rng.random(shape) < 1 / (1 + np.exp(-logit))) & ~empty
    minimality = np.clip(rng.beta(2, 5, shape) - 0.05 * ability + 0.05 * doc_difficulty, 0, 1)
    minimality = np.where(empty, 1.0, minimality)
    fluency = np.where(empty, np.nan, rng.lognormal(0.1 - 0.05 * ability, 0.3, shape))
    confusion_defined = np.array([code not in confusion_undefined for code in languages])
    confusion = np.where(confusion_defined[None, :, None] & ~empty, (rng.random(shape) < 0.1).astype(float), np.nan)
    faithful_defined = rng.random(shape) < 0.8
    values = {
        "flip_rate": flip.astype(float),
        "target_rate": (flip & (rng.random(shape) < 0.6)).astype(float),
        "minimality": minimality,
        "fluency": fluency,
        "faithfulness": np.where(faithful_defined, rng.uniform(-1, 1, shape), 0.0),
        "faithfulness_defined": faithful_defined.astype(float),
        "copy_rate": ((rng.random(shape) < 0.03) & ~empty).astype(float),
        "empty_rate": empty.astype(float),
        "language_confusion_rate": confusion,
        "accuracy": (rng.random(shape) < 1 / (1 + np.exp(-(logit + 1)))).astype(float),
    }
    grid = np.meshgrid(np.arange(n_m), np.arange(n_l), np.arange(n_d), indexing="ij")
    frame = pd.DataFrame(
        {
            "model": np.asarray(models, dtype=object)[grid[0].ravel()],
            "language": np.asarray(languages, dtype=object)[grid[1].ravel()],
            "index_id": grid[2].ravel().astype(np.int64) + 1,
        }
    )
    for name in TASK_METRIC_NAMES:
        frame[name] = values[name].ravel()
    return frame


def sanitized(model: str) -> str:
    from lm_eval.utils import sanitize_model_name

    return sanitize_model_name(model)


def _aggregate(values: pd.Series, name: str) -> float | None:
    present = values.dropna().to_numpy()
    if len(present) == 0:
        return None
    return float(np.exp(np.log(present).mean())) if name == "fluency" else float(present.mean())


def _sample_line(task: str, language: str, doc_id: int, row, rng: np.random.Generator) -> dict:
    text = f"Synthetic sentence {row.index_id} in {language} " + "lorem ipsum " * int(rng.integers(5, 30))
    counterfactual = None if row.empty_rate == 1 else text.replace("lorem", "dolor", 2)
    line = {
        "doc_id": doc_id,
        "doc": {
            "index_id": int(row.index_id),
            "category": LABELS[int(row.index_id) % 7],
            "text": text,
            "language": language,
            "target_label": LABELS[(int(row.index_id) + 1) % 7],
        },
        "target": LABELS[(int(row.index_id) + 1) % 7],
        "arguments": {"gen_args_0": {"arg_0": f"Classify and rewrite:\n{text}\n", "arg_1": {"until": [], "max_gen_toks": 256}}},
        "resps": [[f"Counterfactual: {counterfactual}"]],
        "filtered_resps": [str({"counterfactual": counterfactual, "prediction_original": "travel"})],
        "filter": "macro",
    }
    metrics = {name: float(getattr(row, name)) for name in TASK_METRIC_NAMES if not np.isnan(getattr(row, name))}
    line["metrics"] = list(metrics)
    line.update({"doc_hash": f"{row.index_id:064x}", "prompt_hash": "0" * 64, "target_hash": "1" * 64})
    line.update(metrics)
    return line


def write_lm_eval_run(
    out_dir: Path,
    model: str,
    documents: pd.DataFrame,
    *,
    when: datetime = datetime(2025, 1, 2, 3, 4, 5, 678901),
    task_version: float = 1.0,
    signature: str = SIGNATURE,
    other_tasks: tuple[str, ...] = (),
    seed: int = 0,
) -> Path:
    """Write one lm-eval run of ``model`` over the languages in ``documents``; return the results file."""
    rng = np.random.default_rng(seed)
    folder = Path(out_dir) / sanitized(model)
    folder.mkdir(parents=True, exist_ok=True)
    date_id = when.isoformat().replace(":", "-")
    results: dict = {"results": {}, "group_subtasks": {}, "configs": {}, "versions": {}, "n-shot": {}, "higher_is_better": {}, "n-samples": {}}
    own = documents[documents["model"] == model]
    for language, group in own.groupby("language", sort=True):
        task = f"macro_sib200_{language}"
        entry = {"alias": task}
        for name in TASK_METRIC_NAMES:
            value = _aggregate(group[name], name)
            if value is not None:
                entry[f"{name},macro"] = value
                entry[f"{name}_stderr,macro"] = "N/A"
        results["results"][task] = entry
        results["group_subtasks"][task] = []
        results["configs"][task] = {"task": task, "tag": ["macro_sib200"], "metadata": {"version": task_version, "sib200_language": language, "signature": signature}}
        results["versions"][task] = task_version
        results["n-shot"][task] = 0
        results["higher_is_better"][task] = {
            "flip_rate": True, "target_rate": True, "minimality": False, "fluency": False, "faithfulness": True,
            "faithfulness_defined": True, "copy_rate": False, "empty_rate": False, "language_confusion_rate": False, "accuracy": True,
        }
        results["n-samples"][task] = {"original": len(group), "effective": len(group)}
        with (folder / f"samples_{task}_{date_id}.jsonl").open("w", encoding="utf-8") as handle:
            for doc_id, row in enumerate(group.itertuples(index=False)):
                handle.write(json.dumps(_sample_line(task, language, doc_id, row, rng), ensure_ascii=False) + "\n")
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
    assert [s["doc"]["index_id"] for s in samples] == [1, 2, 3, 4, 5]


def test_synthetic_documents_follow_the_task_rules():
    docs = synthetic_documents({"a": 0.0, "b": 2.0}, ["fra_Latn", "ace_Arab"], n_documents=400, seed=1)
    assert len(docs) == 2 * 2 * 400
    # ace_Arab has no language-ID code in the table, so confusion is undefined there.
    assert docs.loc[docs["language"] == "ace_Arab", "language_confusion_rate"].isna().all()
    assert docs.loc[docs["empty_rate"] == 1, "fluency"].isna().all()
    means = docs.groupby("model")["flip_rate"].mean()
    assert means["b"] > means["a"] + 0.1

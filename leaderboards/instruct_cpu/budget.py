"""Plan the board before running it: seconds per document of each model on this machine, and the total.

For each model, loads it once through lm-eval (timed), runs the board's settings (chat template,
greedy, the board's max_gen_toks, the shared fluency scorer) on the first DOCUMENTS documents of
one XNLI and one SIB-200 task, and prints seconds per document and the estimated CPU hours of the
whole board (tasks x documents x seconds per document + one load per task), and the wall time on
2 cores with one torch thread per run. Valid counterfactuals cost more (interventions, fluency),
and scripts with more tokens per word cost more than English: the estimate is a floor.

    python leaderboards/instruct_cpu/budget.py --model NAME=MODEL_ARGS [--model ...] [--documents 5]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
from lm_eval import evaluator
from lm_eval.api.registry import get_model

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
BOARD_TASKS = {"xnli": 6, "sib200": 3}
BOARD_DOCUMENTS = {"xnli": 50, "sib200": 30}
PROBE_TASKS = {"xnli": "macro_xnli_eng_Latn", "sib200": "macro_sib200_eng_Latn"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", required=True, help="NAME=MODEL_ARGS")
    parser.add_argument("--documents", type=int, default=5)
    parser.add_argument("--max_gen_toks", type=int, default=int(os.environ.get("MAX_GEN_TOKS", 128)))
    parser.add_argument("--fluency_lm", default=os.environ.get("FLUENCY_LM"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    metadata = {"sib200_dir": str(SHARED / "sib200"), "xnli_dir": str(SHARED / "xnli")}
    if args.fluency_lm:
        metadata["fluency_lm"] = args.fluency_lm
    rows = []
    for spec in args.model:
        name, _, model_args = spec.partition("=")
        start = time.perf_counter()
        lm = get_model("hf").create_from_arg_string(model_args, {"batch_size": 8, "device": "cpu"})
        load = time.perf_counter() - start
        per_document = {}
        for dataset, task in PROBE_TASKS.items():
            start = time.perf_counter()
            evaluator.simple_evaluate(model=lm, tasks=[task], limit=args.documents, apply_chat_template=True,
                                      gen_kwargs=f"max_gen_toks={args.max_gen_toks}", metadata=dict(metadata),
                                      log_samples=False)
            per_document[dataset] = (time.perf_counter() - start) / args.documents
        cpu = sum(BOARD_TASKS[d] * (BOARD_DOCUMENTS[d] * per_document[d] + load) for d in BOARD_TASKS)
        rows.append({"model": name, "load_s": round(load), **{f"{d}_s_per_doc": round(s, 1) for d, s in per_document.items()},
                     "board_cpu_h": round(cpu / 3600, 2)})
        print(json.dumps(rows[-1]), flush=True)
        del lm
    total = sum(row["board_cpu_h"] for row in rows)
    print(f"board: {BOARD_TASKS['xnli']} XNLI x {BOARD_DOCUMENTS['xnli']} + {BOARD_TASKS['sib200']} SIB-200 x "
          f"{BOARD_DOCUMENTS['sib200']} documents per model; estimated {total:.1f} CPU hours, "
          f"{total / 2:.1f} h of wall time on 2 cores (one thread per run, two runs at a time)")


if __name__ == "__main__":
    main()

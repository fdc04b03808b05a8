"""Tokens generated per document with and without the default chat stop sequence, on a real model.

Generates the second pass's counterfactual prompts (chat template, greedy, max_gen_toks 256) for the
first N documents of SIB-200 and XNLI English with ``until=[]`` (protocol 2) and with the protocol-3
default (:data:`macro_bench.second_pass.CHAT_STOP_SEQUENCES`), through lm-eval's HFLM, and prints the
mean tokens generated per document (counted with the model's tokenizer), the wall time, and how many
answers the stop sequence changed beyond cutting trailing text. One torch thread.

    python benchmarks/stop_sequences.py --pretrained DIR --gguf_file FILE [--documents 16]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
from lm_eval.api.instance import Instance
from lm_eval.models.huggingface import HFLM

from macro_bench.datasets import get_dataset
from macro_bench.languages import get_language
from macro_bench.protocol import choose_target, document_order_key
from macro_bench.second_pass import CHAT_STOP_SEQUENCES

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pretrained", required=True)
    parser.add_argument("--gguf_file")
    parser.add_argument("--documents", type=int, default=16)
    args = parser.parse_args()
    torch.set_num_threads(1)
    lm = HFLM(pretrained=args.pretrained, gguf_file=args.gguf_file, dtype="float32", batch_size=8, device="cpu")
    metadata = {"sib200_dir": str(SHARED / "sib200"), "xnli_dir": str(SHARED / "xnli")}
    for name in ("sib200", "xnli"):
        dataset = get_dataset(name)
        docs = sorted(dataset.load("eng_Latn", metadata), key=lambda doc: document_order_key(doc[dataset.doc_key_field]))
        contexts = []
        for doc in docs[: args.documents]:
            # The prediction is the first label here (no classification pass): the prompt's shape is what matters.
            prediction = dataset.labels[0]
            target = choose_target(doc[dataset.doc_key_field], prediction, dataset.labels)
            prompt = dataset.generation_prompt(doc, prediction, target, get_language("eng_Latn").name)
            contexts.append(lm.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True))
        results = {}
        for label, until in (("until=[] (protocol 2)", []), (f"until={CHAT_STOP_SEQUENCES!r} (protocol 3)", CHAT_STOP_SEQUENCES)):
            requests = [Instance("generate_until", {}, (c, {"until": list(until), "max_gen_toks": 256, "do_sample": False}), 0) for c in contexts]
            start = time.perf_counter()
            texts = lm.generate_until(requests)
            seconds = time.perf_counter() - start
            tokens = [len(lm.tok_encode(text)) for text in texts]
            results[label] = texts
            print(f"{name} eng_Latn, {len(texts)} documents, {label}: {statistics.mean(tokens):.1f} tokens/document "
                  f"(max {max(tokens)}), {seconds:.0f} s")
        before, after = results.values()
        changed = sum(not b.startswith(a) for b, a in zip(before, after, strict=True))
        cut = sum(a != b for b, a in zip(before, after, strict=True))
        print(f"  the stop sequence cut {cut} generations; {changed} are not a prefix of the unstopped one")


if __name__ == "__main__":
    main()

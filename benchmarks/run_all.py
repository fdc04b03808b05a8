"""Every macro-bench benchmark in turn, then one table of every figure, ratio and target.

    /work/venv/bin/python benchmarks/run_all.py            # full sizes (about 30 min on 2 shared cores)
    /work/venv/bin/python benchmarks/run_all.py --quick    # small sizes, a smoke check of the scripts

Each benchmark runs as its own subprocess with this interpreter and prints its own
report (its stderr, lm-eval's logs and progress bars, goes to ``--logs``). The
summary is parsed from those reports (``scoring_pass.py`` and ``memory.py`` write
JSON). Every figure is shown beside a baseline measured in the same run, because
this machine is shared and noisy:

* metric kernels: nltk.edit_distance on the same token lists;
* start-up: the same command with the hook off (MACRO_BENCH_NO_HOOK=1), interleaved;
* scoring pass: forwarding each distinct context once (the minimum), interleaved with lm-eval's
  request path and the shared-prefix scorer replayed on the same requests;
* memory: a process that only loads the model, and the 1-task run;
* aggregation: the benchmark has no baseline of its own, so its time is also given
  in units of a fixed calibration workload (pure Python + numpy, best of 3) that this
  script times at the start and at the end.

With ``--quick`` the sizes are smaller than the targets are defined for, so the
verdicts there are only indicative (aggregation's 1M-record budget is not judged).
``language_id_calibration.py`` is not run: it regenerates a data table of the package
rather than timing anything.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent


@dataclass
class Figure:
    benchmark: str
    figure: str
    value: str
    baseline: str = "-"
    ratio: str = "-"
    target: str = "-"
    verdict: str = "-"


def number(text: str) -> float:
    return float(text.replace(",", ""))


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("PASS" if ok else "MISS")


def calibration_seconds() -> float:
    """Best of 3 of a fixed CPU workload: a pure-Python loop and a numpy sort."""
    import numpy as np

    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        total = 0
        for i in range(2_000_000):
            total += i * i % 7
        np.sort(np.random.default_rng(0).random(2_000_000))
        best = min(best, time.perf_counter() - start)
    return best


# --- parsers of each benchmark's printed report -------------------------------------


def parse_metric_kernels(out: str, _: dict | None) -> list[Figure]:
    name = "metric kernels"
    figures = []
    single = re.search(r"kernel, 1 process:\s+([\d,]+) pairs/s wall-clock,\s+([\d,]+) pairs/s by CPU time", out)
    parallel = re.search(
        r"kernel, (\d+) processes:\s+([\d,]+) pairs/s wall-clock,\s+([\d,]+) pairs/s by the slowest worker's "
        r"CPU time \((meets|MISSES) the ([\d,]+) pairs/s target\)",
        out,
    )
    nltk = re.search(r"nltk\.edit_distance baseline.*?: ([\d,]+) pairs/s", out, re.S)
    speedup = re.search(r"speed-up over nltk, 1 process vs 1 process: ([\d,.]+)x\s+\((meets|MISSES) the (\d+)x", out)
    nltk_rate = number(nltk.group(1)) if nltk else None
    baseline = f"nltk {nltk_rate:,.0f} pairs/s" if nltk_rate else "-"
    if parallel:
        rate = number(parallel.group(3))
        figures.append(Figure(
            name, f"minimality kernel, {parallel.group(1)} processes (CPU-time rate)", f"{rate:,.0f} pairs/s",
            baseline, f"{rate / nltk_rate:,.1f}x" if nltk_rate else "-", f">= {parallel.group(5)} pairs/s",
            verdict(parallel.group(4) == "meets"),
        ))
        figures.append(Figure(name, f"minimality kernel, {parallel.group(1)} processes (wall-clock)",
                              f"{number(parallel.group(2)):,.0f} pairs/s", baseline))
    if single:
        rate = number(single.group(2))
        figures.append(Figure(
            name, "minimality kernel, 1 process (CPU-time rate): speed-up over nltk", f"{rate:,.0f} pairs/s",
            baseline, f"{speedup.group(1)}x" if speedup else "-",
            f">= {speedup.group(3)}x" if speedup else "-", verdict(speedup.group(2) == "meets") if speedup else "-",
        ))
    return figures


_REPORT_LINE = re.compile(
    r"^\s+(wall|cpu)\s+median on\s+([\d.]+)\s+off\s+([\d.]+)\s+added\s+(-?[\d.]+) (ms|s)", re.M
)


def parse_startup(out: str, _: dict | None) -> list[Figure]:
    name = "start-up"
    figures = []
    sections = re.split(r"\n(?=\S)", out)
    budget = re.search(r"budget: < ([\d.]+) ms added", out)
    for section in sections:
        if section.startswith("python -c pass"):
            label = "`python -c pass`"
        elif section.startswith("lm_eval ls tasks"):
            label = "`lm_eval ls tasks`"
        else:
            continue
        for kind, on, off, added, unit in _REPORT_LINE.findall(section):
            on, off, added = float(on), float(off), float(added)
            judged = label == "`python -c pass`" and kind == "wall" and budget
            figures.append(Figure(
                name, f"{label}, hook on vs off, median {kind} (added)", f"{added:+.2f} {unit}",
                f"hook off {off:.2f} {unit}", f"{on / off:.3f}x" if off else "-",
                f"< {budget.group(1)} ms added" if judged else "-",
                verdict(added < float(budget.group(1))) if judged else "-",
            ))
    on = re.search(r"hook on :\s+([\d.]+)\s+names indexed: (\d+)", out)
    off = re.search(r"hook off:\s+([\d.]+)\s+names indexed: (\d+)", out)
    if on and off:
        figures.append(Figure(
            name, f"TaskManager(include_defaults=False) index, CPU ({on.group(2)} vs {off.group(2)} names)",
            f"{float(on.group(1)):.1f} ms", f"hook off {float(off.group(1)):.1f} ms",
            # hook off indexes no task at all, so a ratio to it would mean nothing
            f"{float(on.group(1)) / float(off.group(1)):.2f}x" if float(off.group(1)) >= 1 else "- (off: 0 tasks)",
        ))
    return figures


def parse_scoring_pass(out: str, data: dict | None) -> list[Figure]:
    name = "scoring pass"
    figures = []
    for mode in (data or {}).get("modes", []):
        d = mode["documents"]
        tag = f"{mode['task'].removeprefix('macro_sib200_')}, {mode['mode']}, {d} docs"
        baseline = statistics.median(mode["baseline_seconds"]) / d
        for path, p in mode["paths"].items():
            judged = path == "shared prefix"  # the target is the shared-prefix scorer's; lm-eval's path is context
            figures.append(Figure(
                name, f"{path}: full forward rows/document ({tag}; {p['forward_calls']} calls, "
                f"+ {p['continuation_rows'] / d:.1f} continuation rows/document)", f"{p['rows'] / d:.2f}",
                f"minimum {mode['min_rows'] / d:.2f}", f"{p['rows_ratio']:.2f}x",
                f"<= {mode['target_ratio']}x" if judged else "-",
                verdict(p["rows_ratio"] <= mode["target_ratio"]) if judged else "-",
            ))
            figures.append(Figure(
                name, f"{path}: model calls + pass's other work, s/document ({tag})",
                f"{statistics.median(p['replay_seconds']) / d + mode['other_seconds'] / d:.2f} s",
                f"minimum {baseline:.2f} s", f"{p['wall_ratio']:.2f}x",
                f"<= {mode['target_ratio']}x" if judged else "-",
                verdict(p["wall_ratio"] <= mode["target_ratio"]) if judged else "-",
            ))
            figures.append(Figure(
                name, f"{path}: model calls by process CPU time ({tag})",
                f"{statistics.median(p['replay_cpu_seconds']) / d:.2f} s",
                f"minimum {statistics.median(mode['baseline_cpu_seconds']) / d:.2f} s", f"{p['cpu_ratio']:.2f}x",
            ))
    return figures


def parse_memory(out: str, data: dict | None) -> list[Figure]:
    name = "memory"
    if not data:
        return []
    runs = data["runs"]
    load = runs["model load"]["peak_mb"]
    figures = [Figure(name, "peak RSS, load the model only", f"{load:,.0f} MB", "-", "1.00x")]
    for key, run in runs.items():
        if key == "model load":
            continue
        figures.append(Figure(
            name, f"peak RSS, lm_eval {key} ({', '.join(run['tasks'])}), --limit {data['limit']} "
            f"--batch_size {run['batch_size']}",
            f"{run['peak_mb']:,.0f} MB", f"model load {load:,.0f} MB", f"{run['peak_mb'] / load:.2f}x",
        ))
    one = runs["1 task"]["peak_mb"]
    figures.append(Figure(
        name, f"peak RSS growth, 1 task -> {data['compared']}", f"{data['growth_mb']:+,.0f} MB",
        f"1 task {one:,.0f} MB", f"{data['growth_ratio']:.3f}x", f"<= {1 + data['allowance']:.2f}x",
        verdict(data["meets_target"]),
    ))
    return figures


def parse_aggregate(out: str, _: dict | None, calibration: float | None = None, quick: bool = False) -> list[Figure]:
    name = "aggregation"
    figures = []
    aggregate = re.search(r"aggregate: ([\d,]+) records .*?: ([\d.]+) s \(budget ([\d.]+) s\)", out)
    load = re.search(r"load: ([\d,]+) records from lm-eval files in ([\d.]+) s", out)
    calibrated = f"calibration {calibration:.2f} s" if calibration else "-"
    if aggregate:
        seconds, budget = float(aggregate.group(2)), float(aggregate.group(3))
        figures.append(Figure(
            name, f"leaderboard statistics, {aggregate.group(1)} records", f"{seconds:.1f} s", calibrated,
            f"{seconds / calibration:.1f}x" if calibration else "-",
            "-" if quick else f"< {budget:.0f} s", "-" if quick else verdict(seconds < budget),
        ))
    if load:
        seconds = float(load.group(2))
        figures.append(Figure(
            name, f"load lm-eval files, {load.group(1)} records", f"{seconds:.1f} s", calibrated,
            f"{seconds / calibration:.1f}x" if calibration else "-",
        ))
    return figures


# --- running ---------------------------------------------------------------------------


@dataclass
class Benchmark:
    name: str
    script: str
    full: list[str]
    quick: list[str]
    parse: object
    writes_json: bool = False


BENCHMARKS = [
    Benchmark("metric kernels", "metric_kernels.py", [], ["--pairs", "10000", "--nltk-pairs", "500"],
              parse_metric_kernels),
    Benchmark("start-up", "startup.py", [], ["--runs", "10", "--index-runs", "2", "--ls-runs", "0"], parse_startup),
    Benchmark("scoring pass", "scoring_pass.py", ["--limit", "3", "--chat", "--repeats", "5"], ["--limit", "1", "--repeats", "1"],
              parse_scoring_pass, writes_json=True),
    Benchmark("memory", "memory.py", [], ["--quick"], parse_memory, writes_json=True),
    Benchmark("aggregation", "aggregate_speed.py", [],
              ["--models", "4", "--languages", "50", "--documents", "50", "--resamples", "200"], parse_aggregate),
]


def run_benchmark(benchmark: Benchmark, quick: bool, logs: Path) -> tuple[str, dict | None, int, float]:
    argv = [sys.executable, str(HERE / benchmark.script), *(benchmark.quick if quick else benchmark.full)]
    json_path = logs / f"{Path(benchmark.script).stem}.json"
    if benchmark.writes_json:
        argv += ["--json", str(json_path)]
    stderr_path = logs / f"{Path(benchmark.script).stem}.stderr.log"
    print(f"\n{'=' * 88}\n{benchmark.name}: {' '.join(argv)}\n"
          f"(load average {os.getloadavg()[0]:.2f}; stderr -> {stderr_path})\n{'=' * 88}", flush=True)
    start = time.perf_counter()
    lines = []
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=REPO_ROOT,
                                   env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"})
        for line in process.stdout:
            print(line, end="", flush=True)
            lines.append(line)
        returncode = process.wait()
    seconds = time.perf_counter() - start
    if returncode != 0:
        tail = stderr_path.read_text(errors="replace")[-2000:]
        print(f"!! {benchmark.script} exited {returncode}; end of its stderr:\n{tail}", flush=True)
    data = json.loads(json_path.read_text()) if benchmark.writes_json and json_path.exists() else None
    print(f"-- {benchmark.name} took {seconds:.0f} s", flush=True)
    return "".join(lines), data, returncode, seconds


def print_table(figures: list[Figure]) -> None:
    headers = ("benchmark", "figure", "value", "baseline (same run)", "ratio", "target", "verdict")
    rows = [headers] + [(f.benchmark, f.figure, f.value, f.baseline, f.ratio, f.target, f.verdict) for f in figures]
    widths = [max(len(row[i]) for row in rows) for i in range(len(headers))]
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * width for width in widths))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a fast smoke check")
    parser.add_argument("--only", nargs="*", help="run only these benchmarks (script names without .py)")
    parser.add_argument("--logs", type=Path, help="folder for each benchmark's stderr and JSON (default: a temp dir)")
    args = parser.parse_args()

    logs = args.logs or Path(tempfile.mkdtemp(prefix="macro-bench-benchmarks-"))
    logs.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    print(f"macro-bench benchmarks ({'quick' if args.quick else 'full'}), {started}")
    print(f"cpu cores: {os.cpu_count()} ({len(os.sched_getaffinity(0))} usable), load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min), python {sys.executable}")
    calibration_start = calibration_seconds()
    print(f"calibration workload: {calibration_start:.3f} s at the start")

    figures: list[Figure] = []
    failures = []
    outputs = {}
    total = time.perf_counter()
    for benchmark in BENCHMARKS:
        if args.only and Path(benchmark.script).stem not in args.only:
            continue
        out, data, returncode, _ = run_benchmark(benchmark, args.quick, logs)
        outputs[benchmark.name] = (out, data)
        if returncode != 0 and not (benchmark.name == "aggregation" and "aggregate:" in out):
            failures.append(benchmark.name)  # aggregate_speed exits 1 when it misses its budget

    calibration_end = calibration_seconds()
    calibration = statistics.mean([calibration_start, calibration_end])
    for benchmark in BENCHMARKS:
        if benchmark.name not in outputs:
            continue
        out, data = outputs[benchmark.name]
        if benchmark.name == "aggregation":
            parsed = parse_aggregate(out, data, calibration, args.quick)
        else:
            parsed = benchmark.parse(out, data)
        if not parsed:
            failures.append(f"{benchmark.name} (nothing parsed)")
        figures.extend(parsed)

    print(f"\n{'=' * 88}\nsummary ({'quick: sizes reduced, verdicts indicative only' if args.quick else 'full'}), "
          f"started {started}, {time.perf_counter() - total:.0f} s in all")
    print(f"cpu cores: {os.cpu_count()}, load average now {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"calibration workload {calibration_start:.3f} s at the start, {calibration_end:.3f} s at the end")
    print_table(figures)
    missed = [f for f in figures if f.verdict == "MISS"]
    print(f"\n{sum(f.verdict == 'PASS' for f in figures)} PASS, {len(missed)} MISS"
          + (f"; failed to run: {', '.join(failures)}" if failures else ""))
    print(f"logs: {logs}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

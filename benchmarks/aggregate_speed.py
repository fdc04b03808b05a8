"""How long the leaderboard statistics take on one million per-document records.

Synthetic records (tests/test_aggregate_fixtures.py): 20 models x 200 SIB-200 languages x
250 documents = 1,000,000, aggregated with 1,000 bootstrap resamples into every table
(model x language, x language family, model family x language family, overall, held-out
split). Loading is timed separately on real lm-eval-shaped files for a smaller run set,
since the statistics, not JSON parsing, are what the 30-second budget is about; the same
files then go through the whole command (tables, examples view, every format), whose
time and HTML size are printed.

    /work/venv/bin/python benchmarks/aggregate_speed.py [--models 20] [--languages 200] [--documents 250]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from macro_bench.aggregate.leaderboard import Settings, build_leaderboard  # noqa: E402
from macro_bench.aggregate.loading import load_runs  # noqa: E402
from macro_bench.aggregate.pipeline import make_leaderboard, write_leaderboard  # noqa: E402
from macro_bench.aggregate.problems import Problems  # noqa: E402
from macro_bench.languages import load_languages  # noqa: E402
from tests.test_aggregate_fixtures import synthetic_documents, write_lm_eval_run  # noqa: E402

BUDGET_SECONDS = 30.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--languages", type=int, default=200)
    parser.add_argument("--documents", type=int, default=250)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--load-models", type=int, default=2, help="models written to disk for the loading timing")
    args = parser.parse_args()

    languages = list(load_languages())[: args.languages]
    abilities = {f"org/model-{i:02d}-{100 + i}M": 0.1 * i for i in range(args.models)}
    documents = synthetic_documents(abilities, languages, n_documents=args.documents, seed=0)
    families = {model: (model.split("-")[1], "benchmark") for model in abilities}
    settings = Settings(n_resamples=args.resamples, seen_families=("Indo-European", "Sino-Tibetan"))

    start = time.perf_counter()
    board = build_leaderboard(documents, families, settings, Problems(echo=False))
    aggregate_seconds = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as folder:
        for model in list(abilities)[: args.load_models]:
            write_lm_eval_run(Path(folder), model, documents)
        start = time.perf_counter()
        loaded = load_runs([Path(folder)], Problems(echo=False))
        load_seconds = time.perf_counter() - start
        loaded_records = len(loaded.documents)
        start = time.perf_counter()
        report = make_leaderboard([Path(folder)], {}, Settings(n_resamples=args.resamples), Problems(echo=False))
        written = write_leaderboard(report, Path(folder) / "board")
        command_seconds = time.perf_counter() - start
        html_bytes = (Path(folder) / "board" / "leaderboard.html").stat().st_size
        n_examples = sum(len(shown) for shown in report.examples.values())

    print(f"cpu_count={os.cpu_count()}")
    print(
        f"aggregate: {len(documents):,} records ({args.models} models x {len(languages)} languages x "
        f"{args.documents} documents), {args.resamples} resamples, {len(board.by_language):,} "
        f"model-language-metric cells: {aggregate_seconds:.1f} s (budget {BUDGET_SECONDS:.0f} s)"
    )
    print(
        f"load: {loaded_records:,} records from lm-eval files in {load_seconds:.1f} s "
        f"({loaded_records / load_seconds:,.0f} records/s)"
    )
    print(
        f"leaderboard command on those files (load, tables, {n_examples:,} examples, {len(written)} files): "
        f"{command_seconds:.1f} s; leaderboard.html {html_bytes / 1e6:.1f} MB"
    )
    return 0 if aggregate_seconds < BUDGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())

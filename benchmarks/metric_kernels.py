"""Throughput of the per-pair minimality kernel: tokenize + edited positions + minimality.

Pairs are real SIB-200 test sentences from 20 languages in 20 different scripts,
each paired with a counterfactual made by 1-3 random token edits (substitute,
delete or insert a token drawn from the same language; seeded). The kernel is
``Minimality()(original, counterfactual)``, exactly what the scoring pass runs
per document. It is timed in one process and spread over every usable core
(the pairs reach the worker processes by fork, so only the kernel is timed).
Rates are given by wall-clock time and by the processes' own CPU time: on a
machine shared with other jobs (see the printed load average) the CPU-time
rate is what the kernel does with a core to itself. The baseline tokenizes
the same way and runs ``nltk.edit_distance`` over the same token lists -- on
a subsample, extrapolated, because it is slow -- and computes only the
distance, not the edited positions, so the speed-up it yields is a lower
bound.

    /work/venv/bin/python benchmarks/metric_kernels.py [--pairs 100000] [--sib200-dir DIR]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import random
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import nltk  # noqa: E402

from macro_bench.datasets.sib200 import load_local_split  # noqa: E402
from macro_bench.metrics.minimality import Minimality, minimality  # noqa: E402
from macro_bench.tokenization import (  # noqa: E402
    TOKENIZER_SIGNATURE,
    comparable_token_texts,
    tokenize,
)

LANGUAGES = [
    "eng_Latn", "rus_Cyrl", "pes_Arab", "hin_Deva", "ben_Beng", "zho_Hans", "jpn_Jpan",
    "kor_Hang", "tha_Thai", "lao_Laoo", "khm_Khmr", "mya_Mymr", "bod_Tibt", "amh_Ethi",
    "ell_Grek", "heb_Hebr", "kat_Geor", "hye_Armn", "tam_Taml", "sin_Sinh",
]
TARGET_PAIRS_PER_SECOND = 20_000
TARGET_SPEEDUP_OVER_NLTK = 10.0

_pairs: list[tuple[str, str]] = []  # shared with forked workers


def random_counterfactual(text: str, vocabulary: list[str], rng: random.Random) -> str:
    """``text`` with 1-3 random token edits, keeping the original spacing elsewhere."""
    tokens = tokenize(text)
    spaced = any(character.isspace() for character in text)
    # (token text, text up to the next token) pieces; the first gap is kept as is.
    pieces = [
        [token.text, text[token.end : tokens[i + 1].start if i + 1 < len(tokens) else len(text)]]
        for i, token in enumerate(tokens)
    ]
    for _ in range(rng.randint(1, 3)):
        operation = rng.choice(("substitute", "delete", "insert"))
        position = rng.randrange(len(pieces))
        if operation == "substitute":
            pieces[position][0] = rng.choice(vocabulary)
        elif operation == "delete" and len(pieces) > 1:
            del pieces[position]
        else:
            pieces.insert(position, [rng.choice(vocabulary), " " if spaced else ""])
    return text[: tokens[0].start] + "".join(token + gap for token, gap in pieces)


def build_pairs(
    sib200_dir: Path, n_pairs: int, seed: int
) -> tuple[list[tuple[str, str]], list[str]]:
    """``n_pairs`` (original, counterfactual) pairs, cycling through the languages."""
    rng = random.Random(seed)
    texts_by_language = {
        language: [row["text"] for row in load_local_split(sib200_dir, language)]
        for language in LANGUAGES
    }
    vocabularies = {
        language: sorted({token.text for text in texts for token in tokenize(text)})
        for language, texts in texts_by_language.items()
    }
    pairs, languages = [], []
    for i in range(n_pairs):
        language = LANGUAGES[i % len(LANGUAGES)]
        original = rng.choice(texts_by_language[language])
        pairs.append((original, random_counterfactual(original, vocabularies[language], rng)))
        languages.append(language)
    return pairs, languages


def run_kernel(pairs: list[tuple[str, str]]) -> float:
    measure = Minimality()
    checksum = 0.0
    for original, counterfactual in pairs:
        result = measure(original, counterfactual)
        checksum += result.score + len(result.edited_positions)
    return checksum


def timed(pairs: list[tuple[str, str]]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of the kernel over ``pairs``."""
    wall, cpu = time.perf_counter(), time.process_time()
    run_kernel(pairs)
    return time.perf_counter() - wall, time.process_time() - cpu


def _timed_slice(bounds: tuple[int, int]) -> tuple[float, float]:
    return timed(_pairs[bounds[0] : bounds[1]])


def time_parallel(n_workers: int) -> tuple[float, float]:
    """Wall-clock seconds over all pairs, and the CPU seconds of the slowest worker."""
    context = multiprocessing.get_context("fork")
    size = -(-len(_pairs) // n_workers)
    slices = [(start, min(start + size, len(_pairs))) for start in range(0, len(_pairs), size)]
    with context.Pool(n_workers) as pool:
        pool.map(_timed_slice, [(0, 1)] * n_workers)  # start the workers first
        started = time.perf_counter()
        worker_times = pool.map(_timed_slice, slices)
        wall = time.perf_counter() - started
    return wall, max(cpu for _, cpu in worker_times)


def nltk_minimality(source_tokens: list[str], counterfactual_tokens: list[str]) -> float:
    longer = max(len(source_tokens), len(counterfactual_tokens))
    return nltk.edit_distance(source_tokens, counterfactual_tokens) / longer if longer else 0.0


def nltk_baseline(pairs: list[tuple[str, str]]) -> float:
    return sum(
        nltk_minimality(comparable_token_texts(original), comparable_token_texts(counterfactual))
        for original, counterfactual in pairs
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sib200-dir", type=Path, default=REPO_ROOT.parent / "shared/data/sib200")
    parser.add_argument("--pairs", type=int, default=100_000)
    parser.add_argument("--nltk-pairs", type=int, default=2_000, help="subsample timed with nltk")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()

    global _pairs
    _pairs, languages = build_pairs(arguments.sib200_dir, arguments.pairs, arguments.seed)
    n_pairs = len(_pairs)
    print(f"machine: {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable), "
          f"Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    print(f"tokenizer: {TOKENIZER_SIGNATURE}")
    print(f"pairs: {n_pairs:,} from {len(LANGUAGES)} languages / scripts, 1-3 random token edits")

    run_kernel(_pairs[:2_000])  # warm the regex module's property tables
    wall, cpu = timed(_pairs)
    single_rate = n_pairs / cpu
    print(f"\nkernel, 1 process:   {n_pairs / wall:9,.0f} pairs/s wall-clock, "
          f"{single_rate:9,.0f} pairs/s by CPU time")
    wall, slowest_cpu = time_parallel(arguments.workers)
    parallel_rate = n_pairs / slowest_cpu
    verdict = "meets" if parallel_rate >= TARGET_PAIRS_PER_SECOND else "MISSES"
    print(f"kernel, {arguments.workers} processes: {n_pairs / wall:9,.0f} pairs/s wall-clock, "
          f"{parallel_rate:9,.0f} pairs/s by the slowest worker's CPU time "
          f"({verdict} the {TARGET_PAIRS_PER_SECOND:,} pairs/s target)")

    print("\nper language, 1 process, by CPU time (pairs/s, mean source tokens):")
    for language in LANGUAGES:
        subset = [pair for pair, lang in zip(_pairs, languages) if lang == language]
        _, cpu = timed(subset)
        mean_tokens = sum(len(comparable_token_texts(x)) for x, _ in subset) / len(subset)
        print(f"  {language}  {len(subset) / cpu:9,.0f}  {mean_tokens:6.1f}")

    sample = random.Random(arguments.seed).sample(_pairs, min(arguments.nltk_pairs, n_pairs))
    cpu = time.process_time()
    nltk_baseline(sample)
    nltk_rate = len(sample) / (time.process_time() - cpu)
    token_pairs = [(comparable_token_texts(x), comparable_token_texts(y)) for x, y in sample[:200]]
    agreeing = sum(minimality(a, b) == nltk_minimality(a, b) for a, b in token_pairs)
    speedup = single_rate / nltk_rate
    verdict = "meets" if speedup >= TARGET_SPEEDUP_OVER_NLTK else "MISSES"
    print(f"\nnltk.edit_distance baseline, 1 process, by CPU time, timed on {len(sample):,} random "
          f"pairs and extrapolated: {nltk_rate:,.0f} pairs/s -> {n_pairs / nltk_rate:,.0f} s "
          f"for all {n_pairs:,}")
    print(f"minimality equals nltk's on {agreeing}/{len(token_pairs)} checked pairs")
    print(f"speed-up over nltk, 1 process vs 1 process: {speedup:,.1f}x  "
          f"({verdict} the {TARGET_SPEEDUP_OVER_NLTK:.0f}x target; "
          "nltk computes no edited positions)")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")

if __name__ == "__main__":
    main()

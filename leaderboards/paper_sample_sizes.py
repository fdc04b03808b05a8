"""Which document counts the published label-flip rates of arXiv 2601.00263 can come from.

Card
----
A rate published as a percentage with two decimals, p, is *consistent* with N documents
when some whole number of flips k (0 <= k <= N) rounds to it:

    |100 k / N - p| <= 0.005        (exact rational arithmetic, no float rounding)

A row of the paper's table (one model, dataset and method, six languages) is consistent
with N when every one of its rates is. Range: N = 1 .. MAX_COUNT. The smallest consistent
N is a lower bound on the row's document count, and a count that is *not* consistent rules
that sample size out; neither proves the count the paper used.

Why: the stored copies of the paper available here do not state how many documents each
rate covers, and leaderboards/paper_setting.sh must run the same documents (all of them,
or a --limit mirroring a subset). SIB-200's test split has 204 documents per language,
XNLI's validation split 2,490 pairs and its test split 5,010.

Run: ``python leaderboards/paper_sample_sizes.py`` prints, per row, the smallest
consistent N, and whether 204, 2,490 and 5,010 are consistent.
"""

from __future__ import annotations

import csv
import sys
from fractions import Fraction
from pathlib import Path

PUBLISHED = Path(__file__).with_name("paper_published_lfr.csv")
COLUMNS = ("model", "dataset", "method", "language", "lfr_percent", "source")
# The split sizes a row could plausibly come from (documents per language).
SPLIT_SIZES = {"SIB-200 test": 204, "XNLI validation": 2490, "XNLI test": 5010}
MAX_COUNT = 6000
_HALF_LAST_DECIMAL = Fraction(1, 200)


class PublishedRatesError(ValueError):
    """The published-rates file cannot be read as documented."""


def parse_percent(text: str, where: str) -> Fraction:
    """A published percentage (e.g. ``"45.42"``) as an exact fraction; ``where`` names it in errors."""
    try:
        value = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise PublishedRatesError(f"{where}: lfr_percent {text!r} is not a number; write it as in the paper, e.g. 45.42") from None
    if not 0 <= value <= 100:
        raise PublishedRatesError(f"{where}: lfr_percent {text!r} is outside 0..100; write a percentage, e.g. 45.42")
    return value


def is_consistent(percent: Fraction, count: int) -> bool:
    """Whether some k in 0..count gives 100 k / count within half a unit of percent's last (second) decimal."""
    if count < 1:
        raise ValueError(f"a document count must be at least 1, got {count}")
    nearest = round(percent * count / 100)
    return any(abs(Fraction(100 * k, count) - percent) <= _HALF_LAST_DECIMAL for k in (nearest - 1, nearest, nearest + 1) if 0 <= k <= count)


def consistent_counts(percents: list[Fraction], max_count: int = MAX_COUNT) -> list[int]:
    """Every N in 1..max_count that each of ``percents`` is consistent with, ascending."""
    return [n for n in range(1, max_count + 1) if all(is_consistent(p, n) for p in percents)]


def read_published(path: Path = PUBLISHED) -> dict[tuple[str, str, str], dict[str, Fraction]]:
    """``(model, dataset, method) -> {language: percent}`` from the published-rates CSV."""
    rows: dict[tuple[str, str, str], dict[str, Fraction]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise PublishedRatesError(f"{path}: header is {reader.fieldnames}, expected {','.join(COLUMNS)}")
        for line, record in enumerate(reader, start=2):
            where = f"{path}, line {line}"
            key = (record["model"], record["dataset"], record["method"])
            language = record["language"]
            if language in rows.setdefault(key, {}):
                raise PublishedRatesError(f"{where}: {language} appears twice for {' / '.join(key)}; keep one")
            rows[key][language] = parse_percent(record["lfr_percent"], where)
    return rows


def main() -> int:
    print(f"document counts consistent with each published row (N = 1..{MAX_COUNT}; source: {PUBLISHED.name})")
    header = ["model", "dataset", "method", "smallest N", "how many N"] + [f"{name} ({size})" for name, size in SPLIT_SIZES.items()]
    print(" | ".join(header))
    for (model, dataset, method), by_language in read_published().items():
        counts = consistent_counts(list(by_language.values()))
        splits = ["yes" if size in counts else "no" for size in SPLIT_SIZES.values()]
        print(" | ".join([model, dataset, method, str(counts[0]) if counts else "none", str(len(counts)), *splits]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

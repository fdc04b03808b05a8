"""Regenerate macro_bench/language_id_calibration.tsv: lid.176 calibrated and measured for all 205 languages.

    /work/main/.venv/bin/python benchmarks/language_id_calibration.py [--sib200-dir DIR] [--xnli-dir DIR] [--output FILE]

Run it from the repository root with macro-bench installed (or PYTHONPATH=.).
Per language (the rule is the card of macro_bench/language_id.py): calibrate on
the SIB-200 train split, then measure on the test split the false-alarm rate on
the language's own sentences and the detection rate of the parallel sentences
in each pivot language, decide which pivots are distinguishable (on the train
split) and whether confusion is defined.  It also measures false alarms on the
XNLI dev hypotheses of the 15 XNLI languages (short texts, a harder case; this
column does not enter the status).  It prints how many languages are defined,
the worst false-alarm rate and lowest detection among them, and every
undefined language with its reason.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from macro_bench.datasets.sib200 import load_local_split
from macro_bench.language_id import (
    CALIBRATION_COLUMNS,
    CALIBRATION_SPLIT,
    DEFINED,
    MAX_FALSE_ALARM_RATE,
    MEASUREMENT_SPLIT,
    MIN_DETECTION_RATE,
    PIVOT_LANGUAGES,
    UNDEFINED,
    Identification,
    LanguageCalibration,
    calibrate,
    format_thresholds,
    identify,
)
from macro_bench.languages import load_languages

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SIB200_DIR = REPO_ROOT.parent / "shared" / "data" / "sib200"
DEFAULT_XNLI_DIR = REPO_ROOT.parent / "shared" / "data" / "xnli"
DEFAULT_OUTPUT = REPO_ROOT / "macro_bench" / "language_id_calibration.tsv"
XNLI_LANGUAGES = {
    "ar": "arb_Arab", "bg": "bul_Cyrl", "de": "deu_Latn", "el": "ell_Grek", "en": "eng_Latn",
    "es": "spa_Latn", "fr": "fra_Latn", "hi": "hin_Deva", "ru": "rus_Cyrl", "sw": "swh_Latn",
    "th": "tha_Thai", "tr": "tur_Latn", "ur": "urd_Arab", "vi": "vie_Latn", "zh": "zho_Hans",
}  # fmt: skip
XNLI_FIELDS = ("premise", "hypothesis", "label")


@dataclass(frozen=True)
class Split:
    """One language's split: the identification of each sentence, keyed by index_id."""

    identifications: dict[int, Identification | None]


@dataclass(frozen=True)
class LanguageReport:
    code: str
    calibration: LanguageCalibration
    false_alarm_rate: float
    detection: dict[str, float]  # pivot -> test detection rate (every pivot but the language itself)
    calibration_detection: dict[str, float]  # pivot -> train detection rate, decides distinguishability
    undefined_reason: str | None
    xnli_false_alarm_rate: float | None

    @property
    def indistinguishable_from(self) -> list[str]:
        return [pivot for pivot, rate in self.calibration_detection.items() if rate < MIN_DETECTION_RATE]


def identify_split(sib200_dir: Path, code: str, split: str) -> Split:
    documents = load_local_split(sib200_dir, code, split)
    identifications = identify([document["text"] for document in documents])
    return Split(dict(zip((document["index_id"] for document in documents), identifications, strict=True)))


def flagged_share(calibration: LanguageCalibration, identifications: Sequence[Identification | None]) -> float:
    """Share of texts whose identification is foreign for the calibrated language (None is never foreign)."""
    if not identifications:
        raise ValueError("flagged_share() needs at least one identification")
    return sum(i is not None and calibration.is_foreign(i) for i in identifications) / len(identifications)


def read_xnli_hypotheses(path: Path) -> list[str]:
    if not path.is_file():
        raise FileNotFoundError(
            f"XNLI file {path} not found; pass --xnli-dir pointing at the folder of dev-<lang>.tsv files"
        )
    with path.open(encoding="utf-8", newline="") as file:
        rows = list(csv.reader(file, delimiter="\t", quoting=csv.QUOTE_NONE))
    for line_number, row in enumerate(rows, start=1):
        if len(row) != len(XNLI_FIELDS):
            raise ValueError(
                f"{path}, line {line_number}: {len(row)} tab-separated fields, expected "
                f"{len(XNLI_FIELDS)} ({', '.join(XNLI_FIELDS)}) and no header"
            )
    if not rows:
        raise ValueError(f"{path} is empty; expected premise<TAB>hypothesis<TAB>label rows")
    return [row[1] for row in rows]


def undefined_reason(
    false_alarm_rate: float, own_sentences: int, detection: dict[str, float], distinguishable: list[str]
) -> str | None:
    problems = []
    if false_alarm_rate > MAX_FALSE_ALARM_RATE:
        problems.append(
            f"false alarms {false_alarm_rate:.1%} > {MAX_FALSE_ALARM_RATE:.0%} on its own {own_sentences} "
            f"{MEASUREMENT_SPLIT} sentences"
        )
    if not distinguishable:
        problems.append(f"distinguishable from none of the pivot languages on the {CALIBRATION_SPLIT} split")
    problems.extend(
        f"detects {detection[pivot]:.1%} < {MIN_DETECTION_RATE:.0%} of the parallel {pivot} {MEASUREMENT_SPLIT} sentences"
        for pivot in distinguishable
        if detection[pivot] < MIN_DETECTION_RATE
    )
    return "; ".join(problems) or None


def measure(sib200_dir: Path, xnli_dir: Path, codes: Sequence[str] | None = None) -> list[LanguageReport]:
    """The report of each language of ``codes`` (default: all 205), in that order.

    A language's row reads its own splits and the pivot languages' only, so the rows of a
    few languages are the rows the whole table has for them (the test checks a sample).
    """
    codes = list(load_languages()) if codes is None else list(codes)
    needed = list(dict.fromkeys([*codes, *PIVOT_LANGUAGES]))
    calibration_splits = {code: identify_split(sib200_dir, code, CALIBRATION_SPLIT) for code in needed}
    measurement_splits = {code: identify_split(sib200_dir, code, MEASUREMENT_SPLIT) for code in needed}
    xnli_hypotheses = {
        code: identify(read_xnli_hypotheses(xnli_dir / f"dev-{xnli_code}.tsv"))
        for xnli_code, code in XNLI_LANGUAGES.items()
        if code in codes
    }
    reports = []
    for code in codes:
        calibration = calibrate(list(calibration_splits[code].identifications.values()))
        own = measurement_splits[code].identifications
        pivots = [pivot for pivot in PIVOT_LANGUAGES if pivot != code]
        detection = {}
        for pivot in pivots:
            parallel = [i for index_id, i in measurement_splits[pivot].identifications.items() if index_id in own]
            if not parallel:
                raise ValueError(
                    f"{sib200_dir / pivot / MEASUREMENT_SPLIT}.tsv shares no index_id with "
                    f"{sib200_dir / code / MEASUREMENT_SPLIT}.tsv; SIB-200 splits are parallel, so a file is wrong"
                )
            detection[pivot] = flagged_share(calibration, parallel)
        calibration_detection = {
            pivot: flagged_share(calibration, list(calibration_splits[pivot].identifications.values()))
            for pivot in pivots
        }
        false_alarm_rate = flagged_share(calibration, list(own.values()))
        distinguishable = [pivot for pivot in pivots if calibration_detection[pivot] >= MIN_DETECTION_RATE]
        reports.append(
            LanguageReport(
                code=code,
                calibration=calibration,
                false_alarm_rate=false_alarm_rate,
                detection=detection,
                calibration_detection=calibration_detection,
                undefined_reason=undefined_reason(false_alarm_rate, len(own), detection, distinguishable),
                xnli_false_alarm_rate=flagged_share(calibration, xnli_hypotheses[code]) if code in xnli_hypotheses else None,
            )
        )
    return reports


def table_rows(reports: list[LanguageReport]) -> list[dict[str, str]]:
    rows = []
    for report in reports:
        row = {
            "code": report.code,
            "status": UNDEFINED if report.undefined_reason else DEFINED,
            "reason": report.undefined_reason or "",
            "normal_labels": ",".join(sorted(report.calibration.normal_labels)),
            "foreign_thresholds": format_thresholds(report.calibration.foreign_thresholds),
            "false_alarm_rate": f"{report.false_alarm_rate:.4f}",
            "indistinguishable_from": ",".join(
                f"{pivot}={report.calibration_detection[pivot]:.4f}" for pivot in report.indistinguishable_from
            ),
            "xnli_false_alarm_rate": "" if report.xnli_false_alarm_rate is None else f"{report.xnli_false_alarm_rate:.4f}",
        }
        for pivot in PIVOT_LANGUAGES:
            row[f"detection_{pivot}"] = f"{report.detection[pivot]:.4f}" if pivot in report.detection else ""
        rows.append(row)
    return rows


def write_table(rows: list[dict[str, str]], output: Path) -> None:
    with output.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, CALIBRATION_COLUMNS, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_NONE)
        writer.writeheader()
        writer.writerows(rows)


def summary(reports: list[LanguageReport]) -> list[str]:
    defined = [report for report in reports if report.undefined_reason is None]
    lines = [f"confusion defined for {len(defined)} of {len(reports)} languages"]
    if defined:
        worst = max(defined, key=lambda report: report.false_alarm_rate)
        pairs = [
            (report.detection[pivot], report.code, pivot)
            for report in defined
            for pivot in report.detection
            if pivot not in report.indistinguishable_from
        ]
        lowest, lowest_code, lowest_pivot = min(pairs)
        lines.append(f"worst false-alarm rate among defined languages: {worst.false_alarm_rate:.2%} ({worst.code})")
        lines.append(
            f"lowest detection among {len(pairs)} defined (language, pivot) pairs: {lowest:.2%} "
            f"({lowest_code}, {lowest_pivot})"
        )
    indistinguishable = [(report.code, pivot) for report in reports for pivot in report.indistinguishable_from]
    lines.append(
        f"indistinguishable (language, pivot) pairs, not counted as confusion: {len(indistinguishable)}: "
        + ", ".join(f"{code}/{pivot}" for code, pivot in indistinguishable)
    )
    xnli = [(report.xnli_false_alarm_rate, report.code) for report in reports if report.xnli_false_alarm_rate is not None]
    lines.append(
        "false alarms on XNLI dev hypotheses: "
        + ", ".join(f"{code} {rate:.2%}" for rate, code in sorted(xnli, reverse=True))
    )
    undefined = [report for report in reports if report.undefined_reason is not None]
    lines.append(f"undefined: {len(undefined)}")
    lines.extend(f"  {report.code}: {report.undefined_reason}" for report in undefined)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sib200-dir", type=Path, default=DEFAULT_SIB200_DIR, help="SIB-200 folder with <code>/{train,test}.tsv")
    parser.add_argument("--xnli-dir", type=Path, default=DEFAULT_XNLI_DIR, help="XNLI folder with dev-<lang>.tsv")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)

    reports = measure(args.sib200_dir, args.xnli_dir)
    write_table(table_rows(reports), args.output)
    print(f"wrote {args.output}")
    print("\n".join(summary(reports)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

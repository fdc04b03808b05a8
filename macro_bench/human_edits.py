"""Human counterfactual edits: CAD's 400 revised NLI hypotheses, the real edits any gate must let through.

CAD (Kaushik, Hovy and Lipton, ICLR 2020) gave crowd workers an SNLI premise, hypothesis and
label, and had them edit the hypothesis as little as possible so that another label holds:
the shape of an XNLI counterfactual. The gates are calibrated against them
(``benchmarks/gate_agreement.py``), their metrics are what a good edit scores
(``benchmarks/cad_reference.py``), and the boards' findings compare models' edits with them.
Every reader goes through :func:`load_cad`, so every figure reads the same rows the same way.

The file is ``dev.tsv`` of ``../shared/data/cad_nli`` (see its README): a header row, then
tab-separated ``premise, hypothesis, label, revised_hypothesis, revised_label``, with CSV
quoting where a field holds a quote or a tab (two rows do).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import NamedTuple

from macro_bench.datasets.xnli import LABELS

COLUMNS = ("premise", "hypothesis", "label", "revised_hypothesis", "revised_label")
# Where this repository's tests, benchmarks and boards find it: ../shared beside the checkout.
SHARED_CAD = Path(__file__).resolve().parents[2] / "shared" / "data" / "cad_nli" / "dev.tsv"


class HumanEdit(NamedTuple):
    """One CAD revision: x is ``hypothesis``, the human counterfactual x' is ``revised_hypothesis``."""

    premise: str
    hypothesis: str
    label: str
    revised_hypothesis: str
    revised_label: str
    line: int  # the row's line in the file (the header is line 1), for pointing at it


def load_cad(path: Path = SHARED_CAD) -> list[HumanEdit]:
    """Every revision of ``path``, in file order; a malformed file is an error naming its line and field."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no CAD file there; pass the path of cad_nli/dev.tsv "
                                f"(in this repository's layout, ../shared/data/cad_nli/dev.tsv beside the checkout)")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ValueError(f"{path}: header {reader.fieldnames} is not the CAD layout; expected the columns "
                             f"{', '.join(COLUMNS)}, tab-separated")
        edits = []
        for row in reader:
            line = reader.line_num
            if None in row or any(row[column] is None for column in COLUMNS):
                raise ValueError(f"{path}, line {line}: expected {len(COLUMNS)} tab-separated fields "
                                 f"({', '.join(COLUMNS)})")
            for column in COLUMNS:
                if not row[column].strip():
                    raise ValueError(f"{path}, line {line}: field {column!r} is empty")
            for column in ("label", "revised_label"):
                if row[column] not in LABELS:
                    raise ValueError(f"{path}, line {line}: field {column!r} is {row[column]!r}, "
                                     f"not one of {', '.join(LABELS)}")
            if row["label"] == row["revised_label"]:
                raise ValueError(f"{path}, line {line}: revised_label equals label ({row['label']!r}); "
                                 f"a counterfactual changes the label")
            edits.append(HumanEdit(*(row[column] for column in COLUMNS), line=line))
    if not edits:
        raise ValueError(f"{path}: no rows after the header")
    return edits

"""The gates agree with labels read by eye, and let the human CAD edits through (issue 16's bars).

``benchmarks/gate_agreement.py`` computes the figures; this test asserts the bars:
real edits pass >= 90%, artifacts stopped >= 97%, CAD human edits pass >= 99%, and the
not-an-edit threshold is the highest of its table that keeps 99% of CAD.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("gate_agreement", REPO / "benchmarks" / "gate_agreement.py")
gate_agreement = importlib.util.module_from_spec(_spec)
sys.modules["gate_agreement"] = gate_agreement
_spec.loader.exec_module(gate_agreement)


@pytest.fixture(scope="module")
def labelled():
    return gate_agreement.labelled_set()


@pytest.fixture(scope="module")
def cad():
    return [gate_agreement.judge(record) for record in gate_agreement.cad_records()]


def test_the_labelled_set_is_what_the_issue_asks(labelled) -> None:
    records = [item.record for item in labelled]
    assert len(labelled) >= 300
    assert {record["dataset"] for record in records} == {"sib200", "xnli"}
    assert len({record["language"] for record in records}) >= 6
    assert {item.label for item in labelled} == set(gate_agreement.CATEGORIES)


def test_real_edits_pass_and_artifacts_are_stopped(labelled) -> None:
    figures = gate_agreement.agreement(labelled)
    print({name: round(value, 3) for name, value in figures.items()})
    assert figures["real_edits_passed"] >= 0.90
    assert figures["artifacts_stopped"] >= 0.97


def test_human_cad_edits_pass(cad) -> None:
    assert len(cad) == 400
    passed = sum(item.passed for item in cad) / len(cad)
    assert passed >= 0.99


def test_threshold_is_the_highest_that_keeps_cad(labelled, cad) -> None:
    from macro_bench.metrics.gates import NOT_AN_EDIT_THRESHOLD

    table = gate_agreement.threshold_tradeoff(labelled, cad)
    keeping = [threshold for threshold, cad_passed, _, _ in table if cad_passed >= 0.99]
    assert NOT_AN_EDIT_THRESHOLD == max(keeping)
    # The table shows a trade-off: a higher threshold stops more artifacts and fewer CAD edits.
    assert table[-1][1] < table[0][1] and table[-1][3] > table[0][3]


def test_a_gate_change_shows_in_the_figures(labelled) -> None:
    # The bars can fail: with the not-an-edit gate off, artifacts slip through.
    off = [gate_agreement.Judged(item.label, tuple(g for g in item.fired if g != "not_an_edit"), item.fired_then, item.kept,
                                 item.copies_other_field, item.record) for item in labelled]
    assert gate_agreement.agreement(off)["artifacts_stopped"] < gate_agreement.agreement(labelled)["artifacts_stopped"]

"""leaderboards/findings.py: the script behind the interpretive sentences of leaderboards/README.md."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from macro_bench.protocol import PROTOCOL_VERSION

from .records import make_record

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("findings", REPO / "leaderboards" / "findings.py")
findings = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(findings)


@pytest.mark.parametrize(
    ("original", "counterfactual", "kind", "kept"),
    [
        ("The team won the cup .", "The team won .", "deletion only", 4 / 6),
        ("The team won the cup .", "The team quickly won the cup .", "insertion only", 1.0),
        ("The team won the cup .", "The party won the vote .", "substitution", 4 / 6),
    ],
)
def test_edit_type_and_kept_share_by_hand(original, counterfactual, kind, kept):
    assert findings.edit_type(original, counterfactual) == kind
    assert findings.kept_share(original, counterfactual) == pytest.approx(kept)


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("arb_Arab", "I am not a doctor.", True),
        ("arb_Arab", "هل أنت سعيد بتغطية الأخبار؟ OK", False),
        ("zho_Hans", "<strong>Health</strong>", True),
        ("zho_Hans", "科学/技术", False),
        ("eng_Latn", "Hello there", False),
        ("hin_Deva", "12 / 7 !", False),
        ("bod_Tibt", "anything", None),
    ],
)
def test_outside_script_by_hand(language, text, expected):
    assert findings.outside_script(language, text) is expected


@pytest.mark.parametrize(
    ("generation", "counterfactual", "expected"),
    [
        ("\n\n1. The team lost.\n\n2. The team lost again.\n\n3. The", "The team lost.", True),
        ("The team lost. The team lost. The team lo", "The team lost. The team lost. The team lo", False),
        ('"The team lost."\n', "The team lost.", False),
        ("Edited text: something else", "The team lost.", False),
    ],
)
def test_ends_before_generation_end_by_hand(generation, counterfactual, expected):
    record = make_record(generation=generation, counterfactual=counterfactual)
    assert findings.ends_before_generation_end(record) is expected


# A board is a folder whose leaderboard.args declares its reports; one whose runs are still being made has none yet.
BOARDS = sorted(folder for folder in (REPO / "leaderboards").glob("*/") if (folder / "leaderboard.args").is_file())


@pytest.mark.skipif(not BOARDS, reason="no committed leaderboard yet (leaderboards/<BOARD>/runs/)")
@pytest.mark.parametrize("board", BOARDS, ids=[board.name for board in BOARDS])
def test_counts_agree_with_the_metric_values_the_runs_logged(board, monkeypatch, capsys):
    """The gates findings.py re-derives from the records give the counts the tasks logged."""
    from macro_bench.aggregate.loading import load_runs
    from macro_bench.aggregate.pipeline import display_names
    from macro_bench.aggregate.problems import Problems

    monkeypatch.chdir(REPO)
    monkeypatch.setattr(sys, "argv", ["findings.py", str(board.relative_to(REPO))])
    findings.main()
    out = capsys.readouterr().out
    runs = load_runs([board.relative_to(REPO) / "runs"], Problems(echo=False))
    names = display_names(runs.models, findings.model_names(board), Problems(echo=False))
    documents = runs.documents.assign(model=runs.documents["model"].replace(names))
    protocols = {findings.records(Path(path))[0].protocol for path in runs.task_runs["samples_file"]}
    if protocols != {PROTOCOL_VERSION}:
        # A board of an older protocol: the script says its gate counts are this protocol's.
        assert out.startswith(f"NOTE: records of protocol {', '.join(sorted(protocols))} judged with protocol {PROTOCOL_VERSION}")
        accuracy_only = True
    else:
        assert not out.startswith("NOTE")
        accuracy_only = False
    for (model, dataset), own in documents.groupby(["model", "dataset"]):
        accuracy = re.search(rf"^{re.escape(model)} +{dataset} +(\d+) +(\d+) ", out, re.M)
        assert (int(accuracy[1]), int(accuracy[2])) == (len(own), int(own["accuracy"].sum()))
        if accuracy_only:
            continue
        ends = re.search(rf"^{re.escape(model)} +{dataset} +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) ", out.split("## 2.")[1], re.M)
        flips, valid = int(own["flip_rate"].sum()), int(own["valid_rate"].sum())
        assert [int(ends[i]) for i in range(1, 6)] == [len(own), flips, valid, flips - valid, len(own) - flips]
    if not accuracy_only:
        assert f"valid counterfactuals in all: {int(documents['valid_rate'].sum())} " in out

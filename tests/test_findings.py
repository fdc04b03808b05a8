"""leaderboards/findings.py: the script behind the interpretive sentences of leaderboards/README.md."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from macro_bench.aggregate.board import committed_boards
from macro_bench.protocol import PROTOCOL_VERSION

from .records import make_record

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("findings", REPO / "leaderboards" / "findings.py")
findings = importlib.util.module_from_spec(_spec)
sys.modules["findings"] = findings  # its dataclasses look their module up while they are made
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


@pytest.mark.parametrize(
    ("original", "counterfactual", "premise", "expected"),
    [
        # new words "kicks" and "ball" are in the premise, "cricket" is not: 2 of 6 words
        ("A boy is playing soccer.", "A boy kicks ball playing cricket.", "The boy kicks the soccer ball.", 2 / 6),
        ("A boy is playing soccer.", "A boy is not playing soccer.", "The boy kicks the soccer ball.", 0.0),
        ("A boy is playing soccer.", "THE BALL", "The boy kicks the soccer ball.", 1.0),  # case-folded
        ("A boy is playing soccer.", "...", "The boy kicks the soccer ball.", None),  # no word
        ("他在踢球", "他在踢足球", "男孩踢足球", 1 / 5),  # Han: one token per character; "足" is the premise's
    ],
)
def test_premise_share_by_hand(original, counterfactual, premise, expected):
    share = findings.premise_share(original, counterfactual, premise)
    assert share == (None if expected is None else pytest.approx(expected))


def _cad_file(folder: Path, premise: str, hypothesis: str, revisions: tuple[str, ...]) -> Path:
    """A CAD file of one neutral pair and its entailment revisions."""
    cad = folder / "dev.tsv"
    cad.write_text("premise\thypothesis\tlabel\trevised_hypothesis\trevised_label\n"
                   + "".join(f"{premise}\t{hypothesis}\tneutral\t{revision}\tentailment\n" for revision in revisions),
                   encoding="utf-8")
    return cad


def test_human_premise_material_by_hand(tmp_path):
    cad = _cad_file(tmp_path, "The boy kicks the ball.", "A boy plays.",
                    ("A boy kicks.", "A boy plays ball.", "A girl plays.", "The ball kicks the boy."))
    human = findings.human_premise_material(cad)
    # shares: kicks 1/3; ball 1/4; 0/3; the, ball, kicks, the (boy is in x) 4/5
    assert (human.revisions, human.median, human.maximum) == (4, pytest.approx((1 / 4 + 1 / 3) / 2), pytest.approx(0.8))
    assert human.at_least == {"0.25": 3, "0.50": 1, "0.75": 1}


@pytest.mark.parametrize(
    ("original", "counterfactual", "kind"),
    [
        ("सहमति हो चुकी है ।", "सहमति हो चुकी है।", "words"),  # the space before the danda dropped
        ("他说, 是的。", "他说，是的。", "words"),  # an ASCII comma made full-width
        ("Ndiyo IRT", "Ndiyo Irt.", "words"),  # case and a final period
        ("وُلدَت جدتي", "ولدت جدتي", "words without marks"),  # Arabic vowel marks dropped
        ("वोल्वरस्टोन ने कहा", "वोल्वर्स्टोन ने कहा", "words without marks"),  # a virama (Mn) added: a respelling
        ("They can sink.", "They cannot sink.", None),  # a word changed
        ("They can sink.", "They can sink now.", None),  # a word added
        ("2015 au 2016", "2015", None),  # a deletion
    ],
)
def test_same_words_finds_edits_that_change_no_word(original, counterfactual, kind):
    assert findings.same_words(original, counterfactual) == kind


def test_unchanged_words_counts_non_copies_with_the_same_words():
    def document(doc_key, original, counterfactual, copy, flip, valid):
        record = make_record(doc_key=doc_key, original=original, counterfactual=counterfactual)
        return findings.Document("hin_Deva", record, {"copy": copy, "flip": flip, "valid": valid}, {})

    cells = {("M", "xnli"): [
        document("1", "है ।", "है।", False, True, True),  # punctuation only, flipped, counted valid
        document("2", "है ।", "है ।", True, False, False),  # a copy: the copy gate's, not counted here
        document("3", "नहीं है ।", "है ।", False, True, True),  # a real edit
        document("4", "वोल्वरस्टोन", "वोल्वर्स्टोन", False, False, False),  # only a combining mark
    ]}
    assert findings.unchanged_words(cells) == [
        findings.UnchangedWords("M", "xnli", 4, 1, 1, 1, 1, ["hin_Deva doc 1", "hin_Deva doc 4"])]


def test_human_unchanged_words_counts_revisions_that_change_no_word(tmp_path):
    cad = _cad_file(tmp_path, "A boy runs.", "A boy plays.", ("A boy plays!", "a boy  plays.", "A boy kicks.", "A boy plays ball."))
    assert findings.human_unchanged_words(cad) == 2  # the "!" and the case and spacing change


def _findings(protocols: list[str]):
    """A board of one cell, written by hand: one valid substitution, one flip truncation alone stopped."""
    return findings.Findings(
        protocols=protocols, judged_with=PROTOCOL_VERSION,
        accuracy=[findings.Accuracy("M", "sib200", 4, 2, 0.5, 1 / 7, 0.04)],
        endings=[findings.Endings("M", "sib200", 4, 2, 1, 1, 2, {"truncated": 1}, {"truncated": 1},
                                  findings.TruncationAlone(1, 0.5, 0.5, 0))],
        gates=[findings.GateCounts("M", "sib200", {"empty": findings.GateCount(0, 4), "copy": None})],
        valid_counterfactuals=[findings.ValidCounterfactual("M", "sib200", "eng_Latn", 7, "substitution", 0.75, 0.25,
                                                            True, "The team won .", "The team lost .")],
        blind_spots=[findings.BlindSpot("M", "sib200", 0, 4, {}, 0)],
        wall_times=[findings.WallTime("M", {"macro_sib200_eng_Latn": 90.0, "macro_sib200_arb_Arab": 30.0})],
        valid_by_language=[findings.LanguageValid("M", "sib200", "eng_Latn", 1, 4)],
        premise_material=[findings.PremiseMaterial("M", "xnli", {"eng_Latn doc 3": 0.6, "eng_Latn doc 9": 0.0}, 1)],
        human_premise_material=findings.HumanPremiseMaterial(400, 0.0, 0.5, 0.82, {"0.25": 94}),
        unchanged_words=[findings.UnchangedWords("M", "xnli", 4, 1, 1, 1, 0, ["hin_Deva doc 2", "arb_Arab doc 5"])],
        human_unchanged_words=0,
    )


def test_the_text_renders_every_section_and_says_when_the_gates_are_another_protocols():
    text = findings.text(_findings([PROTOCOL_VERSION]))
    assert not text.startswith("NOTE")
    assert [line for line in text.splitlines() if line.startswith("## ")] == [
        "## 1. Accuracy against chance (two-sided binomial test)",
        "## 2. How the documents end, and which gates stopped the flips",
        "## 3. Every gate over all documents (fired / judged; undefined verdicts are not judged)",
        "## 4. Every valid counterfactual",
        "## 5. The language gate's blind spot: no letter in the document's script, not flagged as confused",
        "## 6. Wall time of the runs (lm-eval's total_evaluation_time_seconds)",
        "## 7. Valid counterfactuals per language (valid / documents)",
        "## 8. Premise material: share of the words of x' not in x but in the premise (valid counterfactuals)",
        "## 9. Edits that change no word: not a copy, yet x's words in order (punctuation, spacing or case only)",
    ]
    assert "   truncated 1 (the only gate: truncated 1)" in text
    assert "flips stopped by truncation alone: 1, keeping a median 50% of x (max 50%); x' ends before the cut in 0" in text
    assert "  0/4   (0%)          undefined" in text
    assert "M | sib200 eng_Latn | doc 7 | substitution | keeps 75% of x | minimality 0.250 | target hit" in text
    assert "valid counterfactuals in all: 1 (substitution 1)" in text
    assert "0 of 4 documents (none); counted valid: 0" in text
    assert "M: 2 runs, 2.0 min in all; slowest macro_sib200_eng_Latn 90 s, fastest macro_sib200_arb_Arab 30 s" in text
    assert "M                        sib200   eng_Latn 1/4" in text
    assert "human CAD revisions: 400, median 0.00, 95th percentile 0.50, max 0.82; at or above 0.25: 94" in text
    assert "M                        xnli     2 valid, median 0.30, above the human 95th percentile: 1" in text
    assert "human CAD revisions that change no word: 0\n" in text
    assert ("M                        xnli     2 of 4 documents (1 punctuation, spacing or case only, 1 also combining "
            "marks); flipped 1, counted valid 0: hin_Deva doc 2, arb_Arab doc 5") in text
    assert "  eng_Latn doc 3: 0.60" in text
    older = findings.text(_findings(["1"]))
    assert older.startswith(f"NOTE: records of protocol 1 judged with protocol {PROTOCOL_VERSION}'s gates")
    assert older.endswith(text)


BOARDS = committed_boards(REPO)


@pytest.mark.skipif(not BOARDS, reason="no committed leaderboard yet (leaderboards/<BOARD>/leaderboard.args)")
@pytest.mark.parametrize("board", BOARDS, ids=[board.name for board in BOARDS])
def test_counts_agree_with_the_metric_values_the_runs_logged(board, monkeypatch, capsys):
    """The gates findings.py re-derives from the records give the counts the tasks logged."""
    from macro_bench.aggregate.loading import load_runs
    from macro_bench.aggregate.pipeline import display_names
    from macro_bench.aggregate.problems import Problems

    monkeypatch.chdir(REPO)
    findings.main([str(board.folder), "--json"])
    found = json.loads(capsys.readouterr().out)
    runs = load_runs([board.runs], Problems(echo=False))
    names = display_names(runs.models, board.model_names(), Problems(echo=False))
    documents = runs.documents.assign(model=runs.documents["model"].replace(names))
    protocols = {findings.records(Path(path))[0].protocol for path in runs.task_runs["samples_file"]}
    assert (found["protocols"], found["judged_with"]) == (sorted(protocols), PROTOCOL_VERSION)
    # A board of an older protocol is judged with this protocol's gates: only accuracy can agree.
    accuracy_only = protocols != {PROTOCOL_VERSION}
    cells = documents.groupby(["model", "dataset"])
    accuracy = {(row["model"], row["dataset"]): row for row in found["accuracy"]}
    endings = {(row["model"], row["dataset"]): row for row in found["endings"]}
    assert set(accuracy) == set(endings) == set(cells.groups)
    for (model, dataset), own in cells:
        row = accuracy[model, dataset]
        assert (row["documents"], row["correct"]) == (len(own), int(own["accuracy"].sum()))
        if accuracy_only:
            continue
        row = endings[model, dataset]
        flips, valid = int(own["flip_rate"].sum()), int(own["valid_rate"].sum())
        assert [row[key] for key in ("documents", "flips", "valid", "gated", "no_flip")] == [
            len(own), flips, valid, flips - valid, len(own) - flips]
    by_language = {(r["model"], r["dataset"], r["language"]): (r["valid"], r["documents"]) for r in found["valid_by_language"]}
    logged = documents.groupby(["model", "dataset", "language"])["valid_rate"].agg(["sum", "size"])
    assert set(by_language) == set(logged.index)
    if not accuracy_only:
        assert len(found["valid_counterfactuals"]) == int(documents["valid_rate"].sum())
        assert by_language == {key: (int(row["sum"]), int(row["size"])) for key, row in logged.iterrows()}

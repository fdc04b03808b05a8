"""Counts in printed texts agree with their nouns ('1 document', never '1 documents')."""

from __future__ import annotations

import json

from macro_bench import demo, progress
from macro_bench.wording import plural


def test_plural():
    assert [plural(n, "language") for n in (0, 1, 2)] == ["0 languages", "1 language", "2 languages"]
    assert plural(1, "family", "families") == "1 family" and plural(3, "family", "families") == "3 families"


def test_demo_summary_of_one_document_per_language(tmp_path):
    results = {"config": {"limit": 1.0}, "results": {"macro_sib200_eng_Latn": {"valid_rate,macro": 0.0}}}
    (tmp_path / "results_2026-01-01T00-00-00.json").write_text(json.dumps(results), encoding="utf-8")
    text = demo.summary(tmp_path, started=0)
    assert "(1 document per language;" in text and "| valid_rate | 0.00 |" in text


def test_generation_bar_names_one_text_in_the_singular():
    bar = progress.GenerationProgress("macro-bench t [generation]", 4)
    bar.batches = [2, 1]
    assert bar.description() == "macro-bench t [generation] batch 1/2 (2 texts)"
    bar.done = 1
    assert bar.description() == "macro-bench t [generation] batch 2/2 (1 text)"

"""The HTML report in a real headless browser: its sorting and filtering scripts run, and
the examples links lead to example documents.

Needs Debian's chromium (``apt-get install -y chromium``; .ci/run installs it). Outside
CI it is skipped where chromium is missing; in CI (``CI=true``) a missing browser fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from macro_bench.aggregate.metric_specs import REPORTED_NAMES
from macro_bench.cli import main
from macro_bench.metrics.gate_registry import GATES
from tests.test_aggregate_fixtures import synthetic_documents, write_lm_eval_run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

PROBE = """<script>
var header = document.querySelectorAll('#table-sib200-ranking th')[3];
header.click();
var descending = document.querySelector('#table-sib200-ranking tbody tr').cells[1].textContent;
header.click();
var ascending = document.querySelector('#table-sib200-ranking tbody tr').cells[1].textContent;
var filter = document.querySelector('input.filter[data-table="table-sib200-by-language"]');
filter.value = 'zho_Hans';
filter.dispatchEvent(new Event('input'));
var rows = Array.prototype.filter.call(document.querySelectorAll('#table-sib200-by-language tbody tr'),
  function(row){ return row.style.display !== 'none'; });
var link = rows[0].querySelector('a[href^="#ex-"]');
link.click();
var target = document.getElementById(location.hash.slice(1));
var examples = target.querySelectorAll('.example');
var marks = target.querySelectorAll('.example ins').length;
var gates = examples[0].querySelectorAll('.gate').length;
var rendered = target.getBoundingClientRect().height > 100 ? 'visible' : 'hidden';
document.title = ['PROBE', descending, ascending, rows.length, document.querySelectorAll('svg').length,
  location.hash, examples.length, marks > 0, gates, rendered].join('|');
</script></body>"""


@pytest.mark.skipif(CHROMIUM is None and os.environ.get("CI") != "true", reason="chromium is not installed")
def test_tables_sort_and_filter_in_a_browser(tmp_path):
    documents = synthetic_documents({"org/low-1B": -1.0, "org/mid-1B": 0.5, "org/high-1B": 2.0}, ["fra_Latn", "zho_Hans", "yor_Latn"], 40)
    for model in documents["model"].unique():
        write_lm_eval_run(tmp_path / "runs", model, documents)
    assert main(["leaderboard", str(tmp_path / "runs"), "--out", str(tmp_path / "out"), "--bootstrap", "50"]) == 0
    page = (tmp_path / "out" / "leaderboard.html").read_text(encoding="utf-8")
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", PROBE), encoding="utf-8")
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120,
    ).stdout
    title = re.search(r"<title>PROBE\|([^<]*)</title>", dom)
    assert title, "the probe script did not run"
    descending, ascending, shown, plots, anchor, examples, marked, gates, rendered = title.group(1).split("|")
    # Column 3 is the score: sorting it puts the strongest model first, then last.
    assert (descending, ascending) == ("org/high-1B", "org/low-1B")
    assert shown == "3"  # one zho_Hans row per model
    assert plots == str(2 * len(REPORTED_NAMES) + 1)
    # The row's examples link opens that model x language's examples: 6 documents, the
    # edits highlighted, each with its gates.
    assert anchor.startswith("#ex-sib200-") and anchor.endswith("-zho_Hans")
    # Every gate's verdict, then flip, target and label_insertion.
    assert (examples, marked, gates, rendered) == ("6", "true", str(len(GATES) + 3), "visible")

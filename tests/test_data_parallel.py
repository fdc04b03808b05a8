"""Data parallelism: ranks make every collective call together, and 2 real processes equal 1.

Unit tests use a stand-in rank whose ``all_gather`` returns scripted counts of the other
ranks. The real test launches ``tests/cpu_data_parallel.py`` under ``torchrun`` with
SmolLM2 (the test run's converted copy of the GGUF model, see ``conftest.smollm2_folder``;
CPU, gloo collectives): 1 process, then 2 processes, then 2 processes again on the
caches the first 2-process run wrote (every answer cached on every rank, the case that
hung), and compares every document's metrics and record.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from lm_eval.api.instance import Instance
from lm_eval.api.model import CachingLM, LM

from macro_bench.lm_eval_adapter import data_parallel

REPO = Path(__file__).resolve().parents[1]
SIB200 = REPO.parent / "shared" / "data" / "sib200"


def _instance(text: str) -> Instance:
    return Instance(request_type="loglikelihood_rolling", doc={}, arguments=(text,), idx=0)


class _Rank(LM):
    """One data-parallel rank of an lm-eval model; the other ranks' counts are scripted."""

    def __init__(self, other_counts: tuple[int, ...]) -> None:
        super().__init__()
        self.other_counts, self.calls, self.gathered = other_counts, [], []
        self._world_size = 1 + len(other_counts)

    @property
    def device(self):
        return "cpu"

    def all_gather(self, tensor):
        import torch

        self.gathered.append(int(tensor[0]))
        return torch.tensor([int(tensor[0]), *self.other_counts])

    def loglikelihood_rolling(self, requests):
        self.calls.append([request.args[0] for request in requests])
        return [-float(len(request.args[0])) for request in requests]

    def loglikelihood(self, requests):
        raise AssertionError("not used")

    def generate_until(self, requests):
        raise AssertionError("not used")


FILLER = _instance("\n")


def test_a_rank_pads_to_the_largest_count_and_drops_the_padding():
    rank = _Rank(other_counts=(5,))
    answers = data_parallel.call_on_every_rank(rank, "loglikelihood_rolling", [_instance(t) for t in ("a", "bb", "ccc")], FILLER)
    assert rank.calls == [["a", "bb", "ccc", "a", "a"]]
    assert answers == [-1.0, -2.0, -3.0]


def test_a_rank_with_no_requests_sends_the_filler_while_another_rank_computes():
    rank = _Rank(other_counts=(2,))
    assert data_parallel.call_on_every_rank(rank, "loglikelihood_rolling", [], FILLER) == []
    assert rank.calls == [["\n", "\n"]]


def test_no_rank_calls_the_model_when_none_has_anything_to_compute():
    rank = _Rank(other_counts=(0,))
    assert data_parallel.call_on_every_rank(rank, "loglikelihood_rolling", [], FILLER) == []
    assert rank.gathered == [0] and rank.calls == []


def test_a_fully_cached_rank_still_joins_the_call_of_the_others(tmp_path):
    """The hang: CachingLM alone skips the model when every answer is cached."""
    requests = [_instance(t) for t in ("a", "bb")]
    database = str(tmp_path / "cache_rank1.db")
    first = _Rank(other_counts=(2,))
    assert data_parallel.call_on_every_rank(CachingLM(first, database), "loglikelihood_rolling", requests, FILLER) == [-1.0, -2.0]

    resumed = _Rank(other_counts=(3,))  # this rank's answers are all cached; another rank misses 3
    answers = data_parallel.call_on_every_rank(CachingLM(resumed, database), "loglikelihood_rolling", requests, FILLER)
    assert answers == [-1.0, -2.0]
    assert resumed.gathered == [0]  # it reported nothing missing ...
    assert resumed.calls == [["\n", "\n", "\n"]]  # ... and still made the call, with fillers only


def test_cached_answers_are_reused_and_only_the_missing_ones_computed(tmp_path):
    database = str(tmp_path / "cache_rank0.db")
    data_parallel.call_on_every_rank(CachingLM(_Rank(other_counts=(1,)), database), "loglikelihood_rolling",
                                     [_instance("a")], FILLER)
    rank = _Rank(other_counts=(1,))
    answers = data_parallel.call_on_every_rank(CachingLM(rank, database), "loglikelihood_rolling",
                                               [_instance("a"), _instance("dddd")], FILLER)
    assert answers == [-1.0, -4.0]
    assert rank.calls == [["dddd"]]
    # lm-eval's own CachingLM (one process) reads what this wrote, under its own keys.
    single = _Rank(other_counts=())
    assert CachingLM(single, database).loglikelihood_rolling([_instance("dddd")]) == [-4.0]
    assert single.calls == []


def test_one_process_is_the_plain_call():
    rank = _Rank(other_counts=())
    assert data_parallel.call_on_every_rank(rank, "loglikelihood_rolling", [_instance("ab")], FILLER) == [-2.0]
    assert rank.gathered == [] and data_parallel.sum_over_ranks(rank, Counter(a=2)) == Counter(a=2)


# --- the real thing: torchrun, gloo, SmolLM2 ------------------------------------------------


def _launch(model: Path, processes: int, out: Path, limit: int, cache: Path | None = None, timeout: int = 600):
    argv = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(processes),
        str(REPO / "tests" / "cpu_data_parallel.py"),
        "--pretrained", str(model),
        "--tasks", "macro_sib200_eng_Latn", "--limit", str(limit), "--max-gen-toks", "16", "--batch-size", "8",
        "--metadata", json.dumps({"sib200_dir": str(SIB200)}), "--out", str(out),
    ]
    if cache is not None:
        argv += ["--use-cache", str(cache)]
    env = {**os.environ, "ACCELERATE_USE_CPU": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout)


def _documents(out: Path) -> dict:
    return json.loads(out.read_text())


def test_two_processes_give_the_documents_of_one_also_fully_cached(smollm2_folder, tmp_path):
    single, double, cached = tmp_path / "one.json", tmp_path / "two.json", tmp_path / "two_cached.json"
    cache = tmp_path / "cache" / "run"
    for processes, out, use_cache in ((1, single, None), (2, double, cache), (2, cached, cache)):
        done = _launch(smollm2_folder, processes, out, limit=3, cache=use_cache)
        assert done.returncode == 0, done.stderr[-4000:]
        assert _documents(out)["world_size"] == processes
    assert sorted(cache.parent.glob("run_rank*.db")) == [cache.parent / "run_rank0.db", cache.parent / "run_rank1.db"]
    one, two, resumed = (_documents(path) for path in (single, double, cached))
    task = "macro_sib200_eng_Latn"
    assert sorted(one["documents"][task]) == ["0", "1", "2"]
    for doc_id, expected in one["documents"][task].items():
        for run in (two, resumed):
            got = run["documents"][task][doc_id]
            assert got["record"]["generation"] == expected["record"]["generation"], doc_id
            assert got["record"]["counterfactual"] == expected["record"]["counterfactual"], doc_id
            assert got["metrics"].keys() == expected["metrics"].keys(), doc_id
            for name, value in expected["metrics"].items():
                assert got["metrics"][name] == pytest.approx(value, abs=1e-5), (doc_id, name)
    # Counted over both ranks, not rank 0's documents only.
    for run in (two, resumed):
        assert run["metadata"][task]["documents_per_metric"] == one["metadata"][task]["documents_per_metric"]
        assert run["metadata"][task]["signature"] == one["metadata"][task]["signature"]


def test_more_processes_than_documents_fails_fast_in_lm_eval_not_a_hang(smollm2_folder, tmp_path):
    """lm-eval 0.4.13 refuses a rank without documents while building requests, before
    macro-bench runs anything; the other rank's collective then ends on the closed
    connection, so the job stops instead of waiting."""
    done = _launch(smollm2_folder, 2, tmp_path / "out.json", limit=1, timeout=300)
    assert done.returncode != 0
    assert "task.build_requests() did not find any docs!" in done.stderr
    assert not (tmp_path / "out.json").exists()

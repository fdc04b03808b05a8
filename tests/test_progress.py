"""Progress of the second pass: model calls batch by batch, reported, with the answers of one call.

Scripted models only (no timing, no real model): the batches a real HF model makes, and
that they equal one call's, are checked on SmolLM2 in ``tests/test_prefix_scoring.py``.
"""

from __future__ import annotations

import pytest
import torch
from lm_eval.api.instance import Instance
from lm_eval.api.model import CachingLM

from macro_bench import progress
from macro_bench.lm_eval_adapter import bridge as lm_eval_bridge
from macro_bench.lm_eval_adapter import data_parallel

from .scripted_lm import ScriptedLM

GENERATION = {"until": [], "max_gen_toks": 4, "do_sample": False, "temperature": 0.0}
TEXTS = [f"text number {i}" for i in range(7)]


def _prompt(text: str) -> str:
    return f"Tell me.\n\nText: {text}\n\nEdit the text now."


def _requests() -> list[Instance]:
    return [Instance("generate_until", {}, (_prompt(text), dict(GENERATION)), i) for i, text in enumerate(TEXTS)]


FILLER = Instance("generate_until", {}, ("\n", dict(GENERATION)), 0)


class _Recorder:
    """A progress reporter that remembers what it was told."""

    def __init__(self) -> None:
        self.events: list = []

    def start(self, batch_sizes, model) -> None:
        self.events.append(("start", list(batch_sizes)))

    def batch_done(self) -> None:
        self.events.append("batch")

    def close(self) -> None:
        self.events.append("close")


class _BatchedLM(ScriptedLM):
    """A scripted model that records each call's prompts (and can fail on one call)."""

    def __init__(self, fail_on_call: int | None = None) -> None:
        super().__init__()
        self.script = {text: f"{text} edited" for text in TEXTS}
        self.received: list[list[str]] = []
        self.fail_on_call = fail_on_call

    def generate_until(self, requests):
        if self.fail_on_call is not None and len(self.received) + 1 == self.fail_on_call:
            raise RuntimeError("interrupted")
        self.received.append([request.args[0] for request in requests])
        return super().generate_until(requests)


def _in_threes_longest_index_first(model, method, requests):
    """A batch plan of 3 requests a batch, in an order of its own (as lm-eval's sorting has)."""
    order = list(reversed(range(len(requests))))
    return [order[first : first + 3] for first in range(0, len(order), 3)]


def test_generation_goes_in_planned_batches_each_reported_with_the_answers_of_one_call(monkeypatch):
    one_call = data_parallel.call_on_every_rank(_BatchedLM(), "generate_until", _requests(), FILLER)
    monkeypatch.setattr(lm_eval_bridge, "batch_plan", _in_threes_longest_index_first)
    lm, recorder = _BatchedLM(), _Recorder()
    batched = data_parallel.call_on_every_rank(lm, "generate_until", _requests(), FILLER, recorder)
    assert batched == one_call == [f"{text} edited" for text in TEXTS]
    assert [len(call) for call in lm.received] == [3, 3, 1]
    assert lm.received[0] == [_prompt(TEXTS[i]) for i in (6, 5, 4)]
    assert recorder.events == [("start", [3, 3, 1]), "batch", "batch", "batch", "close"]


def test_without_a_reporter_the_call_is_one_plain_call(monkeypatch):
    monkeypatch.setattr(lm_eval_bridge, "batch_plan", _in_threes_longest_index_first)
    lm = _BatchedLM()
    data_parallel.call_on_every_rank(lm, "generate_until", _requests(), FILLER)
    assert [len(call) for call in lm.received] == [7]


def test_each_batch_is_cached_as_it_finishes_so_an_interrupted_run_resumes(monkeypatch, tmp_path):
    monkeypatch.setattr(lm_eval_bridge, "batch_plan", _in_threes_longest_index_first)
    database = str(tmp_path / "cache.db")
    interrupted, recorder = _BatchedLM(fail_on_call=2), _Recorder()
    with pytest.raises(RuntimeError, match="interrupted"):
        data_parallel.call_on_every_rank(CachingLM(interrupted, database), "generate_until", _requests(), FILLER, recorder)
    assert recorder.events[-1] == "close"  # the bar is closed even when a batch fails
    resumed = _BatchedLM()
    answers = data_parallel.call_on_every_rank(CachingLM(resumed, database), "generate_until", _requests(), FILLER, _Recorder())
    assert answers == [f"{text} edited" for text in TEXTS]
    # The first batch (documents 6, 5, 4) was kept; only the other four are generated again.
    assert sorted(prompt for call in resumed.received for prompt in call) == sorted(_prompt(TEXTS[i]) for i in range(4))


def test_everything_cached_means_no_call_and_no_bar(tmp_path):
    database = str(tmp_path / "cache.db")
    data_parallel.call_on_every_rank(CachingLM(_BatchedLM(), database), "generate_until", _requests(), FILLER)
    lm, recorder = _BatchedLM(), _Recorder()
    answers = data_parallel.call_on_every_rank(CachingLM(lm, database), "generate_until", _requests(), FILLER, recorder)
    assert answers == [f"{text} edited" for text in TEXTS]
    assert lm.received == [] and recorder.events == []


class _Rank(_BatchedLM):
    """Rank 1 of 2; the other rank misses ``other`` requests."""

    def __init__(self, other: int) -> None:
        super().__init__()
        self.other = other
        self._rank, self._world_size = 1, 2

    @property
    def device(self):
        return "cpu"

    def all_gather(self, tensor):
        return torch.tensor([int(tensor[0]), self.other])


def test_every_rank_makes_the_same_number_of_generation_batches(monkeypatch):
    monkeypatch.setattr(lm_eval_bridge, "batch_plan", _in_threes_longest_index_first)
    rank = _Rank(other=8)  # this rank has 7 requests: it pads to 8, so both make 3 batches
    answers = data_parallel.call_on_every_rank(rank, "generate_until", _requests(), FILLER, _Recorder())
    assert answers == [f"{text} edited" for text in TEXTS]
    assert [len(call) for call in rank.received] == [3, 3, 2]


def test_the_plan_of_a_model_that_is_not_lm_eval_hf_is_one_call():
    requests = _requests()
    assert lm_eval_bridge.batch_plan(_BatchedLM(), "generate_until", requests) == [list(range(7))]
    assert lm_eval_bridge.batch_plan(_BatchedLM(), "generate_until", []) == []


# --- the bars ---------------------------------------------------------------------------


class _TorchModel:
    """What the generation bar looks for: lm-eval's HF model keeps its torch module in .model."""

    rank = 0

    def __init__(self) -> None:
        self.model = torch.nn.Linear(1, 1)


def test_generation_bar_counts_decoding_steps_and_jumps_when_a_batch_stops_early(capsys):
    model = _TorchModel()
    bar = progress.GenerationProgress("macro-bench t [generation]", max_gen_toks=5)
    bar.start([2, 1], model)
    assert bar.bar.total == 10
    for _ in range(3):  # three decoding steps, each one forward call
        model.model(torch.zeros(1))
    assert bar.bar.n == 3
    bar.batch_done()  # its texts all stopped after 3 tokens
    assert bar.bar.n == 5 and bar.bar.desc.startswith("macro-bench t [generation] batch 2/2 (1 text)")
    for _ in range(9):  # never more than max_gen_toks steps per batch
        model.model(torch.zeros(1))
    assert bar.bar.n == 10
    bar.batch_done()
    bar.close()
    model.model(torch.zeros(1))  # the hook is gone
    err = capsys.readouterr().err
    assert "macro-bench t [generation] batch 1/2 (2 texts)" in err and "10/10" in err


def test_a_bar_is_only_shown_on_rank_0_and_not_without_batches(capsys):
    class _Other(_TorchModel):
        rank = 1

    hidden = progress.BatchProgress("macro-bench t [classification]")
    hidden.start([4], _Other())
    hidden.batch_done()
    hidden.close()
    empty = progress.GenerationProgress("macro-bench t [generation]", 8)
    empty.start([], _TorchModel())
    empty.close()
    assert "macro-bench t" not in capsys.readouterr().err

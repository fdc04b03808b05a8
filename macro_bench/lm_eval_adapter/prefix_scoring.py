"""Shared-prefix log-likelihoods: one forward pass per distinct context.

Card
----
``loglikelihoods(lm, requests)`` returns, for each (context, continuation) pair,

    ll(context, continuation) = sum_i log p(c_i | context tokens, c_1 .. c_{i-1})

over the continuation's tokens c_i, the number lm-eval's ``loglikelihood`` returns
(range (-inf, 0], higher = more likely; NaN if the model's logits are NaN). It exists
because lm-eval's HF model forwards a full (context + continuation) row for every
continuation unless the continuation is a single token: the SIB labels after one
classification prompt cost 2 full rows in plain mode (" science/technology" is
several tokens) and 5-6 under a chat template (no space before the labels, so most
are several tokens). Here each distinct context is forwarded once.

Method (lm-eval's ``HFLM`` with a causal backend, the model behind ``--model hf``):

1. Every pair is tokenized by ``HFLM._encode_pair`` itself, so the tokens are
   lm-eval's: the context's trailing whitespace moves into the continuation, and the
   continuation is what follows the context's own tokens in the encoding of the whole.
2. Pairs are grouped by context tokens. In a group, let E be its longest
   continuation without its last token (the first of equal length). The *prefix row*
   is context + E; it is forwarded once, batched with other groups' rows (longest
   first, left-padded, with an attention mask and each row's own positions 0..n-1).
   Its logits from the last context token on score, for every continuation c, its
   first m(c) + 1 tokens, m(c) being the length of the common prefix of c[:-1] and E:
   the whole of the longest continuation, and in SIB's plain mode every label (each
   is the " \\n\\n" lm-eval moves over plus one token, but the longest). Left padding
   puts those positions in the last columns of every row, so only the last
   (longest E in the batch) + 1 columns go through the output layer
   (``logits_to_keep``), a large part of a row's cost when the vocabulary is large.
3. A continuation with tokens left over gets a *continuation row*: its tokens
   c[m(c):-1] at positions continuing from len(context) + m(c), attending to its
   group's rows of the prefix call's key/value cache, of which it sees only the
   columns of the context and c's first m(c) tokens (the rest of E and the padding
   are masked out). Continuation rows are batched across groups, so a batch of
   contexts costs one prefix call plus one short call (up to
   ``CONTINUATION_ROWS_PER_CONTEXT`` rows per context).
4. ``is_greedy`` (every continuation token is the argmax) is computed as lm-eval does,
   so a cache entry written here is the (loglikelihood, is_greedy) pair lm-eval would
   have written.

Inference runs under ``torch.inference_mode`` and the autocast / softmax dtypes of the
HFLM, on its device. Batch size: ``lm.batch_size`` rows per call; with "auto",
``AUTO_BATCH_SIZE`` (lm-eval's detection probes with max_length-long rows, which
says little about classification prompts of a few hundred tokens).

When it applies: the live model, after unwrapping ``--use_cache``'s ``CachingLM``, is
lm-eval's ``HFLM``, or a subclass that keeps HFLM's scoring methods (``loglikelihood``,
``_loglikelihood_tokens``, ``_model_call``, ``_encode_pair``, ``tok_encode``; one that
overrides any of them scores its own way and takes its own path), with
``backend == "causal"``. Everything else takes lm-eval's own
request path (``lm.loglikelihood``): other backends, seq2seq, and single pairs that
cannot be scored exactly here: an empty context (lm-eval conditions on its prefix
token), a pair longer than ``max_length + 1`` tokens (lm-eval truncates it from the
left), or, for a model with sliding-window attention, longer than half the window (so
that the window never cuts into the padded rows); and all pairs of a model whose
forward takes no key/value cache or returns another kind than transformers'
``DynamicCache`` (e.g. a recurrent state). So the values equal lm-eval's within float
rounding (the tests check 1e-4 on SmolLM2, plain and chat prompts).

``--use_cache``: answers already in the ``CachingLM``'s sqlite table are read under
lm-eval's own keys (``hash_args("loglikelihood", (context, continuation))``), only the
missing ones are computed, and they are written back and committed. A resumed run
recomputes nothing, and a cache written by lm-eval's own path is reused (and vice
versa).

Data parallelism: the shared-prefix path has no collective operation, so ranks may
score different numbers of pairs without padding. Pairs sent to lm-eval's path (HFLM
gathers across ranks when it detects an "auto" batch size) go through
:func:`macro_bench.lm_eval_adapter.data_parallel.call_on_every_rank` exactly once per
``loglikelihoods`` call on every rank, even one with no such pair or with all its
answers cached, so the ranks' collectives always match.

Every use of lm-eval's and transformers' internals is in the section marked
"internals" below, and checked with an error that names the pin (lm-eval==0.4.13).
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from macro_bench.lm_eval_adapter import data_parallel
from macro_bench.progress import BatchProgress

log = logging.getLogger(__name__)

AUTO_BATCH_SIZE = 32
"""Rows per forward call when the model's batch size is "auto"."""

CONTINUATION_ROWS_PER_CONTEXT = 8
"""Continuation rows per call, per prefix row of the batch size. A short call costs
about one read of all the weights whatever its size, so the continuation rows of a
prefix batch go in one call when they fit; their cached keys and values (one copy
of the context per row) stay below lm-eval's own full-vocabulary logits per row."""

TAIL_LOGITS_BYTES = 1 << 30
"""Most bytes of float32 logits one continuation-row call may produce (rows x longest row x
vocabulary x 4). lm-eval's XNLI choices hold the whole premise and hypothesis, so a continuation
row can be hundreds of tokens: 64 rows of Hindi with Qwen2.5's 151,936-token vocabulary asked for
10.3 GB in one allocation and the process was killed. Rows are independent, so fewer per call
changes no score beyond float rounding."""


class PrefixScoringError(RuntimeError):
    """The request cannot be scored: bad input, or lm-eval / transformers changed."""


# --- internals of lm-eval 0.4.13 and transformers: every use is in this section -------

_PIN = "macro-bench needs lm-eval==0.4.13 (pip install 'lm-eval[hf]==0.4.13')"


@functools.cache
def _lm_eval_classes() -> tuple[type, type, Any]:
    """(CachingLM, HFLM, hash_args), checked for what this module uses of them."""
    from lm_eval.api import model as lm_eval_model
    from lm_eval.models.huggingface import HFLM

    caching_lm = getattr(lm_eval_model, "CachingLM", None)
    hash_args = getattr(lm_eval_model, "hash_args", None)
    missing = [
        name
        for name, present in (
            ("lm_eval.api.model.CachingLM", isinstance(caching_lm, type)),
            ("lm_eval.api.model.hash_args", callable(hash_args)),
            ("HFLM._encode_pair", callable(getattr(HFLM, "_encode_pair", None))),
        )
        if not present
    ]
    if missing:
        raise PrefixScoringError(f"lm-eval no longer has {', '.join(missing)}; {_PIN}")
    return caching_lm, HFLM, hash_args


def _unwrap(lm: Any) -> tuple[Any, Any | None]:
    """(the model, the sqlite dict of ``--use_cache`` or None)."""
    _lm_eval_classes()
    try:
        return data_parallel.unwrap_caching_lm(lm)
    except data_parallel.DataParallelError as error:
        raise PrefixScoringError(str(error)) from error


def _cache_key(context: str, continuation: str) -> str:
    """The key lm-eval's CachingLM stores a loglikelihood answer under."""
    return data_parallel.cache_key("loglikelihood", (context, continuation))


# The HFLM methods that decide a loglikelihood answer; a subclass overriding one of them
# has its own scoring, which the shared-prefix path would bypass.
_SCORING_METHODS = ("loglikelihood", "_loglikelihood_tokens", "_model_call", "_encode_pair", "tok_encode")


def _takes_shared_prefix_path(model: Any) -> bool:
    _, hflm, _ = _lm_eval_classes()
    keeps_hflm_scoring = isinstance(model, hflm) and all(
        getattr(type(model), name) is getattr(hflm, name) for name in _SCORING_METHODS
    )
    # enable_thinking: HFLM.loglikelihood refuses it, and its own path raises that error.
    return keeps_hflm_scoring and model.backend == "causal" and not getattr(model, "enable_thinking", False)


def _encode_pair(model: Any, context: str, continuation: str) -> tuple[list[int], list[int]]:
    return model._encode_pair(context, continuation)


@dataclass(frozen=True)
class _ModelSettings:
    batch_size: int
    max_length: int
    sliding_window: int | None
    pad_token_id: int
    autocast_dtype: torch.dtype | None
    softmax_dtype: torch.dtype | None
    cache_argument: str | None  # "cache" (transformers 5), "past_key_values", or None: not supported
    keeps_logits: bool  # forward takes logits_to_keep=k: logits of the last k positions only
    vocabulary: int  # logits per position


def _settings(model: Any) -> _ModelSettings:
    batch_size = model.batch_size
    if batch_size == "auto":
        batch_size = min(AUTO_BATCH_SIZE, getattr(model, "max_batch_size", None) or AUTO_BATCH_SIZE)
    if not isinstance(batch_size, int) or batch_size < 1:
        raise PrefixScoringError(f"the model's batch_size is {batch_size!r}; expected a positive integer or 'auto'")
    parameters = inspect.signature(model.model.forward).parameters
    cache_argument = next((name for name in ("cache", "past_key_values") if name in parameters), None)
    text_config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    window = getattr(text_config, "sliding_window", None)
    tokenizer = model.tokenizer
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else model.eot_token_id
    return _ModelSettings(
        batch_size=batch_size,
        max_length=int(model.max_length),
        sliding_window=window if isinstance(window, int) and window > 0 else None,
        pad_token_id=int(pad),
        autocast_dtype=getattr(model, "mixed_precision_dtype", None),
        softmax_dtype=getattr(model, "softmax_dtype", None),
        cache_argument=cache_argument,
        keeps_logits="logits_to_keep" in parameters,
        vocabulary=int(text_config.vocab_size),
    )


def _forward(model: Any, settings: _ModelSettings, **kwargs: Any) -> tuple[torch.Tensor, Any]:
    """(logits, key/value cache) of one call of the transformers model."""
    if "cache" in kwargs:
        kwargs[settings.cache_argument] = kwargs.pop("cache")
    with torch.autocast(
        device_type=model.device.type,
        dtype=settings.autocast_dtype,
        enabled=settings.autocast_dtype is not None,
    ):
        output = model.model(**kwargs)
    if not kwargs.get("use_cache"):
        return output.logits, None
    # transformers 5 names the cache "cache" and warns on reading "past_key_values"; 4.x has only the latter.
    cache = output.get("cache") if output.get("cache") is not None else output.get("past_key_values")
    return output.logits, cache


def _select_cache_rows(cache: Any, rows: torch.Tensor) -> Any:
    """A new key/value cache holding ``cache``'s batch rows ``rows`` (repeats allowed)."""
    from transformers.cache_utils import DynamicCache, DynamicLayer, DynamicSlidingWindowLayer

    if type(cache) is not DynamicCache or any(
        type(layer) not in (DynamicLayer, DynamicSlidingWindowLayer) for layer in cache.layers
    ):
        raise _UnsupportedCache(type(cache).__name__)
    # Iterating a DynamicCache gives (keys, values[, sliding-window tensor or None]) per
    # layer, the form its constructor takes back.
    return DynamicCache(
        ddp_cache_data=[(keys.index_select(0, rows), values.index_select(0, rows), *rest) for keys, values, *rest in cache]
    )


class _UnsupportedCache(Exception):
    """The model's key/value cache is not a plain DynamicCache (e.g. a recurrent state)."""


def _lm_eval_instances(requests: Sequence[tuple[str, str]]) -> list[Any]:
    from lm_eval.api.instance import Instance

    return [
        Instance(request_type="loglikelihood", doc={}, arguments=tuple(pair), idx=i) for i, pair in enumerate(requests)
    ]


# --- end of internals ---------------------------------------------------------------


def loglikelihoods(lm: Any, requests: Sequence[tuple[str, str]], progress: str | None = None) -> list[float]:
    """The summed log-likelihood of each continuation given its context (see module card).

    ``lm`` is an lm-eval model as the evaluator holds it (possibly ``CachingLM``-wrapped);
    ``requests`` are (context, continuation) string pairs; ``progress``, if given, labels
    a progress bar over the forward batches (on rank 0, as lm-eval shows its own), and
    one over the batches of pairs that take lm-eval's path (whose own bar is then off).
    """
    requests = [_checked_pair(i, pair) for i, pair in enumerate(requests)]
    model, table = _unwrap(lm)
    if not _takes_shared_prefix_path(model):
        return [float(answer[0]) for answer in _lm_eval_loglikelihood(lm, requests, progress)]

    answers: list[tuple[float, bool] | None] = [None] * len(requests)
    keys = [_cache_key(*pair) for pair in requests] if table is not None else []
    if table is not None:
        for i, key in enumerate(keys):
            if key in table:
                answers[i] = table[key]
    missing = [i for i, answer in enumerate(answers) if answer is None]
    computed = _score(model, [requests[i] for i in missing], progress)
    # Pairs this path cannot score exactly take lm-eval's: one call on every rank, always.
    fallback = [i for i, answer in zip(missing, computed, strict=True) if answer is None]
    fallback_answers = iter(_lm_eval_loglikelihood(model, [requests[i] for i in fallback], progress))
    for i, answer in zip(missing, computed, strict=True):
        answers[i] = answer if answer is not None else next(fallback_answers)
        if table is not None:
            table[keys[i]] = answers[i]
    if table is not None and missing:
        table.commit()
    return [float(answer[0]) for answer in answers]


def _checked_pair(index: int, pair: Any) -> tuple[str, str]:
    if not (isinstance(pair, tuple | list) and len(pair) == 2 and all(isinstance(part, str) for part in pair)):
        raise PrefixScoringError(
            f"request {index} must be a (context, continuation) pair of strings, got {pair!r}; "
            "pass e.g. [('Topic of: ...', ' sports')]"
        )
    return pair[0], pair[1]


_FILLER_PAIR = ("\n", "\n")  # sent by a rank with nothing to score while others score; answer dropped


LM_EVAL_PATH = "lm-eval path"
"""Added to a progress label for the batches lm-eval's own ``loglikelihood`` computes."""


def _lm_eval_loglikelihood(
    lm: Any, requests: list[tuple[str, str]], progress: str | None = None
) -> list[tuple[float, bool]]:
    """lm-eval's own request path, made by every data-parallel rank together; with a
    ``progress`` label, batch by batch behind that bar (the answers are the same)."""
    (filler,) = _lm_eval_instances([_FILLER_PAIR])
    bar = BatchProgress(f"{progress}, {LM_EVAL_PATH}") if progress is not None else None
    answers = data_parallel.call_on_every_rank(lm, "loglikelihood", _lm_eval_instances(requests), filler, bar)
    return [(float(answer[0]), bool(answer[1])) for answer in answers]


@dataclass
class _ContextGroup:
    """The continuations of one distinct context (as tokens), and who asked for them."""

    context: tuple[int, ...]
    continuations: dict[tuple[int, ...], list[int]] = field(default_factory=dict)

    @property
    def extension(self) -> tuple[int, ...]:
        """The longest continuation (the first of equal length) without its last token:
        the prefix row is context + extension, so that continuation needs no row of its own."""
        return max(self.continuations, key=len)[:-1]

    @property
    def prefix_row(self) -> tuple[int, ...]:
        return self.context + self.extension

    def covered(self, continuation: tuple[int, ...]) -> int:
        """How many of the continuation's first tokens the prefix row's logits score:
        one more than its common prefix with the extension (its last token excluded)."""
        length = 0
        for own, extension in zip(continuation[:-1], self.extension, strict=False):
            if own != extension:
                break
            length += 1
        return length + 1

    def tails(self) -> list[tuple[int, ...]]:
        """The continuations that need a continuation row."""
        return [continuation for continuation in self.continuations if self.covered(continuation) < len(continuation)]


def group_by_context(
    encoded: Sequence[tuple[Sequence[int], Sequence[int]] | None],
) -> list[_ContextGroup]:
    """Groups encoded pairs (None = not for this path) by context tokens, in order of
    first appearance; each group maps continuation tokens to the indices asking for them."""
    groups: dict[tuple[int, ...], _ContextGroup] = {}
    for i, pair in enumerate(encoded):
        if pair is None:
            continue
        context, continuation = tuple(pair[0]), tuple(pair[1])
        group = groups.setdefault(context, _ContextGroup(context))
        group.continuations.setdefault(continuation, []).append(i)
    return list(groups.values())


def batches_longest_first(groups: list[_ContextGroup], batch_size: int) -> list[list[_ContextGroup]]:
    """Groups in batches of ``batch_size`` prefix rows, longest first (as lm-eval orders
    rows, so a too-large batch fails at once and padding stays small)."""
    ordered = sorted(groups, key=lambda group: -len(group.prefix_row))
    return [ordered[first : first + batch_size] for first in range(0, len(ordered), batch_size)]


def _length_limit(settings: _ModelSettings) -> int:
    limit = settings.max_length + 1  # lm-eval left-truncates a longer pair
    if settings.sliding_window is not None:
        # A prefix row and a continuation row then fit together in the window, however
        # they are padded, so the window never hides a token lm-eval's full row sees.
        limit = min(limit, settings.sliding_window // 2)
    return limit


def _score(model: Any, requests: list[tuple[str, str]], progress: str | None = None) -> list[tuple[float, bool] | None]:
    """(loglikelihood, is_greedy) of each pair, computed (no cache); None for a pair
    this path cannot score exactly (the caller sends those to lm-eval's path)."""
    if not requests:
        return []
    settings = _settings(model)
    if settings.cache_argument is None:
        log.warning("macro-bench: %s.forward takes no key/value cache; using lm-eval's path", type(model.model).__name__)
    limit = _length_limit(settings)
    encoded: list[tuple[list[int], list[int]] | None] = []
    for context, continuation in requests:
        pair = _encode_pair(model, context, continuation) if context and settings.cache_argument else None
        if pair is not None and (not pair[0] or not pair[1] or len(pair[0]) + len(pair[1]) > limit):
            pair = None
        encoded.append(pair)
    answers: list[tuple[float, bool] | None] = [None] * len(requests)
    try:
        with torch.inference_mode():
            batches = batches_longest_first(group_by_context(encoded), settings.batch_size)
            bar = BatchProgress(progress) if progress is not None else None
            if bar is not None:
                bar.start([len(batch) for batch in batches], model)
            try:
                for batch in batches:
                    _score_batch(model, settings, batch, answers)
                    if bar is not None:
                        bar.batch_done()
            finally:
                if bar is not None:
                    bar.close()
    except _UnsupportedCache as error:
        log.warning("macro-bench: %s caches are not supported by the shared-prefix scorer; using lm-eval's path", error)
    return answers


def _score_batch(
    model: Any, settings: _ModelSettings, groups: list[_ContextGroup], answers: list[tuple[float, bool] | None]
) -> None:
    """Scores every continuation of ``groups`` into ``answers``: one prefix call, then
    the continuation rows."""
    device = model.device
    rows = [group.prefix_row for group in groups]
    width = max(map(len, rows))
    # Left-padded, so every row ends at the last column and the scored positions (the
    # last context token and the extension) are the last len(extension) + 1 columns.
    offsets = [width - len(row) for row in rows]
    input_ids = torch.full((len(rows), width), settings.pad_token_id, dtype=torch.long)
    attention = torch.zeros((len(rows), width), dtype=torch.long)
    for b, (row, offset) in enumerate(zip(rows, offsets, strict=True)):
        input_ids[b, offset:] = torch.tensor(row, dtype=torch.long)
        attention[b, offset:] = 1
    positions = (torch.arange(width).unsqueeze(0) - torch.tensor(offsets).unsqueeze(1)).clamp(min=0)
    tails = [(b, continuation) for b, group in enumerate(groups) for continuation in group.tails()]
    kept = max(len(group.extension) for group in groups) + 1
    logits, cache = _forward(
        model,
        settings,
        input_ids=input_ids.to(device),
        attention_mask=attention.to(device),
        position_ids=positions.to(device),
        use_cache=bool(tails),
        **({"logits_to_keep": kept} if settings.keeps_logits else {}),
    )
    head_scores: dict[tuple[int, tuple[int, ...]], tuple[float, bool]] = {}
    for b, group in enumerate(groups):
        logprobs = F.log_softmax(logits[b, -(len(group.extension) + 1) :], dim=-1, dtype=settings.softmax_dtype)
        greedy = logprobs.argmax(dim=-1).tolist()
        for continuation in group.continuations:
            head = continuation[: group.covered(continuation)]
            token_logprobs = logprobs[torch.arange(len(head)), torch.tensor(head)]
            head_scores[b, continuation] = (float(token_logprobs.sum()), greedy[: len(head)] == list(head))
    tail_scores = _score_tails(model, settings, groups, offsets, tails, cache) if tails else {}
    for b, group in enumerate(groups):
        for continuation, indices in group.continuations.items():
            loglikelihood, is_greedy = head_scores[b, continuation]
            if (b, continuation) in tail_scores:
                tail_loglikelihood, tail_greedy = tail_scores[b, continuation]
                loglikelihood, is_greedy = loglikelihood + tail_loglikelihood, is_greedy and tail_greedy
            for i in indices:
                answers[i] = (loglikelihood, is_greedy)


def tail_chunks(lengths: Sequence[int], max_rows: int, max_cells: int) -> list[slice]:
    """Consecutive slices of rows for the continuation-row calls: at most ``max_rows`` rows, and
    rows x (the slice's longest row) at most ``max_cells`` logits positions; a row longer than
    ``max_cells`` goes alone."""
    chunks, first, widest = [], 0, 0
    for index, length in enumerate(lengths):
        if index > first and (index - first == max_rows or (index - first + 1) * max(widest, length) > max_cells):
            chunks.append(slice(first, index))
            first, widest = index, 0
        widest = max(widest, length)
    if first < len(lengths):
        chunks.append(slice(first, len(lengths)))
    return chunks


def _score_tails(
    model: Any,
    settings: _ModelSettings,
    groups: list[_ContextGroup],
    offsets: list[int],
    tails: list[tuple[int, tuple[int, ...]]],
    cache: Any,
) -> dict[tuple[int, tuple[int, ...]], tuple[float, bool]]:
    """(loglikelihood, is_greedy) of each continuation's tokens after those its prefix
    row scored, from continuation rows that attend to the prefix rows' cache."""
    device = model.device
    cache_width = max(len(group.prefix_row) for group in groups)  # the prefix call's padded width
    scores = {}
    # A row's own tokens start where its common prefix with the extension ends; it
    # sees only the cache columns of its context + that common prefix.
    all_starts = [len(groups[b].context) + groups[b].covered(continuation) - 1 for b, continuation in tails]
    all_inputs = [continuation[start - len(groups[b].context) : -1] for (b, continuation), start in zip(tails, all_starts, strict=True)]
    max_cells = max(1, TAIL_LOGITS_BYTES // (4 * settings.vocabulary))
    for rows in tail_chunks([len(tokens) for tokens in all_inputs], settings.batch_size * CONTINUATION_ROWS_PER_CONTEXT, max_cells):
        chunk, starts, inputs = tails[rows], all_starts[rows], all_inputs[rows]
        width = max(map(len, inputs))
        input_ids = torch.full((len(chunk), width), settings.pad_token_id, dtype=torch.long)
        attention = torch.zeros((len(chunk), cache_width + width), dtype=torch.long)
        positions = torch.zeros((len(chunk), width), dtype=torch.long)
        for r, ((b, _), tokens, start) in enumerate(zip(chunk, inputs, starts, strict=True)):
            input_ids[r, : len(tokens)] = torch.tensor(tokens, dtype=torch.long)
            attention[r, offsets[b] : offsets[b] + start] = 1
            attention[r, cache_width : cache_width + len(tokens)] = 1
            positions[r] = start + torch.arange(width)
        sources = torch.tensor([b for b, _ in chunk], device=device)
        logits, _ = _forward(
            model,
            settings,
            input_ids=input_ids.to(device),
            attention_mask=attention.to(device),
            position_ids=positions.to(device),
            cache=_select_cache_rows(cache, sources),
            use_cache=True,
        )
        for r, ((b, continuation), start) in enumerate(zip(chunk, starts, strict=True)):
            targets = continuation[start - len(groups[b].context) + 1 :]
            logprobs = F.log_softmax(logits[r, : len(targets)], dim=-1, dtype=settings.softmax_dtype)
            token_logprobs = logprobs[torch.arange(len(targets)), torch.tensor(targets)]
            scores[b, continuation] = (float(token_logprobs.sum()), logprobs.argmax(dim=-1).tolist() == list(targets))
    return scores

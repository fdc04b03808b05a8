"""Model calls that every data-parallel rank makes together, so none waits forever.

Card
----
Under ``accelerate launch`` data parallelism (lm-eval's HF model with more than one
process) each rank's second pass sees only its own documents, yet some lm-eval calls
hold a collective operation that every rank must enter: ``loglikelihood_rolling``
gathers the window counts across ranks, and with ``--batch_size auto`` every call
gathers the batch size it detected. A rank that skips such a call, or makes it with
no request (``loglikelihood_rolling`` then pads from a request it does not have),
leaves the others waiting: the job hangs.

``--use_cache`` made that happen: lm-eval's ``CachingLM`` drops the cached requests
and skips the model altogether when none is left, so a rank whose answers were all
cached never entered the collective the others were waiting in.

:func:`call_on_every_rank` is the one way the second pass calls lm-eval's request
API. With one process it is the plain call (``CachingLM`` included). With several:

1. the cached answers are read here, under lm-eval's own keys
   (``hash_args(method, request.args)``, the per-rank sqlite file ``--use_cache``
   opened), and only the missing requests remain;
2. every rank gathers the number of missing requests (one ``all_gather``);
3. if no rank misses any, no rank calls the model; otherwise every rank calls the
   model itself (not the ``CachingLM``, which could skip) with its missing requests
   padded to the largest count by repeating its first one, or the caller's
   ``filler`` request on a rank that misses none;
4. the padded answers are dropped and the computed ones are written to the cache.

So ranks agree on every collective whatever their cache holds, with the cost of at
most ``max - own`` repeated requests per call on each rank, as lm-eval's evaluator
pads its own requests. The second pass itself therefore makes the same sequence of
calls on every rank, including calls with no requests of its own.

A call with a progress reporter (the second pass's generation and lm-eval-path
classification) reads the cache the same way with one process too, and sends the
missing requests in the batches lm-eval's HF model would make of them
(:func:`macro_bench.lm_eval_adapter.bridge.batch_plan`), one model call per batch, so a
labelled bar moves after every batch and the answers equal one call's. Under data
parallelism every rank's padded list has the same length, so every rank makes the
same number of ``generate_until`` batches; a ``loglikelihood`` call, whose batches
depend on each rank's own texts, stays one call there.

:func:`sum_over_ranks` adds per-rank counts (``documents_per_metric``): lm-eval
reports the task configuration of rank 0, whose filter has seen only rank 0's
documents.
"""

from __future__ import annotations

import inspect
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol

from macro_bench.lm_eval_adapter import bridge

_PIN = "macro-bench needs lm-eval==0.4.13 (pip install 'lm-eval[hf]==0.4.13')"


class DataParallelError(RuntimeError):
    """lm-eval's caching or distributed API is not what this module relies on."""


def unwrap_caching_lm(lm: Any) -> tuple[Any, Any | None]:
    """(the model behind ``--use_cache``'s ``CachingLM``, its sqlite table), or (lm, None)."""
    from lm_eval.api.model import CachingLM

    if type(lm) is not CachingLM:
        return lm, None
    # vars(): CachingLM.__getattr__ would hand a missing attribute over to the inner model.
    inner, table = vars(lm).get("lm"), vars(lm).get("dbdict")
    if inner is None or table is None or not hasattr(table, "commit"):
        raise DataParallelError(f"lm-eval's CachingLM no longer has .lm and .dbdict (its sqlite cache); {_PIN}")
    return inner, table


def cache_key(method: str, arguments: tuple) -> str:
    """The key lm-eval's ``CachingLM`` stores the answer to ``method(arguments)`` under."""
    from lm_eval.api.model import hash_args

    return hash_args(method, arguments)


def world_size(lm: Any) -> int:
    return int(getattr(unwrap_caching_lm(lm)[0], "world_size", 1) or 1)


def _cacheable(method: str, request: Any) -> bool:
    # CachingLM never caches sampled generations (a repeat must sample again).
    return not (method == "generate_until" and request.args[1].get("do_sample", False))


class BatchProgress(Protocol):
    """What :func:`call_on_every_rank` reports while it calls the model batch by batch."""

    def start(self, batch_sizes: list[int], model: Any) -> None:
        """Before the first batch: how many requests each batch holds, and the model called."""

    def batch_done(self) -> None:
        """After each batch."""

    def close(self) -> None:
        """After the last batch (also when a batch raised)."""


def call_on_every_rank(lm: Any, method: str, requests: list, filler: Any, progress: BatchProgress | None = None) -> list:
    """``lm.<method>(requests)``, made by every data-parallel rank together (see the card).

    ``requests`` are lm-eval ``Instance`` objects; ``filler`` is any request of the
    same type, sent (and its answer dropped) only by a rank with nothing to compute
    while another rank computes.

    With ``progress``, the uncached requests go to the model in the batches one call
    would make (:func:`macro_bench.lm_eval_adapter.bridge.batch_plan`; identical answers), one
    call per batch with the model's own progress bar turned off; ``progress`` hears of
    each batch and the answers are cached batch by batch, so an interrupted run keeps
    them. Under data parallelism every rank pads to the same number of requests first,
    so every rank makes the same number of ``generate_until`` batches; other methods
    then stay one call.
    """
    model, table = unwrap_caching_lm(lm)
    several = world_size(lm) > 1
    if not several and progress is None:
        return list(getattr(lm, method)(requests)) if requests else []

    keys, answers = _cached_answers(method, requests, table)
    missing = [i for i, answer in enumerate(answers) if answer is None]
    batch = [requests[i] for i in missing]
    if several:
        batch = _padded_to_every_ranks_count(model, batch, filler)
    if not batch:
        return answers
    if progress is None or (several and method != "generate_until"):
        plan = [list(range(len(batch)))]
    else:
        plan = bridge.batch_plan(model, method, batch)
    # Each entry of batch's index in requests; None for the padding.
    targets = missing + [None] * (len(batch) - len(missing))
    _call_batch_by_batch(
        model, method, batch, plan, progress,
        lambda indices, computed: _store_batch(answers, keys, table, [targets[i] for i in indices], computed),
    )
    return answers


def _cached_answers(method: str, requests: list, table: Any | None) -> tuple[list[str | None], list[Any]]:
    """Each request's cache key (None: no cache, or an answer CachingLM never caches) and its
    cached answer (None: not in the cache)."""
    keys = [cache_key(method, request.args) if table is not None and _cacheable(method, request) else None
            for request in requests]
    answers: list[Any] = [None] * len(requests)
    for i, key in enumerate(keys):
        if key is not None and key in table:
            answers[i] = table[key]
    return keys, answers


def _padded_to_every_ranks_count(model: Any, batch: list, filler: Any) -> list:
    """``batch`` padded to the largest count any rank has (one ``all_gather``), by repeating its
    first request, or ``filler`` when it is empty."""
    import torch

    counts = model.all_gather(torch.tensor([len(batch)], device=model.device)).cpu().tolist()
    return batch + [batch[0] if batch else filler] * (max(counts) - len(batch))


def _call_batch_by_batch(
    model: Any,
    method: str,
    batch: list,
    plan: list[list[int]],
    progress: BatchProgress | None,
    store: Callable[[list[int], list], None],
) -> None:
    """``model.<method>`` on each batch of ``plan`` (indices into ``batch``) in turn, handing
    ``store(indices, answers)`` each batch's answers; ``progress`` hears of every batch."""
    call = _model_call(model, method, quiet=progress is not None)
    if progress is not None:
        progress.start([len(indices) for indices in plan], model)
    try:
        for indices in plan:
            store(indices, list(call([batch[i] for i in indices])))
            if progress is not None:
                progress.batch_done()
    finally:
        if progress is not None:
            progress.close()


def _store_batch(answers: list, keys: list[str | None], table: Any | None, targets: list[int | None], computed: list) -> None:
    """Put one batch's answers at ``targets`` (None: padding, dropped) and in the cache, committed once."""
    wrote = False
    for target, answer in zip(targets, computed, strict=True):
        if target is None:
            continue  # padding
        answers[target] = answer
        if keys[target] is not None:
            table[keys[target]] = answer
            wrote = True
    if wrote:
        table.commit()


def _model_call(model: Any, method: str, quiet: bool):
    """``model.<method>``, with lm-eval's own progress bar turned off when ``quiet`` and it has one."""
    function = getattr(model, method)
    try:
        takes_switch = "disable_tqdm" in inspect.signature(function).parameters
    except (TypeError, ValueError):
        takes_switch = False
    if quiet and takes_switch:
        return lambda batch: function(batch, disable_tqdm=True)
    return function


def sum_over_ranks(lm: Any, counts: Counter) -> Counter:
    """``counts`` added up over every data-parallel rank (all ranks get the sum)."""
    if world_size(lm) <= 1:
        return Counter(counts)
    import torch.distributed

    if not torch.distributed.is_initialized():
        raise DataParallelError("the model reports several data-parallel ranks but torch.distributed is not initialized")
    gathered: list[Any] = [None] * torch.distributed.get_world_size()
    torch.distributed.all_gather_object(gathered, dict(counts))
    return sum((Counter(rank_counts) for rank_counts in gathered), Counter())

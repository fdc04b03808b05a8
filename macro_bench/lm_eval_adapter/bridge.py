"""What the second pass takes from lm-eval's running evaluation, checked at load.

macro-bench's second pass runs inside lm-eval's evaluator as a filter (lm-eval has no
hook that runs after a task's requests with the live model). It needs:

* the live model, the task and the prompt settings of the running
  ``lm_eval.evaluator.evaluate`` call (found on the call stack; under ``--use_cache``
  the model is already lm-eval's ``CachingLM``, so resumed runs reuse cached answers);
* the ``--gen_kwargs`` the user gave ``simple_evaluate`` (lm-eval applies them only to
  ``generate_until`` tasks, and ours is a ``multiple_choice`` task);
* the task's own request building (``fewshot_context`` + ``construct_requests``), so an
  edited text is classified exactly as lm-eval classifies the original, chat template
  and system instruction included;
* lm-eval's model registry and argument parser, for the judge and fluency models;
* how lm-eval's HF model batches ``generate_until`` and ``loglikelihood`` requests
  (:func:`batch_plan`), so the second pass can make those calls one batch at a time
  behind its own progress bar and still get exactly the batches one call would make.

:func:`check_lm_eval` verifies all of these against the installed lm-eval when the
tasks are built (:func:`macro_bench.documents.load_documents`), so a changed lm-eval
fails before the first generation is paid for, with a message that says what changed.
"""

from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass
from typing import Any

_EVALUATE_MODULE = "lm_eval.evaluator"
_EVALUATE_LOCALS = ("lm", "task", "apply_chat_template", "system_instruction", "fewshot_as_multiturn")
_TASK_METHODS = ("fewshot_context", "construct_requests", "doc_to_prefix")


class BridgeError(RuntimeError):
    """The installed lm-eval does not offer what the second pass relies on."""


def check_lm_eval() -> None:
    """Raise :class:`BridgeError` if lm-eval no longer exposes what the second pass uses."""
    from lm_eval import evaluator
    from lm_eval.api import registry
    from lm_eval.api.task import ConfigurableTask
    from lm_eval.api.utils import Message, messages_to_text, multiturn_to_singleturn  # noqa: F401

    problems = []
    evaluate_locals = set(inspect.unwrap(evaluator.evaluate).__code__.co_varnames)
    missing = [name for name in _EVALUATE_LOCALS if name not in evaluate_locals]
    if missing:
        problems.append(f"lm_eval.evaluator.evaluate has no local(s) {', '.join(missing)}")
    if "gen_kwargs" not in inspect.unwrap(evaluator.simple_evaluate).__code__.co_varnames:
        problems.append("lm_eval.evaluator.simple_evaluate takes no gen_kwargs")
    missing = [name for name in _TASK_METHODS if not hasattr(ConfigurableTask, name)]
    if missing:
        problems.append(f"ConfigurableTask lacks {', '.join(missing)}")
    construct = inspect.signature(ConfigurableTask.fewshot_context).parameters
    for name in ("system_instruction", "apply_chat_template", "fewshot_as_multiturn", "chat_template", "gen_prefix"):
        if name not in construct:
            problems.append(f"ConfigurableTask.fewshot_context takes no {name!r}")
    if not hasattr(registry, "get_model"):
        problems.append("lm_eval.api.registry has no get_model")
    if problems:
        import lm_eval

        raise BridgeError(
            f"macro-bench's second pass cannot run on lm-eval {getattr(lm_eval, '__version__', '?')}: "
            + "; ".join(problems)
            + ". Install the lm-eval version macro-bench pins (pip install 'lm-eval[hf]==0.4.13')."
        )


@dataclass(frozen=True)
class LiveEvaluation:
    lm: Any
    task: Any
    apply_chat_template: bool
    system_instruction: str | None
    fewshot_as_multiturn: bool
    # --gen_kwargs as simple_evaluate parsed them; None when not given (or no simple_evaluate).
    cli_gen_kwargs: dict | None


def live_evaluation() -> LiveEvaluation:
    """The model, task and settings of the ``evaluate`` call applying this filter now."""
    frame = sys._getframe(1)
    found = None
    gen_kwargs = None
    while frame is not None:
        module = frame.f_globals.get("__name__")
        if module == _EVALUATE_MODULE:
            if frame.f_code.co_name == "evaluate" and found is None:
                found = frame.f_locals
            elif frame.f_code.co_name == "simple_evaluate":
                gen_kwargs = frame.f_locals.get("gen_kwargs") or None
        frame = frame.f_back
    if found is None or found.get("lm") is None or found.get("task") is None:
        raise BridgeError(
            "macro-bench's second pass must run inside lm_eval.evaluator.evaluate (the lm_eval "
            "command line, simple_evaluate or evaluate): it uses the live model found there, and "
            "none was found on the call stack."
        )
    if gen_kwargs is not None and not isinstance(gen_kwargs, dict):
        raise BridgeError(f"--gen_kwargs reached the evaluator as {type(gen_kwargs).__name__}, expected a dict")
    return LiveEvaluation(
        lm=found["lm"],
        task=found["task"],
        apply_chat_template=bool(found.get("apply_chat_template")),
        system_instruction=found.get("system_instruction"),
        fewshot_as_multiturn=bool(found.get("fewshot_as_multiturn")),
        cli_gen_kwargs=gen_kwargs,
    )


def classification_requests(live: LiveEvaluation, classifier: Any, doc: dict) -> list[tuple[str, str]]:
    """The (context, continuation) pairs lm-eval's task would score for ``doc``.

    Built by the task's own ``fewshot_context`` and ``construct_requests`` (0-shot, the
    run's chat template and system instruction, the chat template of ``classifier``),
    so a counterfactual or an intervention is classified exactly like the original.
    """
    task = live.task
    chat_template = getattr(classifier, "apply_chat_template", None) if live.apply_chat_template else None
    context = task.fewshot_context(
        doc,
        num_fewshot=0,
        system_instruction=live.system_instruction,
        apply_chat_template=live.apply_chat_template,
        fewshot_as_multiturn=live.fewshot_as_multiturn,
        chat_template=chat_template,
        gen_prefix=task.doc_to_prefix(doc),
    )
    instances = task.construct_requests(
        doc=doc,
        ctx=context,
        metadata=(task.config.task, 0, 1),
        apply_chat_template=live.apply_chat_template,
        chat_template=chat_template,
    )
    return [tuple(instance.arguments[:2]) for instance in instances]


def prompt_context(live: LiveEvaluation, model: Any, prompt: str) -> str:
    """``prompt`` as one user turn, rendered the way lm-eval renders a 0-shot task prompt."""
    from lm_eval.api.utils import Message, messages_to_text, multiturn_to_singleturn

    messages = [Message("system", live.system_instruction)] if live.system_instruction else []
    messages.append(Message("user", prompt, ""))
    if not live.apply_chat_template:
        return messages_to_text(messages)
    return model.apply_chat_template(multiturn_to_singleturn(messages), add_generation_prompt=True)


def request(request_type: str, arguments: tuple, doc: dict, task_name: str, doc_id: int, index: int):
    from lm_eval.api.instance import Instance

    return Instance(request_type=request_type, doc=doc, arguments=arguments, idx=index, metadata=(task_name, doc_id, 1))


def build_model(spec: str, batch_size: Any, device: Any) -> Any:
    """A judge or fluency model from an lm-eval ``model_args`` string (or a bare model path).

    Built through lm-eval's registry and argument parser, so values are typed exactly
    as ``--model_args`` types them (``trust_remote_code=False`` is the boolean False).
    """
    from lm_eval.api.registry import get_model

    arg_string = spec if "=" in spec else f"pretrained={spec}"
    extra = {"batch_size": batch_size}
    if device is not None:
        extra["device"] = str(device)
    return get_model("hf").create_from_arg_string(arg_string, extra)


def token_counter(model: Any):
    """``text -> number of the model's tokens`` (no special tokens), or None without a tokenizer."""
    encode = getattr(model, "tok_encode", None)
    if encode is None:
        return None
    return lambda text: len(encode(text, add_special_tokens=False))


# The HFLM methods that decide how a call is batched; a subclass overriding one batches its own way.
_BATCHING_METHODS = {
    "generate_until": ("generate_until", "tok_encode"),
    "loglikelihood": ("loglikelihood", "_loglikelihood_tokens", "_encode_pair", "tok_encode"),
}


def batch_plan(model: Any, method: str, requests: list) -> list[list[int]]:
    """The requests (as indices) of each batch lm-eval's HF model makes in one ``method`` call.

    ``model`` is the model itself (not ``--use_cache``'s ``CachingLM``). Calling
    ``model.<method>`` on each batch in turn then makes exactly the forward passes one
    call on all of them makes (same rows, same order, same padding), so the answers are
    identical, while the caller can report progress after each batch. lm-eval's
    ``HFLM`` with an integer batch size n, and its own scoring methods:

    * ``generate_until``: sorted by (-number of context tokens, context) as its
      ``Collator`` sorts them, then n at a time (one generation setting for all; with
      several the requests stay in one call);
    * ``loglikelihood``: pairs encoded as ``TemplateLM.loglikelihood`` encodes them
      (an empty context becomes the prefix token); pairs whose context + continuation
      without its last token are equal share one row, computed for the pair with the
      longest continuation (the first of equal length); rows sorted by (-tokens, tokens)
      of that pair, n rows at a time, each batch with every pair its rows stand for.

    Any other model, method or batch size ("auto" detects a size on every call) is one
    batch: the plain call.
    """
    everything = [list(range(len(requests)))] if requests else []
    size = _own_batch_size(model, method, len(requests))
    if size is None:
        return everything
    if method == "generate_until":
        batches = _generate_until_batches(model, requests, size)
    else:
        batches = _loglikelihood_batches(model, requests, size)
    return everything if batches is None else batches


def _own_batch_size(model: Any, method: str, count: int) -> int | None:
    """HFLM's integer batch size when it batches ``count`` requests of ``method`` its own way
    into more than one batch; None when one call is one batch."""
    from lm_eval.models.huggingface import HFLM

    size = getattr(model, "batch_size", None)
    own_batching = _BATCHING_METHODS.get(method, ())
    if (
        not own_batching
        or not isinstance(model, HFLM)
        or any(getattr(type(model), name, None) is not getattr(HFLM, name, None) for name in own_batching)
        or isinstance(size, bool)
        or not isinstance(size, int)
        or size < 1
        or count <= size
    ):
        return None
    return size


def _generate_until_batches(model: Any, requests: list, size: int) -> list[list[int]] | None:
    """Sorted as HFLM's ``Collator`` sorts them, ``size`` at a time; None if the requests'
    generation settings differ (then they stay in one call)."""
    settings = requests[0].args[1]
    if any(request.args[1] != settings for request in requests):
        return None
    keys = [(-len(model.tok_encode(request.args[0])), request.args[0]) for request in requests]
    order = sorted(range(len(requests)), key=keys.__getitem__)
    return [order[first : first + size] for first in range(0, len(order), size)]


def _loglikelihood_batches(model: Any, requests: list, size: int) -> list[list[int]] | None:
    """HFLM's rows (pairs sharing context + continuation[:-1] share one), ``size`` rows at a
    time, longest first; None if a pair cannot be encoded (lm-eval's own call reports it)."""
    rows: dict[tuple, list[int]] = {}
    # Each row's representative: (its continuation's length, its context + continuation tokens).
    representative: dict[tuple, tuple[int, tuple[int, ...]]] = {}
    shared = model.backend == "causal" and getattr(model, "logits_cache", True)
    for i, request in enumerate(requests):
        context, continuation = request.args
        encoded = _encoded_pair(model, context, continuation)
        if encoded is None:
            return None
        context_tokens, continuation_tokens = encoded
        key = tuple(context_tokens + continuation_tokens[:-1]) if shared else (i,)
        members = rows.setdefault(key, [])
        # A row is computed for the pair with the longest continuation, the first of
        # equal length (lm-eval's max()), and sorted by that pair's tokens.
        if not members or len(continuation_tokens) > representative[key][0]:
            representative[key] = (len(continuation_tokens), tuple(context_tokens + continuation_tokens))
        members.append(i)
    ordered = sorted(rows, key=lambda key: (-len(representative[key][1]), representative[key][1]))
    return [
        sorted(i for key in ordered[first : first + size] for i in rows[key])
        for first in range(0, len(ordered), size)
    ]


def _encoded_pair(model: Any, context: str, continuation: str) -> tuple[list[int], list[int]] | None:
    """(context tokens, continuation tokens) as ``TemplateLM.loglikelihood`` encodes the pair
    (an empty context becomes the prefix token); None for an empty pair."""
    if context != "":
        return model._encode_pair(context, continuation)
    encoded = model.tok_encode(continuation, add_special_tokens=False)
    if not encoded:
        return None
    if model.prefix_token_id != encoded[0]:
        return [model.prefix_token_id], encoded
    return encoded[:1], encoded[1:]

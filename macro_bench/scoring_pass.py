"""The scoring pass: every model call after generation, batched through lm-eval's API.

lm-eval calls a task's filters once per task, after all requests of the run, with
every response and document of the task. ``ScoringPass`` is such a filter. For each
document it extracts the counterfactual x' from the generation, then asks the *same
live model instance* that generated it (never a second load) for

* the label distribution of x, of x' and of each held-out deletion intervention of x
  (7 ``loglikelihood`` requests per distinct context, classification prompt of
  lm-eval's SIB task), and
* the rolling log-likelihood of x and x' (``loglikelihood_rolling``) for fluency,

in two batched calls per task. Identical contexts (a copied counterfactual, repeated
deletion sets of a short sentence) are scored once. Its output, one JSON object of
measurements per document, goes to ``process_results`` and, as ``filtered_resps``,
into ``--log_samples``.

The live model is the ``lm`` of ``lm_eval.evaluator.evaluate``, found on the call
stack: it is the instance lm-eval is evaluating, already wrapped by ``--use_cache``'s
``CachingLM`` when that is on, so resumed runs reuse cached scores too.
"""

from __future__ import annotations

import json
import logging
import math
import re
import sys
from dataclasses import dataclass
from typing import Any

from lm_eval.api.filter import Filter
from lm_eval.api.instance import Instance
from lm_eval.api.utils import Message, messages_to_text, multiturn_to_singleturn

from macro_bench import protocol
from macro_bench.data import LABELS
from macro_bench.extraction import extract_counterfactual
from macro_bench.language_id import identify
from macro_bench.metrics.minimality import Minimality
from macro_bench.metrics.validity import predict
from macro_bench.signature import signature
from macro_bench.tokenization import remove_tokens, tokenize

log = logging.getLogger(__name__)

_EVALUATE_MODULE = "lm_eval.evaluator"


class ScoringPassError(RuntimeError):
    """The scoring pass cannot run: it never silently skips documents."""


@dataclass(frozen=True)
class ScoringOptions:
    """Options from lm-eval's ``--metadata`` JSON (keys ``interventions``, ``judge``, ``fluency_lm``)."""

    interventions: int = protocol.DEFAULT_INTERVENTIONS
    judge: str | None = None
    fluency_lm: str | None = None

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any] | None) -> ScoringOptions:
        metadata = metadata or {}
        interventions = metadata.get("interventions", protocol.DEFAULT_INTERVENTIONS)
        if isinstance(interventions, bool) or not isinstance(interventions, int) or interventions < 2:
            raise ScoringPassError(
                f"--metadata 'interventions' must be an integer >= 2 (a correlation needs two "
                f"points), got {interventions!r}; e.g. --metadata '{{\"interventions\": 8}}'"
            )
        for key in ("judge", "fluency_lm"):
            value = metadata.get(key)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ScoringPassError(
                    f"--metadata {key!r} must be a Hugging Face model path or an lm-eval "
                    f"model_args string such as 'pretrained=DIR,gguf_file=F.gguf', got {value!r}"
                )
        return cls(interventions, metadata.get("judge"), metadata.get("fluency_lm"))


@dataclass(frozen=True)
class _LiveEvaluation:
    lm: Any
    task: Any
    apply_chat_template: bool
    system_instruction: str | None


def _live_evaluation() -> _LiveEvaluation:
    """The model, task and prompt settings of the ``lm_eval.evaluator.evaluate`` call
    that is applying this filter right now."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "evaluate" and frame.f_globals.get("__name__") == _EVALUATE_MODULE:
            found = frame.f_locals
            if found.get("lm") is not None and found.get("task") is not None:
                return _LiveEvaluation(
                    found["lm"], found["task"], bool(found.get("apply_chat_template")), found.get("system_instruction")
                )
        frame = frame.f_back
    raise ScoringPassError(
        "macro-bench's scoring pass must run inside lm_eval.evaluator.evaluate (lm_eval CLI, "
        "simple_evaluate or evaluate), which it uses to reach the live model; no live model "
        "was found on the call stack. If lm-eval changed how it applies filters, pin "
        "lm-eval==0.4.13 and report this at macro-bench's issue tracker."
    )


class _ClassificationRequests:
    """The 7 (context, continuation) pairs of a text, exactly as lm-eval builds its SIB task's.

    With ``--apply_chat_template`` and ``--system_instruction`` lm-eval wraps a task's
    prompt in the model's chat template and drops the " " before each label; doing the
    same keeps our ``accuracy`` equal to the SIB task's ``acc`` under every prompt
    setting of the run (0-shot, no description, as that task is).
    """

    def __init__(self, live: _LiveEvaluation, classifier: Any) -> None:
        self.chat_template = classifier.apply_chat_template if live.apply_chat_template else None
        self.system_instruction = live.system_instruction
        self.continuations = LABELS if self.chat_template else protocol.LABEL_CONTINUATIONS

    def __call__(self, text: str) -> list[tuple[str, str]]:
        messages = [Message("system", self.system_instruction)] if self.system_instruction else []
        messages.append(Message("user", protocol.classification_prompt(text), ""))
        if self.chat_template is None:
            context = messages_to_text(messages)
        else:
            context = self.chat_template(multiturn_to_singleturn(messages), add_generation_prompt=True)
        return [(context, continuation) for continuation in self.continuations]


_EXTRA_MODELS: dict[str, Any] = {}


def extra_model(spec: str, like: Any) -> Any:
    """A judge or fluency model, loaded once per process and shared by every task.

    ``spec`` is a model path, or an lm-eval ``model_args`` string when it holds ``=``.
    """
    if spec not in _EXTRA_MODELS:
        from lm_eval.models.huggingface import HFLM

        args = dict(item.split("=", 1) for item in spec.split(",")) if "=" in spec else {"pretrained": spec}
        args.setdefault("batch_size", getattr(like, "batch_size", 1))
        log.info("macro-bench: loading extra model %s once for all tasks", spec)
        _EXTRA_MODELS[spec] = HFLM(**args)
    return _EXTRA_MODELS[spec]


def _padded_call(model: Any, method: str, requests: list[Instance]) -> list[Any]:
    """Call ``model.<method>``, padding to the largest request count across ranks.

    Under data parallelism every rank must issue the same number of forward passes
    (models gather across ranks inside the call), exactly as lm-eval's evaluator pads
    its own requests; the padded results are dropped.
    """
    count = len(requests)
    world_size = getattr(model, "world_size", 1)
    if world_size > 1:
        import torch

        counts = model.all_gather(torch.tensor([count], device=model.device)).cpu().tolist()
        target = max(counts)
        if count == 0 and target > 0:
            raise ScoringPassError("a data-parallel rank has no documents for this task; use fewer processes")
        requests = requests + [requests[0]] * (target - count)
    if not requests:
        return []
    return list(getattr(model, method)(requests))[:count]


class _RequestBatch:
    """Collects distinct requests of one kind and remembers where each answer goes."""

    def __init__(self, request_type: str, task_name: str) -> None:
        self.request_type, self.task_name = request_type, task_name
        self.index: dict[tuple[str, ...], int] = {}
        self.instances: list[Instance] = []

    def add(self, arguments: tuple[str, ...], doc: dict, doc_id: int) -> int:
        if arguments not in self.index:
            self.index[arguments] = len(self.instances)
            self.instances.append(
                Instance(
                    request_type=self.request_type,
                    doc=doc,
                    arguments=arguments,
                    idx=len(self.instances),
                    metadata=(self.task_name, doc_id, 1),
                )
            )
        return self.index[arguments]


@dataclass
class _DocumentPlan:
    doc: dict
    generation: str
    counterfactual: str | None
    minimality: Any
    deletion_sets: list[frozenset[int]]
    context_ids: list[int]  # classification contexts: x, x', then each intervention
    rolling_ids: list[int | None]  # x, x' (None when x' is empty)


def _label_requests(batch: _RequestBatch, requests: list[tuple[str, str]], doc: dict, doc_id: int) -> int:
    """Adds the 7 label requests of one context; returns the id of the first.

    The 7 continuations of a context are always added together, so their ids are
    contiguous even when the context was already in the batch.
    """
    return [batch.add(arguments, doc, doc_id) for arguments in requests][0]


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _as_text(response: Any) -> str:
    """A generation as text any tokenizer and UTF-8 writer accepts.

    A non-string answer is data, kept as its str(); lone surrogates (which no UTF-8
    tokenizer can encode, and which make lm-eval drop a whole samples file when it
    writes them) become U+FFFD.
    """
    return _LONE_SURROGATE.sub("\ufffd", response if isinstance(response, str) else str(response))


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


class ScoringPass(Filter):
    """lm-eval filter that runs the scoring pass for one task (see module docstring)."""

    def apply(self, resps: list, docs: list[dict]) -> list[str]:
        # Cleaned in lm-eval's own lists, which it later writes to the samples file.
        for response in resps:
            response[:] = [_as_text(r) for r in response]
        live = _live_evaluation()
        lm, task = live.lm, live.task
        metadata = task.config.metadata if isinstance(task.config.metadata, dict) else {}
        options = ScoringOptions.from_metadata(metadata)
        classifier = extra_model(options.judge, lm) if options.judge else lm
        fluency_scorer = extra_model(options.fluency_lm, lm) if options.fluency_lm else lm
        task_name = task.config.task
        minimality = Minimality()
        classification_requests = _ClassificationRequests(live, classifier)

        labels = _RequestBatch("loglikelihood", task_name)
        rolling = _RequestBatch("loglikelihood_rolling", task_name)
        plans = []
        for doc_id, (response, doc) in enumerate(zip(resps, docs, strict=True)):
            generation = response[0] if response else ""
            counterfactual = extract_counterfactual(generation, doc["text"])
            source_tokens = tokenize(doc["text"])
            sets = protocol.deletion_sets(len(source_tokens), doc["language"], doc["index_id"], options.interventions)
            variants = [doc["text"], counterfactual or ""] + [
                remove_tokens(doc["text"], source_tokens, positions) for positions in sets
            ]
            plans.append(
                _DocumentPlan(
                    doc=doc,
                    generation=generation,
                    counterfactual=counterfactual,
                    minimality=minimality(doc["text"], counterfactual or ""),
                    deletion_sets=sets,
                    context_ids=[
                        _label_requests(labels, classification_requests(text), doc, doc_id) for text in variants
                    ],
                    rolling_ids=[
                        rolling.add((doc["text"],), doc, doc_id),
                        rolling.add((counterfactual,), doc, doc_id) if counterfactual else None,
                    ],
                )
            )

        label_logliks = [float(ll) for ll, _ in _padded_call(classifier, "loglikelihood", labels.instances)]
        rolling_logliks = [float(ll) for ll in _padded_call(fluency_scorer, "loglikelihood_rolling", rolling.instances)]
        identified = identify([plan.counterfactual or "" for plan in plans])

        metadata["signature"] = signature(options)
        log.info("macro-bench %s: %s", task_name, metadata["signature"])
        # One JSON object per instance (like lm-eval's take_first, one response per
        # instance): lm-eval writes filtered_resps to the samples file with str(), so a
        # JSON string is what keeps the measurements machine-readable there.
        return [
            json.dumps(_measurements(plan, label_logliks, rolling_logliks, language), ensure_ascii=False)
            for plan, language in zip(plans, identified, strict=True)
        ]


def _measurements(plan: _DocumentPlan, label_logliks: list[float], rolling_logliks: list[float], language: str | None) -> dict:
    distributions = []
    for first in plan.context_ids:
        prediction, probabilities = predict(label_logliks[first : first + len(LABELS)])
        distributions.append((prediction, probabilities))
    (pred_x, probs_x), (pred_cf, probs_cf) = distributions[:2]
    original_text, counterfactual = plan.doc["text"], plan.counterfactual
    return {
        "generation": plan.generation,
        "counterfactual": counterfactual,
        "gold_label": plan.doc["category"],
        "target_label": plan.doc["target_label"],
        "prediction_original": LABELS[pred_x],
        "prediction_counterfactual": LABELS[pred_cf],
        "label_probs_original": probs_x,
        "label_probs_counterfactual": probs_cf,
        "minimality": plan.minimality.score,
        "edited_positions": sorted(plan.minimality.edited_positions),
        "original_tokens": plan.minimality.n_source_tokens,
        "interventions": [
            {
                "deleted_positions": sorted(positions),
                "prob_after": probs[pred_x],
                "outcome": probs_x[pred_x] - probs[pred_x],
            }
            for positions, (_, probs) in zip(plan.deletion_sets, distributions[2:], strict=True)
        ],
        "loglik_original": _finite_or_none(rolling_logliks[plan.rolling_ids[0]]),
        "loglik_counterfactual": None
        if plan.rolling_ids[1] is None
        else _finite_or_none(rolling_logliks[plan.rolling_ids[1]]),
        "bytes_original": len(original_text.encode("utf-8")),
        "bytes_counterfactual": len((counterfactual or "").encode("utf-8")),
        "language_identified": language,
    }

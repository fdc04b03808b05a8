"""The second pass: generate each counterfactual, then make every model call that scores it.

lm-eval first runs the task's own requests: the classification of every x (a
``multiple_choice`` task). It then applies the task's filters once, with every
response; :class:`SecondPass` is that filter. On the **same live model instance**
(never a second load; under ``--use_cache`` lm-eval's ``CachingLM``, so an
interrupted run resumes without recomputing), in batched stages across all documents
of the task:

1. y = M's prediction on x, from the task's own log-likelihoods; t = the target
   (:func:`macro_bench.protocol.choose_target`).
2. ``generate_until``: the dataset's generation prompt, which tells M that it
   answered y and asks for x edited minimally so it would answer t; sent in the batches
   one call would make, behind a labelled progress bar (:mod:`macro_bench.progress`).
3. Extraction of x', and one scoring call classifying every non-empty x' with the
   task's own prompt; the language identifier reads x'.
4. The gates (:func:`macro_bench.metrics.document.gate_flags`) decide which
   counterfactuals are valid. Only those get the held-out deletion interventions
   (stratified by the edit E, and for a random pseudo-explanation of E's size: drawn
   now, after generation, never shown to the generator) in one scoring call, and
   fluency in one ``loglikelihood_rolling`` call.

Under data parallelism each rank's filter sees only its own documents and makes the
same sequence of model calls as every other rank, even with nothing of its own to
compute or with everything cached (:mod:`macro_bench.data_parallel`); lm-eval
gathers the ranks' samples and metrics afterwards.

Each document's measurements become one JSON record (lm-eval writes it to
``--log_samples`` as the first ``filtered_resps``); every metric is derived from that
record alone (:func:`macro_bench.metrics.document.derive_metrics`), so the aggregator
can recompute a run from its samples file.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from lm_eval.api.filter import Filter

from macro_bench import interventions, protocol
from macro_bench.datasets import DatasetSpec, get_dataset
from macro_bench.documents import DATASET_KEY
from macro_bench.extraction import extract_counterfactual
from macro_bench.language_id import identify
from macro_bench.languages import get_language
from macro_bench.lm_eval_adapter import bridge as lm_eval_bridge
from macro_bench.lm_eval_adapter import data_parallel, prefix_scoring
from macro_bench.metrics.document import derive_metrics, gate_flags
from macro_bench.metrics.minimality import Minimality
from macro_bench.metrics.validity import as_logged, predict
from macro_bench.options import Options
from macro_bench.progress import GenerationProgress
from macro_bench.record import Record
from macro_bench.signature import signature
from macro_bench.tokenization import comparable_token_texts, remove_tokens, tokenize
from macro_bench.wording import plural

# A child of lm-eval's logger: the second pass runs inside lm-eval's evaluator, so its
# stage messages appear among lm-eval's own, at the run's --verbosity.
log = logging.getLogger("lm_eval.macro_bench.second_pass")

DEFAULT_GENERATION = {"until": [], "max_gen_toks": 256, "do_sample": False, "temperature": 0.0}
# Under a chat template a model answers in its own turn, so a blank line after text means
# it has finished the counterfactual and goes on talking (an explanation, a second version):
# generation stops there. Without one, a model continues the prompt and most answers
# *start* with a blank line (335 of SmolLM2's 500 SIB-200 generations on the protocol-2
# board), and lm-eval cuts a generation at the first stop sequence wherever it is, which
# would leave them empty: plain prompts get no default stop, and the truncation gate
# judges x' itself. --gen_kwargs until=... overrides both; the signature records it.
CHAT_STOP_SEQUENCES = ["\n\n"]


class SecondPassError(RuntimeError):
    """The second pass cannot run; it never silently skips documents."""


def generation_settings(cli_gen_kwargs: dict | None, apply_chat_template: bool = False) -> dict:
    """The protocol's generation defaults, updated by the user's ``--gen_kwargs``.

    lm-eval applies ``--gen_kwargs`` only to ``generate_until`` tasks; the second pass
    applies them itself, so they take effect. Values it needs to read are checked.
    The default stop sequences are :data:`CHAT_STOP_SEQUENCES` under a chat template,
    none without one.
    """
    defaults = {**DEFAULT_GENERATION, "until": list(CHAT_STOP_SEQUENCES) if apply_chat_template else []}
    settings = {**defaults, **(cli_gen_kwargs or {})}
    limit = settings["max_gen_toks"]
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise SecondPassError(f"--gen_kwargs max_gen_toks must be a positive integer, got {limit!r}")
    until = settings["until"]
    if isinstance(until, str):
        settings["until"] = [until]
    elif not isinstance(until, list) or not all(isinstance(stop, str) for stop in until):
        raise SecondPassError(f"--gen_kwargs until must be a string or a list of strings, got {until!r}")
    return settings


_EXTRA_MODELS: dict[str, Any] = {}


def extra_model(spec: str, like: Any) -> Any:
    """A judge or fluency model, loaded once per process and shared by every task."""
    if spec not in _EXTRA_MODELS:
        log.info("macro-bench: loading extra model %s once for all tasks", spec)
        _EXTRA_MODELS[spec] = lm_eval_bridge.build_model(
            spec, getattr(like, "batch_size", 1), getattr(like, "device", None)
        )
    return _EXTRA_MODELS[spec]


def _filler(request_type: str, arguments: tuple, task_name: str):
    """A request a data-parallel rank sends only to keep step with the others (answer dropped)."""
    return lm_eval_bridge.request(request_type, arguments, {}, task_name, -1, 0)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _as_text(response: Any) -> str:
    """A generation as text every tokenizer and UTF-8 writer accepts (model output is data)."""
    return _LONE_SURROGATE.sub("\ufffd", response if isinstance(response, str) else str(response))


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


@dataclass
class _Document:
    doc_id: int
    doc: dict
    record: dict


class _PairScorer:
    """Collects (context, continuation) pairs of many texts and scores them in one call."""

    def __init__(self, live: lm_eval_bridge.LiveEvaluation, classifier: Any, labels: int, progress: str) -> None:
        self.live, self.classifier, self.labels, self.progress = live, classifier, labels, progress
        self.pairs: list[tuple[str, str]] = []

    def add(self, doc: dict) -> int:
        pairs = lm_eval_bridge.classification_requests(self.live, self.classifier, doc)
        if len(pairs) != self.labels:
            raise SecondPassError(
                f"the task built {len(pairs)} classification requests for a document, expected one per "
                f"label ({self.labels}); macro-bench tasks must be plain multiple_choice tasks"
            )
        self.pairs.extend(pairs)
        return len(self.pairs) - self.labels

    def score(self) -> list[float]:
        # Called on every data-parallel rank, with or without pairs: the ranks' calls must match.
        return [float(value) for value in prefix_scoring.loglikelihoods(self.classifier, self.pairs, progress=self.progress)]


class SecondPass(Filter):
    """lm-eval filter that runs the second pass for one task (see the module docstring)."""

    def apply(self, resps: list, docs: list[dict]) -> list:
        live = lm_eval_bridge.live_evaluation()
        task = live.task
        metadata = task.config.metadata if isinstance(task.config.metadata, dict) else {}
        dataset = get_dataset(metadata[DATASET_KEY])
        options = Options.from_metadata(metadata)
        if task.config.num_fewshot:
            raise SecondPassError(
                f"{task.config.task}: macro-bench tasks are 0-shot (the counterfactual prompt has no "
                f"examples); drop --num_fewshot {task.config.num_fewshot}"
            )
        generation = generation_settings(live.cli_gen_kwargs, live.apply_chat_template)
        documents = _documents(task, resps, docs, dataset)
        lm = live.lm
        classifier = extra_model(options.judge, lm) if options.judge else lm
        fluency_scorer = extra_model(options.fluency_lm, lm) if options.fluency_lm else lm
        task_name = task.config.task
        log.info("macro-bench %s [second pass]: %s; stages: generation, classification of the "
                 "counterfactuals, scoring (interventions, fluency)", task_name, plural(len(documents), "document"))

        # 1-2: prediction, target, generation.
        generation_requests = []
        for document in documents:
            record = document.record
            prediction = dataset.labels[predict(record["model_label_logliks"])[0]]
            target = protocol.choose_target(record["doc_key"], prediction, dataset.labels)
            instruction = dataset.generation_prompt(
                document.doc, prediction, target, get_language(record["language"]).name
            )
            record.update(prediction_original=prediction, target_label=target, instruction=instruction)
            context = lm_eval_bridge.prompt_context(live, lm, instruction)
            generation_requests.append(
                lm_eval_bridge.request("generate_until", (context, dict(generation)), document.doc, task_name, document.doc_id, 0)
            )
        log.info("macro-bench %s [generation]: %s, at most %s each", task_name,
                 plural(len(generation_requests), "counterfactual"), plural(generation["max_gen_toks"], "token"))
        generations = [
            _as_text(text)
            for text in data_parallel.call_on_every_rank(
                lm, "generate_until", generation_requests,
                _filler("generate_until", ("\n", dict(generation)), task_name),
                GenerationProgress(f"macro-bench {task_name} [generation]", generation["max_gen_toks"]),
            )
        ]
        count_tokens = lm_eval_bridge.token_counter(lm)

        # 3: extraction, classification of x', language identification.
        judge_scorer = _PairScorer(live, classifier, len(dataset.labels), f"macro-bench {task_name} [classification, judge]")
        counterfactual_scorer = _PairScorer(live, classifier, len(dataset.labels), f"macro-bench {task_name} [classification]")
        judge_firsts, counterfactual_firsts = {}, {}
        for document, text in zip(documents, generations, strict=True):
            record = document.record
            counterfactual = extract_counterfactual(text, record["original"], instruction=record["instruction"])
            record.update(
                generation=text,
                generation_tokens=count_tokens(text) if count_tokens else None,
                max_gen_toks=generation["max_gen_toks"],
                counterfactual=counterfactual,
            )
            if options.judge:
                judge_firsts[document.doc_id] = judge_scorer.add(document.doc)
            if counterfactual is not None:
                edited = {**document.doc, dataset.edited_field: counterfactual}
                counterfactual_firsts[document.doc_id] = counterfactual_scorer.add(edited)
        log.info("macro-bench %s [classification]: %s", task_name, plural(len(counterfactual_firsts), "counterfactual"))
        width = len(dataset.labels)
        judge_logliks = judge_scorer.score()
        counterfactual_logliks = counterfactual_scorer.score()
        identified = identify([document.record["counterfactual"] or "" for document in documents])
        for document, identification in zip(documents, identified, strict=True):
            record = document.record
            if options.judge:
                first = judge_firsts[document.doc_id]
                record["judge_label_logliks"] = as_logged(judge_logliks[first : first + width])
            first = counterfactual_firsts.get(document.doc_id)
            record["label_logliks_counterfactual"] = (
                None if first is None else as_logged(counterfactual_logliks[first : first + width])
            )
            record["language_identified"] = None if identification is None else identification._asdict()

        # 4: interventions and fluency, for valid counterfactuals only.
        minimality = Minimality()
        intervention_scorer = _PairScorer(live, classifier, width, f"macro-bench {task_name} [scoring, interventions]")
        planned = []
        rolling_requests = []
        fluency_of = {}
        count_scorer_tokens = lm_eval_bridge.token_counter(fluency_scorer)
        for document in documents:
            record = document.record
            record["interventions"] = None
            record["fluency"] = None
            if not gate_flags(Record.from_dict(record))["valid"]:
                continue
            original = record["original"]
            tokens = tokenize(original)
            content = interventions.content_positions(comparable_token_texts(original))
            explanation = minimality(original, record["counterfactual"]).edited_positions
            if 1 <= len(explanation) < len(content):
                planned.append((document, tokens, content, explanation))
            if count_scorer_tokens is not None:
                fluency_of[document.doc_id] = len(rolling_requests)
                for text in (original, record["counterfactual"]):
                    rolling_requests.append(
                        lm_eval_bridge.request("loglikelihood_rolling", (text,), document.doc, task_name, document.doc_id, 0)
                    )
        intervention_plans = []
        for document, tokens, content, explanation in planned:
            record = document.record
            key = dict(language=record["language"], doc_key=record["doc_key"])
            random_explanation = interventions.pseudo_explanation(content, len(explanation), **key)
            sets = {
                "explanation": (explanation, interventions.stratified_deletions(content, explanation, stream="explanation", count=options.interventions, **key)),
                "random": (random_explanation, interventions.stratified_deletions(content, random_explanation, stream="random", count=options.interventions, **key)),
            }
            firsts = {
                name: [
                    intervention_scorer.add({**document.doc, dataset.edited_field: remove_tokens(record["original"], tokens, deleted)})
                    for deleted in deletions
                ]
                for name, (_, deletions) in sets.items()
            }
            intervention_plans.append((document, sets, firsts))
        log.info(
            "macro-bench %s [scoring]: %s; %s and %s", task_name,
            plural(len(fluency_of) or len(planned), "valid counterfactual"),
            plural(len(intervention_scorer.pairs) // max(width, 1), "intervention"),
            plural(len(rolling_requests), "fluency text"),
        )
        intervention_logliks = intervention_scorer.score()
        rolling_logliks = [
            float(value)
            for value in data_parallel.call_on_every_rank(
                fluency_scorer, "loglikelihood_rolling", rolling_requests,
                _filler("loglikelihood_rolling", ("\n",), task_name),
            )
        ]

        for document, sets, firsts in intervention_plans:
            record = document.record
            reference = record.get("judge_label_logliks") or record["model_label_logliks"]
            reference_label = predict(reference)[0]
            record["interventions"] = {
                name: {
                    "explanation": sorted(explained),
                    "deletions": [sorted(deleted) for deleted in deletions],
                    "prob_after": [
                        predict(intervention_logliks[first : first + width])[1][reference_label] for first in firsts[name]
                    ],
                }
                for name, (explained, deletions) in sets.items()
            }
        for document in documents:
            first = fluency_of.get(document.doc_id)
            if first is None:
                continue
            record = document.record
            loglik_original, loglik_counterfactual = rolling_logliks[first : first + 2]
            record["fluency"] = {
                "loglik_original": _finite_or_none(loglik_original),
                "tokens_original": count_scorer_tokens(record["original"]),
                "loglik_counterfactual": _finite_or_none(loglik_counterfactual),
                "tokens_counterfactual": count_scorer_tokens(record["counterfactual"]),
            }

        metadata["signature"] = signature(
            dataset=dataset,
            options=options,
            generation=generation,
            apply_chat_template=live.apply_chat_template,
            system_instruction=live.system_instruction,
            num_fewshot=task.config.num_fewshot or 0,
            truncation_counted=count_tokens is not None,
        )
        # lm-eval averages each metric over the documents that have it; record how many
        # (over all data-parallel ranks: lm-eval reports rank 0's task configuration).
        metadata["documents_per_metric"] = dict(data_parallel.sum_over_ranks(
            lm, Counter(name for document in documents for name in derive_metrics(Record.from_dict(document.record)))
        ))
        log.info("macro-bench %s: %s", task_name, metadata["signature"])
        return _filtered_responses(task, resps, {document.doc_id: document.record for document in documents})


def _documents(task: Any, resps: list, docs: list[dict], dataset: DatasetSpec) -> list[_Document]:
    """One document per doc_id, with M's label log-likelihoods from the task's own requests."""
    instances = task.instances
    if len(instances) != len(resps):
        raise SecondPassError(
            f"{task.config.task}: the filter got {len(resps)} responses for {len(instances)} requests; "
            "lm-eval changed how it applies filters (macro-bench pins lm-eval==0.4.13)"
        )
    logliks: dict[int, dict[int, float]] = defaultdict(dict)
    doc_of: dict[int, dict] = {}
    for instance, response in zip(instances, resps, strict=True):
        loglik = response[0][0] if isinstance(response[0], tuple | list) else response[0]
        logliks[instance.doc_id][instance.idx] = float(loglik)
        doc_of[instance.doc_id] = instance.doc
    documents = []
    for doc_id in sorted(doc_of):
        doc = doc_of[doc_id]
        scores = logliks[doc_id]
        if sorted(scores) != list(range(len(dataset.labels))):
            raise SecondPassError(
                f"{task.config.task}: document {doc_id} has answers for choices {sorted(scores)}, expected "
                f"0..{len(dataset.labels) - 1}"
            )
        record = {
            "protocol": protocol.PROTOCOL_VERSION,
            "dataset": dataset.name,
            "language": doc["language"],
            "doc_key": doc["doc_key"],
            "original": doc[dataset.edited_field],
            # The other fields the generation prompt shows (XNLI: the premise): x' must not copy them.
            "context": {field: doc[field] for field in dataset.prompt_fields if field != dataset.edited_field},
            "gold_label": doc[dataset.gold_field],
            "model_label_logliks": as_logged([scores[i] for i in range(len(dataset.labels))]),
        }
        documents.append(_Document(doc_id, doc, record))
    return documents


def _filtered_responses(task: Any, resps: list, records: dict[int, dict]) -> list:
    """The record (a JSON string) on each document's first choice; the raw answer on the others.

    lm-eval writes ``filtered_resps`` to the samples file with ``str()``, so a JSON
    string is what keeps the record machine-readable there.
    """
    outputs = []
    for instance, response in zip(task.instances, resps, strict=True):
        if instance.idx == 0:
            outputs.append(json.dumps(records[instance.doc_id], ensure_ascii=False))
        else:
            outputs.append(response[0])
    return outputs

"""The second pass inside lm-eval: the task filter, and the model calls made through lm-eval.

lm-eval has no hook that runs after a task's requests with the live model, so the
second pass is the task's filter (:class:`SecondPass`, named in the task YAMLs through
``tasks/*/utils.py``): lm-eval applies it once, with every response. It reads the
task's own classification of each x from those responses, hands the documents to the
lm-eval-free core (:func:`macro_bench.second_pass.run`) with an :class:`LmEvalScorer`,
and puts each document's record (JSON) where lm-eval logs it.

:class:`LmEvalScorer` is :class:`macro_bench.scoring.Scorer` on the **same live model
instance** (under ``--use_cache`` lm-eval's ``CachingLM``, so an interrupted run
resumes without recomputing) and the judge and fluency models, each loaded once per
process. It holds all of the batching: the task's own request building, the index
bookkeeping that gives each document its labels' answers back, the shared-prefix
scoring (:mod:`.prefix_scoring`), and the calls every data-parallel rank makes
together, with a filler request on a rank with nothing to send (:mod:`.data_parallel`).
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from lm_eval.api.filter import Filter

from macro_bench.datasets import DatasetSpec, get_dataset
from macro_bench.documents import DATASET_KEY
from macro_bench.lm_eval_adapter import bridge, data_parallel, prefix_scoring
from macro_bench.metrics.document import derive_metrics
from macro_bench.options import Options
from macro_bench.progress import GenerationProgress
from macro_bench.record import Record
from macro_bench.scoring import DocumentText
from macro_bench.second_pass import Document, SecondPassError, generation_settings, run
from macro_bench.signature import signature

log = logging.getLogger("lm_eval.macro_bench.second_pass")

_EXTRA_MODELS: dict[str, Any] = {}


def extra_model(spec: str, like: Any) -> Any:
    """A judge or fluency model, loaded once per process and shared by every task."""
    if spec not in _EXTRA_MODELS:
        log.info("macro-bench: loading extra model %s once for all tasks", spec)
        _EXTRA_MODELS[spec] = bridge.build_model(spec, getattr(like, "batch_size", 1), getattr(like, "device", None))
    return _EXTRA_MODELS[spec]


class LmEvalScorer:
    """:class:`macro_bench.scoring.Scorer` through lm-eval (see the module docstring)."""

    def __init__(self, live: bridge.LiveEvaluation, options: Options, labels: int) -> None:
        self.live, self.lm, self.labels = live, live.lm, labels
        self.task_name = live.task.config.task
        self.classifier = extra_model(options.judge, self.lm) if options.judge else self.lm
        self.fluency_scorer = extra_model(options.fluency_lm, self.lm) if options.fluency_lm else self.lm
        self.count_generated_tokens = bridge.token_counter(self.lm)
        self.count_fluency_tokens = bridge.token_counter(self.fluency_scorer)

    def _request(self, request_type: str, arguments: tuple, item: DocumentText):
        return bridge.request(request_type, arguments, item.doc, self.task_name, item.doc_id, 0)

    def _filler(self, request_type: str, arguments: tuple):
        """A request a data-parallel rank sends only to keep step with the others (answer dropped)."""
        return bridge.request(request_type, arguments, {}, self.task_name, -1, 0)

    def generate(self, prompts: Sequence[DocumentText], settings: dict) -> list[str]:
        requests = [
            self._request("generate_until", (bridge.prompt_context(self.live, self.lm, item.text), dict(settings)), item)
            for item in prompts
        ]
        return data_parallel.call_on_every_rank(
            self.lm, "generate_until", requests, self._filler("generate_until", ("\n", dict(settings))),
            GenerationProgress(f"macro-bench {self.task_name} [generation]", settings["max_gen_toks"]),
        )

    def generated_tokens(self, text: str) -> int | None:
        return None if self.count_generated_tokens is None else self.count_generated_tokens(text)

    def classify(self, docs: Sequence[dict], stage: str) -> list[list[float]]:
        pairs = []
        for doc in docs:
            built = bridge.classification_requests(self.live, self.classifier, doc)
            if len(built) != self.labels:
                raise SecondPassError(
                    f"the task built {len(built)} classification requests for a document, expected one per "
                    f"label ({self.labels}); macro-bench tasks must be plain multiple_choice tasks"
                )
            pairs.extend(built)
        # Called on every data-parallel rank, with or without pairs: the ranks' calls must match.
        scores = prefix_scoring.loglikelihoods(self.classifier, pairs, progress=f"macro-bench {self.task_name} [{stage}]")
        logliks = [float(value) for value in scores]
        return [logliks[first : first + self.labels] for first in range(0, len(logliks), self.labels)]

    @property
    def measures_fluency(self) -> bool:
        return self.count_fluency_tokens is not None

    def fluency_logliks(self, texts: Sequence[DocumentText]) -> list[float]:
        requests = [self._request("loglikelihood_rolling", (item.text,), item) for item in texts]
        answers = data_parallel.call_on_every_rank(
            self.fluency_scorer, "loglikelihood_rolling", requests, self._filler("loglikelihood_rolling", ("\n",))
        )
        return [float(value) for value in answers]

    def fluency_tokens(self, text: str) -> int:
        return self.count_fluency_tokens(text)


class SecondPass(Filter):
    """lm-eval filter that runs the second pass for one task (see the module docstring)."""

    def apply(self, resps: list, docs: list[dict]) -> list:
        live = bridge.live_evaluation()
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
        documents = _documents(task, resps, dataset)
        scorer = LmEvalScorer(live, options, len(dataset.labels))
        records = run(documents, dataset, options, generation, scorer, scorer.task_name)
        metadata["signature"] = signature(
            dataset=dataset,
            options=options,
            generation=generation,
            apply_chat_template=live.apply_chat_template,
            system_instruction=live.system_instruction,
            num_fewshot=task.config.num_fewshot or 0,
            truncation_counted=scorer.count_generated_tokens is not None,
        )
        # lm-eval averages each metric over the documents that have it; record how many
        # (over all data-parallel ranks: lm-eval reports rank 0's task configuration).
        metadata["documents_per_metric"] = dict(data_parallel.sum_over_ranks(
            live.lm, Counter(name for record in records for name in derive_metrics(record))
        ))
        log.info("macro-bench %s: %s", task.config.task, metadata["signature"])
        return _filtered_responses(task, resps, {document.doc_id: record for document, record in zip(documents, records, strict=True)})


def _documents(task: Any, resps: list, dataset: DatasetSpec) -> list[Document]:
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
        scores = logliks[doc_id]
        if sorted(scores) != list(range(len(dataset.labels))):
            raise SecondPassError(
                f"{task.config.task}: document {doc_id} has answers for choices {sorted(scores)}, expected "
                f"0..{len(dataset.labels) - 1}"
            )
        documents.append(Document(doc_id, doc_of[doc_id], [scores[i] for i in range(len(dataset.labels))]))
    return documents


def _filtered_responses(task: Any, resps: list, records: dict[int, Record]) -> list:
    """The record (a JSON string) on each document's first choice; the raw answer on the others.

    lm-eval writes ``filtered_resps`` to the samples file with ``str()``, so a JSON
    string is what keeps the record machine-readable there.
    """
    outputs = []
    for instance, response in zip(task.instances, resps, strict=True):
        if instance.idx == 0:
            outputs.append(records[instance.doc_id].to_json())
        else:
            outputs.append(response[0])
    return outputs

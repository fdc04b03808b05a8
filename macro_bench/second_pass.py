"""The second pass: generate each counterfactual, then make every model call that scores it.

lm-eval first runs the task's own requests: the classification of every x (a
``multiple_choice`` task). It then applies the task's filters once, with every
response; the second pass is that filter
(:class:`macro_bench.lm_eval_adapter.second_pass_filter.SecondPass`), which hands the
documents to :func:`run`. Every model call goes through a :class:`macro_bench.scoring.Scorer`
(the live model instance, never a second load), so this module knows nothing of lm-eval.
The stages, each batched across all documents of the task, in this order:

1. :func:`plan`: y = M's prediction on x, from the task's own log-likelihoods; t = the
   target (:func:`macro_bench.protocol.choose_target`); the dataset's generation prompt,
   which tells M that it answered y and asks for x edited minimally so it would answer t.
2. :func:`generate`: M's answers to the prompts, in one generation call.
3. :func:`extract`: x' from each answer (:func:`macro_bench.extraction.extract_counterfactual`).
4. :func:`classify_counterfactuals`: the judge's classification of x (with a judge), the
   classification of every non-empty x' with the task's own prompt, and the language
   identifier's reading of x'. Each document's :class:`macro_bench.record.Record` is
   complete here but for the measurements of the valid counterfactuals.
5. :func:`gate`: the gates (:func:`macro_bench.metrics.document.gate_flags`) decide which
   counterfactuals are valid.
6. :func:`intervene`: the held-out deletion interventions of the valid ones (stratified
   by the edit E, and for a random pseudo-explanation of E's size: drawn now, after
   generation, never shown to the generator), in one classification call.
7. :func:`score_fluency`: the rolling log-likelihood of x and x' of the valid ones, in one call.

Every stage makes its scorer call even with nothing to send: under data parallelism each
rank sees only its own documents, and every rank must make the same sequence of calls.

Each document's record is logged (lm-eval writes it to ``--log_samples`` as the first
``filtered_resps``); every metric is derived from that record alone
(:func:`macro_bench.metrics.document.derive_metrics`), so the aggregator can recompute a
run from its samples file.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, replace
from typing import Any

from macro_bench import interventions, protocol
from macro_bench.datasets import DatasetSpec
from macro_bench.extraction import extract_counterfactual
from macro_bench.language_id import Identification, identify
from macro_bench.languages import get_language
from macro_bench.metrics.document import gate_flags, reference_prediction
from macro_bench.metrics.minimality import Minimality
from macro_bench.metrics.validity import as_logged, predict
from macro_bench.options import Options
from macro_bench.record import Fluency, Interventions, InterventionSet, Record
from macro_bench.scoring import DocumentText, Scorer
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


@dataclass(frozen=True)
class Document:
    """One document of the task, as its own requests left it."""

    doc_id: int
    """lm-eval's index of the document in the task."""
    doc: dict
    """The document as the task loaded it (``language``, ``doc_key`` and the dataset's fields)."""
    label_logliks: list[float]
    """M's log-likelihood of each label on x, in label order, from the task's own requests."""


@dataclass(frozen=True)
class Plan:
    """What M is asked about one document."""

    document: Document
    prediction: str
    """y: M's prediction on x."""
    target: str
    """t: the label x' should make M predict."""
    instruction: str
    """The generation prompt."""


@dataclass(frozen=True)
class Answer:
    """M's answer to one plan's prompt and the counterfactual in it."""

    plan: Plan
    generation: str
    generation_tokens: int | None
    counterfactual: str | None


def run(documents: list[Document], dataset: DatasetSpec, options: Options, generation: dict, scorer: Scorer,
        task_name: str) -> list[Record]:
    """Each document's record, measured by the stages of the module docstring in order."""
    log.info("macro-bench %s [second pass]: %s; stages: generation, classification of the "
             "counterfactuals, scoring (interventions, fluency)", task_name, plural(len(documents), "document"))
    plans = plan(documents, dataset)
    answers = extract(plans, generate(plans, generation, scorer, task_name), dataset, scorer)
    records = classify_counterfactuals(answers, dataset, options, generation["max_gen_toks"], scorer, task_name)
    valid = gate(records)
    records = intervene(records, valid, documents, dataset, options, scorer, task_name)
    return score_fluency(records, valid, documents, scorer)


def plan(documents: list[Document], dataset: DatasetSpec) -> list[Plan]:
    """Stage 1: y, t and the generation prompt of each document."""
    plans = []
    for document in documents:
        doc = document.doc
        prediction = dataset.labels[predict(document.label_logliks)[0]]
        target = protocol.choose_target(doc["doc_key"], prediction, dataset.labels)
        instruction = dataset.generation_prompt(doc, prediction, target, get_language(doc["language"]).name)
        plans.append(Plan(document, prediction, target, instruction))
    return plans


def generate(plans: list[Plan], settings: dict, scorer: Scorer, task_name: str) -> list[str]:
    """Stage 2: M's answer to every prompt, as text every tokenizer and UTF-8 writer accepts."""
    log.info("macro-bench %s [generation]: %s, at most %s each", task_name,
             plural(len(plans), "counterfactual"), plural(settings["max_gen_toks"], "token"))
    prompts = [DocumentText(item.document.doc_id, item.document.doc, item.instruction) for item in plans]
    return [_as_text(text) for text in scorer.generate(prompts, settings)]


def extract(plans: list[Plan], generations: list[str], dataset: DatasetSpec, scorer: Scorer) -> list[Answer]:
    """Stage 3: x' from each answer, and the answer's length in M's tokens (for the truncation gate)."""
    return [
        Answer(item, text, scorer.generated_tokens(text),
               extract_counterfactual(text, item.document.doc[dataset.edited_field], instruction=item.instruction))
        for item, text in zip(plans, generations, strict=True)
    ]


def classify_counterfactuals(answers: list[Answer], dataset: DatasetSpec, options: Options, max_gen_toks: int,
                             scorer: Scorer, task_name: str) -> list[Record]:
    """Stage 4: the judge's labels for x, the classifier's for every x', the language of x': the records."""
    edited = [{**answer.plan.document.doc, dataset.edited_field: answer.counterfactual}
              for answer in answers if answer.counterfactual is not None]
    log.info("macro-bench %s [classification]: %s", task_name, plural(len(edited), "counterfactual"))
    judged = iter(scorer.classify([answer.plan.document.doc for answer in answers] if options.judge else [],
                                  "classification, judge"))
    classified = iter(scorer.classify(edited, "classification"))
    identified = identify([answer.counterfactual or "" for answer in answers])
    return [
        _record(answer, dataset, max_gen_toks,
                judge_logliks=next(judged) if options.judge else None,
                counterfactual_logliks=None if answer.counterfactual is None else next(classified),
                identification=identification)
        for answer, identification in zip(answers, identified, strict=True)
    ]


def _record(answer: Answer, dataset: DatasetSpec, max_gen_toks: int, judge_logliks: list[float] | None,
            counterfactual_logliks: list[float] | None, identification: Identification | None) -> Record:
    """The record of a classified answer, before the valid counterfactuals are measured."""
    asked, doc = answer.plan, answer.plan.document.doc
    return Record(
        protocol=protocol.PROTOCOL_VERSION,
        dataset=dataset.name,
        language=doc["language"],
        doc_key=doc["doc_key"],
        original=doc[dataset.edited_field],
        context={field: doc[field] for field in dataset.prompt_fields if field != dataset.edited_field},
        gold_label=doc[dataset.gold_field],
        model_label_logliks=as_logged(asked.document.label_logliks),
        prediction_original=asked.prediction,
        target_label=asked.target,
        instruction=asked.instruction,
        generation=answer.generation,
        generation_tokens=answer.generation_tokens,
        max_gen_toks=max_gen_toks,
        counterfactual=answer.counterfactual,
        judge_label_logliks=None if judge_logliks is None else as_logged(judge_logliks),
        label_logliks_counterfactual=None if counterfactual_logliks is None else as_logged(counterfactual_logliks),
        language_identified=identification,
        interventions=None,
        fluency=None,
    )


def gate(records: list[Record]) -> list[bool]:
    """Stage 5: whether each counterfactual is valid (M's prediction flipped and no gate fired)."""
    return [bool(gate_flags(record)["valid"]) for record in records]


# The two deletion sets of one document: set name -> (the explanation, its deletions).
_DeletionSets = dict[str, tuple[frozenset[int], list[frozenset[int]]]]


def intervene(records: list[Record], valid: list[bool], documents: list[Document], dataset: DatasetSpec,
              options: Options, scorer: Scorer, task_name: str) -> list[Record]:
    """Stage 6: the reference prediction's probability on x with each held-out deletion applied.

    Only a valid counterfactual whose edit leaves x other content words has interventions.
    """
    minimality = Minimality()
    planned = {index: sets for index, is_valid in enumerate(valid)
               if is_valid and (sets := _deletion_sets(records[index], options, minimality)) is not None}
    tokens = {index: tokenize(records[index].original) for index in planned}
    edited = [
        {**documents[index].doc, dataset.edited_field: remove_tokens(records[index].original, tokens[index], deleted)}
        for index, sets in planned.items() for _, deletions in sets.values() for deleted in deletions
    ]
    log.info("macro-bench %s [scoring]: %s; %s and %s", task_name, plural(sum(valid), "valid counterfactual"),
             plural(len(edited), "intervention"), plural(2 * sum(valid) if scorer.measures_fluency else 0, "fluency text"))
    answers = iter(scorer.classify(edited, "scoring, interventions"))
    measured = list(records)
    for index, sets in planned.items():
        reference_label = reference_prediction(records[index])[0]
        measured[index] = replace(records[index], interventions=Interventions(**{
            name: InterventionSet(
                explanation=sorted(explained),
                deletions=[sorted(deleted) for deleted in deletions],
                prob_after=[predict(next(answers))[1][reference_label] for _ in deletions],
            )
            for name, (explained, deletions) in sets.items()
        }))
    return measured


def _deletion_sets(record: Record, options: Options, minimality: Minimality) -> _DeletionSets | None:
    """The explanation E (the tokens x' changed) and a random pseudo-explanation of E's size,
    each with its stratified deletions; None when E is empty or covers every content word."""
    content = interventions.content_positions(comparable_token_texts(record.original))
    explanation = minimality(record.original, record.counterfactual).edited_positions
    if not 1 <= len(explanation) < len(content):
        return None
    key = dict(language=record.language, doc_key=record.doc_key)
    random_explanation = interventions.pseudo_explanation(content, len(explanation), **key)
    return {
        name: (explained, interventions.stratified_deletions(content, explained, stream=name, count=options.interventions, **key))
        for name, explained in (("explanation", explanation), ("random", random_explanation))
    }


def score_fluency(records: list[Record], valid: list[bool], documents: list[Document], scorer: Scorer) -> list[Record]:
    """Stage 7: the fluency scorer's log-likelihood and tokens of x and x', for each valid counterfactual."""
    scored = [index for index, is_valid in enumerate(valid) if is_valid] if scorer.measures_fluency else []
    texts = [DocumentText(documents[index].doc_id, documents[index].doc, text)
             for index in scored for text in (records[index].original, records[index].counterfactual)]
    logliks = iter(scorer.fluency_logliks(texts))
    measured = list(records)
    for index in scored:
        record = records[index]
        measured[index] = replace(record, fluency=Fluency(
            loglik_original=_finite_or_none(next(logliks)),
            tokens_original=scorer.fluency_tokens(record.original),
            loglik_counterfactual=_finite_or_none(next(logliks)),
            tokens_counterfactual=scorer.fluency_tokens(record.counterfactual),
        ))
    return measured


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _as_text(response: Any) -> str:
    """A generation as text every tokenizer and UTF-8 writer accepts (model output is data)."""
    return _LONE_SURROGATE.sub("\ufffd", response if isinstance(response, str) else str(response))


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None

"""Task families: each dataset is one module that declares a :class:`DatasetSpec`.

A dataset declares what is specific to it, and nothing else is: its loader, its
label set (in lm-eval's ``doc_to_choice`` order), the label words the
label-statement gate looks for, which field of a document the counterfactual
edits, the generation prompt, its languages and its task template. The
classification of a text is never declared here: it is the lm-eval task's own
``doc_to_text``/``doc_to_choice`` (written in the template exactly as lm-eval's
own task for that dataset writes them), which the second pass reuses for every
edited text. Protocol, metrics, the second pass and the aggregator are the same
for every dataset.

Adding a dataset (PAWS-X, MasakhaNEWS, ...): a module here with a ``SPEC``, an
entry in :data:`DATASETS`, and a template folder under ``tasks/``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    labels: tuple[str, ...]
    # language -> words that name a label, as the prompts write them (label statement gate).
    label_words: Callable[[str], tuple[str, ...]]
    edited_field: str
    # The split the task evaluates (the template's test_split or validation_split).
    split: str
    # The document's stable id across languages (parallel datasets): seeds targets,
    # interventions and the document order.
    doc_key_field: str
    gold_field: str
    # (language, the task's merged metadata) -> validated rows in file order.
    load: Callable[[str, Mapping[str, Any]], list[dict]]
    # (document, the model's prediction, the target, the language's English name) -> prompt.
    generation_prompt: Callable[[dict, str, str, str], str]
    # The document fields the generation prompt shows (XNLI: the premise and the hypothesis).
    prompt_fields: tuple[str, ...]
    language_codes: Callable[[], tuple[str, ...]]
    # language -> extra fields of its task YAML (a per-language classification prompt).
    task_fields: Callable[[str], dict[str, str]] = lambda language: {}
    # The --metadata keys the loader reads; any other key is refused before the model loads.
    metadata_keys: tuple[str, ...] = ()
    # The task's merged metadata -> the local folder the loader reads, or None (the hub).
    local_dir: Callable[[Mapping[str, Any]], Path | None] = lambda metadata: None
    # What a local copy must look like, for errors that do not say it themselves.
    expected_layout: str = ""

    def instruction_wording(self, prediction: str, target: str, language_name: str) -> str:
        """The generation prompt with every document field left empty: the instruction's own words.

        The prompt-echo and label-statement gates compare x' with this, never with the
        document's text: an edit that reuses words of x, or of the XNLI premise, is what
        a counterfactual does, not an echo of the instruction.
        """
        return self.generation_prompt({field: "" for field in self.prompt_fields}, prediction, target, language_name)


def get_dataset(name: str) -> DatasetSpec:
    from macro_bench.datasets import sib200, xnli

    datasets = {spec.name: spec for spec in (sib200.SPEC, xnli.SPEC)}
    if name not in datasets:
        raise KeyError(f"unknown macro-bench dataset {name!r}; known: {', '.join(sorted(datasets))}")
    return datasets[name]

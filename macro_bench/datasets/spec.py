"""What a dataset declares: :class:`DatasetSpec`, the one type every dataset module fills in.

It lives apart from the registry (:mod:`macro_bench.datasets`) so that a dataset module
imports the type without importing the registry that imports it.
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
    # The split the task evaluates: "test" or "validation" (lm-eval's test_split or validation_split).
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
    # The task template's classification, as lm-eval's own task for the dataset writes it
    # (YAML lines: output_type, doc_to_text, doc_to_choice, doc_to_target, with comments);
    # the second pass reuses it for every edited text.
    classification_yaml: str
    # How the generation prompt names x and the labels ("Edit the text ...", "You classified
    # the topic ..."): extraction drops an answer's line that opens like the prompt.
    edited_noun: str
    label_noun: str
    # Other openings of the generation prompt's lines, as regular expressions (verbose, case-insensitive).
    echo_openings: tuple[str, ...] = ()
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

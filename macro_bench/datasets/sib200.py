"""SIB-200 topic classification (7 topics, 205 languages, parallel Flores-200 sentences).

The classification prompt is lm-eval's own afrobench ``sib_<lang>_prompt_1``,
written verbatim in ``tasks/macro_sib200/_macro_sib200_template_yaml``, so the
task's ``accuracy`` is that task's ``acc``. The counterfactual edits the whole
text. Data: the hub's ``Davlan/sib200`` or a local copy of the official release
(:mod:`macro_bench.data`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from macro_bench.data import EXPECTED_LAYOUT, LABELS, load_sib200, resolve_sib200_dir
from macro_bench.datasets import DatasetSpec
from macro_bench.languages import load_languages

# --metadata '{"sib200_dir": DIR}': a local copy of the official release.
SIB200_DIR_KEY = "sib200_dir"

_GENERATION_TEMPLATE = (
    "You classified the topic of the following {language_name} text as \"{prediction}\". "
    "The possible topics are: {labels}.\n\n"
    "Text: {text}\n\n"
    "Edit the text as little as possible so that you would classify its topic as \"{target}\" "
    "instead. Change only the words that need to change, keep everything else identical, and "
    "keep the text in {language_name}. Answer with the edited text only.\n\n"
    "Edited text:"
)


def load(language: str, metadata: Mapping[str, Any]) -> list[dict]:
    return load_sib200(language, sib200_dir=metadata.get(SIB200_DIR_KEY), split="test")


def generation_prompt(doc: dict, prediction: str, target: str, language_name: str) -> str:
    return _GENERATION_TEMPLATE.format(
        language_name=language_name,
        prediction=prediction,
        labels=", ".join(LABELS),
        text=doc["text"],
        target=target,
    )


def language_codes() -> tuple[str, ...]:
    return tuple(load_languages())


SPEC = DatasetSpec(
    name="sib200",
    labels=LABELS,
    # The labels as the prompt writes them, and the two halves of the one compound.
    label_words=lambda language: (*LABELS, "science", "technology"),
    split="test",
    edited_field="text",
    doc_key_field="index_id",
    gold_field="category",
    load=load,
    generation_prompt=generation_prompt,
    prompt_fields=("text",),
    language_codes=language_codes,
    metadata_keys=(SIB200_DIR_KEY,),
    local_dir=lambda metadata: resolve_sib200_dir(metadata.get(SIB200_DIR_KEY)),
    expected_layout=EXPECTED_LAYOUT,
)

"""XNLI natural language inference (3 relations, 15 languages, parallel sentence pairs).

The classification is lm-eval's own ``xnli_<lang>`` prompt: an empty context and
three choices ``premise + ", <right>? <Yes|Also|No>, " + hypothesis``, with the words
localized exactly as lm-eval localizes them (:data:`PROMPT_WORDS`, copied from
``lm_eval/tasks/xnli/utils.py``; a test compares the generated YAMLs with lm-eval's),
so the task's ``accuracy`` is ``xnli_<lang>``'s ``acc``. The split is the validation
split, the one lm-eval's XNLI tasks evaluate.

The counterfactual edits the hypothesis only; the premise stays fixed. Rows are
parallel across languages, so a pair's document key is its row position.

Data: ``facebook/xnli`` from the hub by default; a local copy through ``--metadata
'{"xnli_dir": DIR}'`` or ``MACRO_XNLI_DIR``, in the XTREME layout
``DIR/dev-<lang>.tsv`` (no header; premise, hypothesis, label; quote characters are
literal text). Faults name the file, line and field.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from macro_bench.datasets.spec import DatasetSpec
from macro_bench.tokenization import has_no_token

LABELS: tuple[str, ...] = ("entailment", "neutral", "contradiction")
XNLI_DIR_ENV_VAR = "MACRO_XNLI_DIR"
XNLI_DIR_KEY = "xnli_dir"
HUB_DATASET = "facebook/xnli"
EXPECTED_LAYOUT = (
    "expected layout: <dir>/dev-<lang>.tsv with no header and three tab-separated fields "
    "premise<TAB>hypothesis<TAB>label, label one of entailment, neutral, contradiction "
    "(the XNLI validation split as XTREME distributes it)"
)

# macro-bench language code -> XNLI's code.
XNLI_CODES: dict[str, str] = {
    "arb_Arab": "ar", "bul_Cyrl": "bg", "deu_Latn": "de", "ell_Grek": "el", "eng_Latn": "en",
    "spa_Latn": "es", "fra_Latn": "fr", "hin_Deva": "hi", "rus_Cyrl": "ru", "swh_Latn": "sw",
    "tha_Thai": "th", "tur_Latn": "tr", "urd_Arab": "ur", "vie_Latn": "vi", "zho_Hans": "zh",
}

# lm-eval's xnli LANGUAGES table: question word, then the entailment, neutral and
# contradiction words.
PROMPT_WORDS: dict[str, tuple[str, str, str, str]] = {
    "ar": ("صحيح", "نعم", "لذا", "رقم"),
    "bg": ("правилно", "да", "така", "не"),
    "de": ("richtig", "Ja", "Auch", "Nein"),
    "el": ("σωστός", "Ναί", "Έτσι", "όχι"),
    "en": ("right", "Yes", "Also", "No"),
    "es": ("correcto", "Sí", "Asi que", "No"),
    "fr": ("correct", "Oui", "Aussi", "Non"),
    "hi": ("सही", "हाँ", "इसलिए", "नहीं"),
    "ru": ("правильно", "Да", "Так", "Нет"),
    "sw": ("sahihi", "Ndiyo", "Hivyo", "Hapana"),
    "th": ("ถูกต้อง", "ใช่", "ดังนั้น", "ไม่"),
    "tr": ("doğru", "Evet", "Böylece", "Hayır"),
    "ur": ("صحیح", "جی ہاں", "اس لئے", "نہیں"),
    "vi": ("đúng", "Vâng", "Vì vậy", "Không"),
    "zh": ("正确", "是的", "所以", "不是的"),
}

# lm-eval's xnli_<lang>: an empty context, and the choices per language (doc_to_choice_template).
CLASSIFICATION_YAML = (
    "# The task's own requests classify the pair with lm-eval's xnli_<lang> prompt, verbatim\n"
    "# (empty context; the choices are set per language), so `accuracy` is that task's `acc`.\n"
    "output_type: multiple_choice\n"
    'doc_to_text: ""\n'
    "doc_to_target: label\n"
)

_GENERATION_TEMPLATE = (
    "You classified the relation between the following {language_name} premise and hypothesis as "
    "\"{prediction}\". The possible relations are: {labels}.\n\n"
    "Premise: {premise}\n"
    "Hypothesis: {hypothesis}\n\n"
    "Edit the hypothesis as little as possible so that you would classify the relation as \"{target}\" "
    "instead. Keep the premise as it is, change only the words of the hypothesis that need to change, "
    "and keep it in {language_name}. Answer with the edited hypothesis only.\n\n"
    "Edited hypothesis:"
)


class XnliDataError(ValueError):
    """XNLI data that is missing or not in the expected shape."""


def doc_to_choice_template(language: str) -> str:
    """lm-eval's ``doc_to_choice`` Jinja template for one language, character for character."""
    question, entailment, neutral, contradiction = PROMPT_WORDS[XNLI_CODES[language]]
    return "{{[" + ",".join(
        f'premise+", {question}? {word}, "+hypothesis' for word in (entailment, neutral, contradiction)
    ) + "]}}"


def _resolve_dir(metadata_dir: str | None) -> Path | None:
    for candidate in (metadata_dir, os.environ.get(XNLI_DIR_ENV_VAR)):
        if candidate is not None and candidate.strip():
            return Path(os.path.expandvars(os.path.expanduser(candidate.strip())))
    return None


def load(language: str, metadata: Mapping[str, Any]) -> list[dict]:
    if language not in XNLI_CODES:
        raise XnliDataError(
            f"XNLI has no language {language!r}; it has {', '.join(sorted(XNLI_CODES))} "
            "(macro-bench's lang_Script codes for XNLI's ar, bg, de, ...)"
        )
    folder = _resolve_dir(metadata.get(XNLI_DIR_KEY))
    if folder is None:
        return _load_hub(XNLI_CODES[language])
    return load_local(folder, language)


def load_local(folder: Path, language: str) -> list[dict]:
    path = Path(folder) / f"dev-{XNLI_CODES[language]}.tsv"
    if not path.is_file():
        raise XnliDataError(
            f"XNLI file {path} does not exist; {EXPECTED_LAYOUT}. Point --metadata xnli_dir or "
            f"${XNLI_DIR_ENV_VAR} at the folder that holds the dev-<lang>.tsv files, or unset both to "
            "use the hub."
        )
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = [
                (f"line {number}", fields)
                for number, fields in enumerate(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE), start=1)
            ]
    except UnicodeDecodeError as error:
        raise XnliDataError(f"{path}: not valid UTF-8 ({error.reason}); re-save the file as UTF-8.") from error
    documents = []
    for location, fields in rows:
        where = f"{path}, {location}"
        if len(fields) != 3:
            raise XnliDataError(
                f"{where}: {len(fields)} tab-separated field(s), expected 3 (premise, hypothesis, label); "
                f"{EXPECTED_LAYOUT}."
            )
        documents.append(_document(len(documents), *fields, where=where))
    if not documents:
        raise XnliDataError(f"{path} is empty; {EXPECTED_LAYOUT}.")
    return documents


def _load_hub(code: str) -> list[dict]:
    import datasets

    rows = datasets.load_dataset(HUB_DATASET, code, split="validation")
    source = f"hub dataset {HUB_DATASET}, config {code}, split validation"
    return [
        _document(number, row["premise"], row["hypothesis"], LABELS[row["label"]], where=f"{source}, row {number}")
        for number, row in enumerate(rows)
    ]


def _document(pair_id: int, premise: str, hypothesis: str, relation: str, *, where: str) -> dict:
    if relation not in LABELS:
        raise XnliDataError(f"{where}: field label is {relation!r}; it must be one of {', '.join(LABELS)}.")
    for field, text in (("premise", premise), ("hypothesis", hypothesis)):
        if has_no_token(text):
            raise XnliDataError(f"{where}: field {field} is empty or has no visible character; every pair needs both.")
    return {"pair_id": pair_id, "premise": premise, "hypothesis": hypothesis, "relation": relation,
            "label": LABELS.index(relation)}


def generation_prompt(doc: dict, prediction: str, target: str, language_name: str) -> str:
    return _GENERATION_TEMPLATE.format(
        language_name=language_name,
        prediction=prediction,
        labels=", ".join(LABELS),
        premise=doc["premise"],
        hypothesis=doc["hypothesis"],
        target=target,
    )


def label_words(language: str) -> tuple[str, ...]:
    """The relation names, and the answer words as lm-eval's prompt writes them in ``language``."""
    return (*LABELS, *PROMPT_WORDS[XNLI_CODES[language]][1:])


def language_codes() -> tuple[str, ...]:
    return tuple(XNLI_CODES)


SPEC = DatasetSpec(
    name="xnli",
    labels=LABELS,
    label_words=label_words,
    split="validation",
    edited_field="hypothesis",
    doc_key_field="pair_id",
    gold_field="relation",
    load=load,
    generation_prompt=generation_prompt,
    prompt_fields=("premise", "hypothesis"),
    language_codes=language_codes,
    classification_yaml=CLASSIFICATION_YAML,
    edited_noun="hypothesis",
    label_noun="relation",
    # The premise line and the instruction to keep it.
    echo_openings=(r"keep[ \t]+the[ \t]+premise[ \t]+as[ \t]+it[ \t]+is\b", r"premise[ \t]*[:：]"),
    task_fields=lambda language: {"doc_to_choice": doc_to_choice_template(language)},
    metadata_keys=(XNLI_DIR_KEY,),
    local_dir=lambda metadata: _resolve_dir(metadata.get(XNLI_DIR_KEY)),
    expected_layout=EXPECTED_LAYOUT,
)

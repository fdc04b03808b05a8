"""SIB-200 topic classification (7 topics, 205 languages, parallel Flores-200 sentences).

The classification prompt is lm-eval's own afrobench ``sib_<lang>_prompt_1``, written
verbatim in :data:`CLASSIFICATION_YAML` (the task template's), so the task's ``accuracy``
is that task's ``acc``. The counterfactual edits the whole text.

Data: the hub's ``Davlan/sib200``, or a local copy of the official release through
``--metadata '{"sib200_dir": DIR}'`` or ``MACRO_SIB200_DIR``. Both sources go through
:func:`validate_rows`, so a document looks the same and is checked the same way
wherever it came from: ``{"index_id": int, "category": str, "text": str}``, in file
order, with the text verbatim.

The official TSV files are written CSV-style: a text that contains a double
quote is wrapped in double quotes and its inner quotes are doubled (7,688 of
the 206,435 texts in the release, e.g. ``eng_Latn/dev.tsv`` index 219).  They
are therefore read with the csv module's default quoting, ``strict=True``, so
that such texts come back as written and a stray quote is an error instead of
silently merging lines.  No text in the release contains a tab or a line
break, so a text that spans lines can only come from an unbalanced quote and
is reported as one.
"""

from __future__ import annotations

import csv
import difflib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from macro_bench.datasets.spec import DatasetSpec
from macro_bench.languages import load_languages
from macro_bench.tokenization import has_no_token

# The order of lm-eval's afrobench SIB tasks (doc_to_choice), which is also the
# order of every labels.txt in the official release.
LABELS: tuple[str, ...] = (
    "science/technology",
    "travel",
    "politics",
    "sports",
    "health",
    "entertainment",
    "geography",
)

SPLITS: tuple[str, ...] = ("train", "dev", "test")
SIB200_DIR_ENV_VAR = "MACRO_SIB200_DIR"
HUB_DATASET = "Davlan/sib200"
HEADER: tuple[str, ...] = ("index_id", "category", "text")
EXPECTED_LAYOUT = (
    "expected layout: <dir>/<lang_Script>/{train,dev,test}.tsv, each starting with "
    "the header index_id<TAB>category<TAB>text (the official SIB-200 release, "
    "data/annotated/ in https://github.com/dadelani/sib-200)"
)

# The hub calls the held-out development split "validation"; lm-eval task
# configs use that name too, so both loaders accept it.
_SPLIT_ALIASES = {"validation": "dev"}
_HUB_SPLIT_NAMES = {"train": "train", "dev": "validation", "test": "test"}


class Sib200DataError(ValueError):
    """SIB-200 data that is missing or not in the expected shape."""


def resolve_sib200_dir(metadata_dir: str | None) -> Path | None:
    """Where to read SIB-200 from: a local directory, or None for the hub.

    ``metadata_dir`` (lm-eval ``--metadata '{"sib200_dir": ...}'``) wins over
    the ``MACRO_SIB200_DIR`` environment variable.  An empty value counts as
    unset, because ``MACRO_SIB200_DIR=`` is the usual way to switch it off.
    ``~`` and ``$VARS`` are expanded.  Existence is checked by the loader so
    that the error can show the expected layout.
    """
    for candidate in (metadata_dir, os.environ.get(SIB200_DIR_ENV_VAR)):
        if candidate is not None and candidate.strip():
            return Path(os.path.expandvars(os.path.expanduser(candidate.strip())))
    return None


def load_sib200(language: str, *, sib200_dir: str | None = None, split: str = "test") -> list[dict]:
    """One SIB-200 split: local when a directory is configured, else from the hub."""
    local_dir = resolve_sib200_dir(sib200_dir)
    if local_dir is None:
        return load_hub_split(language, split)
    return load_local_split(local_dir, language, split)


def load_local_split(sib200_dir: Path, language: str, split: str = "test") -> list[dict]:
    """Read ``<sib200_dir>/<language>/<split>.tsv`` from the official layout."""
    split = _canonical_split(split)
    sib200_dir = Path(sib200_dir)
    if not sib200_dir.is_dir():
        raise Sib200DataError(
            f"SIB-200 directory {sib200_dir} does not exist or is not a directory, so "
            f"{sib200_dir / language / (split + '.tsv')} cannot be read; "
            f"{EXPECTED_LAYOUT}. Point --metadata sib200_dir or ${SIB200_DIR_ENV_VAR} "
            "at the folder that holds the language folders, or unset both to use the hub."
        )
    if not language or language in {".", ".."} or Path(language).name != language:
        raise Sib200DataError(
            f"SIB-200 language {language!r} is not a language folder name such as "
            f"'eng_Latn'; {EXPECTED_LAYOUT}."
        )
    language_dir = sib200_dir / language
    if not language_dir.is_dir():
        available = sorted(p.name for p in sib200_dir.iterdir() if p.is_dir())
        close = difflib.get_close_matches(language, available, n=5)
        hint = f"close matches: {', '.join(close)}" if close else f"{len(available)} language folders are there"
        raise Sib200DataError(
            f"SIB-200 language folder {language_dir} does not exist, so {language_dir / (split + '.tsv')} "
            f"cannot be read ({hint}); "
            f"{EXPECTED_LAYOUT}. Use the folder name (language code plus script, "
            "e.g. 'eng_Latn') or add the folder."
        )
    path = language_dir / f"{split}.tsv"
    if not path.is_file():
        present = sorted(p.name for p in language_dir.iterdir())
        raise Sib200DataError(
            f"SIB-200 split file {path} does not exist (the folder holds: "
            f"{', '.join(present) or 'nothing'}); {EXPECTED_LAYOUT}. "
            "Add the file or ask for one of the splits that are there."
        )
    return validate_rows(_read_tsv_rows(path), source=str(path))


def load_hub_split(language: str, split: str = "test") -> list[dict]:
    """Download one split of ``Davlan/sib200`` through ``datasets``."""
    import datasets

    hub_split = _HUB_SPLIT_NAMES[_canonical_split(split)]
    rows = datasets.load_dataset(HUB_DATASET, language, split=hub_split)
    source = f"hub dataset {HUB_DATASET}, config {language}, split {hub_split}"
    return validate_rows(((f"row {number}", row) for number, row in enumerate(rows)), source=source)


def validate_rows(rows: Iterable[tuple[str, Mapping[str, Any]]], *, source: str) -> list[dict]:
    """Check and normalize ``(location, raw_row)`` pairs into SIB-200 documents.

    ``location`` ("line 7", "row 3") is put in error messages next to ``source``.
    Raises :class:`Sib200DataError` on the first bad row; no row is skipped.
    """
    documents: list[dict] = []
    seen_at: dict[int, str] = {}
    for location, row in rows:
        where = f"{source}, {location}"
        missing = [field for field in HEADER if field not in row]
        if missing:
            raise Sib200DataError(
                f"{where}: missing field(s) {', '.join(missing)}; every row needs "
                f"{', '.join(HEADER)}."
            )
        index_id = _parse_index_id(row["index_id"], where)
        if index_id in seen_at:
            raise Sib200DataError(
                f"{where}: duplicate index_id {index_id}, first seen at {seen_at[index_id]}; "
                "each index_id must be unique within a split. Remove or renumber one of them."
            )
        seen_at[index_id] = location
        category = row["category"]
        if category not in LABELS:
            raise Sib200DataError(
                f"{where}: unknown category {category!r}; it must be one of "
                f"{', '.join(LABELS)}."
            )
        text = row["text"]
        if not isinstance(text, str) or has_no_token(text):
            raise Sib200DataError(
                f"{where}: field text is empty, has no visible character, or is not a string "
                f"({text!r}); every document needs the sentence to classify."
            )
        documents.append({"index_id": index_id, "category": category, "text": text})
    if not documents:
        raise Sib200DataError(f"{source}: no document after the header; a split needs at least one row.")
    return documents


def _canonical_split(split: str) -> str:
    canonical = _SPLIT_ALIASES.get(split, split)
    if canonical not in SPLITS:
        raise Sib200DataError(
            f"unknown SIB-200 split {split!r}; use one of {', '.join(SPLITS)} "
            "('validation' is accepted for 'dev')."
        )
    return canonical


def _parse_index_id(value: Any, where: str) -> int:
    # bool is an int subclass, and a hub row could carry a float from pandas.
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise Sib200DataError(
        f"{where}: index_id {value!r} is not a non-negative integer; "
        "the first column must hold the sentence's integer id."
    )


def _read_tsv_rows(path: Path) -> Iterable[tuple[str, dict[str, str]]]:
    """Yield ``("line N", row)`` for each data row, checking the file's shape."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as error:
        raise Sib200DataError(f"cannot read SIB-200 file {path}: {error}") from error
    with handle:
        reader = csv.reader(handle, delimiter="\t", strict=True)
        previous_line_end = 0
        try:
            for fields in reader:
                first_line, previous_line_end = previous_line_end + 1, reader.line_num
                if first_line == 1:
                    if tuple(fields) != HEADER:
                        raise Sib200DataError(
                            f"{path}, line 1: header is {_show_fields(fields)}, expected "
                            f"{_show_fields(HEADER)}; {EXPECTED_LAYOUT}. Fix the first line."
                        )
                    continue
                if reader.line_num != first_line:
                    raise Sib200DataError(
                        f"{path}, line {first_line}: the row runs on to line {reader.line_num}, "
                        "which happens when a text opens a double quote that is never closed; "
                        'write a quote inside a text as "" and wrap that whole text in double quotes.'
                    )
                if len(fields) != len(HEADER):
                    raise Sib200DataError(
                        f"{path}, line {first_line}: {len(fields)} tab-separated field(s), expected "
                        f"{len(HEADER)} ({_show_fields(HEADER)}); a blank line or a tab inside a "
                        "text causes this. Remove the blank line or wrap the text in double quotes."
                    )
                yield f"line {first_line}", dict(zip(HEADER, fields))
        except csv.Error as error:
            raise Sib200DataError(
                f"{path}, line {previous_line_end + 1}: malformed quoting ({error}); a text that "
                'contains a double quote must be wrapped in double quotes with inner quotes doubled ("").'
            ) from error
        except UnicodeDecodeError as error:
            raise Sib200DataError(
                f"{path}: not valid UTF-8 near line {reader.line_num + 1} ({error.reason}); "
                "re-save the file as UTF-8."
            ) from error
        if previous_line_end == 0:
            raise Sib200DataError(f"{path} is empty; {EXPECTED_LAYOUT}.")


def _show_fields(fields: Iterable[str]) -> str:
    return "<TAB>".join(fields)


# --metadata '{"sib200_dir": DIR}': a local copy of the official release.
SIB200_DIR_KEY = "sib200_dir"

# lm-eval's afrobench sib_<lang>_prompt_1, verbatim.
CLASSIFICATION_YAML = (
    "# The task's own requests classify x with lm-eval's afrobench sib_<lang>_prompt_1,\n"
    "# verbatim, so lm-eval batches and caches them and `accuracy` is that task's `acc`.\n"
    "output_type: multiple_choice\n"
    'doc_to_text: "Given the categories science/technology, travel, politics, sports, health, entertainment, '
    "or geography; what category does the text: '{{text}}' belong to: \\n\\n\"\n"
    "doc_to_choice:\n"
    + "".join(f'  - "{label}"\n' for label in LABELS)
    + "doc_to_target: category\n"
)

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
    classification_yaml=CLASSIFICATION_YAML,
    edited_noun="text",
    label_noun="topic",
    metadata_keys=(SIB200_DIR_KEY,),
    local_dir=lambda metadata: resolve_sib200_dir(metadata.get(SIB200_DIR_KEY)),
    expected_layout=EXPECTED_LAYOUT,
)

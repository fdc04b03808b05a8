"""The 205 SIB-200 language varieties: names and genealogy.

The table lives in ``macro_bench/languages.tsv`` (tab-separated, one row per
SIB-200 folder name such as ``zho_Hans``).  Families follow Glottolog/Ethnologue
top-level families, with three pseudo-families: ``Isolate`` (Basque),
``Constructed`` (Esperanto) and ``Creole`` (Haitian, Kabuverdianu, Papiamento,
Sango, Tok Pisin).  Which language-ID labels count as "this language" is
calibrated on data, not listed here (see :mod:`macro_bench.language_id`).
"""

from __future__ import annotations

import csv
import difflib
import functools
import importlib.resources
import re
from dataclasses import dataclass
from pathlib import Path

TABLE_RESOURCE = "languages.tsv"
TABLE_LOCATION = f"macro_bench/{TABLE_RESOURCE}"
COLUMNS = ("code", "iso639_3", "script", "name", "family", "genus")
FAMILY_TAG_PREFIX = "macro_family_"

_CODE_PATTERN = re.compile(r"(?P<iso>[a-z]{3})_(?P<script>[A-Z][a-z]{3})")


@dataclass(frozen=True)
class Language:
    code: str
    iso639_3: str
    script: str
    name: str
    family: str
    genus: str


def load_languages() -> dict[str, Language]:
    """All SIB-200 languages keyed by code, ordered by code.

    Returns a fresh dict each call so callers cannot corrupt the cached table.
    """
    return dict(_packaged_languages())


@functools.cache
def _packaged_languages() -> dict[str, Language]:
    # importlib.resources rather than a path next to __file__ so the table is
    # found inside an installed wheel too.
    table_text = (importlib.resources.files("macro_bench") / TABLE_RESOURCE).read_text(encoding="utf-8")
    return _parse_table(table_text, source=TABLE_LOCATION)


def _load_languages_from(path: Path) -> dict[str, Language]:
    """Parse a language table at ``path``; the same validation as the packaged table."""
    return _parse_table(Path(path).read_text(encoding="utf-8"), source=str(path))


def _parse_table(table_text: str, source: str) -> dict[str, Language]:
    rows = list(csv.reader(table_text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows or tuple(rows[0]) != COLUMNS:
        found = "an empty file" if not rows else "\t".join(rows[0])
        raise ValueError(
            f"{source}, line 1: the header must be the tab-separated columns {', '.join(COLUMNS)}; found {found!r}"
        )
    languages: dict[str, Language] = {}
    first_line_of: dict[str, int] = {}
    for line_number, row in enumerate(rows[1:], start=2):
        if not row:
            raise ValueError(f"{source}, line {line_number}: blank line; delete it")
        language = _parse_row(row, source, line_number)
        if language.code in languages:
            raise ValueError(
                f"{source}, line {line_number}, field 'code': {language.code!r} already appears on line "
                f"{first_line_of[language.code]}; keep one row per language"
            )
        languages[language.code] = language
        first_line_of[language.code] = line_number
    return dict(sorted(languages.items()))


def _parse_row(row: list[str], source: str, line_number: int) -> Language:
    def fail(field: str, problem: str) -> ValueError:
        return ValueError(f"{source}, line {line_number}, field '{field}': {problem}")

    if len(row) != len(COLUMNS):
        raise fail(
            COLUMNS[min(len(row), len(COLUMNS) - 1)],
            f"expected {len(COLUMNS)} tab-separated fields ({', '.join(COLUMNS)}), found {len(row)}",
        )
    fields = dict(zip(COLUMNS, row))
    for field, value in fields.items():
        if value != value.strip():
            raise fail(field, f"{value!r} has leading or trailing whitespace; remove it")
    for field in ("code", "iso639_3", "script", "name", "family", "genus"):
        if not fields[field]:
            raise fail(field, "is empty; every language needs a value here")

    code_match = _CODE_PATTERN.fullmatch(fields["code"])
    if code_match is None:
        raise fail("code", f"{fields['code']!r} is not of the form lang_Script (e.g. 'eng_Latn')")
    if fields["iso639_3"] != code_match["iso"]:
        raise fail("iso639_3", f"{fields['iso639_3']!r} differs from the code's language part {code_match['iso']!r}")
    if fields["script"] != code_match["script"]:
        raise fail("script", f"{fields['script']!r} differs from the code's script part {code_match['script']!r}")

    return Language(
        code=fields["code"],
        iso639_3=fields["iso639_3"],
        script=fields["script"],
        name=fields["name"],
        family=fields["family"],
        genus=fields["genus"],
    )


def get_language(code: str) -> Language:
    """The language with SIB-200 code ``code`` (e.g. ``'eng_Latn'``)."""
    languages = _packaged_languages()
    if code in languages:
        return languages[code]
    # Suggest by code and by English name, ignoring case, so 'ENG_LATN' and 'English' both lead somewhere.
    lookup = {language.code.lower(): language.code for language in languages.values()}
    lookup.update({language.name.lower(): language.code for language in languages.values()})
    best_first = difflib.get_close_matches(str(code).lower(), lookup, n=5, cutoff=0.6)
    suggestions = list(dict.fromkeys(lookup[key] for key in best_first))
    hint = f"close matches: {', '.join(suggestions)}" if suggestions else "no close match"
    raise KeyError(
        f"unknown SIB-200 language code {code!r} ({hint}); the {len(languages)} codes are the 'code' "
        f"column of {TABLE_LOCATION}, in the form lang_Script such as 'eng_Latn'"
    )


def families() -> dict[str, list[str]]:
    """Top-level family -> codes of its languages, both sorted."""
    by_family: dict[str, list[str]] = {}
    for language in _packaged_languages().values():
        by_family.setdefault(language.family, []).append(language.code)
    return {family: sorted(codes) for family, codes in sorted(by_family.items())}


def tag_for_family(family: str) -> str:
    """The lm-eval tag grouping one family's tasks, e.g. ``macro_sib200_family_indo_european``."""
    known_families = families()
    if family not in known_families:
        suggestions = difflib.get_close_matches(family, known_families, n=3)
        hint = f" (did you mean {', '.join(suggestions)}?)" if suggestions else ""
        raise KeyError(
            f"unknown language family {family!r}{hint}; the families are the 'family' column of "
            f"{TABLE_LOCATION}: {', '.join(known_families)}"
        )
    slug = re.sub(r"[^a-z0-9]+", "_", family.lower()).strip("_")
    return FAMILY_TAG_PREFIX + slug

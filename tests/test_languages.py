import re
from pathlib import Path

import pytest

from macro_bench.languages import (
    COLUMNS,
    Language,
    _load_languages_from,
    families,
    get_language,
    load_languages,
    tag_for_family,
)

SIB200_DIR = Path(__file__).resolve().parents[1].parent / "shared/data/sib200"

HEADER = "\t".join(COLUMNS)
GOOD_ROW = "eng_Latn\teng\tLatn\tEnglish\tIndo-European\tGermanic"


@pytest.fixture(scope="module")
def dataset_codes() -> set[str]:
    if not SIB200_DIR.is_dir():
        pytest.fail(f"SIB-200 data not found at {SIB200_DIR}; the tests expect it at ../shared/data/sib200")
    return {folder.name for folder in SIB200_DIR.iterdir() if folder.is_dir()}


def test_table_has_exactly_the_dataset_folders(dataset_codes):
    codes = set(load_languages())
    assert len(dataset_codes) == 205
    assert codes == dataset_codes, (
        f"missing from the table: {sorted(dataset_codes - codes)}; not in the dataset: {sorted(codes - dataset_codes)}"
    )


def test_table_rows_are_unique_and_sorted_by_code():
    table_path = Path(__file__).resolve().parents[1] / "macro_bench" / "languages.tsv"
    raw_codes = [line.split("\t")[0] for line in table_path.read_text(encoding="utf-8").splitlines()[1:]]
    assert len(raw_codes) == len(set(raw_codes)) == 205
    assert list(load_languages()) == sorted(raw_codes)


def test_code_parts_match_the_iso_and_script_columns():
    for language in load_languages().values():
        iso, script = language.code.split("_")
        assert (language.iso639_3, language.script) == (iso, script), language


def test_names_are_unique_so_script_varieties_are_told_apart():
    names = [language.name for language in load_languages().values()]
    assert len(names) == len(set(names))
    assert get_language("zho_Hans").name == "Mandarin Chinese (Simplified)"
    assert get_language("zho_Hant").name == "Mandarin Chinese (Traditional)"
    assert get_language("ary_Arab").name == "Moroccan Arabic"
    assert get_language("arb_Latn").name != get_language("arb_Arab").name


@pytest.mark.parametrize(
    "code, family, genus",
    [
        ("eng_Latn", "Indo-European", "Germanic"),
        ("arb_Arab", "Afro-Asiatic", "Semitic"),
        ("swh_Latn", "Niger-Congo", "Bantu"),
        ("zho_Hans", "Sino-Tibetan", "Sinitic"),
        ("fin_Latn", "Uralic", "Finnic"),
        ("tur_Latn", "Turkic", "Oghuz"),
        ("tam_Taml", "Dravidian", "Southern Dravidian"),
        ("hin_Deva", "Indo-European", "Indo-Aryan"),
        ("pes_Arab", "Indo-European", "Iranian"),
        ("hau_Latn", "Afro-Asiatic", "Chadic"),
        ("som_Latn", "Afro-Asiatic", "Cushitic"),
        ("kab_Latn", "Afro-Asiatic", "Berber"),
        ("eus_Latn", "Isolate", "Basque"),
        ("epo_Latn", "Constructed", "International auxiliary"),
        ("hat_Latn", "Creole", "French-based creole"),
        ("tpi_Latn", "Creole", "English-based creole"),
        ("bam_Latn", "Mande", "Western Mande"),
        ("luo_Latn", "Nilo-Saharan", "Nilotic"),
        ("ind_Latn", "Austronesian", "Malayo-Polynesian"),
        ("vie_Latn", "Austroasiatic", "Vietic"),
        ("tha_Thai", "Tai-Kadai", "Tai"),
        ("kat_Geor", "Kartvelian", "Kartvelian"),
        ("jpn_Jpan", "Japonic", "Japanese"),
        ("kor_Hang", "Koreanic", "Korean"),
        ("quy_Latn", "Quechuan", "Quechuan"),
        ("grn_Latn", "Tupian", "Tupi-Guarani"),
        ("ayr_Latn", "Aymaran", "Aymaran"),
    ],
)
def test_family_and_genus_spot_checks(code, family, genus):
    language = get_language(code)
    assert (language.family, language.genus) == (family, genus)


def test_each_genus_belongs_to_a_single_family():
    family_of_genus: dict[str, set[str]] = {}
    for language in load_languages().values():
        family_of_genus.setdefault(language.genus, set()).add(language.family)
    assert {genus: fams for genus, fams in family_of_genus.items() if len(fams) > 1} == {}


def test_families_partition_the_table():
    by_family = families()
    all_codes = [code for codes in by_family.values() for code in codes]
    assert sorted(all_codes) == list(load_languages())
    assert list(by_family) == sorted(by_family)
    assert "eng_Latn" in by_family["Indo-European"]
    assert by_family["Isolate"] == ["eus_Latn"]
    assert by_family["Creole"] == ["hat_Latn", "kea_Latn", "pap_Latn", "sag_Latn", "tpi_Latn"]


@pytest.mark.parametrize(
    "family, tag",
    [
        ("Indo-European", "macro_family_indo_european"),
        ("Tai-Kadai", "macro_family_tai_kadai"),
        ("Niger-Congo", "macro_family_niger_congo"),
        ("Isolate", "macro_family_isolate"),
    ],
)
def test_tag_for_family(family, tag):
    assert tag_for_family(family) == tag


def test_family_tags_are_distinct_identifiers():
    tags = [tag_for_family(family) for family in families()]
    assert len(tags) == len(set(tags))
    assert all(re.fullmatch(r"macro_family_[a-z0-9]+(_[a-z0-9]+)*", tag) for tag in tags)


def test_tag_for_unknown_family_suggests_the_spelling():
    with pytest.raises(KeyError, match=r"did you mean Indo-European\?.*languages\.tsv"):
        tag_for_family("Indo-european")


def test_get_language_error_lists_close_matches_and_the_table():
    with pytest.raises(KeyError) as raised:
        get_language("eng_latn")
    message = str(raised.value)
    assert "close matches: eng_Latn" in message
    assert "macro_bench/languages.tsv" in message


def test_get_language_finds_codes_by_english_name_in_the_error():
    with pytest.raises(KeyError, match="close matches: eng_Latn"):
        get_language("English")


def test_load_languages_returns_a_copy():
    load_languages().clear()
    assert len(load_languages()) == 205


def test_language_is_frozen():
    with pytest.raises(AttributeError):
        get_language("eng_Latn").name = "Anglais"  # type: ignore[misc]


def test_well_formed_file_loads(tmp_path):
    path = tmp_path / "languages.tsv"
    path.write_text(f"{HEADER}\n{GOOD_ROW}\nnob_Latn\tnob\tLatn\tNorwegian Bokmål\tIndo-European\tGermanic\n")
    languages = _load_languages_from(path)
    assert list(languages) == ["eng_Latn", "nob_Latn"]
    assert languages["nob_Latn"] == Language(
        "nob_Latn", "nob", "Latn", "Norwegian Bokmål", "Indo-European", "Germanic"
    )


@pytest.mark.parametrize(
    "body, line, field, problem",
    [
        (f"{HEADER}\neng_Latn\teng\tLatn\tEnglish\tIndo-European\n", 2, "genus", "expected 6"),
        # a leftover lid_codes column (the calibration replaced it) is an error, not silently ignored
        (f"{HEADER}\n{GOOD_ROW}\ten\n", 2, "genus", "found 7"),
        (f"{HEADER}\neng-Latn\teng\tLatn\tEnglish\tIndo-European\tGermanic\n", 2, "code", "lang_Script"),
        (f"{HEADER}\neng_Latn\teng\tCyrl\tEnglish\tIndo-European\tGermanic\n", 2, "script", "'Latn'"),
        (f"{HEADER}\neng_Latn\tengl\tLatn\tEnglish\tIndo-European\tGermanic\n", 2, "iso639_3", "'eng'"),
        (f"{HEADER}\neng_Latn\teng\tLatn\t\tIndo-European\tGermanic\n", 2, "name", "is empty"),
        (f"{HEADER}\neng_Latn\teng\tLatn\tEnglish\tIndo-European\tGermanic \n", 2, "genus", "whitespace"),
        (f"{HEADER}\n{GOOD_ROW}\n{GOOD_ROW}\n", 3, "code", "already appears on line 2"),
    ],
)
def test_malformed_rows_name_file_line_and_field(tmp_path, body, line, field, problem):
    path = tmp_path / "languages.tsv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ValueError) as raised:
        _load_languages_from(path)
    message = str(raised.value)
    assert str(path) in message
    assert f"line {line}, field '{field}'" in message
    assert problem in message


def test_wrong_header_is_reported_on_line_one(tmp_path):
    path = tmp_path / "languages.tsv"
    path.write_text("code\tname\n" + GOOD_ROW + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"languages\.tsv, line 1: the header must be"):
        _load_languages_from(path)


def test_empty_file_is_reported(tmp_path):
    path = tmp_path / "languages.tsv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="an empty file"):
        _load_languages_from(path)


def test_blank_line_is_reported(tmp_path):
    path = tmp_path / "languages.tsv"
    path.write_text(f"{HEADER}\n\n{GOOD_ROW}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2: blank line"):
        _load_languages_from(path)

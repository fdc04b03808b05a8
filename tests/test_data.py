import sys
import types
from pathlib import Path

import pytest

from macro_bench.datasets.sib200 import (
    LABELS,
    SIB200_DIR_ENV_VAR,
    SPLITS,
    Sib200DataError,
    load_hub_split,
    load_local_split,
    load_sib200,
    resolve_sib200_dir,
)

SHARED_SIB200 = Path(__file__).resolve().parents[1].parent / "shared/data/sib200"
needs_shared_data = pytest.mark.skipif(
    not SHARED_SIB200.is_dir(), reason=f"real SIB-200 release not found at {SHARED_SIB200}"
)
HEADER_LINE = "index_id\tcategory\ttext\n"


def write_split(root: Path, body: str, language: str = "eng_Latn", split: str = "test") -> Path:
    folder = root / language
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{split}.tsv"
    path.write_text(body, encoding="utf-8")
    return path


# --- the real release -------------------------------------------------------


@needs_shared_data
def test_labels_match_every_labels_txt_of_the_release():
    label_files = sorted(SHARED_SIB200.glob("*/labels.txt"))
    assert len(label_files) == 205
    for label_file in label_files:
        assert tuple(label_file.read_text(encoding="utf-8").split("\n")[:7]) == LABELS, label_file


@needs_shared_data
@pytest.mark.parametrize("language", ["eng_Latn", "zho_Hans", "tha_Thai"])
def test_real_language_loads_with_expected_shape(language):
    rows = load_local_split(SHARED_SIB200, language)
    assert len(rows) == 204
    assert rows[0]["index_id"] == 1523
    assert rows[0]["category"] == "science/technology"
    assert {row["category"] for row in rows} == set(LABELS)
    assert all(type(row["index_id"]) is int and row["text"].strip() for row in rows)


@needs_shared_data
def test_real_english_first_row_text():
    assert load_local_split(SHARED_SIB200, "eng_Latn")[0]["text"] == (
        "Mutation adds new genetic variation, and selection removes it from the pool "
        "of expressed variation."
    )


@needs_shared_data
def test_csv_quoted_texts_come_back_as_written():
    # In the file: "2004 Olympic ... said, ""Deep down ... opinion."""
    rows = {row["index_id"]: row for row in load_local_split(SHARED_SIB200, "eng_Latn", "dev")}
    assert rows[219]["text"] == (
        '2004 Olympic silver medallist Amir Khan said, "Deep down I think women '
        "shouldn’t fight. That’s my opinion.\""
    )
    # An opening quote that the sentence never closes, stored as """Based ...
    assert rows[143]["text"].startswith('"Based on this fossil')
    assert rows[143]["text"].count('"') == 1


@needs_shared_data
def test_every_real_file_parses_to_one_row_per_line():
    files = sorted(SHARED_SIB200.glob("*/*.tsv"))
    assert len(files) == 205 * len(SPLITS)
    for path in files:
        rows = load_local_split(SHARED_SIB200, path.parent.name, path.stem)
        line_count = path.read_bytes().count(b"\n")
        assert len(rows) == line_count - 1, path


@needs_shared_data
def test_all_205_test_splits_are_parallel_to_english():
    english = [(row["index_id"], row["category"]) for row in load_local_split(SHARED_SIB200, "eng_Latn")]
    languages = sorted(path.name for path in SHARED_SIB200.iterdir() if path.is_dir())
    assert len(languages) == 205
    for language in languages:
        rows = load_sib200(language, sib200_dir=str(SHARED_SIB200))
        assert [(row["index_id"], row["category"]) for row in rows] == english, language


@needs_shared_data
def test_validation_is_an_alias_for_dev():
    assert load_local_split(SHARED_SIB200, "eng_Latn", "validation") == load_local_split(
        SHARED_SIB200, "eng_Latn", "dev"
    )


# --- layout errors ----------------------------------------------------------


def test_missing_directory_names_path_and_layout(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(Sib200DataError) as error:
        load_local_split(missing, "eng_Latn")
    message = str(error.value)
    assert str(missing) in message
    assert "<dir>/<lang_Script>/{train,dev,test}.tsv" in message
    assert SIB200_DIR_ENV_VAR in message


def test_missing_language_lists_close_matches(tmp_path):
    write_split(tmp_path, HEADER_LINE, language="eng_Latn")
    write_split(tmp_path, HEADER_LINE, language="zho_Hans")
    with pytest.raises(Sib200DataError) as error:
        load_local_split(tmp_path, "eng_latn")
    message = str(error.value)
    assert str(tmp_path / "eng_latn") in message
    assert "close matches: eng_Latn" in message
    assert "zho_Hans" not in message


def test_language_must_be_a_single_folder_name(tmp_path):
    write_split(tmp_path, HEADER_LINE)
    with pytest.raises(Sib200DataError, match=r"'\.\./eng_Latn' is not a language folder name"):
        load_local_split(tmp_path / "eng_Latn", "../eng_Latn")


def test_missing_split_names_the_files_present(tmp_path):
    write_split(tmp_path, HEADER_LINE, split="train")
    (tmp_path / "eng_Latn" / "labels.txt").write_text("\n".join(LABELS), encoding="utf-8")
    with pytest.raises(Sib200DataError) as error:
        load_local_split(tmp_path, "eng_Latn", "dev")
    message = str(error.value)
    assert str(tmp_path / "eng_Latn" / "dev.tsv") in message
    assert "the folder holds: labels.txt, train.tsv" in message


def test_unknown_split_lists_valid_ones(tmp_path):
    with pytest.raises(Sib200DataError, match=r"unknown SIB-200 split 'tset'; use one of train, dev, test"):
        load_local_split(tmp_path, "eng_Latn", "tset")


# --- file content errors ----------------------------------------------------


def test_wrong_header(tmp_path):
    path = write_split(tmp_path, "id\tlabel\ttext\n1\tsports\tA match.\n")
    with pytest.raises(Sib200DataError) as error:
        load_local_split(tmp_path, "eng_Latn")
    message = str(error.value)
    assert f"{path}, line 1: header is id<TAB>label<TAB>text" in message
    assert "expected index_id<TAB>category<TAB>text" in message


def test_byte_order_mark_before_header_is_accepted(tmp_path):
    write_split(tmp_path, "\ufeff" + HEADER_LINE + "1\tsports\tA match.\n")
    assert load_local_split(tmp_path, "eng_Latn") == [
        {"index_id": 1, "category": "sports", "text": "A match."}
    ]


def test_empty_file(tmp_path):
    path = write_split(tmp_path, "")
    with pytest.raises(Sib200DataError, match=f"{path} is empty"):
        load_local_split(tmp_path, "eng_Latn")


def test_row_with_extra_tab_names_line_and_count(tmp_path):
    path = write_split(tmp_path, HEADER_LINE + "1\tsports\tA match.\n2\ttravel\tA\ttrip.\n")
    with pytest.raises(Sib200DataError) as error:
        load_local_split(tmp_path, "eng_Latn")
    assert f"{path}, line 3: 4 tab-separated field(s), expected 3" in str(error.value)


def test_blank_line_is_an_error_not_skipped(tmp_path):
    path = write_split(tmp_path, HEADER_LINE + "1\tsports\tA match.\n\n2\ttravel\tA trip.\n")
    with pytest.raises(Sib200DataError, match=f"{path}, line 3: 0 tab-separated field"):
        load_local_split(tmp_path, "eng_Latn")


def test_non_integer_index_id(tmp_path):
    path = write_split(tmp_path, HEADER_LINE + "1\tsports\tA match.\n2a\ttravel\tA trip.\n")
    with pytest.raises(Sib200DataError) as error:
        load_local_split(tmp_path, "eng_Latn")
    assert f"{path}, line 3: index_id '2a' is not a non-negative integer" in str(error.value)


@pytest.mark.parametrize("index_id", ["-1", " 1", "1.0", "١"])
def test_index_id_must_be_plain_ascii_digits(tmp_path, index_id):
    write_split(tmp_path, HEADER_LINE + f"{index_id}\tsports\tA match.\n")
    with pytest.raises(Sib200DataError, match="line 2: index_id"):
        load_local_split(tmp_path, "eng_Latn")


def test_duplicate_index_id_names_both_lines(tmp_path):
    path = write_split(
        tmp_path, HEADER_LINE + "7\tsports\tA match.\n8\ttravel\tA trip.\n7\thealth\tA cure.\n"
    )
    with pytest.raises(Sib200DataError) as error:
        load_local_split(tmp_path, "eng_Latn")
    assert f"{path}, line 4: duplicate index_id 7, first seen at line 2" in str(error.value)


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_text(tmp_path, text):
    path = write_split(tmp_path, HEADER_LINE + f"1\tsports\t{text}\n")
    with pytest.raises(Sib200DataError, match=f"{path}, line 2: field text is empty"):
        load_local_split(tmp_path, "eng_Latn")


def test_unknown_label_lists_the_seven(tmp_path):
    path = write_split(tmp_path, HEADER_LINE + "1\tSports\tA match.\n")
    with pytest.raises(Sib200DataError) as error:
        load_local_split(tmp_path, "eng_Latn")
    message = str(error.value)
    assert f"{path}, line 2: unknown category 'Sports'" in message
    assert ", ".join(LABELS) in message


def test_unclosed_quote_running_over_lines_is_reported(tmp_path):
    path = write_split(
        tmp_path, HEADER_LINE + '1\tsports\t"A match.\n2\ttravel\tA trip."\n3\thealth\tA cure.\n'
    )
    with pytest.raises(Sib200DataError) as error:
        load_local_split(tmp_path, "eng_Latn")
    assert f"{path}, line 2: the row runs on to line 3" in str(error.value)


def test_quote_never_closed_before_end_of_file(tmp_path):
    path = write_split(tmp_path, HEADER_LINE + '1\tsports\tA match.\n2\ttravel\t"A trip.\n')
    with pytest.raises(Sib200DataError, match=f"{path}, line 3: malformed quoting"):
        load_local_split(tmp_path, "eng_Latn")


def test_text_after_closing_quote_is_malformed(tmp_path):
    path = write_split(tmp_path, HEADER_LINE + '1\tsports\t"A" match.\n')
    with pytest.raises(Sib200DataError, match=f"{path}, line 2: malformed quoting"):
        load_local_split(tmp_path, "eng_Latn")


def test_invalid_utf8(tmp_path):
    path = write_split(tmp_path, HEADER_LINE)
    path.write_bytes(HEADER_LINE.encode() + b"1\tsports\tA m\xe9tch.\n")
    with pytest.raises(Sib200DataError, match=f"{path}: not valid UTF-8"):
        load_local_split(tmp_path, "eng_Latn")


def test_text_whitespace_and_inner_quotes_are_kept_verbatim(tmp_path):
    write_split(tmp_path, HEADER_LINE + '1\tsports\t A "big" match. \n2\ttravel\t"He said ""go""."\n')
    assert [row["text"] for row in load_local_split(tmp_path, "eng_Latn")] == [
        ' A "big" match. ',
        'He said "go".',
    ]


# --- choosing the source ----------------------------------------------------


def test_resolve_prefers_metadata_over_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(SIB200_DIR_ENV_VAR, str(tmp_path / "from_env"))
    assert resolve_sib200_dir(str(tmp_path / "from_metadata")) == tmp_path / "from_metadata"
    assert resolve_sib200_dir(None) == tmp_path / "from_env"


def test_resolve_is_none_without_metadata_or_environment(monkeypatch):
    monkeypatch.delenv(SIB200_DIR_ENV_VAR, raising=False)
    assert resolve_sib200_dir(None) is None


def test_resolve_treats_empty_values_as_unset(tmp_path, monkeypatch):
    monkeypatch.setenv(SIB200_DIR_ENV_VAR, "")
    assert resolve_sib200_dir("  ") is None
    monkeypatch.setenv(SIB200_DIR_ENV_VAR, str(tmp_path))
    assert resolve_sib200_dir("") == tmp_path


def test_resolve_expands_home_and_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("SIB_ROOT", "/data/sib")
    assert resolve_sib200_dir("~/sib200") == tmp_path / "sib200"
    assert resolve_sib200_dir("$SIB_ROOT/annotated") == Path("/data/sib/annotated")


def fake_datasets(monkeypatch, rows):
    calls = []

    def load_dataset(path, name, split):
        calls.append((path, name, split))
        return rows

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    return calls


def test_load_sib200_reads_local_dir_from_environment(tmp_path, monkeypatch):
    write_split(tmp_path, HEADER_LINE + "1\tsports\tA match.\n", split="dev")
    monkeypatch.setenv(SIB200_DIR_ENV_VAR, str(tmp_path))
    calls = fake_datasets(monkeypatch, [])
    assert load_sib200("eng_Latn", split="dev") == [{"index_id": 1, "category": "sports", "text": "A match."}]
    assert calls == []


def test_load_sib200_metadata_dir_beats_environment(tmp_path, monkeypatch):
    write_split(tmp_path / "metadata", HEADER_LINE + "1\tsports\tFrom metadata.\n")
    write_split(tmp_path / "env", HEADER_LINE + "1\tsports\tFrom env.\n")
    monkeypatch.setenv(SIB200_DIR_ENV_VAR, str(tmp_path / "env"))
    rows = load_sib200("eng_Latn", sib200_dir=str(tmp_path / "metadata"))
    assert rows[0]["text"] == "From metadata."


def test_load_sib200_uses_hub_without_local_dir(monkeypatch):
    monkeypatch.delenv(SIB200_DIR_ENV_VAR, raising=False)
    calls = fake_datasets(monkeypatch, [{"index_id": 5, "category": "travel", "text": "A trip."}])
    assert load_sib200("fra_Latn", split="dev") == [{"index_id": 5, "category": "travel", "text": "A trip."}]
    assert calls == [("Davlan/sib200", "fra_Latn", "validation")]


def test_hub_rows_are_normalized_like_local_rows(monkeypatch):
    fake_datasets(
        monkeypatch,
        [
            {"index_id": "12", "category": "health", "text": "A cure.", "extra": 1},
            {"index_id": 13, "category": "sports", "text": "A match."},
        ],
    )
    assert load_hub_split("eng_Latn") == [
        {"index_id": 12, "category": "health", "text": "A cure."},
        {"index_id": 13, "category": "sports", "text": "A match."},
    ]


@pytest.mark.parametrize(
    ("bad_row", "expected"),
    [
        ({"index_id": 1, "category": "sport", "text": "A match."}, "unknown category 'sport'"),
        ({"index_id": 1, "category": "sports"}, "missing field(s) text"),
        ({"index_id": True, "category": "sports", "text": "A match."}, "index_id True is not"),
        ({"index_id": 0, "category": "sports", "text": "A match."}, "duplicate index_id 0, first seen at row 0"),
    ],
)
def test_hub_rows_are_validated_with_row_numbers(monkeypatch, bad_row, expected):
    fake_datasets(monkeypatch, [{"index_id": 0, "category": "travel", "text": "A trip."}, bad_row])
    with pytest.raises(Sib200DataError) as error:
        load_hub_split("eng_Latn", "train")
    message = str(error.value)
    assert message.startswith("hub dataset Davlan/sib200, config eng_Latn, split train, row 1: ")
    assert expected in message

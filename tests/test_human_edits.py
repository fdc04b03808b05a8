"""The one CAD reader: every row of the shared file, and malformed files named with their line and field."""

from pathlib import Path

import pytest

from macro_bench.human_edits import COLUMNS, HumanEdit, load_cad

HEADER = "\t".join(COLUMNS) + "\n"
ROW = "A man sleeps.\tA man is asleep.\tentailment\tA man is awake.\tcontradiction\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dev.tsv"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shared_file_reads_whole() -> None:
    edits = load_cad()
    assert len(edits) == 400
    assert [edit.line for edit in edits] == list(range(2, 402))  # no field spans lines
    # CSV quoting: a field with quotes reads without its quoting quotes (QUOTE_NONE would keep them).
    assert not [edit for edit in edits for field in edit[:5] if field.startswith('"') and field.endswith('"')]
    assert {(edit.label, edit.revised_label) for edit in edits if edit.label == edit.revised_label} == set()


def test_a_row_reads_as_its_fields_and_line(tmp_path: Path) -> None:
    quoted = 'He said "hi".\t"A man said ""hi""."\tentailment\tA man said nothing.\tcontradiction\n'
    edits = load_cad(write(tmp_path, HEADER + ROW + quoted))
    assert edits == [
        HumanEdit("A man sleeps.", "A man is asleep.", "entailment", "A man is awake.", "contradiction", 2),
        HumanEdit('He said "hi".', 'A man said "hi".', "entailment", "A man said nothing.", "contradiction", 3),
    ]


@pytest.mark.parametrize(("text", "message"), [
    ("premise\thypothesis\n" + ROW, "header ['premise', 'hypothesis'] is not the CAD layout"),
    (HEADER, "no rows after the header"),
    (HEADER + ROW + "A.\tB.\tentailment\n", "line 3: expected 5 tab-separated fields"),
    (HEADER + ROW + ROW.rstrip("\n") + "\textra\n", "line 3: expected 5 tab-separated fields"),
    (HEADER + "A.\t \tentailment\tC.\tneutral\n", "line 2: field 'hypothesis' is empty"),
    (HEADER + "A.\tB.\tEntailment\tC.\tneutral\n", "line 2: field 'label' is 'Entailment', not one of"),
    (HEADER + "A.\tB.\tneutral\tC.\tneutral\n", "line 2: revised_label equals label ('neutral')"),
])
def test_a_malformed_file_is_named_with_its_line_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ValueError, match=r"dev\.tsv.*") as raised:
        load_cad(path)
    assert message in str(raised.value) and str(path) in str(raised.value)


def test_a_missing_file_says_where_cad_is_expected(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="cad_nli/dev.tsv"):
        load_cad(tmp_path / "absent.tsv")

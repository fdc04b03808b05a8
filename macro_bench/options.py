"""The task options users pass through lm-eval's ``--metadata`` JSON, checked when tasks are built.

* ``interventions``: K, the number of held-out deletion interventions per valid
  counterfactual (and as many again for the random baseline);
* ``judge``: an independent classifier (an lm-eval ``model_args`` string for
  ``--model hf``, or a bare model path) that makes every label prediction used for
  validity and faithfulness, instead of M;
* ``fluency_lm``: a fixed language model that scores fluency for every evaluated
  model, so the fluency column is comparable across models.

:meth:`Options.from_metadata` runs in the task's dataset loader, i.e. when lm-eval
builds the tasks, so a bad option fails before any generation is paid for; the lm-eval
command line and ``simple_evaluate`` check them even earlier, before the model loads
(:mod:`macro_bench.preflight`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from macro_bench import interventions
from macro_bench.lm_eval_adapter.model_args import parse_model_args

MIN_INTERVENTIONS = 3
# Every key Options reads; macro_bench.preflight refuses any other --metadata key.
OPTION_KEYS = ("interventions", "judge", "fluency_lm")


class OptionsError(ValueError):
    """A ``--metadata`` option macro-bench cannot use."""


@dataclass(frozen=True)
class Options:
    interventions: int = interventions.DEFAULT_INTERVENTIONS
    judge: str | None = None
    fluency_lm: str | None = None

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any] | None) -> Options:
        metadata = metadata or {}
        count = metadata.get("interventions", interventions.DEFAULT_INTERVENTIONS)
        if isinstance(count, bool) or not isinstance(count, int) or count < MIN_INTERVENTIONS:
            raise OptionsError(
                f"--metadata 'interventions' must be an integer >= {MIN_INTERVENTIONS} (a rank correlation "
                f"needs several points), got {count!r}; e.g. --metadata "
                f"'{{\"interventions\": {interventions.DEFAULT_INTERVENTIONS}}}'"
            )
        for key in ("judge", "fluency_lm"):
            value = metadata.get(key)
            if value is None:
                continue
            if not isinstance(value, str) or not value.strip():
                raise OptionsError(
                    f"--metadata {key!r} must be a model path or an lm-eval model_args string such as "
                    f"'pretrained=DIR,gguf_file=F.gguf', got {value!r}"
                )
            if "=" in value:
                _check_model_args(key, value)
        return cls(count, metadata.get("judge"), metadata.get("fluency_lm"))


def _check_model_args(key: str, value: str) -> None:
    try:
        parsed = parse_model_args(value)
    except Exception as error:  # noqa: BLE001 - lm-eval's parser raises bare ValueErrors and others
        raise OptionsError(f"--metadata {key!r}: cannot parse model_args {value!r} ({error})") from error
    if "pretrained" not in parsed:
        raise OptionsError(
            f"--metadata {key!r}: model_args {value!r} name no model; add pretrained=<hub id or folder>"
        )

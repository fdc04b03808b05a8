"""The model calls of the second pass, as the narrow protocol a model adapter implements.

The second pass (:mod:`macro_bench.second_pass`) decides what to ask; a
:class:`Scorer` asks it. The lm-eval implementation
(:class:`macro_bench.lm_eval_adapter.second_pass_filter.LmEvalScorer`) owns everything
about how: the live model and the judge and fluency models, the task's own request
building, batching, progress bars, ``--use_cache`` and the calls every data-parallel
rank must make together. So each of :meth:`Scorer.generate`, :meth:`Scorer.classify` and
:meth:`Scorer.fluency_logliks` is **one** model call, made in the order the second pass
calls them, also when it has nothing to send (another rank may); the token counts call
no model.

A text goes with the task document it belongs to (:class:`DocumentText`), as lm-eval's
own requests carry theirs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class DocumentText:
    """A text sent to a model on behalf of one document of the task."""

    doc_id: int
    """lm-eval's index of the document in the task."""
    doc: dict
    """The document as the task loaded it."""
    text: str


class Scorer(Protocol):
    """The model calls of one task's second pass (see the module docstring)."""

    def generate(self, prompts: Sequence[DocumentText], settings: dict) -> list[str]:
        """M's answer to each prompt, sent as one user turn (the run's chat template and system
        instruction apply), with the generation ``settings`` (``until``, ``max_gen_toks``, ...)."""

    def generated_tokens(self, text: str) -> int | None:
        """M's tokens in ``text`` (no special tokens); None when M has no tokenizer."""

    def classify(self, docs: Sequence[dict], stage: str) -> list[list[float]]:
        """The classifier's (the judge's, else M's) log-likelihood of each label for each doc,
        with the task's own classification prompt; ``stage`` names the call's progress bar."""

    @property
    def measures_fluency(self) -> bool:
        """Whether the fluency scorer has a tokenizer (fluency is per token)."""

    def fluency_logliks(self, texts: Sequence[DocumentText]) -> list[float]:
        """The fluency scorer's (a fluency model, else M's) rolling log-likelihood of each text."""

    def fluency_tokens(self, text: str) -> int:
        """The fluency scorer's tokens in ``text`` (no special tokens)."""

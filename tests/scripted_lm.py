"""Scripted lm-eval models whose every output is known, for exact end-to-end checks.

:class:`ScriptedLM` (registered as ``macro-bench-scripted``):

* ``loglikelihood``: a keyword classifier. The text inside lm-eval's SIB prompt gets
  log-likelihood 0 for each label whose keyword it contains and -100 for the others,
  so p(label) is 1 (or split evenly) for a keyword label, and uniform 1/7 when no
  keyword is present (the prediction is then the first label, science/technology).
* ``generate_until``: looks the document's text up in a JSON script
  ``{original text: generation}`` (model_args ``script=PATH``).
* ``tok_encode``: whitespace tokens, so truncation and fluency count words.
* ``loglikelihood_rolling``: -0.5 nats per whitespace token, or -1.0 when the text
  holds ``ZAP``: the log perplexity ratio of a ZAP counterfactual is exactly 0.5.

:class:`WeightedLM` scores "science/technology" by the summed weights of the words a
text holds and "travel" by a constant, for faithfulness checks with known
sensitivities. Both count their calls, so tests can check that the second pass batches.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

from lm_eval.api.model import LM
from lm_eval.api.registry import register_model

KEYWORDS = {
    "science/technology": ("rocket", "科"),
    "travel": ("hotel", "旅"),
    "politics": ("election", "选"),
    "sports": ("football", "球"),
    "health": ("doctor", "医"),
    "entertainment": ("film", "影"),
    "geography": ("mountain", "山"),
}
LABELS = tuple(KEYWORDS)
MATCH, NO_MATCH = 0.0, -100.0
SLOW_MARKER = "ZAP"

_PROMPT_START, _PROMPT_END = "the text: '", "' belong to: \n\n"


def classified_text(context: str) -> str:
    start = context.index(_PROMPT_START) + len(_PROMPT_START)
    return context[start : context.rindex(_PROMPT_END)]


def prompt_text(prompt: str) -> str:
    """The document text inside a generation prompt."""
    return prompt.split("\n\nText: ", 1)[1].split("\n\nEdit the text", 1)[0]


def label_loglik(text: str, label: str) -> float:
    lowered = text.lower()
    return MATCH if any(keyword in lowered for keyword in KEYWORDS[label]) else NO_MATCH


def rolling_loglik(text: str) -> float:
    per_token = -1.0 if SLOW_MARKER in text else -0.5
    return per_token * len(text.split())


class _CountingLM(LM):
    def __init__(self, script: str | None = None, **kwargs) -> None:
        super().__init__()
        self.script: dict[str, str] = {}
        if script:
            with open(script, encoding="utf-8") as handle:
                self.script = json.load(handle)
        self.calls: Counter[str] = Counter()
        self.prompts: list[str] = []

    @classmethod
    def create_from_arg_string(cls, arg_string: str, additional_config: dict | None = None):
        args = dict(item.split("=", 1) for item in arg_string.split(",") if item)
        return cls(**args)

    def tok_encode(self, text: str, add_special_tokens: bool = False) -> list[str]:
        return text.split()

    def generate_until(self, requests) -> list[str]:
        self.calls["generate_until"] += 1
        self.prompts.extend(request.args[0] for request in requests)
        return [self.script[prompt_text(request.args[0])] for request in requests]

    def loglikelihood_rolling(self, requests) -> list[float]:
        self.calls["loglikelihood_rolling"] += 1
        return [rolling_loglik(request.args[0]) for request in requests]


@register_model("macro-bench-scripted")
class ScriptedLM(_CountingLM):
    def loglikelihood(self, requests) -> list[tuple[float, bool]]:
        self.calls["loglikelihood"] += 1
        results = []
        for request in requests:
            context, continuation = request.args
            results.append((label_loglik(classified_text(context), continuation.strip()), False))
        return results


class WeightedLM(_CountingLM):
    """science/technology scores the summed weights of a text's words; travel scores ``baseline``."""

    def __init__(self, weight: Callable[[str], float], baseline: float = 0.5, **kwargs) -> None:
        super().__init__(**kwargs)
        self.weight, self.baseline = weight, baseline

    def label_logliks(self, text: str) -> list[float]:
        science = sum(self.weight(word) for word in text.replace(".", " . ").split())
        return [science, self.baseline] + [NO_MATCH] * (len(LABELS) - 2)

    def loglikelihood(self, requests) -> list[tuple[float, bool]]:
        self.calls["loglikelihood"] += 1
        return [
            (self.label_logliks(classified_text(request.args[0]))[LABELS.index(request.args[1].strip())], False)
            for request in requests
        ]

"""A scripted lm-eval model for robustness tests: any answer, any score, failure on demand.

Under protocol 2 the model is asked four kinds of things about a document x: the
task's own classification of x, one generation (the counterfactual x'), the
classification of x' and of each deletion intervention (x without some tokens), and
the rolling log-likelihoods of x and x' for fluency. The second pass sends the
classifications with an empty ``doc`` (they may be shared between documents), so
this model tells documents apart by the text it classifies: every test document
carries the tag ``ref<index_id>`` several times (more often than an intervention
deletes tokens), and :func:`document_of` reads it back.

* ``generate_until``: ``generations[index_id]``, verbatim, with :data:`PROMPT` replaced
  by the prompt the model was given (so a test can script "echo the prompt").
* ``loglikelihood``: ``label_scores[index_id][kind]`` (the 7 label scores) for the
  texts of that document of one kind: ``"original"`` (x itself), ``"deletion"`` (a
  text whose words all come from x: an intervention) or ``"counterfactual"``
  (anything else carrying the tag). A text with no scripted scores, or without a
  tag, gets the keyword classifier of ``tests/scripted_lm.py``.
* ``loglikelihood_rolling``: ``rolling_scores[index_id]`` for x and x' of that
  document, either one number for both or ``(score of x, score of x')``; otherwise
  ``scripted_lm.rolling_loglik``.
* ``tok_encode``: whitespace tokens, so truncation and fluency have a tokenizer.
* ``fail``: ``{method: n}``: the n-th call of that method and every later one raise
  :class:`ModelCrashed` (n = 1: it may never be called), to interrupt a run at a
  chosen point or to prove a method is never reached.

Every method counts its calls (``calls``) and logs how many requests each call
carried (``requests``), so a test can check exactly what was recomputed.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

from lm_eval.api.model import LM

from .scripted_lm import LABELS, classified_text, label_loglik, rolling_loglik

PROMPT = "\u27eaPROMPT\u27eb"
SCORE_KINDS = ("original", "counterfactual", "deletion")
_TAG = re.compile(r"\bref(\d+)\b")


class ModelCrashed(RuntimeError):
    """Raised by a GarbageLM method listed in ``fail``."""


def document_tag(index_id: int) -> str:
    return f"ref{index_id}"


def document_of(text: str) -> int | None:
    """The index_id whose tag ``text`` carries (the first one), or None."""
    found = _TAG.search(text)
    return None if found is None else int(found.group(1))


class GarbageLM(LM):
    def __init__(
        self,
        originals: Mapping[int, str],
        generations: Mapping[int, str],
        label_scores: Mapping[int, Mapping[str, Sequence[float]]] | None = None,
        rolling_scores: Mapping[int, float | Sequence[float]] | None = None,
        fail: Mapping[str, int] | None = None,
    ) -> None:
        super().__init__()
        self.originals = dict(originals)
        self.generations = dict(generations)
        self.label_scores = dict(label_scores or {})
        for index_id, by_kind in self.label_scores.items():
            unknown = set(by_kind) - set(SCORE_KINDS)
            if unknown:
                raise ValueError(f"label_scores[{index_id}] has kinds {sorted(unknown)}; use {SCORE_KINDS}")
        self.rolling_scores = dict(rolling_scores or {})
        self.fail = dict(fail or {})
        self.calls: Counter[str] = Counter()
        self.requests: list[tuple[str, int]] = []
        self.kinds_scored: Counter[str] = Counter()

    def script(self) -> dict:
        """Everything the model answers from, as a JSON-able object (Python's json keeps NaN/inf)."""
        return {"originals": self.originals, "generations": self.generations,
                "label_scores": self.label_scores, "rolling_scores": self.rolling_scores}

    @classmethod
    def from_json(cls, path: str | Path, **kwargs) -> GarbageLM:
        """The model :meth:`script` describes, for a subprocess.

        JSON keeps lone surrogates as ``\\udXXX`` escapes, so any Python str survives.
        """
        script = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(**{name: {int(key): value for key, value in table.items()} for name, table in script.items()},
                   **kwargs)

    def _enter(self, method: str, requests: list) -> None:
        self.calls[method] += 1
        self.requests.append((method, len(requests)))
        if self.calls[method] >= self.fail.get(method, float("inf")):
            raise ModelCrashed(f"GarbageLM.{method} was told to fail from call {self.fail[method]} on")

    def _kind(self, index_id: int, text: str) -> str:
        original = self.originals[index_id]
        if text == original:
            return "original"
        return "deletion" if set(text.split()) <= set(original.split()) else "counterfactual"

    def tok_encode(self, text: str, add_special_tokens: bool = False) -> list[str]:
        return text.split()

    def generate_until(self, requests) -> list[str]:
        self._enter("generate_until", requests)
        return [self.generations[r.doc["index_id"]].replace(PROMPT, r.args[0]) for r in requests]

    def loglikelihood(self, requests) -> list[tuple[float, bool]]:
        self._enter("loglikelihood", requests)
        results = []
        for request in requests:
            context, continuation = request.args
            text, label = classified_text(context), continuation.strip()
            index_id = document_of(text)
            scores = None
            if index_id in self.originals:
                kind = self._kind(index_id, text)
                self.kinds_scored[kind] += 1
                scores = self.label_scores.get(index_id, {}).get(kind)
            score = label_loglik(text, label) if scores is None else scores[LABELS.index(label)]
            results.append((score, False))
        return results

    def loglikelihood_rolling(self, requests) -> list[float]:
        self._enter("loglikelihood_rolling", requests)
        results = []
        for request in requests:
            (text,) = request.args
            index_id = request.doc["index_id"]
            scripted = self.rolling_scores.get(index_id)
            if scripted is None:
                results.append(rolling_loglik(text))
            elif isinstance(scripted, Sequence):
                results.append(scripted[0] if text == self.originals[index_id] else scripted[1])
            else:
                results.append(scripted)
        return results

"""The macro-bench protocol (version 3): what the model is asked, and what it never sees.

Per document x of a task (dataset, language), with gold label g:

1. **Predict.** The task's own lm-eval requests classify x with lm-eval's prompt for
   that dataset (a ``multiple_choice`` task), so lm-eval batches and caches them like
   any other task and ``accuracy`` is lm-eval's ``acc``. y = argmax over the labels'
   log-likelihoods, ties to the lowest label index (as lm-eval's ``acc``).
2. **Explain.** In the second pass (:mod:`macro_bench.second_pass`), on the same live
   model, the generation prompt tells M that it answered y and asks for x edited as
   little as possible so that it would answer the target t instead
   (:func:`choose_target`: t != y, from a SHA-256 of the document key and y, so every
   model that made the same prediction gets the same target).
3. **Check.** The counterfactual x' is extracted, classified with the same prompt,
   and gated (:mod:`macro_bench.metrics.document`); only valid counterfactuals get the
   held-out interventions (:mod:`macro_bench.interventions`) and fluency scoring.

Documents are evaluated in :func:`document_order_key` order, a SHA-256 order of the
document key: ``--limit N`` takes the same topic-mixed sample of parallel sentences in
every language. Python's ``hash()`` is never used: it is salted per process.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

PROTOCOL_VERSION = "3"


def digest_int(*parts: object) -> int:
    """A 64-bit integer from SHA-256 of the parts: the same in every process and machine."""
    payload = "\x1f".join(str(part) for part in parts).encode("utf-8")
    return int.from_bytes(hashlib.sha256(payload).digest()[:8], "big")


def choose_target(doc_key: int | str, prediction: str, labels: Sequence[str]) -> str:
    """The target label: one of the labels other than the model's own prediction."""
    if prediction not in labels:
        raise ValueError(f"prediction {prediction!r} is not one of the labels {tuple(labels)}")
    others = [label for label in labels if label != prediction]
    return others[digest_int("macro-bench-target", doc_key, prediction) % len(others)]


def document_order_key(doc_key: int | str) -> int:
    """Sort key that puts a split's documents in a fixed pseudo-random order.

    SIB-200's files are sorted by topic and lm-eval's ``--limit N`` takes the first N
    documents, so in file order a limited run would see one topic only. Keyed on the
    document key alone, the order is the same in every language.
    """
    return digest_int("macro-bench-order", doc_key)

"""The macro-bench protocol: what the model is asked, and what it never sees.

Everything here is a pure function of the document and the language, so the same
document gets the same target label and the same held-out interventions for every
model, in every process and on every machine:

* ``choose_target``: the counterfactual target label t != gold, from a SHA-256 of
  ``index_id`` alone. SIB-200 is parallel (one ``index_id`` = one Flores sentence in
  205 languages), so a sentence gets the same target in every language.
* ``document_order_key``: documents are evaluated in a SHA-256 order of ``index_id``,
  so ``--limit`` takes a topic-mixed sample, the same sentences in every language.
* ``deletion_sets``: the K held-out deletion interventions S_1..S_K on the tokens
  of x, each of size ceil(0.2 * n) (at least 1), drawn by a NumPy PCG64 generator
  seeded from SHA-256(language, index_id, k). Python's ``hash()`` is never used: it is
  salted per process.
* ``generation_prompt`` / ``classification_prompt``: the two prompts. The
  classification prompt and label strings are exactly those of lm-eval's own SIB task
  (afrobench ``sib_<lang>_prompt_1``) so that our ``accuracy`` equals that task's
  ``acc`` for the same model and documents.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from macro_bench.data import LABELS

PROTOCOL_VERSION = "1"
DEFAULT_INTERVENTIONS = 8
DELETION_FRACTION = 0.2

# lm-eval's afrobench SIB prompt_1, verbatim (lm_eval/tasks/afrobench/sib/prompt_1).
_CLASSIFICATION_TEMPLATE = (
    "Given the categories science/technology, travel, politics, sports, health, "
    "entertainment, or geography; what category does the text: '{text}' belong to: \n\n"
)
# lm-eval joins context and choice with the task's default target_delimiter.
LABEL_CONTINUATIONS = tuple(f" {label}" for label in LABELS)

_GENERATION_TEMPLATE = (
    "A text classifier assigns one of these topics to a text: {labels}.\n"
    "The following {language_name} text has the topic \"{gold}\".\n\n"
    "Text: {text}\n\n"
    "Edit the text as little as possible so that its topic becomes \"{target}\". "
    "Change only the words needed, keep everything else identical, and keep the text in "
    "{language_name}. Answer with the edited text only.\n\n"
    "Edited text:"
)


def _digest_int(*parts: object) -> int:
    payload = "\x1f".join(str(part) for part in parts).encode("utf-8")
    return int.from_bytes(hashlib.sha256(payload).digest()[:8], "big")


def choose_target(index_id: int, gold_label: str) -> str:
    """The target label for a document: one of the six labels other than the gold one."""
    if gold_label not in LABELS:
        raise ValueError(f"unknown SIB-200 label {gold_label!r}; expected one of {LABELS}")
    others = [label for label in LABELS if label != gold_label]
    return others[_digest_int("macro-bench-target", index_id) % len(others)]


def document_order_key(index_id: int) -> int:
    """Sort key that puts a split's documents in a fixed pseudo-random order.

    SIB-200's files are sorted by topic, and lm-eval's ``--limit N`` takes the first N
    documents, so in file order a limited run would see one topic only. Keyed on
    ``index_id`` alone, the order is the same in every language: a limited run still
    evaluates the same parallel sentences everywhere.
    """
    return _digest_int("macro-bench-order", index_id)


def deletion_set_size(n_tokens: int) -> int:
    return max(1, math.ceil(DELETION_FRACTION * n_tokens)) if n_tokens else 0


def deletion_sets(
    n_tokens: int, language: str, index_id: int, count: int = DEFAULT_INTERVENTIONS
) -> list[frozenset[int]]:
    """K deletion sets of token positions of x, identical for every model and process."""
    if count < 1:
        raise ValueError(f"the number of interventions must be at least 1, got {count}")
    size = deletion_set_size(n_tokens)
    sets = []
    for k in range(count):
        rng = np.random.Generator(np.random.PCG64(_digest_int("macro-bench-deletion", language, index_id, k)))
        sets.append(frozenset(int(p) for p in rng.choice(n_tokens, size=size, replace=False)))
    return sets


def classification_prompt(text: str) -> str:
    return _CLASSIFICATION_TEMPLATE.format(text=text)


def generation_prompt(text: str, gold_label: str, target_label: str, language_name: str) -> str:
    return _GENERATION_TEMPLATE.format(
        labels=", ".join(LABELS),
        language_name=language_name,
        gold=gold_label,
        text=text,
        target=target_label,
    )

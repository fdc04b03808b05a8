"""Faithfulness through lm-eval with scripted models whose sensitivities are known (issue 10, tests a-d).

Each scenario is a synthetic English SIB-200 split and a :class:`tests.scripted_lm.WeightedLM`
whose science/technology score is the sum of word weights (travel scores a constant).
The script edits chosen words, so E is known, and the model's sensitivity decides what
faithfulness must be:

(a) only the final period matters (the edit removes it and swaps one word): the period is
    never deleted and never in E, so it cannot make a signal: the mean is near 0;
(b) only the edited words matter: exactly +1 on every document;
(c) only the words the counterfactual kept matter: exactly -1 on every document;
(d) random word sensitivities: the bootstrap interval of the mean covers 0.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import bootstrap

from .scripted_lm import WeightedLM

REPO = Path(__file__).resolve().parents[1]
TASK = "macro_sib200_eng_Latn"
HEADER = "index_id\tcategory\ttext\n"

KEY_WORDS = ["rocket", "laser", "robot", "engine", "satellite", "telescope"]
PLAIN_WORDS = ["house", "garden", "river", "bread", "window", "chair", "market", "village", "summer", "teacher"]
SWAP = {word: f"{word}s" for word in KEY_WORDS + PLAIN_WORDS}  # an edit that keeps the text English
# Distinct flip words: one word written three times in a row would be a loop (repetition gate).
FLIP_WORDS = ["never", "nowhere", "nobody", "nothing"]


def _small_weight(word: str) -> float:
    """A fixed pseudo-random sensitivity in [-0.2, 0.2] per word."""
    return (int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "big") / 2**32 - 0.5) * 0.4


def _run(tmp_path, documents: list[tuple[str, str]], weight, baseline=0.5) -> list[dict]:
    folder = tmp_path / "sib200" / "eng_Latn"
    folder.mkdir(parents=True)
    rows = "".join(f"{i}\tscience/technology\t{text}\n" for i, (text, _) in enumerate(documents))
    for split in ("train", "dev", "test"):
        (folder / f"{split}.tsv").write_text(HEADER + rows, encoding="utf-8")
    script = tmp_path / "script.json"
    script.write_text(json.dumps(dict(documents)), encoding="utf-8")

    import lm_eval
    from lm_eval.tasks import TaskManager

    lm = WeightedLM(weight, baseline=baseline, script=str(script))
    manager = TaskManager(include_path=str(REPO / "tasks"), include_defaults=False,
                          metadata={"sib200_dir": str(tmp_path / "sib200")})
    results = lm_eval.simple_evaluate(model=lm, tasks=[TASK], task_manager=manager, log_samples=True)
    samples = results["samples"][TASK]
    assert all(sample["valid_rate"] == 1.0 for sample in samples), "every scripted edit must be valid"
    return samples


def _sentence(rng: random.Random, keys: int, plains: int, article: bool = True) -> list[str]:
    words = rng.sample(KEY_WORDS, keys) + rng.sample(PLAIN_WORDS, plains)
    rng.shuffle(words)
    return ["The", *words] if article else words


def test_a_only_the_final_period_matters_gives_no_negative_signal(tmp_path):
    rng = random.Random(1)
    documents = []
    for _ in range(200):
        words = _sentence(rng, 2, 6)
        edited = list(words)
        edited[3] = SWAP[edited[3]]
        documents.append((" ".join(words) + " .", " ".join(edited)))  # the edit also drops the period
    # x scores at least 5 - 1.6 > 1.8 (travel); without the period at most 1.6: every edit flips.
    samples = _run(tmp_path, documents, lambda word: 5.0 if word == "." else _small_weight(word), baseline=1.8)
    values = np.array([s["faithfulness"] for s in samples if "faithfulness" in s])
    assert len(values) == 200
    interval = bootstrap((values,), np.mean, random_state=0).confidence_interval
    assert interval.low <= 0 <= interval.high and abs(values.mean()) < 0.1


@pytest.mark.parametrize(("edited_words", "expected"), [("key", 1.0), ("plain", -1.0)])
def test_b_c_only_edited_or_only_kept_words_matter(tmp_path, edited_words, expected):
    rng = random.Random(2)
    documents = []
    for _ in range(20):
        # No article: in (c) every word outside E must be one the model uses.
        words = _sentence(rng, 4, 4, article=False)
        if edited_words == "key":  # (b) the edit replaces every word the model uses
            edited = [SWAP[w] if w in KEY_WORDS else w for w in words]
        else:  # (c) the edit replaces only words the model ignores, and adds a flip
            flips = iter(FLIP_WORDS)
            edited = [next(flips) if w in PLAIN_WORDS else w for w in words]
        documents.append((" ".join(words) + " .", " ".join(edited) + " ."))

    def weight(word: str) -> float:
        return 1.0 if word in KEY_WORDS else -20.0 if word in FLIP_WORDS else 0.0

    samples = _run(tmp_path, documents, weight)
    assert [s["faithfulness"] for s in samples] == pytest.approx([expected] * 20, abs=1e-12)
    # The random baseline on the same documents is not pinned to the answer.
    assert abs(np.mean([s["faithfulness_random"] for s in samples])) < abs(expected)


def test_d_random_sensitivities_give_an_interval_covering_zero(tmp_path):
    rng = random.Random(3)
    documents = []
    for _ in range(200):
        words = _sentence(rng, 3, 6)
        edited = list(words)
        for position, flip in zip(rng.sample(range(1, len(words)), 3), FLIP_WORDS, strict=False):
            edited[position] = flip
        documents.append((" ".join(words) + " .", " ".join(edited) + " ."))

    def weight(word: str) -> float:
        return -20.0 if word in FLIP_WORDS else 5 * _small_weight(word)

    # x scores at least -10 > -12 (travel); three flip words push x' below it.
    samples = _run(tmp_path, documents, weight, baseline=-12.0)
    values = np.array([s["faithfulness"] for s in samples if "faithfulness" in s])
    assert len(values) >= 190
    interval = bootstrap((values,), np.mean, random_state=0).confidence_interval
    assert interval.low <= 0 <= interval.high

"""Per-document metric kernels; each module docstring states its formula, range and direction."""

from macro_bench.metrics.faithfulness import FaithfulnessResult, faithfulness, pearson_correlation
from macro_bench.metrics.fluency import NO_DEFINED_RATIO, fluency_ratio, geometric_mean
from macro_bench.metrics.gates import (
    is_copy,
    is_empty,
    is_label_insertion,
    is_label_statement,
    is_prompt_echo,
    kept_share,
    label_words_in,
    normalize_whitespace,
)
from macro_bench.metrics.minimality import (
    Minimality,
    MinimalityResult,
    edited_positions,
    minimality,
)
from macro_bench.metrics.validity import flip, predict, target_hit

__all__ = [
    "NO_DEFINED_RATIO",
    "FaithfulnessResult",
    "Minimality",
    "MinimalityResult",
    "edited_positions",
    "faithfulness",
    "flip",
    "fluency_ratio",
    "geometric_mean",
    "is_copy",
    "is_empty",
    "is_label_insertion",
    "is_label_statement",
    "is_prompt_echo",
    "kept_share",
    "label_words_in",
    "minimality",
    "normalize_whitespace",
    "pearson_correlation",
    "predict",
    "target_hit",
]

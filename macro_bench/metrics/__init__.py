"""Per-document metric kernels; each module docstring states its formula, range and direction."""

from macro_bench.metrics.faithfulness import faithfulness, is_testable
from macro_bench.metrics.fluency import FLUENCY_CLIP, log_perplexity_ratio
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
from macro_bench.metrics.similarity import SIMILARITY_SIGNATURE, similarity
from macro_bench.metrics.validity import flip, predict, target_hit

__all__ = [
    "FLUENCY_CLIP",
    "SIMILARITY_SIGNATURE",
    "Minimality",
    "MinimalityResult",
    "edited_positions",
    "faithfulness",
    "flip",
    "is_copy",
    "is_empty",
    "is_label_insertion",
    "is_label_statement",
    "is_prompt_echo",
    "is_testable",
    "kept_share",
    "label_words_in",
    "log_perplexity_ratio",
    "minimality",
    "normalize_whitespace",
    "predict",
    "similarity",
    "target_hit",
]

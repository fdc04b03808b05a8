"""``--model_args`` strings (``pretrained=DIR,gguf_file=F.gguf``) read as lm-eval reads them."""

from __future__ import annotations

from typing import Any


def parse_model_args(text: str) -> dict[str, Any]:
    """``text`` parsed by lm-eval's own parser, so values are typed as ``--model_args`` types them.

    lm-eval's parser raises bare ``ValueError``s (and others) on malformed strings;
    they propagate unchanged.
    """
    from lm_eval.utils import simple_parse_args_string

    return simple_parse_args_string(text)

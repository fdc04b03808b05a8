"""Which family a model belongs to, for the model-family x language-family table.

Resolved in this order, and the source is reported beside the family:

1. ``--model-family NAME=FAMILY`` given by the user;
2. ``model_type`` (else the first ``architectures`` entry) of the model's Hugging Face
   ``config.json``, when the recorded ``pretrained=`` is a local folder or is in the
   local Hugging Face cache (nothing is downloaded);
3. the model's name up to its size or variant suffix: ``HuggingFaceTB/SmolLM2-135M-Instruct``
   gives ``SmolLM2``, ``google/gemma-3-270m`` gives ``gemma-3``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

_SIZE = re.compile(r"^(\d+(\.\d+)?[kmbt]|\d+x\d+(\.\d+)?b|a\d+(\.\d+)?b)$", re.IGNORECASE)
_VARIANT = {"instruct", "it", "chat", "base", "hf", "sft", "dpo", "rlhf", "gguf", "awq", "gptq", "pt"}


def parse_overrides(pairs: list[str], option: str = "--model-family", value: str = "FAMILY") -> dict[str, str]:
    overrides = {}
    for pair in pairs:
        # rpartition: a local model path may itself contain "=", a family or display name should not.
        name, sep, family = pair.rpartition("=")
        if not sep or not name.strip() or not family.strip():
            raise ValueError(f"{option} expects NAME={value}, got {pair!r}")
        overrides[name.strip()] = family.strip()
    return overrides


def override_matches(name: str, model: str) -> bool:
    # Users type what they see: the full hub id, its last part, or lm-eval's folder name.
    return name in (model, model.rsplit("/", 1)[-1], re.sub(r"[\"<>:/|\\?*\[\]]+", "__", model))


def family_from_name(model: str) -> str:
    base = model.rstrip("/").rsplit("/", 1)[-1]
    kept = []
    for token in re.split(r"[-_]", base):
        if _SIZE.match(token) or token.lower() in _VARIANT:
            break
        kept.append(token)
    return "-".join(kept) or base


def _hub_cache() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]) / "hub"
    return Path.home() / ".cache" / "huggingface" / "hub"


def find_hf_config(pretrained: str) -> Path | None:
    local = Path(pretrained).expanduser()
    if (local / "config.json").is_file():
        return local / "config.json"
    snapshots = _hub_cache() / f"models--{pretrained.replace('/', '--')}" / "snapshots"
    configs = sorted(snapshots.glob("*/config.json"), key=lambda p: p.stat().st_mtime) if snapshots.is_dir() else []
    return configs[-1] if configs else None


def family_from_hf_config(path: Path) -> str | None:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(config.get("model_type"), str) and config["model_type"]:
        return config["model_type"]
    architectures = config.get("architectures")
    if isinstance(architectures, list) and architectures and isinstance(architectures[0], str):
        return architectures[0]
    return None


def resolve_model_family(model: str, pretrained: str | None, overrides: dict[str, str]) -> tuple[str, str]:
    """Return (family, source) where source is 'override', 'hf-config <path>' or 'name'."""
    for name, family in overrides.items():
        if override_matches(name, model):
            return family, "override"
    config_path = find_hf_config(pretrained or model)
    if config_path is not None:
        family = family_from_hf_config(config_path)
        if family is not None:
            return family, f"hf-config {config_path}"
    return family_from_name(model), "name"

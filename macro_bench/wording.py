"""Small helpers for the texts macro-bench prints (no heavy imports: the demo and the bars use them)."""

from __future__ import annotations


def plural(count: int, noun: str, plural_noun: str | None = None) -> str:
    """'1 language', '2 languages', '0 documents'."""
    return f"{count} {noun if count == 1 else plural_noun or noun + 's'}"

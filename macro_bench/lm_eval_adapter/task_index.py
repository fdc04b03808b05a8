"""What a task name stands for in an lm-eval ``TaskManager``'s index, read without lm-eval's types.

lm-eval 0.4.13's ``TaskManager.task_index`` maps every task, group and tag name to an
entry whose ``kind`` is an enum (``TAG``, ``GROUP``, a task kind), whose ``cfg`` is the
YAML config, and, for a tag, whose ``tags`` are the tasks it covers. The early run
check (:func:`macro_bench.preflight.macro_tasks`) expands the names a run asks for
through it, so a user's YAML that includes our template counts as ours.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

TAG = "TAG"
GROUP = "GROUP"


@dataclass(frozen=True)
class IndexEntry:
    kind: str
    """``TAG``, ``GROUP``, or the name of a task kind (``TASK``, ``PY_TASK``); "" if unknown."""
    members: tuple[Any, ...]
    """A tag's tasks (sorted); a group's ``task`` list (a dict member by its ``task``); else ()."""
    config: Mapping[str, Any]
    """The entry's YAML config ({} if none)."""


def task_index_lookup(task_manager: Any) -> Callable[[str], IndexEntry | None] | None:
    """``name -> its IndexEntry`` (None for a name the index lacks) in ``task_manager``'s
    index, or None when there is no task manager or it has no index."""
    index = getattr(task_manager, "task_index", None) if task_manager is not None else None
    if index is None:
        return None

    def lookup(name: str) -> IndexEntry | None:
        entry = index.get(name)
        if entry is None:
            return None
        kind = getattr(getattr(entry, "kind", None), "name", "")
        config = getattr(entry, "cfg", None) or {}
        if kind == TAG:
            members = tuple(sorted(getattr(entry, "tags", ())))
        elif kind == GROUP:
            listed = config.get("task") if isinstance(config.get("task"), list) else []
            members = tuple(member.get("task") if isinstance(member, dict) else member for member in listed)
        else:
            members = ()
        return IndexEntry(kind, members, config)

    return lookup

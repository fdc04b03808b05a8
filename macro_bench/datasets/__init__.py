"""The dataset registry: every dataset macro-bench evaluates, each one module with a :class:`DatasetSpec`.

A dataset declares what is specific to it, and nothing else is: its loader, its
label set (in lm-eval's ``doc_to_choice`` order), the label words the
label-statement gate looks for, which field of a document the counterfactual
edits, the generation prompt and the words extraction recognizes an echo of it by,
its languages and its task template's classification. The classification of a text is
lm-eval's own task's ``doc_to_text``/``doc_to_choice`` (written in the spec exactly as
lm-eval's own task for that dataset writes them), which the second pass reuses for every
edited text. Protocol, metrics, the second pass and the aggregator are the same for
every dataset, and read the dataset through :func:`get_dataset`.

Adding a dataset (PAWS-X, MasakhaNEWS, ...): a module here with a ``SPEC``, one
:func:`register` line below, and ``python -m macro_bench.task_configs`` to write its
task folder. A dataset kept elsewhere (a test's toy one) is registered the same way.
"""

from __future__ import annotations

from macro_bench.datasets import sib200, xnli
from macro_bench.datasets.spec import DatasetSpec

_REGISTERED: dict[str, DatasetSpec] = {}
# The registered datasets as one tuple, replaced (never changed) on every registration, so
# that a reader can keep what it derived from them until the tuple is another one.
_IN_ORDER: tuple[DatasetSpec, ...] = ()


def register(spec: DatasetSpec) -> None:
    """Make ``spec`` a dataset that tasks, the second pass and the generator can name."""
    if _REGISTERED.get(spec.name, spec) is not spec:
        raise ValueError(f"a different macro-bench dataset is already registered as {spec.name!r}")
    _REGISTERED[spec.name] = spec
    _refresh()


def unregister(name: str) -> None:
    """Forget a dataset :func:`register` added (a test's own dataset, once the test is done)."""
    del _REGISTERED[name]
    _refresh()


def registered_datasets() -> tuple[DatasetSpec, ...]:
    """Every registered dataset, in registration order: the same tuple until the next (un)registration."""
    return _IN_ORDER


def _refresh() -> None:
    global _IN_ORDER
    _IN_ORDER = tuple(_REGISTERED.values())


def get_dataset(name: str) -> DatasetSpec:
    if name not in _REGISTERED:
        raise KeyError(f"unknown macro-bench dataset {name!r}; known: {', '.join(sorted(_REGISTERED))}")
    return _REGISTERED[name]


register(sib200.SPEC)
register(xnli.SPEC)

__all__ = ["DatasetSpec", "get_dataset", "register", "registered_datasets", "unregister"]

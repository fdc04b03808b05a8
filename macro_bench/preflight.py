"""Checks every macro-bench setting of a run before lm-eval loads the model.

lm-eval 0.4.13's ``simple_evaluate`` (which the ``lm_eval`` command line calls)
constructs the model first and builds the tasks only afterwards; building a task is
when our loader (:func:`macro_bench.documents.load_documents`) runs. Checking there
alone meant that a bad data folder surfaced after the model had loaded (a minute or
more), and a misspelled ``--metadata`` key not at all: lm-eval passes every key to
every task, so the loader cannot tell a typo from a model argument, and
``{"sib200_directory": ...}`` quietly fell back to the hub.

The start-up hook therefore wraps ``lm_eval.evaluator.simple_evaluate``
(:func:`macro_bench.lm_eval_adapter.patches.patch_simple_evaluate`) so that :func:`check_run`
runs first, with the arguments the caller gave. When the run includes a macro-bench
task it refuses, with one line that says what is wrong and what to do:

* a ``--metadata`` key that is neither a macro-bench option
  (:data:`macro_bench.options.OPTION_KEYS`), a dataset's data-folder key
  (:attr:`DatasetSpec.metadata_keys <macro_bench.datasets.DatasetSpec>`) nor a
  ``--model_args`` key (lm-eval merges those into the metadata); it names the key and
  the known keys. When the run also has tasks that are not macro-bench's, the key may
  be theirs, so it is a warning instead;
* ``--limit`` of 0 or less (lm-eval would build every request and then report
  ``did not find any docs``);
* an option value :meth:`macro_bench.options.Options.from_metadata` refuses;
* a language or dataset macro-bench does not have;
* a local data folder (``sib200_dir``/``xnli_dir`` or their environment variables)
  that is missing or malformed: each task's split is read and validated exactly as
  the task will read it, and the message names the folder, the file (and line) and
  the expected layout. Data read from the hub is not fetched here;
* an installed lm-eval that lacks what the second pass uses
  (:func:`macro_bench.lm_eval_adapter.bridge.check_lm_eval`).

Every refusal is a :class:`RunCheckError` whose message is one line, so it is the
last line printed. The loader repeats these checks when the tasks are built, for
callers that build tasks without ``simple_evaluate``.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable, Mapping
from typing import Any

log = logging.getLogger(__name__)


class RunCheckError(ValueError):
    """A run setting macro-bench cannot use, found before the model is loaded."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split("\n")))


def known_metadata_keys() -> tuple[str, ...]:
    """The ``--metadata`` keys macro-bench reads: its options and every dataset's data keys."""
    from macro_bench.datasets import registered_datasets
    from macro_bench.options import OPTION_KEYS

    keys = list(OPTION_KEYS)
    for dataset in registered_datasets():
        keys.extend(key for key in dataset.metadata_keys if key not in keys)
    return tuple(keys)


def check_run(
    *,
    tasks: Any,
    limit: float | None,
    metadata: Mapping[str, Any] | None,
    model_args: str | Mapping[str, Any] | None,
    task_manager: Any,
) -> bool:
    """Raise :class:`RunCheckError` if the run's macro-bench tasks cannot run as asked.

    The arguments are ``simple_evaluate``'s. Does nothing when no macro-bench task is
    asked for. Returns whether the run has macro-bench tasks (all checked).
    """
    specs = list(tasks) if isinstance(tasks, (list, tuple)) else [tasks]
    ours, has_others = macro_tasks(specs, task_manager)
    if not ours:
        return False
    model_keys = set(_model_args(model_args))
    if task_manager is not None:
        # simple_evaluate hands its tasks this manager's metadata (the CLI merged model_args in).
        runtime = dict(getattr(task_manager, "metadata", None) or {})
    else:
        runtime = {**_model_args(model_args), **(metadata or {})}
    first = next(iter(ours))

    _check_keys(runtime.keys() - model_keys, has_others)
    _check_limit(limit, first)
    _check_installed_lm_eval()
    _check_options(runtime)
    checked: set[tuple] = set()
    for task_name, task_metadata in ours.items():
        _check_task(task_name, {**task_metadata, **runtime}, checked)
    return True


# lm-eval's logger's child, so the line appears among lm-eval's own at the run's --verbosity.
_progress_log = logging.getLogger("lm_eval.macro_bench.preflight")


def announce_model_load(model: Any, model_args: str | Mapping[str, Any] | None) -> None:
    """Say that the model loads now: lm-eval and transformers can print nothing for a minute.

    Called after :func:`check_run` passed; ``model`` and ``model_args`` are
    ``simple_evaluate``'s. A model passed already constructed loads nothing.
    """
    if not isinstance(model, str):
        return
    arguments = _model_args(model_args)
    name = arguments.get("pretrained") or model
    gguf = arguments.get("gguf_file")
    _progress_log.info(
        "macro-bench: settings checked; loading the model %s%s now (%s; lm-eval builds the tasks after it)",
        name,
        f" ({gguf})" if gguf else "",
        "a GGUF file is read and dequantized first, with little output for a minute or more on a CPU"
        if gguf else "this can take a while with little output",
    )


def macro_tasks(specs: Iterable[Any], task_manager: Any = None) -> tuple[dict[str, dict], bool]:
    """Our tasks among ``simple_evaluate``'s task specs, ``{task name: its YAML metadata}``,
    and whether any spec is not (or may not be) ours.

    Names are looked up in the task manager's index when there is one (so a user's
    task YAML that includes our template counts, and a user's task of the same name
    that does not is left alone); otherwise in macro-bench's own task list. Tags and
    groups are expanded. Config dicts and built tasks count when their metadata names
    a macro-bench dataset.
    """
    from macro_bench.documents import DATASET_KEY
    from macro_bench.lm_eval_adapter.task_index import GROUP, TAG, task_index_lookup

    lookup = task_index_lookup(task_manager)
    ours: dict[str, dict] = {}
    has_others = False

    def visit(spec: Any, seen: frozenset[str]) -> bool:
        """Add spec's tasks to ``ours``; return whether any part of it is someone else's."""
        if isinstance(spec, str):
            if lookup is None:
                found = _own_tasks().get(spec)
                if found is None:
                    return True
                ours.update(found)
                return False
            entry = lookup(spec)
            if entry is None or spec in seen:
                return True
            if entry.kind == TAG:
                return any([visit(member, seen | {spec}) for member in entry.members])
            if entry.kind == GROUP:
                return not entry.members or any([visit(m, seen | {spec}) for m in entry.members])
            return visit_config(spec, entry.config)
        if isinstance(spec, dict):
            return visit_config(spec.get("task"), spec)
        config = getattr(spec, "config", None)
        if config is not None and hasattr(config, "metadata"):
            return visit_config(getattr(config, "task", None), {"metadata": config.metadata})
        return True

    def visit_config(name: Any, config: Mapping[str, Any]) -> bool:
        task_metadata = config.get("metadata") if isinstance(config, Mapping) else None
        if isinstance(name, str) and isinstance(task_metadata, Mapping) and task_metadata.get(DATASET_KEY):
            ours[name] = dict(task_metadata)
            return False
        return True

    for spec in specs:
        has_others |= visit(spec, frozenset())
    return ours, has_others


def _own_tasks() -> dict[str, dict[str, dict]]:
    """Every task and tag name our YAMLs define -> its tasks' metadata (as task_configs writes it)."""
    from macro_bench.datasets import registered_datasets
    from macro_bench.documents import DATASET_KEY, LANGUAGE_KEY
    from macro_bench.languages import get_language, tag_for_family
    from macro_bench.task_configs import all_tasks_tag, task_name

    names: dict[str, dict[str, dict]] = {}
    for dataset in registered_datasets():
        for code in dataset.language_codes():
            name = task_name(dataset.name, code)
            task = {name: {DATASET_KEY: dataset.name, LANGUAGE_KEY: code}}
            for key in (name, all_tasks_tag(dataset.name), tag_for_family(get_language(code).family)):
                names.setdefault(key, {}).update(task)
    return names


def _model_args(model_args: str | Mapping[str, Any] | None) -> dict[str, Any]:
    if isinstance(model_args, Mapping):
        return dict(model_args)
    if isinstance(model_args, str) and model_args.strip():
        from macro_bench.lm_eval_adapter.model_args import parse_model_args

        return parse_model_args(model_args)
    return {}


def _check_keys(user_keys: Iterable[str], has_others: bool) -> None:
    known = known_metadata_keys()
    for key in sorted(map(str, user_keys)):
        if key in known:
            continue
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        message = (
            f"--metadata key {key!r} is not a macro-bench option{hint}; the keys macro-bench reads are "
            f"{', '.join(known)} (--model_args keys are passed on too and are allowed). A misspelled data "
            "folder key would silently read the data from the hub instead."
        )
        if has_others:
            log.warning("%s It is allowed because the run has tasks that are not macro-bench's.", message)
        else:
            raise RunCheckError(message)


def _check_limit(limit: Any, task_name: str) -> None:
    if limit is None or isinstance(limit, bool) or not isinstance(limit, (int, float)):
        return
    if limit <= 0:
        raise RunCheckError(
            f"--limit {limit:g} leaves no document to evaluate in {task_name}: give a number of documents "
            "(--limit 20) or a fraction of them (--limit 0.1), or leave --limit out to evaluate them all."
        )


def _check_installed_lm_eval() -> None:
    from macro_bench.lm_eval_adapter.bridge import BridgeError, check_lm_eval

    try:
        check_lm_eval()
    except BridgeError as error:
        raise RunCheckError(str(error)) from None


def _check_options(runtime: Mapping[str, Any]) -> None:
    from macro_bench.options import Options, OptionsError

    try:
        Options.from_metadata(runtime)
    except OptionsError as error:
        raise RunCheckError(str(error)) from None


def _check_task(task_name: str, task_metadata: Mapping[str, Any], checked: set[tuple]) -> None:
    """The dataset and language exist, and a local data folder holds the task's split, valid."""
    from macro_bench.datasets import get_dataset
    from macro_bench.documents import DATASET_KEY, LANGUAGE_KEY
    from macro_bench.languages import get_language

    language = task_metadata.get(LANGUAGE_KEY)
    try:
        dataset = get_dataset(task_metadata[DATASET_KEY])
        if not language:
            raise KeyError(f"task metadata lacks {LANGUAGE_KEY!r}; regenerate the task YAMLs")
        get_language(language)
    except KeyError as error:
        raise RunCheckError(f"{task_name}: {error.args[0] if error.args else error}") from None
    folder = dataset.local_dir(task_metadata)
    if folder is None or (dataset.name, language, str(folder)) in checked:
        return
    checked.add((dataset.name, language, str(folder)))
    try:
        dataset.load(language, task_metadata)
    except (ValueError, KeyError, OSError) as error:
        message = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
        if dataset.expected_layout and dataset.expected_layout not in message:
            message = f"{message.rstrip('.')}; {dataset.expected_layout}."
        raise RunCheckError(f"{task_name}: {message}") from None

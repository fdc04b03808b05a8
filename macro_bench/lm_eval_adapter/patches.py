"""Adds macro-bench's tasks folder to every lm-eval ``TaskManager``, and checks runs early.

Loaded by :mod:`macro_bench.lm_eval_adapter.hook` right after ``lm_eval.tasks.manager``
or ``lm_eval.evaluator`` is imported (never at interpreter start-up). The hook hands
:func:`patch_task_manager` its one-warning-per-process function, so this module does
not import the hook back.

:func:`patch_simple_evaluate` makes ``simple_evaluate`` (the ``lm_eval`` command
line's entry, and the library's) run :func:`macro_bench.preflight.check_run` before
anything else: lm-eval constructs the model before it builds the tasks, so without it
a bad macro-bench setting would only be found after the model had loaded. A run with
macro-bench tasks that passes then says that the model is loading
(:func:`macro_bench.preflight.announce_model_load`). A setting
check_run refuses raises its error; a failure of the check itself costs one warning
and the run goes on (the loader checks again when the tasks are built).

:func:`patch_task_manager`'s rules:

- our folder goes *before* the user's include_path entries: lm-eval lets later
  paths override earlier ones, so a user's task of the same name still wins
  (the order lm-eval's plugin PR #4015 also uses: built-ins, plugins, user);
- no double registration: lm-eval scans each include_path entry on its own, so
  a YAML reached from two entries is registered twice (one "overrides existing
  task" warning per task, and tags rebuilt from the later entry only). A user
  entry that is our folder or a parent of it therefore replaces ours, and user
  entries inside our folder are folded into ours (which sits at the first of
  them, keeping the user's ordering against their other paths);
- our failures end in the hook's one warning (the ``warn`` it passes) and an
  unmodified call; lm-eval's own errors propagate untouched.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path

_MARK = "_macro_bench_include_path"
_CHECK_MARK = "_macro_bench_checks_run"
# The simple_evaluate arguments macro_bench.preflight.check_run reads.
_CHECKED_ARGUMENTS = ("tasks", "limit", "metadata", "model_args", "task_manager")
_check_warned = False


def merged_include_path(ours: Path, include_path):
    """Return the include_path to hand lm-eval: the user's, with our folder added once.

    Mirrors how lm-eval reads include_path: None/empty means no user paths, a
    list or tuple is several paths, anything else is one path.
    """
    if not include_path:
        user = []
    elif isinstance(include_path, (list, tuple)):
        user = list(include_path)
    else:
        user = [include_path]
    ours_resolved = ours.resolve()
    merged = []
    placed = False
    for entry in user:
        resolved = Path(entry).resolve()
        if resolved == ours_resolved or resolved in ours_resolved.parents:
            # The user's entry already scans all of our folder.
            return include_path
        if ours_resolved in resolved.parents:
            # Part of our folder: our folder scans it anyway.
            if not placed:
                merged.append(ours)
                placed = True
            continue
        merged.append(entry)
    return merged if placed else [ours, *user]


def patch_task_manager(module, warn: Callable[[str], None]) -> None:
    """Wrap module.TaskManager.__init__ so our tasks folder joins include_path.

    ``warn(reason)`` reports a failure of ours (the hook's one warning per process).
    """
    try:
        cls = module.TaskManager
        original = cls.__init__
        if getattr(original, _MARK, False):
            return
        code = original.__code__
        names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
        if "include_path" not in names:
            raise TypeError("TaskManager.__init__ has no include_path parameter")
        index = names.index("include_path")
        # Its position among *args (self excluded), or None when keyword-only.
        position = index - 1 if index < code.co_argcount else None
    except Exception as exc:  # noqa: BLE001 - lm-eval changed shape: warn, leave it alone
        warn(f"{module.__name__}.TaskManager is not what macro-bench expects: {exc}")
        return

    @functools.wraps(original)
    def __init__(self, *args, **kwargs):
        try:
            from macro_bench.task_paths import tasks_dir

            if position is not None and len(args) > position:
                merged = merged_include_path(tasks_dir(), args[position])
                new_args, new_kwargs = (*args[:position], merged, *args[position + 1 :]), kwargs
            else:
                merged = merged_include_path(tasks_dir(), kwargs.get("include_path"))
                new_args, new_kwargs = args, {**kwargs, "include_path": merged}
        except Exception as exc:  # noqa: BLE001 - our failure must not become lm-eval's
            warn(str(exc))
            return original(self, *args, **kwargs)
        # Outside the try: lm-eval's own errors propagate untouched.
        return original(self, *new_args, **new_kwargs)

    setattr(__init__, _MARK, True)
    cls.__init__ = __init__


def _warn_check_skipped(reason: str) -> None:
    """One warning per process when the early check cannot run; the run goes on."""
    global _check_warned
    if _check_warned:
        return
    _check_warned = True
    try:
        import warnings

        warnings.warn(
            f"macro-bench could not check the run before the model loads ({reason}); its tasks "
            "check their settings when they are built, after the model has loaded.",
            RuntimeWarning,
            stacklevel=3,
        )
    except Exception:  # noqa: BLE001 - a warning must never take the process down
        pass


def patch_simple_evaluate(module) -> None:
    """Wrap module.simple_evaluate so macro-bench's settings are checked before the model loads."""
    try:
        original = module.simple_evaluate
        if getattr(original, _CHECK_MARK, False):
            return
        parameters = inspect.signature(original)
        missing = [name for name in _CHECKED_ARGUMENTS if name not in parameters.parameters]
        if missing:
            raise TypeError(f"it takes no {', '.join(missing)}")
    except Exception as exc:  # noqa: BLE001 - lm-eval changed shape: warn, leave it alone
        _warn_check_skipped(f"lm_eval.evaluator.simple_evaluate is not what macro-bench expects: {exc}")
        return

    @functools.wraps(original)
    def simple_evaluate(*args, **kwargs):
        try:
            bound = parameters.bind(*args, **kwargs)
        except TypeError:
            # The caller's mistake: lm-eval's own call reports it.
            return original(*args, **kwargs)
        try:
            from macro_bench.preflight import RunCheckError, announce_model_load, check_run

            arguments = {name: bound.arguments.get(name, parameters.parameters[name].default)
                         for name in _CHECKED_ARGUMENTS}
        except Exception as exc:  # noqa: BLE001 - our failure must not become lm-eval's
            _warn_check_skipped(repr(exc))
            return original(*args, **kwargs)
        try:
            if check_run(**arguments):
                announce_model_load(bound.arguments.get("model"), arguments["model_args"])
        except RunCheckError:
            raise  # the user's setting: refused before the model loads
        except Exception as exc:  # noqa: BLE001 - a bug in the check must not stop the run
            _warn_check_skipped(repr(exc))
        return original(*args, **kwargs)

    setattr(simple_evaluate, _CHECK_MARK, True)
    module.simple_evaluate = simple_evaluate

"""Start-up hook that lets lm-eval 0.4.13 find macro-bench's tasks without --include_path.

lm-eval 0.4.13 has no plugin mechanism for tasks: a ``TaskManager`` only scans
its built-in folder plus ``include_path``. ``macro_bench_hook.pth`` (in
site-packages) imports this module in every Python process; it puts a finder
first on ``sys.meta_path`` that ignores every import except the two in
:data:`TARGETS`. When ``lm_eval.tasks.manager`` is loaded, :mod:`.patches` wraps
``TaskManager.__init__`` so our tasks folder joins ``include_path`` — which
covers every place lm-eval builds one (``lm_eval run``/``ls``/``validate``,
``simple_evaluate``, direct library use). When ``lm_eval.evaluator`` is loaded, it
wraps ``simple_evaluate`` so that macro-bench's settings are checked before the
model loads (lm-eval loads the model before it builds the tasks).

This module (and its two import-free packages) is all that runs at start-up, so it
stays small and imports nothing else (compiling it is part of the cost when bytecode
caching is off); :mod:`.patches` is imported only once lm-eval is, and gets this
module's :func:`warn_once` as an argument rather than importing it back. It
must never raise: any surprise ends in at most one warning per process, and
lm-eval then behaves exactly as without macro-bench.
``MACRO_BENCH_NO_HOOK=1`` keeps it from being imported at all (checked in the
.pth line).
"""

import sys

TARGET = "lm_eval.tasks.manager"
EVALUATOR = "lm_eval.evaluator"
TARGETS = (TARGET, EVALUATOR)
_warned = False


def warn_once(reason):
    """Emit the hook's single warning for this process, then stay quiet."""
    global _warned
    if _warned:
        return
    _warned = True
    try:
        import warnings

        warnings.warn(
            "macro-bench could not register its tasks with lm-eval automatically "
            f"({reason}). Pass --include_path with the folder printed by "
            "`python -c 'from macro_bench.task_paths import tasks_dir; print(tasks_dir())'`, "
            "or set MACRO_BENCH_NO_HOOK=1 to turn the hook off.",
            RuntimeWarning,
            stacklevel=2,
        )
    except Exception:  # noqa: BLE001 - a warning must never take the process down
        pass


def _patch(module):
    try:
        from macro_bench.lm_eval_adapter.patches import patch_simple_evaluate, patch_task_manager
    except Exception as exc:  # noqa: BLE001 - broken install: lm-eval must still load
        warn_once(f"importing macro_bench.lm_eval_adapter.patches failed: {exc!r}")
        return
    if module.__name__ == EVALUATOR:
        patch_simple_evaluate(module)
    else:
        patch_task_manager(module, warn_once)


class _PatchingLoader:
    """Runs the real loader, patches the fresh module, then steps out of the way."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        # Put the real loader back first so the module looks untouched to
        # anything that inspects __loader__/__spec__ (inspect, reload, resources).
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        _patch(module)

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _Finder:
    """sys.meta_path entry that only ever reacts to the modules in TARGETS, once each."""

    def __init__(self, pending=TARGETS):
        self._pending = set(pending)

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self._pending:
            return None
        try:
            # One shot per target: once all are found we are no longer needed.
            # Every other finder is asked here, so returning None after removing
            # ourselves cannot make the import system skip one.
            self._pending.discard(fullname)
            if not self._pending and self in sys.meta_path:
                sys.meta_path.remove(self)
            for finder in sys.meta_path:
                if finder is self:
                    continue
                find_spec = getattr(finder, "find_spec", None)
                spec = find_spec(fullname, path, target) if find_spec else None
                if spec is not None:
                    break
            else:
                return None
            if spec.loader is None or not hasattr(spec.loader, "exec_module"):
                warn_once(f"{fullname} is loaded in a way macro-bench cannot hook")
                return spec
            spec.loader = _PatchingLoader(spec.loader)
            return spec
        except Exception as exc:  # noqa: BLE001 - let the normal import machinery go on
            warn_once(f"hooking {fullname} failed: {exc!r}")
            return None


def install():
    """Activate the hook in this process (idempotent)."""
    pending = []
    for name in TARGETS:
        module = sys.modules.get(name)
        if module is not None:
            # lm-eval was imported before the hook ran (e.g. installed late): patch now.
            _patch(module)
        else:
            pending.append(name)
    if pending and not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder(pending))


try:
    install()
except Exception as _exc:  # noqa: BLE001 - start-up must survive anything
    warn_once(f"installing the hook failed: {_exc!r}")

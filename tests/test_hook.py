"""The start-up hook (macro_bench_hook.pth + macro_bench/lm_eval_adapter/hook.py), end to end.

Every check runs in a fresh interpreter, because the hook acts at start-up.
Each child processes the repository's .pth with ``site.addsitedir`` — the very
function Python's start-up uses for site-packages — with the checkout first on
PYTHONPATH, so the hook is tested whether or not macro-bench is installed in
the environment running pytest (an installed hook would be the same module and
make the second import a no-op).

These tests need the repository's tasks/ folder to hold at least one task YAML.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PTH = REPO / "macro_bench_hook.pth"
TASKS = REPO / "tasks"
WARNING_TEXT = "macro-bench could not register its tasks"


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory) -> Path:
    """A folder holding only our .pth, to hand to site.addsitedir in children."""
    folder = tmp_path_factory.mktemp("site")
    shutil.copy(PTH, folder / PTH.name)
    return folder


def run_child(
    code: str,
    site_dir: Path,
    tmp_path: Path,
    *,
    no_site: bool = False,
    pythonpath: list[Path] | None = None,
    env_extra: dict[str, str] | None = None,
    flags: tuple[str, ...] = (),
) -> subprocess.CompletedProcess:
    """Run code in a new interpreter after processing our .pth like start-up does.

    no_site=True starts Python with -S, so the environment's site-packages (and
    the real lm-eval) are invisible: that is how "lm-eval absent" and "a fake,
    changed lm-eval" are simulated.
    """
    env = {k: v for k, v in os.environ.items() if k != "MACRO_BENCH_NO_HOOK"}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in [*(pythonpath or []), REPO])
    env.update(env_extra or {})
    prelude = f"import site; site.addsitedir({str(site_dir)!r})\n"
    argv = [sys.executable, *flags, *(["-S"] if no_site else []), "-c", prelude + textwrap.dedent(code)]
    return subprocess.run(
        argv, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
    )


def ok_json(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


# Indexes our tasks with the hook, plus lm-eval's own view of tasks/ (hook off
# for that TaskManager via an explicit include_path that the hook dedupes).
INDEX_CODE = """
import json, logging
from lm_eval.tasks import TaskManager
records = []
class Keep(logging.Handler):
    def emit(self, record):
        records.append(record.getMessage())
logging.getLogger("lm_eval.tasks._index").addHandler(Keep())
tm = TaskManager({call})
print(json.dumps({{
    "tasks": tm.all_tasks,
    "include_path": [str(p) for p in tm.include_path] if isinstance(tm.include_path, list) else tm.include_path,
    "paths": {{n: str(e.yaml_path) for n, e in tm.task_index.items() if e.yaml_path}},
    "overrides": [m for m in records if "overrides existing task" in m],
    "patched": getattr(TaskManager.__init__, "_macro_bench_include_path", False),
}}))
"""


@pytest.fixture(scope="module")
def our_tasks(site_dir, tmp_path_factory) -> list[str]:
    """Task names lm-eval itself finds in tasks/ when pointed at it with the hook off."""
    proc = run_child(
        INDEX_CODE.format(call=f"include_path={str(TASKS)!r}, include_defaults=False"),
        site_dir,
        tmp_path_factory.mktemp("ref"),
        env_extra={"MACRO_BENCH_NO_HOOK": "1"},
    )
    names = ok_json(proc)["tasks"]
    assert any(n.startswith("macro_") for n in names), (
        f"tasks/ holds no macro_* task YAML that lm-eval can index: {names}"
    )
    return names


def test_hook_registers_our_tasks_without_include_path(site_dir, tmp_path, our_tasks):
    proc = run_child(INDEX_CODE.format(call="include_defaults=False"), site_dir, tmp_path)
    result = ok_json(proc)
    assert result["patched"] is True
    assert sorted(result["tasks"]) == sorted(our_tasks)
    assert result["overrides"] == []
    assert proc.stderr == ""


def test_hook_handles_positional_include_path(site_dir, tmp_path, our_tasks):
    # TaskManager(verbosity, include_path, include_defaults): positional form.
    proc = run_child(INDEX_CODE.format(call="None, None, False"), site_dir, tmp_path)
    assert sorted(ok_json(proc)["tasks"]) == sorted(our_tasks)


def test_simple_evaluate_style_construction_sees_our_tasks(site_dir, tmp_path, our_tasks):
    # simple_evaluate() builds TaskManager(metadata=...) with no include_path at all.
    proc = run_child(
        INDEX_CODE.format(call="metadata={'pretrained': 'x'}, include_defaults=False"),
        site_dir,
        tmp_path,
    )
    assert set(our_tasks) <= set(ok_json(proc)["tasks"])


def test_no_hook_env_var_leaves_lm_eval_untouched(site_dir, tmp_path, our_tasks):
    code = """
    import json, sys
    from lm_eval.tasks import TaskManager
    tm = TaskManager(include_defaults=False)
    print(json.dumps({
        "hook_loaded": "macro_bench.lm_eval_adapter.hook" in sys.modules,
        "patched": getattr(TaskManager.__init__, "_macro_bench_include_path", False),
        "tasks": tm.all_tasks,
    }))
    """
    proc = run_child(code, site_dir, tmp_path, env_extra={"MACRO_BENCH_NO_HOOK": "1"})
    result = ok_json(proc)
    assert result == {"hook_loaded": False, "patched": False, "tasks": []}


@pytest.mark.parametrize("form", ["absolute", "relative", "list"])
def test_include_path_covering_our_folder_is_not_added_twice(site_dir, tmp_path, our_tasks, form):
    # lm_eval --include_path <our tasks dir>: our folder must not be scanned a
    # second time (lm-eval would warn "overrides existing task" for each task).
    include = {
        "absolute": str(TASKS),
        "relative": os.path.relpath(TASKS, tmp_path),
        "list": [str(TASKS)],
    }[form]
    proc = run_child(
        INDEX_CODE.format(call=f"include_path={include!r}, include_defaults=False"),
        site_dir,
        tmp_path,
    )
    result = ok_json(proc)
    assert set(our_tasks) <= set(result["tasks"])
    assert result["overrides"] == []
    # Left exactly as the user gave it: our folder was not put in front.
    assert result["include_path"] == include


def test_merged_include_path_rules(tmp_path):
    # The pure merge rule, for the cases too slow to run through lm-eval (a
    # parent of our folder makes lm-eval scan the whole checkout).
    from macro_bench.lm_eval_adapter.patches import merged_include_path

    ours = tmp_path / "repo" / "tasks"
    inner = ours / "family"
    inner.mkdir(parents=True)
    other = tmp_path / "other"
    assert merged_include_path(ours, None) == [ours]
    assert merged_include_path(ours, "") == [ours]
    assert merged_include_path(ours, str(other)) == [ours, str(other)]
    assert merged_include_path(ours, (str(other),)) == [ours, str(other)]
    # Covered by the user's entry: returned as given, same object.
    for covering in (str(ours), ours.parent, [str(other), str(ours.parent)]):
        assert merged_include_path(ours, covering) is covering
    # Inside our folder: folded into ours at the first such entry.
    assert merged_include_path(ours, [str(inner), str(other), str(inner)]) == [ours, str(other)]
    assert merged_include_path(ours, [str(other), inner]) == [str(other), ours]


def test_include_path_inside_our_folder_is_folded_into_ours(site_dir, tmp_path, our_tasks):
    # Scanning tasks/ and a folder inside it would register those YAMLs twice
    # (and rebuild their tags from the inner folder only); our folder takes the
    # user's entry's place instead, after the user's other path.
    subdir = sorted({p.parent for p in TASKS.rglob("*.yaml")})[0]
    other = tmp_path / "other_tasks"
    other.mkdir()
    proc = run_child(
        INDEX_CODE.format(
            call=f"include_path={[str(other), str(subdir)]!r}, include_defaults=False"
        ),
        site_dir,
        tmp_path,
    )
    result = ok_json(proc)
    assert sorted(result["tasks"]) == sorted(our_tasks)
    assert result["overrides"] == []
    assert result["include_path"] == [str(other), str(TASKS)]


def test_user_include_path_overrides_our_task_of_the_same_name(site_dir, tmp_path, our_tasks):
    name = next(n for n in our_tasks if n.startswith("macro_"))
    user_dir = tmp_path / "user_tasks"
    user_dir.mkdir()
    user_yaml = user_dir / "mine.yaml"
    user_yaml.write_text(
        f"task: {name}\ndataset_path: json\noutput_type: generate_until\n"
        "doc_to_text: '{{text}}'\ndoc_to_target: '{{label}}'\n"
    )
    proc = run_child(
        INDEX_CODE.format(call=f"include_path={str(user_dir)!r}, include_defaults=False"),
        site_dir,
        tmp_path,
    )
    result = ok_json(proc)
    assert Path(result["paths"][name]) == user_yaml
    # A genuine override by a different file keeps lm-eval's warning.
    assert any(name in message for message in result["overrides"])


def test_cli_ls_lists_our_tasks_without_include_path(site_dir, tmp_path, our_tasks):
    # `lm_eval ls tasks` indexes all of lm-eval's built-in tasks too: the slow test here.
    code = """
    import sys
    from lm_eval.__main__ import cli_evaluate
    sys.argv = ["lm_eval", "ls", "tasks"]
    cli_evaluate()
    """
    proc = run_child(code, site_dir, tmp_path)
    assert proc.returncode == 0, proc.stderr
    # Markdown tables, one per kind (groups, subtasks, tags): "|name   |path   |...".
    first_cells = [
        line.split("|")[1].strip() for line in proc.stdout.splitlines() if line.startswith("|")
    ]
    for name in our_tasks:
        assert first_cells.count(name) == 1, name


def test_python_starts_silently_without_lm_eval(site_dir, tmp_path):
    code = """
    import sys
    assert any(type(f).__name__ == "_Finder" for f in sys.meta_path), sys.meta_path
    try:
        import lm_eval
    except ModuleNotFoundError:
        print("absent")
    """
    proc = run_child(code, site_dir, tmp_path, no_site=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "absent"
    assert proc.stderr == ""


def test_shadowed_package_without_hook_costs_one_warning(site_dir, tmp_path):
    # Another "macro_bench" earlier on sys.path (say an old checkout): the .pth
    # line's import fails, and start-up must go on with a single warning.
    shadow = tmp_path / "shadow"
    (shadow / "macro_bench").mkdir(parents=True)
    (shadow / "macro_bench" / "__init__.py").write_text("")
    proc = run_child("print('started')", site_dir, tmp_path, no_site=True, pythonpath=[shadow])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "started"
    assert proc.stderr.count("lm-eval task hook not loaded") == 1
    assert "No module named 'macro_bench.lm_eval_adapter'" in proc.stderr


def fake_lm_eval(root: Path, manager_source: str) -> Path:
    """Write a stand-in lm_eval package whose tasks.manager has the given source."""
    package = root / "fake" / "lm_eval"
    (package / "tasks").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "tasks" / "__init__.py").write_text("from lm_eval.tasks.manager import *\n")
    (package / "tasks" / "manager.py").write_text(textwrap.dedent(manager_source))
    return root / "fake"


def test_changed_lm_eval_without_task_manager_costs_one_warning(site_dir, tmp_path):
    fake = fake_lm_eval(tmp_path, "class TaskRegistry:\n    pass\n")
    code = """
    import lm_eval.tasks, lm_eval.tasks.manager
    print("started")
    """
    proc = run_child(code, site_dir, tmp_path, no_site=True, pythonpath=[fake])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "started"
    assert proc.stderr.count(WARNING_TEXT) == 1
    assert "TaskManager" in proc.stderr


def test_changed_task_manager_signature_is_left_alone_with_one_warning(site_dir, tmp_path):
    fake = fake_lm_eval(
        tmp_path,
        """
        class TaskManager:
            def __init__(self, paths=None):
                self.paths = paths
        """,
    )
    code = """
    from lm_eval.tasks import TaskManager
    print(TaskManager(paths=["x"]).paths, TaskManager().paths)
    """
    proc = run_child(code, site_dir, tmp_path, no_site=True, pythonpath=[fake])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['x'] None"
    assert proc.stderr.count(WARNING_TEXT) == 1
    assert "include_path" in proc.stderr


def test_lm_eval_errors_propagate_unchanged(site_dir, tmp_path):
    fake = fake_lm_eval(
        tmp_path,
        """
        class TaskManager:
            def __init__(self, verbosity=None, include_path=None):
                raise ValueError(f"lm-eval says no to {include_path!r}")
        """,
    )
    code = """
    from lm_eval.tasks import TaskManager
    try:
        TaskManager(include_path="user")
    except ValueError as exc:
        print(exc)
    """
    proc = run_child(code, site_dir, tmp_path, no_site=True, pythonpath=[fake])
    assert proc.returncode == 0, proc.stderr
    # The error is lm-eval's own, raised once, with our folder put in front.
    assert proc.stdout.strip().startswith("lm-eval says no to [")
    assert str(TASKS) in proc.stdout and "'user'" in proc.stdout
    assert proc.stderr == ""


def test_broken_install_without_tasks_folder_warns_once_and_keeps_lm_eval_working(site_dir, tmp_path):
    # A copy of the package with no tasks/ beside or inside it: tasks_dir() fails.
    broken = tmp_path / "broken"
    shutil.copytree(REPO / "macro_bench", broken / "macro_bench")
    fake = fake_lm_eval(
        tmp_path,
        """
        class TaskManager:
            def __init__(self, verbosity=None, include_path=None):
                self.include_path = include_path
        """,
    )
    code = """
    from lm_eval.tasks import TaskManager
    print(TaskManager(include_path="user").include_path, TaskManager().include_path)
    """
    # -W always: Python would otherwise hide the repeat itself; the hook must.
    proc = run_child(
        code, site_dir, tmp_path, no_site=True, pythonpath=[fake, broken], flags=("-W", "always")
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "user None"
    assert proc.stderr.count(WARNING_TEXT) == 1
    assert "task folder not found" in proc.stderr

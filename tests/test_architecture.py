"""The package's import structure: lm-eval is reached only through ``macro_bench.lm_eval_adapter``,
and no module of ``macro_bench`` depends on itself through its imports.

Both read the source (``ast``), not the running interpreter, so imports inside functions
(which most of the lm-eval ones are: they keep start-up cheap) count like top-level ones.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "macro_bench"
ADAPTER = "macro_bench.lm_eval_adapter"
# Calls that import the module named by their first argument.
_IMPORTING_CALLS = {"import_module", "__import__"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def _imported_names(name: str, path: Path) -> list[tuple[int, str]]:
    """(line, dotted name) of everything ``path`` imports, relative imports resolved.

    ``from a import b`` yields ``a.b`` (a submodule or a name in ``a``); a call to
    ``importlib.import_module`` or ``__import__`` with a literal name yields that name.
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(parent + ([base] if base else []))
            found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Call):
            function = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if (function in _IMPORTING_CALLS and node.args and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                found.append((node.lineno, node.args[0].value))
    return found


def _imports_lm_eval(dotted: str) -> bool:
    return dotted == "lm_eval" or dotted.startswith("lm_eval.")


def lm_eval_imports_outside_adapter() -> list[str]:
    """``module:line imports name`` for every lm-eval import outside the adapter package."""
    return [
        f"{name}:{line} imports {dotted}"
        for name, path in _modules().items()
        if name != ADAPTER and not name.startswith(ADAPTER + ".")
        for line, dotted in _imported_names(name, path)
        if _imports_lm_eval(dotted)
    ]


def import_graph() -> dict[str, set[str]]:
    """macro_bench module -> the macro_bench modules it imports (a name in a module counts as the module)."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for _, dotted in _imported_names(name, path):
            while dotted and dotted not in modules:
                dotted = dotted.rpartition(".")[0]
            if dotted and dotted != name:
                graph[name].add(dotted)
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm), sorted."""
    index: dict[str, int] = {}
    lowest: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(module: str) -> None:
        index[module] = lowest[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph[module]):
            if imported not in index:
                connect(imported)
                lowest[module] = min(lowest[module], lowest[imported])
            elif imported in on_stack:
                lowest[module] = min(lowest[module], index[imported])
        if lowest[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            connect(module)
    return sorted(components)


def test_only_the_adapter_package_imports_lm_eval():
    assert lm_eval_imports_outside_adapter() == []


def test_macro_bench_has_no_import_cycle():
    cycles = import_cycles(import_graph())
    assert cycles == [], "; ".join(f"import cycle among {', '.join(cycle)}" for cycle in cycles)


def test_the_checks_see_function_local_and_dynamic_imports(tmp_path):
    source = (
        "import importlib\n"
        "def f():\n"
        "    from lm_eval.api import model\n"
        "    return importlib.import_module('lm_eval.utils')\n"
    )
    path = tmp_path / "probe.py"
    path.write_text(source, encoding="utf-8")
    found = [dotted for _, dotted in _imported_names("probe", path) if _imports_lm_eval(dotted)]
    assert found == ["lm_eval.api.model", "lm_eval.utils"]


def test_the_cycle_finder_names_each_cycle_once():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a", "e"}, "e": {"d"}, "f": {"f", "a"}}
    assert import_cycles(graph) == [["a", "b", "c"], ["d", "e"]]

"""No import cycles: every module imports on its own, and the module-level import graph is acyclic.

Importing each module alone in a fresh interpreter catches a cycle that a lucky import order hides
(``import cloudfiles`` first would have loaded the other half already). The static graph is built
from the source with ``ast``: only imports that run when the module loads count (module level, not
inside functions, not under ``if TYPE_CHECKING:``), because a function-level import is the usual,
deliberate way to depend on a module lazily.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("cloudfiles", "cloudfiles_cli")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


MODULES = _modules()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    """Import statements that run at module load: the module body and its if/try/with blocks."""
    out: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out.append(node)
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                out += _runtime_imports(node.body)
            out += _runtime_imports(node.orelse)
        elif isinstance(node, ast.Try):
            out += _runtime_imports(node.body)
            for handler in node.handlers:
                out += _runtime_imports(handler.body)
            out += _runtime_imports(node.orelse) + _runtime_imports(node.finalbody)
        elif isinstance(node, ast.With):
            out += _runtime_imports(node.body)
    return out


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _targets(module: str, path: Path, node: ast.Import | ast.ImportFrom) -> set[str]:
    """Our modules one import statement loads (``from . import x`` loads the submodule x)."""
    if isinstance(node, ast.Import):
        names = {alias.name for alias in node.names}
    else:
        base = _resolve(module, path.name == "__init__.py", node)
        names = {base} | {f"{base}.{alias.name}" for alias in node.names}
    out: set[str] = set()
    for name in names:
        if name in MODULES:
            out.add(name)
    return out


def import_graph() -> dict[str, set[str]]:
    """module -> our modules it imports when it loads (parent packages are loaded first, not edges)."""
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        edges: set[str] = set()
        for node in _runtime_imports(tree.body):
            edges |= _targets(module, path, node)
        # A package's __init__ runs before its submodules: importing an ancestor is no edge.
        graph[module] = {e for e in edges if not (module == e or module.startswith(e + "."))}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as ``[a, b, ..., a]``, or None (iterative depth-first search, three colours)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    for start in sorted(graph):
        if state.get(start):
            continue
        path = [start]
        stack = [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


#: Deferred (function-level) imports that close a loop on purpose: (importer, imported) -> why.
DEFERRED_BY_DESIGN: dict[tuple[str, str], str] = {
    ("cloudfiles.gcs", "cloudfiles.cloudfiles"): "cloud-files 6.4.3's gcs helpers build a CloudFiles; the facade re-exports gcs",
    ("cloudfiles.interfaces", "cloudfiles.connectionpools"): "6.4.3 compat: pool classes offered lazily by the package",
    ("cloudfiles.cloudfiles", "cloudfiles.cloudfile"): "6.4.3 compat: CloudFile (built on CloudFiles) re-exported lazily",
}


def _all_imports(node: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement that can run (functions included; ``if TYPE_CHECKING:`` bodies never do)."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [node]
    out: list[ast.Import | ast.ImportFrom] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                out += _all_imports(other)
            continue
        out += _all_imports(child)
    return out


def deferred_graph() -> dict[str, set[str]]:
    """The import graph with imports inside functions counted too (minus DEFERRED_BY_DESIGN)."""
    graph = import_graph()
    for module, path in MODULES.items():
        for node in _all_imports(ast.parse(path.read_text(), filename=str(path))):
            graph[module] |= {
                e for e in _targets(module, path, node)
                if not (module == e or module.startswith(e + ".")) and (module, e) not in DEFERRED_BY_DESIGN
            }
    return graph


def test_find_cycle_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_module_level_imports_have_no_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_deferred_imports_hide_no_cycle() -> None:
    # An import moved into a function to dodge a cycle is still a cycle between two ideas.
    cycle = find_cycle(deferred_graph())
    assert cycle is None, "import cycle through a deferred import: " + " -> ".join(cycle or [])


def _importable(name: str) -> bool:
    # fsspec support is optional: its module needs the fsspec package.
    import importlib.util

    return not (name == "cloudfiles.fsspec" and importlib.util.find_spec("fsspec") is None)


def test_each_module_imports_alone() -> None:
    # One fresh interpreter per module, all started at once (about 60 of them: run serially they
    # would cost half a minute).
    procs = {
        module: subprocess.Popen(
            [sys.executable, "-c", f"import {module}"],
            cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        for module in sorted(MODULES)
        if _importable(module)
    }
    failed = {}
    for module, proc in procs.items():
        _out, err = proc.communicate(timeout=300)
        if proc.returncode != 0:
            failed[module] = err.strip().splitlines()[-1:]
    assert not failed, failed

#!/usr/bin/env python3
"""Record the public module-level names of cloud-files 6.4.3, for tests/unit/test_public_names.py.

Regenerate the committed list with a Python that has PyPI ``cloud-files==6.4.3`` installed (and not
this package), e.g.::

    python3 -m venv /tmp/venv-cf && /tmp/venv-cf/bin/pip install cloud-files==6.4.3
    /tmp/venv-cf/bin/python ci/gen-public-names.py > tests/data/cloudfiles_6_4_3_public_names.json

(on the project machine the reference venv is /work/oracle/venv-cf).

"Public" means: a name not starting with '_' that the module binds itself (def, class, assignment) or
imports from another cloud-files module (``from .lib import toiter``, ``from . import paths``, a star
import of a cloud-files module). Names a module merely imports from the standard library or a
third-party package (os, re, tenacity, typing.Optional, BytesIO, ...) and ``for`` loop variables that
leak to module level are not part of the API. A name the source never binds at top level (a submodule
attached to its package by the import system, a global assigned inside a function) counts when its
value is a cloud-files module or an object whose ``__module__`` is a cloud-files module; a name the
module provides through its own ``__getattr__`` (listed by its ``__dir__``) counts as its own.

For each name the record holds its ``kind``: ``module``, ``class``, ``function`` (any callable that is
not a class), ``type alias`` (a typing construct) or the type name of a constant. Constants of simple
types also carry their ``value`` (JSON: tuples and sets become lists, with ``vtype`` telling which),
compiled regexps their pattern and flags. Functions carry their parameters; classes carry their public
methods' parameters. The test imports :func:`describe_module` from this file and runs it on our
modules, so both sides are described by the same code.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import os
import re
import sys
import typing
from types import ModuleType
from typing import Any

MODULES = [
    "cloudfiles",
    "cloudfiles.cloudfiles",
    "cloudfiles.compression",
    "cloudfiles.connectionpools",
    "cloudfiles.exceptions",
    "cloudfiles.gcs",
    "cloudfiles.interfaces",
    "cloudfiles.lib",
    "cloudfiles.monitoring",
    "cloudfiles.paths",
    "cloudfiles.resumable_tools",
    "cloudfiles.scheduler",
    "cloudfiles.secrets",
    "cloudfiles.threaded_queue",
    "cloudfiles.typing",
    "cloudfiles_cli",
    "cloudfiles_cli.cloudfiles_cli",
    "cloudfiles_cli.listing_db",
]

OURS = ("cloudfiles", "cloudfiles_cli")

SIMPLE = (str, int, float, bool, type(None), bytes)
HOME = os.path.expanduser("~")


def _ours(module_name: str | None) -> bool:
    return bool(module_name) and str(module_name).split(".")[0] in OURS


def _resolve(module: ModuleType, node: ast.ImportFrom) -> str:
    """The absolute module name an ``import from`` statement refers to."""
    if not node.level:
        return node.module or ""
    package = module.__name__ if hasattr(module, "__path__") else module.__name__.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def _bindings(module: ModuleType) -> dict[str, str]:
    """name -> how the module's top level binds it: 'def', 'import:<ours|foreign>', 'loop', 'star:<mod>'."""
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        return {}
    out: dict[str, str] = {}

    def targets(node: ast.AST) -> list[str]:
        # only names bound by the statement: ``a, (b, *c) = ...``, not the ``x`` of ``d[x] = ...``
        if isinstance(node, ast.Name):
            return [node.id]
        if isinstance(node, (ast.Tuple, ast.List)):
            return [name for elt in node.elts for name in targets(elt)]
        if isinstance(node, ast.Starred):
            return targets(node.value)
        return []

    def bind(name: str) -> None:
        # an assignment does not turn an imported name into a defined one (``except ImportError: x = None``)
        if not out.get(name, "").startswith("import:"):
            out[name] = "def"

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                out[node.name] = "def"
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    for name in targets(target):
                        bind(name)
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
                for name in targets(node.target):
                    bind(name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    name = alias.asname or alias.name.split(".")[0]
                    out[name] = "import:ours" if _ours(alias.name) else "import:foreign"
            elif isinstance(node, ast.ImportFrom):
                source_module = _resolve(module, node)
                for alias in node.names:
                    if alias.name == "*":
                        out[f"*{source_module}"] = f"star:{source_module}"
                        continue
                    name = alias.asname or alias.name
                    out[name] = "import:ours" if _ours(source_module) else "import:foreign"
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                for name in targets(node.target):
                    out.setdefault(name, "loop")
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, (ast.If, ast.While)):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)
            elif isinstance(node, ast.With):
                visit(node.body)

    visit(ast.parse(source).body)
    return out


def public_names(module: ModuleType) -> list[str]:
    """The module's public names, by the rule in this file's docstring."""
    bindings = _bindings(module)
    stars = [v.partition(":")[2] for v in bindings.values() if v.startswith("star:")]
    star_public: set[str] = set()
    for star in stars:
        if _ours(star):
            star_public.update(public_names(importlib.import_module(star)))
    names = []
    for name in dir(module):
        if name.startswith("_"):
            continue
        how = bindings.get(name)
        value = getattr(module, name)
        if name not in vars(module):
            how = "def"  # provided by the module's own __getattr__ (PEP 562): computed on access
        if how == "def" or how == "import:ours":
            names.append(name)
        elif how in ("import:foreign", "loop"):
            continue
        elif name in star_public:
            names.append(name)
        elif inspect.ismodule(value):
            if _ours(value.__name__):
                names.append(name)
        elif _ours(getattr(value, "__module__", None)) and not stars:
            names.append(name)
    return sorted(names)


def type_text(tp: Any) -> str:
    """A canonical text of a typing construct (``X | Y`` and ``Union[X, Y]`` read the same)."""
    if tp is type(None) or tp is None:
        return "None"
    if isinstance(tp, typing.TypeVar):
        return f"~{tp.__name__}"
    args = typing.get_args(tp)
    origin = typing.get_origin(tp)
    if origin is typing.Union or type(tp).__name__ == "UnionType":
        return "Union[" + ", ".join(sorted(type_text(a) for a in args)) + "]"
    if origin is not None:
        head = getattr(origin, "__qualname__", None) or str(origin)
        return f"{head}[" + ", ".join(type_text(a) for a in args) + "]"
    if isinstance(tp, type):
        return tp.__qualname__
    return str(tp)


def _is_type_alias(value: Any) -> bool:
    if value is typing.Any:
        return True
    module = type(value).__module__
    return module == "typing" or type(value).__name__ in ("UnionType", "GenericAlias")


def _simple(value: Any) -> bool:
    if isinstance(value, SIMPLE):
        return True
    if isinstance(value, (tuple, list, frozenset, set)):
        return all(_simple(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, SIMPLE) and _simple(v) for k, v in value.items())
    return False


def _jsonable(value: Any) -> Any:
    if isinstance(value, str):
        # paths under the home directory (CLOUD_FILES_DIR, ALIAS_FILE, ...) differ per machine
        return value.replace(HOME, "$HOME") if HOME not in ("", "/") else value
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_jsonable(v) for v in value), key=repr)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def parameters(fn: Any) -> list[list[Any]] | None:
    """``[[name, kind, has_default], ...]`` of a callable's signature; None when it has none to read."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    return [[p.name, p.kind.name, p.default is not p.empty] for p in sig.parameters.values()]


def _methods(cls: type) -> dict[str, Any]:
    """Public methods and properties a class offers, inherited ones included, but only those defined
    by a cloud-files class (not ``dict``'s methods of a dict subclass, not ``object``'s)."""
    out: dict[str, Any] = {}
    for name in sorted(dir(cls)):
        if name.startswith("_") and name not in ("__init__", "__call__", "__enter__", "__exit__"):
            continue
        owner = next((k for k in cls.__mro__ if name in vars(k)), None)
        if owner is None or not _ours(owner.__module__):
            continue
        raw = vars(owner)[name]
        if isinstance(raw, property):
            out[name] = {"kind": "property"}
        elif isinstance(raw, (staticmethod, classmethod)) or inspect.isfunction(raw):
            kind = "method" if inspect.isfunction(raw) else type(raw).__name__
            out[name] = {"kind": kind, "params": parameters(getattr(cls, name))}
    return out


def describe(value: Any) -> dict[str, Any]:
    """The record of one public name's value."""
    if inspect.ismodule(value):
        return {"kind": "module", "module": value.__name__}
    if value is typing.Any:
        return {"kind": "type alias", "value": "Any"}
    if inspect.isclass(value):
        record: dict[str, Any] = {"kind": "class", "methods": _methods(value)}
        record["bases"] = [b.__name__ for b in value.__mro__[1:] if b is not object]
        return record
    if _is_type_alias(value):
        return {"kind": "type alias", "value": type_text(value)}
    if callable(value):
        return {"kind": "function", "params": parameters(value)}
    record = {"kind": type(value).__name__}
    if isinstance(value, re.Pattern):
        record["value"] = {"pattern": value.pattern, "flags": int(value.flags)}
    elif _simple(value):
        record["value"] = _jsonable(value)
        record["vtype"] = type(value).__name__
    return record


def describe_module(module_name: str) -> dict[str, Any]:
    module = importlib.import_module(module_name)
    return {name: describe(getattr(module, name)) for name in public_names(module)}


def main() -> None:
    import cloudfiles

    version = getattr(cloudfiles, "__version__", None)
    try:
        from importlib.metadata import version as dist_version

        version = dist_version("cloud-files")
    except Exception:
        pass
    modules = {m: describe_module(m) for m in MODULES}
    # One line per name: small, and a regenerated file diffs name by name.
    lines = ["{", f' "cloud-files": {json.dumps(version)},', ' "generator": "ci/gen-public-names.py",', ' "modules": {']
    for i, (module, names) in enumerate(modules.items()):
        lines.append(f"  {json.dumps(module)}: {{")
        for j, (name, record) in enumerate(sorted(names.items())):
            comma = "," if j < len(names) - 1 else ""
            lines.append(f"   {json.dumps(name)}: {json.dumps(record, sort_keys=True, separators=(',', ':'))}{comma}")
        lines.append("  }" + ("," if i < len(modules) - 1 else ""))
    lines += [" }", "}"]
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

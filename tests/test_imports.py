"""The import rules of the design: ``kernel_side -> vfs_ext <- server_side``, one way.

The two sides never import each other, and the core never imports either side (the lazy
re-exports of the public face, inside functions of ``vfs_ext/__init__.py``, aside). Inside the
core no two modules import each other, directly or around a loop. Read from the sources with
ast, so a violation fails here even where no test happens to import the module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("vfs_ext", "kernel_side", "server_side")
#: package -> the packages it must never import
FORBIDDEN = {
    "vfs_ext": {"kernel_side", "server_side"},
    "kernel_side": {"server_side"},
    "server_side": {"kernel_side"},
}


def _imports(path: Path, package: str) -> Iterator[tuple[int, str, bool]]:
    """(line, absolute module, at module level) of every import in one source file; imports
    under ``if TYPE_CHECKING:`` count as module level (they are for the type checker only, but
    a type checker must not need the forbidden side either)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    module_level = {id(node) for node in _module_level(tree.body)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, id(node) in module_level
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: inside this package
                base = package if node.level == 1 else ""
                name = f"{base}.{node.module}" if node.module else base
                names = [name] if node.module else [f"{base}.{a.name}" for a in node.names]
            else:
                names = [node.module or ""]
            for name in names:
                yield node.lineno, name, id(node) in module_level


def _module_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements run at import time: the body, and the bodies of its if/try blocks."""
    for node in body:
        yield node
        if isinstance(node, (ast.If, ast.Try)):
            yield from _module_level(node.body)
            yield from _module_level(node.orelse)
            if isinstance(node, ast.Try):
                yield from _module_level(node.finalbody)
                for handler in node.handlers:
                    yield from _module_level(handler.body)


def _sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_no_forbidden_import(package: str) -> None:
    bad = []
    for path in _sources(package):
        lazy_allowed = package == "vfs_ext" and path.name == "__init__.py"
        for line, name, at_module_level in _imports(path, package):
            top = name.split(".", 1)[0]
            if top in FORBIDDEN[package] and (at_module_level or not lazy_allowed):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert bad == []


def test_the_core_has_no_import_cycle() -> None:
    """Module-level imports between vfs_ext's modules form no loop (``__init__`` aside: the
    package's face imports its parts)."""
    graph = {
        path.stem: {
            name.split(".")[1]
            for _line, name, at_module_level in _imports(path, "vfs_ext")
            if at_module_level and name.startswith("vfs_ext.") and name.count(".") >= 1
        }
        for path in _sources("vfs_ext")
        if path.name != "__init__.py"
    }
    cycles = []
    done: set[str] = set()

    def visit(node: str, trail: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in trail:
                cycles.append(" -> ".join([*trail[trail.index(nxt) :], nxt]))
            elif nxt not in done:
                visit(nxt, [*trail, nxt])
        done.add(node)

    for start in sorted(graph):
        if start not in done:
            visit(start, [start])
    assert cycles == []


def test_the_rules_see_real_imports() -> None:
    """The checker itself: it finds the imports each side does make of the core."""
    found = {
        name.split(".", 1)[0]
        for path in _sources("kernel_side") + _sources("server_side")
        for _line, name, _ in _imports(path, path.parent.name)
    }
    assert "vfs_ext" in found
    lazy = list(_imports(ROOT / "vfs_ext" / "__init__.py", "vfs_ext"))
    assert any(name.startswith("kernel_side") and not top for _l, name, top in lazy)

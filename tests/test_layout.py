"""The tiers' on-disk layout is built in vfs_ext/layout.py only: no other module spells a
marker or file name of it (a second spelling is a protocol that can drift between kernel and
server)."""

from __future__ import annotations

import ast
from pathlib import Path

from vfs_ext import layout

ROOT = Path(__file__).resolve().parent.parent
NAMES = [
    value
    for key, value in vars(layout).items()
    if key.isupper() and isinstance(value, str) and key != "SERVER_RECORD"
] + ["vfs_ext-server-"]


def _code_strings(path: Path) -> list[tuple[int, str]]:
    """String literals of a module, docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_only_layout_spells_the_tier_layout() -> None:
    assert ".part-" in NAMES and ".pin-" in NAMES and ".events.jsonl" in NAMES
    found = [
        f"{path.relative_to(ROOT)}:{line}: {text!r}"
        for package in ("vfs_ext", "kernel_side", "server_side")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.name != "layout.py"
        for line, text in _code_strings(path)
        if any(name in text for name in NAMES)
    ]
    assert found == []

"""What the server keeps of saved notebooks' outputs, as the kernels of the server read it.

The server (server_side.persist) rewrites ``.persist.json`` in its namespace after each save;
``%vfs stats`` reads it from the same tier directory (kernels cannot ask the server's REST API:
they hold no token). Written atomically; a missing or damaged file reads as None.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from . import layout
from .atomic import write_private
from .config import format_size


def write_status(root: Path, status: dict[str, Any]) -> None:
    write_private(layout.persist_status(root), json.dumps(status))


def read_status(root: Path) -> dict[str, Any] | None:
    with contextlib.suppress(OSError, ValueError):
        with open(layout.persist_status(root), encoding="utf-8") as f:
            status = json.load(f)
        if isinstance(status, dict):
            return status
    return None


def _same_file(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def describe(status: dict[str, Any] | None, notebook: str | None) -> list[str]:
    """Lines for ``%vfs stats``: sidecar bytes of ``notebook`` (an OS path, the kernel's
    ``JPY_SESSION_NAME``) and of all known sidecars, and a save that exceeded the cap."""
    if status is None:
        return []
    if not status.get("enabled"):
        return [f"saved outputs are not kept beside notebooks: {status.get('reason')}"]
    lines = [
        f"kept beside saved notebooks: {format_size(int(status.get('bytes', 0)))} in"
        f" {status.get('files', 0)} file(s), {len(status.get('sidecars') or {})} sidecar(s)"
    ]
    notebooks = status.get("notebooks") or {}
    mine = next((v for k, v in notebooks.items() if notebook and _same_file(k, notebook)), None)
    if isinstance(mine, dict):
        lines.append(
            f"this notebook: {format_size(int(mine.get('bytes', 0)))} in"
            f" {mine.get('files', 0)} file(s) beside it"
        )
        over = mine.get("over_cap")
        if isinstance(over, dict):
            lines.append(
                f"note: its last save left {over.get('files')} output file(s)"
                f" ({format_size(int(over.get('bytes', 0)))}) out, over"
                f" VirtualFiles.persist_max_bytes ({format_size(int(over.get('cap') or 0))});"
                " they show only while this kernel runs"
            )
    return lines

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


def write_status(root: Path, status: dict[str, Any]) -> None:
    path = layout.persist_status(root)
    tmp = layout.temporary(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(status, f)
    os.replace(tmp, path)


def read_status(root: Path) -> dict[str, Any] | None:
    with contextlib.suppress(OSError, ValueError):
        with open(layout.persist_status(root), encoding="utf-8") as f:
            status = json.load(f)
        if isinstance(status, dict):
            return status
    return None

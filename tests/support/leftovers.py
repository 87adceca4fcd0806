"""What a stopped server or kernel left behind, for tests that require nothing."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path


def tree(base: Path) -> list[tuple[str, int, int]]:
    """(path, permission bits, size) of everything under ``base``; empty when it is gone."""
    found = []
    for dirpath, dirnames, filenames in os.walk(base):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            with contextlib.suppress(FileNotFoundError):
                st = os.lstat(path)
                found.append((path, stat.S_IMODE(st.st_mode), st.st_size))
    return found


def pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False

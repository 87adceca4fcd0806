"""How many bytes the sidecars hold, per sidecar and per notebook, for api/vfs and %vfs stats.

Kept per folder and refreshed for the folder a save, delete or move touched, so a save pays for
its own folder only; ``api/vfs`` refreshes every known folder.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .saved import NOTEBOOK_SUFFIX, NotebookRefs
from .sidecar import SIDECAR_DIR, Sidecar


class Usage:
    """Sidecar usage of the folders persistence knows; thread-safe."""

    def __init__(self, refs: NotebookRefs) -> None:
        self.refs = refs
        self._folders: dict[Path, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def refresh(self, folders: Iterable[Path]) -> None:
        for folder in folders:
            usage = {"sidecar": _sidecar_usage(folder), "notebooks": self._notebooks(folder)}
            with self._lock:
                self._folders[folder] = usage

    def missing(self, folders: Iterable[Path]) -> list[Path]:
        with self._lock:
            return [f for f in folders if f not in self._folders]

    def summary(self, over_cap: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """Totals, per sidecar, and per notebook (with the notes of saves over the cap)."""
        with self._lock:
            folders = dict(self._folders)
        sidecars = {
            str(folder / SIDECAR_DIR): usage["sidecar"]
            for folder, usage in sorted(folders.items())
            if usage["sidecar"] is not None
        }
        notebooks: dict[str, dict[str, Any]] = {}
        for usage in folders.values():
            notebooks.update(usage["notebooks"])
        for path, note in over_cap.items():
            notebooks.setdefault(path, {"files": 0, "bytes": 0})["over_cap"] = note
        return {
            "bytes": sum(s["bytes"] for s in sidecars.values()),
            "files": sum(s["files"] for s in sidecars.values()),
            "sidecars": sidecars,
            "notebooks": notebooks,
        }

    def _notebooks(self, folder: Path) -> dict[str, dict[str, int]]:
        """Per notebook of the folder: the sidecar files and bytes it refers to."""
        notebooks = {}
        with contextlib.suppress(OSError):
            for entry in os.scandir(folder):
                if entry.name.endswith(NOTEBOOK_SUFFIX):
                    files = {ref.file for ref in self.refs.of_file(Path(entry.path))}
                    size = sum(_size(folder / SIDECAR_DIR / f) for f in files)
                    notebooks[entry.path] = {"files": len(files), "bytes": size}
        return notebooks


def _sidecar_usage(folder: Path) -> dict[str, int] | None:
    with Sidecar(folder) as sidecar:
        try:
            if not sidecar.open():
                return None
            files, size = sidecar.usage()
        except OSError:
            return None
    return {"files": files, "bytes": size}


def _size(path: Path) -> int:
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return 0
    return st.st_size if stat.S_ISREG(st.st_mode) else 0

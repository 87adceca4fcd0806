"""How many bytes the sidecars hold, per sidecar and per notebook, for api/vfs and %vfs stats.

Kept per folder and refreshed for the folder a save, delete or move touched, so a save pays for
its own folder only; ``api/vfs`` refreshes every known folder. A notebook whose last save left
files out (``VirtualFiles.persist_max_bytes``) carries a note saying what and when.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vfs_ext.config import format_size

from .saved import NOTEBOOK_SUFFIX, NotebookRefs
from .sidecar import SIDECAR_DIR, existing

log = logging.getLogger("vfs_ext")


class Usage:
    """Sidecar usage of the folders persistence knows; thread-safe."""

    def __init__(self, refs: NotebookRefs) -> None:
        self.refs = refs
        self._folders: dict[Path, dict[str, Any]] = {}
        self._over_cap: dict[str, dict[str, Any]] = {}  # notebook OS path -> what was left out
        self._lock = threading.Lock()

    def refresh(self, folders: Iterable[Path]) -> None:
        for folder in folders:
            usage = {"sidecar": _sidecar_usage(folder), "notebooks": self._notebooks(folder)}
            with self._lock:
                self._folders[folder] = usage

    def missing(self, folders: Iterable[Path]) -> list[Path]:
        with self._lock:
            return [f for f in folders if f not in self._folders]

    def note_cap(
        self, notebook: Path, *, skipped: int, skipped_bytes: int, kept_bytes: int, cap: int | None
    ) -> None:
        """Remember (and log) what the save of ``notebook`` left out to stay within ``cap``;
        a save that left nothing out clears the note."""
        if not skipped:
            self.clear_cap(notebook)
            return
        with self._lock:
            self._over_cap[str(notebook)] = {
                "files": skipped,
                "bytes": skipped_bytes,
                "kept_bytes": kept_bytes,
                "cap": cap,
                "time": time.time(),
            }
        log.warning(
            "vfs_ext: %s: %d output file(s) (%s) not kept beside the notebook: it would hold more"
            " than VirtualFiles.persist_max_bytes (%s); they show only while their kernel runs",
            notebook,
            skipped,
            format_size(skipped_bytes),
            format_size(cap or 0),
        )

    def clear_cap(self, notebook: Path) -> None:
        with self._lock:
            self._over_cap.pop(str(notebook), None)

    def summary(self) -> dict[str, Any]:
        """Totals, per sidecar, and per notebook (with the notes of saves over the cap)."""
        with self._lock:
            folders = dict(self._folders)
            over_cap = dict(self._over_cap)
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
    with existing(folder) as sidecar:
        if sidecar is None:
            return None
        try:
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

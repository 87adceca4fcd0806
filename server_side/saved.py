"""What saved notebooks keep in their folders' sidecars, and which sidecar file backs a name.

Both are learned from notebooks (their ``vfs_ext`` records with a ``sha256``): when the server
saves one and when one is read through the contents API, so after a restart opening a notebook
is enough. Notebook files are re-read only when they changed (size, mtime, inode).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from vfs_ext.names import parse_name
from vfs_ext.records import notebook_records, recorded_hash

from .sidecar import file_name

CHECKPOINTS_DIR = ".ipynb_checkpoints"
NOTEBOOK_SUFFIX = ".ipynb"


@dataclass(frozen=True)
class Ref:
    """A virtual file name a notebook shows, and the sidecar file holding its bytes."""

    name: str
    digest: str

    @property
    def file(self) -> str:
        return file_name(self.digest, self.name.rsplit(".", 1)[1])


def refs_of(notebook: object) -> tuple[Ref, ...]:
    """The refs of a notebook model; records with a bad name or hash are ignored."""
    refs = {}
    for rec in notebook_records(notebook):
        digest = recorded_hash(rec)
        if digest is not None and parse_name(rec["name"]) is not None:
            refs[rec["name"], digest] = Ref(rec["name"], digest)
    return tuple(refs.values())


def _stat_key(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class NotebookRefs:
    """Refs of notebook files on disk, cached by stat; thread-safe."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[tuple[int, int, int, int], tuple[Ref, ...]]] = {}
        self._lock = threading.Lock()

    def of_file(self, path: Path) -> tuple[Ref, ...]:
        """The refs of one notebook file; nothing for a missing or unreadable one."""
        try:
            st = os.stat(path)
        except OSError:
            self.forget(path)
            return ()
        key = _stat_key(st)
        with self._lock:
            cached = self._cache.get(str(path))
        if cached is not None and cached[0] == key:
            return cached[1]
        try:
            with open(path, "rb") as f:
                refs = refs_of(json.load(f))
        except (OSError, ValueError, RecursionError):
            refs = ()
        with self._lock:
            self._cache[str(path)] = (key, refs)
        return refs

    def remember(self, path: Path, refs: Iterable[Ref]) -> None:
        """Refs of a file just written from a model (saves need not parse what they wrote)."""
        try:
            key = _stat_key(os.stat(path))
        except OSError:
            return
        with self._lock:
            self._cache[str(path)] = (key, tuple(refs))

    def forget(self, path: Path) -> None:
        with self._lock:
            self._cache.pop(str(path), None)

    def kept_in(self, folder: Path) -> set[str]:
        """Sidecar files any notebook of ``folder`` or one of its checkpoints refers to."""
        keep: set[str] = set()
        for notebooks in (folder, folder / CHECKPOINTS_DIR):
            try:
                entries = list(os.scandir(notebooks))
            except OSError:
                continue
            for entry in entries:
                if entry.name.endswith(NOTEBOOK_SUFFIX) and entry.is_file():
                    keep.update(ref.file for ref in self.of_file(Path(entry.path)))
        return keep


class NameIndex:
    """Virtual file name -> the sidecars that may hold its bytes, newest first; thread-safe.

    Several notebooks (copies, other folders) may claim one name; each claim is checked
    against the file's bytes when served, so a wrong one costs a hash, never wrong bytes.
    """

    def __init__(self) -> None:
        self._claims: dict[str, dict[tuple[Path, str], None]] = {}
        self._lock = threading.Lock()

    def learn(self, folder: Path, refs: Iterable[Ref]) -> None:
        with self._lock:
            for ref in refs:
                claims = self._claims.setdefault(ref.name, {})
                claims.pop((folder, ref.file), None)
                claims[folder, ref.file] = None  # newest last

    def claims(self, name: str) -> list[tuple[Path, str]]:
        """(folder, sidecar file) candidates for ``name``, the newest claim first."""
        with self._lock:
            return list(reversed(self._claims.get(name, {})))

    def drop(self, name: str, folder: Path, file: str) -> None:
        with self._lock:
            claims = self._claims.get(name)
            if claims is not None:
                claims.pop((folder, file), None)
                if not claims:
                    del self._claims[name]

    def folders(self) -> set[Path]:
        """Every folder some claim points into (the known sidecars)."""
        with self._lock:
            return {folder for claims in self._claims.values() for folder, _ in claims}

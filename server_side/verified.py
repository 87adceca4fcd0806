"""Sidecar files checked against their hash before they are used: served, or copied along with
a notebook moved to another folder. A file whose bytes do not match its name is never used,
whoever wrote it (a save of a file its kernel changed, a user, a copied folder)."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .sidecar import FILE_RE, Sidecar, existing, sha256_of

log = logging.getLogger("vfs_ext")


@dataclass
class Saved:
    """A sidecar file opened for serving, its bytes checked against its hash."""

    fd: int
    stat: os.stat_result
    digest: str


class Verified:
    """Opens sidecar files, hashing each unless this very file (inode, size, times) was
    checked before."""

    def __init__(self) -> None:
        self._checked: dict[tuple[int, ...], str] = {}  # sidecar file identity -> its hash

    def open(self, sidecar: Sidecar, file: str) -> Saved | None:
        """The file opened; None if it is not a regular file or its bytes do not match."""
        opened = sidecar.open_file(file)
        if opened is None:
            return None
        fd, st = opened
        digest = FILE_RE.match(file)["digest"]  # type: ignore[index]
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        if self._checked.get(key) != digest:
            if sha256_of(fd, st.st_size) != digest:
                os.close(fd)
                log.warning("vfs_ext: %s does not match its hash; not served", sidecar.path / file)
                return None
            self._checked[key] = digest
        return Saved(fd, st, digest)

    def open_in(self, folder: Path, file: str) -> Saved | None:
        """``file`` of ``folder``'s sidecar, opened and checked; None if it is not there."""
        with existing(folder) as sidecar:
            return None if sidecar is None else self.open(sidecar, file)

    def copy_between(self, src: Path, dst: Path, files: Sequence[str]) -> None:
        """Copy into ``dst``'s sidecar the ``files`` of ``src``'s that it lacks, each checked
        first: a notebook moved or copied to another folder takes its outputs along."""
        if not files:
            return  # no sidecar is created for nothing
        with existing(src) as source, Sidecar(dst) as target:
            try:
                if source is None or not target.open(create=True):
                    return
            except OSError:
                return
            for file in files:
                if target.has(file):
                    continue
                opened = self.open(source, file)
                if opened is None:
                    continue
                try:
                    target.publish(target.new_temp(opened.fd, opened.stat.st_size), file)
                finally:
                    os.close(opened.fd)

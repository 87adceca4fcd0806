"""A tier is a private directory (on tmpfs for memory, on disk for the fallback) with a byte budget.

What a tier holds and where is vfs_ext.layout's docstring; this module prepares a tier's
directory, checks that it is safe, and lists and counts what it holds.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from . import layout
from .config import TierSpec, default_budget, default_keep_free
from .confine import make_base_dirs
from .mounts import filesystem_space
from .names import NAME_RE

log = logging.getLogger("vfs_ext")


class TierRefused(Exception):
    """A tier directory exists but is not safe to use (symlink, other owner, not a directory)."""


def ensure_private_dir(path: Path, *, create: bool = True) -> bool:
    """Create ``path`` with mode 0700 (True), or accept an existing directory (False) that is safe
    to work in: a real directory we own that no other user can write into. Without ``create``
    (a kernel: only its server makes these), a missing directory is refused.

    Refuses symlinks (they could point anywhere), directories of other users (they could read or
    plant files) and directories others may write into without the sticky bit (they could rename
    or replace what we put there; ``/dev/shm`` itself is sticky). An existing directory's mode is
    left as it is: it may be an admin's shared directory, and what we create inside is 0700.
    """
    created = False
    if create:
        make_base_dirs(path.parent)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        else:
            created = True
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise TierRefused(f"{path} does not exist (its server has stopped?)") from None
    if stat.S_ISLNK(st.st_mode):
        raise TierRefused(f"{path} is a symlink; refusing to use it")
    if not stat.S_ISDIR(st.st_mode):
        raise TierRefused(f"{path} is not a directory")
    if st.st_uid != os.geteuid():
        raise TierRefused(f"{path} is owned by uid {st.st_uid}, not by us (uid {os.geteuid()})")
    if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
        raise TierRefused(
            f"{path} is writable by other users (mode {stat.S_IMODE(st.st_mode):o}) without the "
            "sticky bit; use a private directory"
        )
    return created


@dataclass(frozen=True)
class FileInfo:
    """A stored virtual file, as found on disk."""

    name: str
    path: Path
    size: int
    tier: str
    mtime: float
    owner: str
    group: str


@dataclass
class Tier:
    """One prepared tier of one namespace."""

    name: str
    base: Path
    root: Path
    budget: int
    created_base: bool = False  # this process created ``base``: it may remove it when empty
    keep_free: int = 0  # bytes of the filesystem no write may take (left to other programs)

    @classmethod
    def prepare(cls, spec: TierSpec, namespace: str, *, create: bool = True) -> Tier:
        """Create (or check) ``spec.path/namespace``; raises TierRefused or OSError if unusable.
        Only a server creates them; a kernel (``create=False``) refuses a missing one."""
        base = Path(os.path.abspath(spec.path))
        created_base = ensure_private_dir(base, create=create)
        root = layout.namespace_dir(base, namespace)
        ensure_private_dir(root, create=create)
        if create and stat.S_IMODE(os.lstat(root).st_mode) & 0o077:  # ours alone: nobody else
            os.chmod(root, 0o700)
        budget = spec.budget if spec.budget is not None else default_budget(spec.name, base)
        keep_free = (
            spec.keep_free if spec.keep_free is not None else default_keep_free(spec.name, base)
        )
        return cls(spec.name, base, root, budget, created_base, keep_free)

    def owner_dir(self, owner: str) -> Path:
        return layout.owner_dir(self.root, owner)

    def group_dir(self, owner: str, group: str) -> Path:
        return layout.group_dir(self.owner_dir(owner), group)

    def file_path(self, owner: str, group: str, name: str) -> Path:
        return layout.file_path(self.group_dir(owner, group), name)

    def find(self, owner: str, group: str, name: str) -> FileInfo | None:
        """The file if it is a regular file reached through real directories; else None."""
        try:
            for part in (self.owner_dir(owner), self.group_dir(owner, group)):
                if not stat.S_ISDIR(os.lstat(part).st_mode):
                    return None
            path = self.file_path(owner, group, name)
            st = os.lstat(path)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        return FileInfo(name, path, st.st_size, self.name, st.st_mtime, owner, group)

    def owners(self) -> list[str]:
        return subdirs(self.root)

    def iter_files(self, owner: str | None = None) -> Iterator[FileInfo]:
        """Every complete virtual file in this namespace (or of one owner)."""
        for o in [owner] if owner else self.owners():
            for group in subdirs(self.owner_dir(o)):
                for entry in scan_dir(self.group_dir(o, group)):
                    if NAME_RE.match(entry.name) and entry.is_file(follow_symlinks=False):
                        try:
                            st = entry.stat(follow_symlinks=False)
                        except FileNotFoundError:
                            continue
                        yield FileInfo(
                            entry.name,
                            Path(entry.path),
                            st.st_size,
                            self.name,
                            st.st_mtime,
                            o,
                            group,
                        )

    def used_bytes(self) -> int:
        """Bytes held here, counting in-progress writes by their reservation."""
        total = 0
        for owner in self.owners():
            # Released groups and spares hold their pages until deleted: they count too.
            for group in _holding_dirs(self.owner_dir(owner)):
                for entry in scan_dir(self.group_dir(owner, group)):
                    reserved = layout.part_reservation(entry.name)
                    try:
                        size = entry.stat(follow_symlinks=False).st_size
                    except FileNotFoundError:
                        # Gone since the listing. A write in progress renamed to its final name
                        # meanwhile shows under neither: its reservation keeps the count from
                        # going low (a figure too high only costs an exact count later).
                        size = 0
                    total += max(size, reserved)
        return total + dir_bytes(layout.draining_dir(self.root))  # released, still being read

    def fs_free(self) -> int:
        return filesystem_space(self.root)[1]


def dir_bytes(path: Path) -> int:
    """Bytes of the files directly in ``path``; 0 when it is gone."""
    total = 0
    for entry in scan_dir(path):
        try:
            total += entry.stat(follow_symlinks=False).st_size
        except FileNotFoundError:
            continue
    return total


def scan_dir(path: Path) -> list[os.DirEntry[str]]:
    """The entries of ``path``; empty when it is gone (a release or sweep may race us)."""
    try:
        with os.scandir(path) as it:
            return list(it)
    except (FileNotFoundError, NotADirectoryError):
        return []


def pending_dirs(owner_dir: Path) -> list[str]:
    """Hidden directories in ``owner_dir`` that still hold memory: released groups not yet
    deleted and the spares kept for reuse (see vfs_ext.reuse)."""
    return [
        e.name
        for e in scan_dir(owner_dir)
        if layout.is_pending(e.name) and e.is_dir(follow_symlinks=False)
    ]


def _holding_dirs(owner_dir: Path) -> list[str]:
    """``subdirs`` and ``pending_dirs`` of ``owner_dir`` in one scan: every directory whose
    files count against the budget."""
    return [
        e.name
        for e in scan_dir(owner_dir)
        if layout.holds_bytes(e.name) and e.is_dir(follow_symlinks=False)
    ]


def subdirs(path: Path) -> list[str]:
    """Names of the real (not symlinked) directories in ``path``, dot-names excluded."""
    return [
        e.name
        for e in scan_dir(path)
        if not layout.is_hidden(e.name) and e.is_dir(follow_symlinks=False)
    ]

"""Looking at tier directories from outside vfs_ext: what files are there, how old they look."""

from __future__ import annotations

import os
from pathlib import Path

from vfs_ext.config import MEMORY
from vfs_ext.store import Store


def tier_files(root: Path) -> dict[str, int]:
    """Every regular file under ``root``, walked without vfs_ext: relative path -> size."""
    found = {}
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            p = Path(dirpath, f)
            if p.is_file() and not p.is_symlink():
                found[str(p.relative_to(root))] = p.stat().st_size
    return found


def memory_used(store: Store) -> int:
    """Bytes the memory tier counts against its budget (files, spares, pending releases)."""
    (tier,) = [t for t in store.tiers if t.name == MEMORY]
    return tier.used_bytes()


def part_files(root: Path) -> list[str]:
    return [p for p in tier_files(root) if Path(p).name.startswith(".part-")]


def backdate(root: Path, seconds: float = 3600) -> None:
    """Make every directory under ``root`` look untouched for ``seconds`` (instead of sleeping
    through a grace period)."""
    for dirpath, _dirs, _files in os.walk(root):
        st = os.lstat(dirpath)
        os.utime(dirpath, (st.st_atime - seconds, st.st_mtime - seconds))

"""Figure 4: storing a buffer in the memory tier vs copying it in memory, in one process.

``bytearray(buf)`` is the fair memcpy (it allocates fresh pages, as tmpfs must); a memmove into
an already-touched buffer is the stricter floor; a bare ``os.write`` of the whole buffer to tmpfs
shows how much of the cost is the kernel's and how much is the core's.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import shutil
import tempfile
from pathlib import Path

from vfs_ext.config import TierSpec
from vfs_ext.store import Store

from .plot import size_label
from .report import Results, Row, fmt_rate, median_time, verdict

MEMORY_ROOT = Path("/dev/shm")


def bare_write(path: str, data: bytes) -> None:
    """``data`` into a new file at ``path`` with write(2) alone, then unlinked: the floor under
    any store. Self-contained, so the display figure can run its source in the kernel."""
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
    os.unlink(path)


def bare_overwrite(path: str, data: bytes) -> None:
    """``data`` over an existing file at ``path`` of at least its size, with pwrite(2) alone:
    the floor of a re-run, whose outputs overwrite the pages of the previous run's
    (vfs_ext/reuse.py) instead of taking fresh ones. Self-contained, like ``bare_write``."""
    import os

    fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW)
    try:
        view, offset = memoryview(data), 0
        while offset < len(view):
            offset += os.pwrite(fd, view[offset:], offset)
    finally:
        os.close(fd)


def run(results: Results, size: int, repeats: int) -> None:
    if not MEMORY_ROOT.is_dir():
        results.add(Row("4 kernel write", "memory tier", "n/a", "", verdict="n/a: no /dev/shm"))
        return
    tag = secrets.token_hex(4)
    mem_dir = MEMORY_ROOT / f"vfs_ext-bench-{tag}"
    disk_dir = Path(tempfile.mkdtemp(prefix="vfs_ext-bench-disk-"))
    tiers = [TierSpec("memory", mem_dir, 8 * size), TierSpec("disk", disk_dir, 8 * size)]
    store = Store.for_server(tiers=tiers)
    owner = store.open_owner("bench-write")
    buf = os.urandom(size)
    dest = (ctypes.c_char * size).from_buffer(bytearray(size))
    raw_path = mem_dir / "raw.bin"
    try:

        def store_it() -> None:
            info = owner.write(buf, ext="bin")
            assert info.tier == "memory", info
            owner.release(info.name)

        ours = median_time(store_it, repeats, warmup=1)
        copy = median_time(lambda: bytearray(buf), repeats, warmup=1)
        move = median_time(lambda: ctypes.memmove(dest, buf, size), repeats, warmup=1)
        raw = median_time(lambda: bare_write(str(raw_path), buf), repeats, warmup=1)
    finally:
        owner.close(remove=True)
        store.close(remove=True)
        shutil.rmtree(mem_dir, ignore_errors=True)
        shutil.rmtree(disk_dir, ignore_errors=True)
    label = f"{size_label(size)}"
    ratio = copy / ours
    results.add(
        Row(
            "4 kernel write",
            f"{label} Owner.write to memory tier vs bytearray(buf)",
            fmt_rate(size, ours),
            fmt_rate(size, copy) + " memcpy",
            f"{ratio:.0%}",
            ">= 50%",
            verdict(ratio, 0.5),
        )
    )
    results.add(
        Row(
            "4 kernel write",
            f"{label} (context: memmove into touched buffer; bare os.write)",
            fmt_rate(size, ours),
            f"{fmt_rate(size, move)} memmove, {fmt_rate(size, raw)} os.write",
            f"{move / ours:.0%} / {raw / ours:.0%}",
        )
    )

"""Process-lifetime locks: ``flock`` is released by the kernel when its holder dies, so a free lock
means a dead owner without trusting pids (which are reused)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import time
from pathlib import Path

_OPEN_FLAGS = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC


def try_lock(path: Path, *, create: bool = False) -> int | None:
    """An fd holding an exclusive lock on ``path``, or None if another process holds it.

    Raises FileNotFoundError when the file is missing and ``create`` is false.
    """
    fd = os.open(path, _OPEN_FLAGS if create else (os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC), 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return None
        raise
    return fd


def create_locked(path: Path) -> int | None:
    """Create ``path`` already locked, or return None if it exists.

    The file is locked under a temporary name and then hard-linked into place, so no other
    process ever sees it unlocked: a sweeper must not mistake a starting owner for a dead one.
    """
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        fd = os.open(tmp, _OPEN_FLAGS | os.O_EXCL, 0o600)
    except FileNotFoundError:
        return None  # the directory was just removed (by a sweeper): the caller retries
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # nobody else knows this file yet
        os.link(tmp, path)
    except (FileExistsError, FileNotFoundError):
        os.close(fd)
        return None
    except OSError as exc:
        os.close(fd)
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
        return try_lock(path, create=True)  # a filesystem without hard links
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return fd


def acquire(path: Path, timeout: float) -> int:
    """Create ``path`` if needed and lock it, waiting up to ``timeout`` s for a dying holder.

    A sweeper may remove the file while we wait; the lock is only ours if the locked inode is
    still the one at ``path``, so retry until it is.
    """
    deadline = time.monotonic() + timeout
    while True:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = try_lock(path)
        except FileNotFoundError:
            fd = create_locked(path)
        if fd is not None:
            try:
                same = os.fstat(fd).st_ino == os.lstat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return fd
            os.close(fd)
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{path} is still locked by another process after {timeout:.0f} s")
        time.sleep(0.02)  # no event tells us a lock was freed; poll briefly


def release(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)  # closing the last fd drops the flock

"""Process-lifetime locks: ``flock`` is released by the kernel when its holder dies, so a free lock
means a dead owner without trusting pids (which are reused).

A flock belongs to the open file description, which ``fork()`` shares with the child (O_CLOEXEC
only helps across ``exec``). A kernel that forked a long-lived child (``multiprocessing``'s
default on Linux) would otherwise keep its locks alive through that child after it died. So every
lock fd is noted here, and a child drops its copies right after the fork (see ``_in_child``).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import threading
import time
from pathlib import Path

_OPEN_FLAGS = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC

#: The lock fds this process holds (or is about to lock); dropped in a forked child.
_held: set[int] = set()
#: Held while a lock fd is opened and noted, or forgotten and closed: a fork waits for it, so a
#: child never gets an fd that is open but not (or no longer) noted.
_guard = threading.Lock()


def open_lock_file(path: Path, flags: int) -> int:
    """Open ``path`` for locking and note the fd, so that a forked child drops its copy."""
    with _guard:
        fd = os.open(path, flags, 0o600)
        _held.add(fd)
    return fd


def try_lock(path: Path, *, create: bool = False) -> int | None:
    """An fd holding an exclusive lock on ``path``, or None if another process holds it.

    Raises FileNotFoundError when the file is missing and ``create`` is false.
    """
    fd = open_lock_file(path, _OPEN_FLAGS if create else (os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        release(fd)
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
        fd = open_lock_file(tmp, _OPEN_FLAGS | os.O_EXCL)
    except FileNotFoundError:
        return None  # the directory was just removed (by a sweeper): the caller retries
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # nobody else knows this file yet
        os.link(tmp, path)
    except (FileExistsError, FileNotFoundError):
        release(fd)
        return None
    except OSError as exc:
        release(fd)
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
        with contextlib.suppress(FileExistsError):  # never its parents: see vfs_ext.confine
            os.mkdir(path.parent, 0o700)
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
            release(fd)
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{path} is still locked by another process after {timeout:.0f} s")
        time.sleep(0.02)  # no event tells us a lock was freed; poll briefly


def release(fd: int | None) -> None:
    """Close a lock fd (closing the last fd of its open file drops the flock); an fd that is not
    noted here (released already) is left alone, since its number may be reused by now."""
    if fd is None:
        return
    with _guard:
        if fd in _held:
            _held.discard(fd)
            os.close(fd)


def _in_child() -> None:
    """After fork(), in the child: drop the child's share of every lock of the parent.

    Each fd is pointed at /dev/null rather than closed, so its number is not reused while
    objects inherited from the parent (an Owner, a Store) still hold it: releasing them later
    closes the placeholder, never an unrelated file. The parent keeps its locks.
    """
    _guard.release()  # taken by the forking thread in the parent (``before``)
    try:
        null = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        null = None
    for fd in list(_held):
        try:
            if null is None:
                raise OSError(errno.ENOENT, os.devnull)
            os.dup2(null, fd, inheritable=False)
        except OSError:
            _held.discard(fd)
            with contextlib.suppress(OSError):
                os.close(fd)
    if null is not None:
        os.close(null)


if hasattr(os, "register_at_fork"):  # POSIX; Windows has no fork
    os.register_at_fork(
        before=_guard.acquire, after_in_parent=_guard.release, after_in_child=_in_child
    )

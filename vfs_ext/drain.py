"""Released files that someone still reads keep counting against their tier's budget.

Unlinking a file frees its tmpfs pages only when the last open file or mapping of it closes: a
download in progress (the server streams from an open file) keeps a released output in memory,
out of sight of a budget that counts what the directories hold. Stalled downloads of re-run
outputs could so take a 100 MiB memory tier's tmpfs to 240 MiB.

So a released file is unlinked only when nobody else has it open. Linux tells: a write lease is
granted only to the sole opener of a file, in any process (the check vfs_ext.reuse makes before
overwriting a spare). A file still open elsewhere moves to the tier's ``.draining/`` folder
instead, where budgets and stats count it, and is deleted once its last reader is gone (``reap``:
before a write gives up on a tier, and on every server sweep). Without lease support (another
OS, ``fs.leases-enable = 0``) files are unlinked at once, as before.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import signal
import stat
from pathlib import Path

from . import layout
from .budget import hold_budget_lock
from .tiers import dir_bytes, scan_dir

#: Signals the break of a lease we hold. The default, SIGIO, would terminate the kernel if some
#: other process opened a spare in the instant we hold its lease; SIGURG is ignored by default.
LEASE_BREAK_SIGNAL = signal.SIGURG

#: O_NONBLOCK: an open never waits for another process's lease (vfs_ext.reuse takes them briefly).
_OPEN_FLAGS = os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


def discard(path: Path) -> bool:
    """Delete a released file or folder tree, whose files still open elsewhere go to draining;
    False if it was gone already."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISDIR(st.st_mode):
        _discard_file(path)
        return True
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            _discard_file(Path(dirpath) / name)
    shutil.rmtree(path, ignore_errors=True)
    return True


def _discard_file(path: Path) -> None:
    try:
        if _unlink_unless_read(path):
            return
    except FileNotFoundError:
        return
    root = _tier_root(path)
    if root is None:  # not in a tier (a test's loose file): nothing counts it anyway
        _unlink(path)
        return
    with hold_budget_lock(root):  # an exact count must see the file in one place or the other
        target = layout.new_draining_path(root)
        with contextlib.suppress(FileExistsError):
            os.mkdir(target.parent, 0o700)
        try:
            os.rename(path, target)
        except FileNotFoundError:
            pass


def _unlink_unless_read(path: Path) -> bool:
    """Unlink ``path`` if no other open file or mapping refers to it (or it holds no bytes, or
    leases are unsupported); False when it is still read."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return False  # someone holds a lease on it right now: look again later
        if exc.errno == errno.ENOENT:
            raise
        _unlink(path)  # not a regular file we can open (a socket, a lock of another owner)
        return True
    try:
        if os.fstat(fd).st_size == 0 or _alone(fd) is not False:
            _unlink(path)  # unlinked while our lease, if any, keeps new openers waiting
            return True
        return False
    finally:
        os.close(fd)  # drops the lease


def _alone(fd: int) -> bool | None:
    """Whether ``fd`` is the only open file of its file (a write lease is granted, and held
    until ``fd`` closes); None when this system grants no leases."""
    try:
        fcntl.fcntl(fd, fcntl.F_SETSIG, LEASE_BREAK_SIGNAL)
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)
    except OSError as exc:
        return False if exc.errno in (errno.EAGAIN, errno.EBUSY) else None
    except AttributeError:
        return None
    return True


def reap(root: Path) -> int:
    """Delete the draining files of tier ``root`` that nobody reads any more; bytes freed."""
    freed = 0
    for entry in scan_dir(layout.draining_dir(root)):
        try:
            size = entry.stat(follow_symlinks=False).st_size
            if _unlink_unless_read(Path(entry.path)):
                freed += size
        except FileNotFoundError:
            continue
    return freed


def draining_bytes(root: Path) -> int:
    """Bytes of released files in tier ``root`` that readers still hold."""
    return dir_bytes(layout.draining_dir(root))


def _tier_root(path: Path) -> Path | None:
    """The tier folder (``<base>/<namespace>``) that ``path`` is in: the one with the budget."""
    for parent in path.parents:
        if os.path.lexists(layout.budget_lock(parent)):
            return parent
    return None


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)

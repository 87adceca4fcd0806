"""A notebook folder's sidecar: the bytes its saved virtual outputs show, by SHA-256.

``<folder>/.ipynb_vfs/<sha256>.<ext>`` (hidden, like ``.ipynb_checkpoints/``): identical bytes
are stored once for every notebook of the folder, and a copied or moved folder takes them along.
Every operation goes through a descriptor of the sidecar directory opened without following
symlinks, and opens its files with ``O_NOFOLLOW``: a symlink planted in the folder is never
followed, whether it replaces the directory or one of its files. A file is published by renaming
a finished temporary file, so readers see whole files or none.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import mmap
import os
import re
import secrets
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from vfs_ext.names import MAX_EXT_LEN

SIDECAR_DIR = ".ipynb_vfs"
FILE_RE = re.compile(rf"\A(?P<digest>[0-9a-f]{{64}})\.(?P<ext>[a-z0-9]{{1,{MAX_EXT_LEN}}})\Z")
TMP_PREFIX = ".tmp-"
#: A temporary file older than this was left by a save that died; younger ones may be in use.
STALE_TMP_S = 3600.0

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_NEW_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
#: copy_file_range refuses these where sendfile still works (across filesystems before 5.3 and
#: again since 5.19 between different filesystem types, e.g. tmpfs -> ext4).
_NO_COPY_RANGE = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM}


def file_name(digest: str, ext: str) -> str:
    return f"{digest}.{ext}"


def sha256_of(fd: int, size: int) -> str:
    """SHA-256 of a file's first ``size`` bytes, read through a mapping (no copy into Python;
    hashlib drops the GIL on large buffers, so several run in parallel)."""
    if size == 0:
        return hashlib.sha256().hexdigest()
    with mmap.mmap(fd, size, access=mmap.ACCESS_READ) as mapped:
        return hashlib.sha256(mapped).hexdigest()


def copy_fd(src: int, dst: int, size: int) -> None:
    """Copy ``size`` bytes of ``src`` into ``dst`` inside the kernel: ``copy_file_range`` (a
    reflink or in-kernel copy on one filesystem), else ``sendfile``; never through Python."""
    offset = 0
    use_range = hasattr(os, "copy_file_range")
    while offset < size:
        if use_range:
            try:
                n = os.copy_file_range(src, dst, size - offset, offset)
            except OSError as exc:
                if exc.errno not in _NO_COPY_RANGE or offset:
                    raise
                use_range = False
                continue
        else:
            n = os.sendfile(dst, src, offset, size - offset)
        if n == 0:
            raise OSError(errno.EIO, "source file shrank while being copied")
        offset += n


def open_regular(path: str | Path, dir_fd: int | None = None) -> tuple[int, os.stat_result] | None:
    """A read descriptor and its stat for the regular file ``path``, never through a symlink;
    None when it is missing or anything else (a symlink: ELOOP; a directory, a FIFO)."""
    try:
        fd = os.open(path, _READ_FLAGS, dir_fd=dir_fd)
    except OSError:
        return None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        return None
    return fd, st


@contextlib.contextmanager
def existing(folder: Path) -> Iterator[Sidecar | None]:
    """``folder``'s sidecar, open for the block; None when it has none or it is not one of ours
    (a symlink, another user's): whoever only reads or collects then has nothing to do."""
    with Sidecar(folder) as sidecar:
        try:
            found = sidecar.open()
        except OSError:
            found = False
        yield sidecar if found else None


class Sidecar:
    """The sidecar of one folder; ``open`` it before use (a context manager closes it)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / SIDECAR_DIR
        self.fd: int | None = None

    def open(self, *, create: bool = False) -> bool:
        """Open the directory (creating it when asked); False when there is none to open.

        OSError when it is not a directory of ours (a symlink, another user's)."""
        if create:
            with contextlib.suppress(FileExistsError):
                os.mkdir(self.path, 0o777)
        try:
            fd = os.open(self.path, _DIR_FLAGS)
        except FileNotFoundError:
            return False
        if os.fstat(fd).st_uid != os.geteuid():
            os.close(fd)
            raise PermissionError(errno.EPERM, "sidecar owned by another user", str(self.path))
        self.fd = fd
        return True

    def close(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)

    def __enter__(self) -> Sidecar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- files ---------------------------------------------------------------------------------

    def has(self, name: str, size: int | None = None) -> bool:
        """Whether a regular file ``name`` (of ``size`` bytes, if given) is there."""
        try:
            st = os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        return stat.S_ISREG(st.st_mode) and (size is None or st.st_size == size)

    def new_temp(self, src: int, size: int) -> str:
        """Copy ``size`` bytes of ``src`` into a fresh temporary file; its name."""
        tmp = f"{TMP_PREFIX}{secrets.token_hex(8)}"
        out = os.open(tmp, _NEW_FLAGS, 0o666, dir_fd=self.fd)
        try:
            copy_fd(src, out, size)
        except BaseException:
            os.close(out)
            self.discard(tmp)
            raise
        os.close(out)
        return tmp

    def digest_of(self, tmp: str) -> str:
        """SHA-256 of a file this sidecar holds (a copy about to be published)."""
        fd = os.open(tmp, _READ_FLAGS, dir_fd=self.fd)
        try:
            return sha256_of(fd, os.fstat(fd).st_size)
        finally:
            os.close(fd)

    def publish(self, tmp: str, name: str) -> None:
        """Give a finished temporary file its final name (atomically; replaces a planted
        symlink or damaged file of that name, never follows it)."""
        os.rename(tmp, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)

    def discard(self, tmp: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=self.fd)

    def open_file(self, name: str) -> tuple[int, os.stat_result] | None:
        """A read descriptor and its stat for a regular file ``name``; None for anything else."""
        if FILE_RE.match(name) is None:
            return None
        return open_regular(name, self.fd)

    def _listing(self) -> Iterator[tuple[str, os.stat_result]]:
        """(name, lstat) of every entry still there once listed."""
        assert self.fd is not None
        for entry in os.scandir(self.fd):
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            yield entry.name, st

    def entries(self) -> Iterator[tuple[str, os.stat_result]]:
        """(name, lstat) of every regular content file (``<sha256>.<ext>``)."""
        for name, st in self._listing():
            if FILE_RE.match(name) is not None and stat.S_ISREG(st.st_mode):
                yield name, st

    def collect(self, keep: set[str]) -> tuple[int, int]:
        """Remove the content files not in ``keep`` and stale temporary files; returns (files,
        bytes) removed. Anything else in the directory is left alone."""
        removed = freed = 0
        now = time.time()
        for name, st in self._listing():
            content = FILE_RE.match(name) is not None and name not in keep
            stale = name.startswith(TMP_PREFIX) and now - st.st_mtime > STALE_TMP_S
            if content or stale:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(name, dir_fd=self.fd)
                    removed += 1
                    freed += st.st_size if stat.S_ISREG(st.st_mode) else 0
        return removed, freed

    def usage(self) -> tuple[int, int]:
        """(files, bytes) of the content files."""
        files = size = 0
        for _name, st in self.entries():
            files += 1
            size += st.st_size
        return files, size

"""Copy a notebook's live virtual files into its sidecar: one copy and one hash per new file,
all in parallel threads, each copy published under its hash once both are done."""

from __future__ import annotations

import logging
import os
import stat
from concurrent.futures import Executor, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .sidecar import Sidecar, file_name, sha256_of

log = logging.getLogger("vfs_ext")

_SRC_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


@dataclass
class CopyResult:
    """The hashes of the files now in the sidecar, and what the cap left out."""

    digests: dict[str, str] = field(default_factory=dict)
    kept_bytes: int = 0
    skipped: int = 0
    skipped_bytes: int = 0
    copied_files: int = 0
    copied_bytes: int = 0


@dataclass
class _Copy:
    name: str
    fd: int
    size: int
    digest: str | None  # known from an earlier save of this run
    copying: Future[str] = field(init=False)
    hashing: Future[str] | None = None


def copy_in(
    pool: Executor,
    sidecar: Sidecar,
    live: list[tuple[str, Any]],
    hashes: dict[str, str],
    cap: int | None,
) -> CopyResult:
    """Keep each live file (name, FileInfo) in ``sidecar``, in order, within ``cap`` bytes.

    ``hashes`` (name -> SHA-256, names are never reused) spares hashing a file seen before, and
    copying one already kept; it learns the new hashes."""
    result = CopyResult()
    copies: list[_Copy] = []
    try:
        for name, info in live:
            digest = hashes.get(name)
            if digest is not None and sidecar.has(file_name(digest, _ext(name)), info.size):
                result.digests[name] = digest
                result.kept_bytes += info.size
            elif cap is not None and result.kept_bytes + info.size > cap:
                result.skipped += 1
                result.skipped_bytes += info.size
            elif (copy := _start(pool, sidecar, name, info.path, digest)) is not None:
                copies.append(copy)
                result.kept_bytes += copy.size
        for copy in copies:
            digest = _finish(sidecar, copy, result)
            if digest is not None:
                result.digests[copy.name] = hashes[copy.name] = digest
    finally:
        for copy in copies:
            os.close(copy.fd)
    return result


def _ext(name: str) -> str:
    return name.rsplit(".", 1)[1]


def _start(
    pool: Executor, sidecar: Sidecar, name: str, path: Path, digest: str | None
) -> _Copy | None:
    """Open a tier file (never following links) and start copying and hashing it."""
    try:
        fd = os.open(path, _SRC_FLAGS)
    except OSError:
        return None  # released meanwhile
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        return None
    copy = _Copy(name, fd, st.st_size, digest)
    copy.copying = pool.submit(sidecar.new_temp, fd, st.st_size)
    if digest is None:
        copy.hashing = pool.submit(sha256_of, fd, st.st_size)
    return copy


def _finish(sidecar: Sidecar, copy: _Copy, result: CopyResult) -> str | None:
    """Wait for one copy and hash; publish the copy under its hash unless already there."""
    tmp = None
    try:
        tmp = copy.copying.result()
        digest = copy.digest
        if digest is None:
            assert copy.hashing is not None  # submitted when no digest was known
            digest = copy.hashing.result()
    except OSError as exc:
        if copy.hashing is not None:
            wait([copy.hashing])  # it reads copy.fd, which the caller closes
        if tmp is not None:
            sidecar.discard(tmp)
        log.warning("vfs_ext: could not keep %s beside its notebook: %s", copy.name, exc)
        return None
    target = file_name(digest, _ext(copy.name))
    if sidecar.has(target, copy.size):
        sidecar.discard(tmp)  # identical bytes are stored once
    else:
        sidecar.publish(tmp, target)
        result.copied_files += 1
        result.copied_bytes += copy.size
    return digest

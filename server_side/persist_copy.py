"""Copy a notebook's live virtual files into its sidecar: one copy per new file, in parallel
threads, each published under its hash. The hash is usually known ahead (server_side.prehash);
otherwise it is computed beside the copy. A hash is trusted only for the file it was computed
from: if the file changed before the copy was done, the copy itself is hashed."""

from __future__ import annotations

import logging
import os
from concurrent.futures import Executor, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .prehash import Hashed, Prehasher, identity
from .sidecar import Sidecar, file_name, open_regular

log = logging.getLogger("vfs_ext")


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
    copying: Future[str] = field(init=False)
    hashing: Future[Hashed] = field(init=False)


def copy_in(
    pool: Executor,
    sidecar: Sidecar,
    live: list[tuple[str, Any]],
    hashes: Prehasher,
    cap: int | None,
) -> CopyResult:
    """Keep each live file (name, FileInfo) in ``sidecar``, in order, within ``cap`` bytes.

    ``hashes`` (name -> SHA-256, names are never reused) spares hashing a file hashed ahead or
    saved before, and copying one already kept; it learns the hashes computed at save."""
    result = CopyResult()
    copies: list[_Copy] = []
    try:
        for name, info in live:
            known = hashes.get(name)
            if known is not None and sidecar.has(file_name(known.digest, _ext(name)), info.size):
                result.digests[name] = known.digest
                result.kept_bytes += info.size
            elif cap is not None and result.kept_bytes + info.size > cap:
                result.skipped += 1
                result.skipped_bytes += info.size
            elif (copy := _start(pool, sidecar, name, info.path, hashes)) is not None:
                copies.append(copy)
                result.kept_bytes += copy.size
        for copy in copies:
            digest = _finish(sidecar, copy, result)
            if digest is not None:
                result.digests[copy.name] = digest
    finally:
        for copy in copies:
            os.close(copy.fd)
    return result


def _ext(name: str) -> str:
    return name.rsplit(".", 1)[1]


def _start(
    pool: Executor, sidecar: Sidecar, name: str, path: Path, hashes: Prehasher
) -> _Copy | None:
    """Open a tier file (never following links) and start copying it and finding its hash."""
    opened = open_regular(path)
    if opened is None:
        return None  # released meanwhile
    fd, st = opened
    copy = _Copy(name, fd, st.st_size)
    copy.copying = pool.submit(sidecar.new_temp, fd, st.st_size)
    copy.hashing = pool.submit(hashes.hash_for_save, name, fd, st)
    return copy


def _finish(sidecar: Sidecar, copy: _Copy, result: CopyResult) -> str | None:
    """Wait for one copy and hash; publish the copy under its hash unless already there."""
    tmp = None
    try:
        tmp = copy.copying.result()
        hashed = copy.hashing.result()
        if identity(os.fstat(copy.fd)) == hashed.identity:
            digest = hashed.digest
        else:  # the kernel changed its file: the bytes copied may not be the ones hashed
            digest = sidecar.digest_of(tmp)
    except OSError as exc:
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

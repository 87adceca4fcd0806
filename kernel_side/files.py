"""``vfile()``: store a payload as a virtual file and get its URL (a ``data:`` URL without a
server); the display helpers in kernel_side.api build on it."""

from __future__ import annotations

import base64
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vfs_ext.config import format_size
from vfs_ext.errors import VirtualFileError
from vfs_ext.mimes import ext_for_mime, mime_for_ext
from vfs_ext.names import normalize_ext
from vfs_ext.sources import Data

from . import formats, html
from .extension import current_session

#: Without a server, ``vfile()`` inlines at most this much as a ``data:`` URL (it travels base64
#: encoded in the output and the notebook file).
DATA_URL_LIMIT = 4 * 1024 * 1024


def _suffix_ext(filename: str | None) -> str | None:
    """A filename's suffix if a virtual file name may carry it; None for ``notes.txt~``,
    ``model.ckpt-1000`` or ``photo.jpg_large`` (the download keeps the real filename)."""
    suffix = Path(filename).suffix if filename else ""
    try:
        return normalize_ext(suffix) if suffix else None
    except ValueError:
        return None


def guess_ext(
    data: Data, ext: str | None, mime: str | None, filename: str | None, default: str
) -> str:
    if ext:
        return ext.lower().lstrip(".")
    for candidate in (filename, os.fspath(data) if formats.is_path(data) else None):
        suffix = _suffix_ext(candidate)
        if suffix:
            return suffix
    if mime:
        return ext_for_mime(mime)
    try:
        return formats.sniff(formats.head(data)) or default
    except (OSError, AttributeError, io.UnsupportedOperation):
        return default


def data_url(mime: str, blob: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(blob).decode('ascii')}"


def read_bytes(data: Data, limit: int | None = None) -> bytes:
    """All bytes of ``data``; with ``limit``, VirtualFileError when there are more (read no
    further than one byte past it)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        blob = bytes(data)
    elif formats.is_path(data):
        with open(data, "rb") as f:
            blob = f.read() if limit is None else f.read(limit + 1)
    else:
        blob = data.read() if limit is None else data.read(limit + 1)  # type: ignore[union-attr]
    if limit is not None and len(blob) > limit:
        raise VirtualFileError(
            f"no Jupyter server with vfs_ext serves this kernel, and the data is larger than "
            f"the {format_size(limit)} a data: URL may carry "
            "(kernel_side.api.DATA_URL_LIMIT); start the kernel from jupyter lab / notebook / "
            "server with vfs_ext enabled"
        )
    return blob


@dataclass(frozen=True)
class VirtualFile:
    """A stored payload: its URL is what the browser fetches. ``name``/``tier`` are None for a
    ``data:`` URL (no server)."""

    name: str | None
    url: str
    size: int
    mime: str
    tier: str | None
    filename: str | None = None

    @property
    def record(self) -> dict[str, Any]:
        return html.record(self.name or "", self.url if self.name else "", self.mime, self.size)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        label = self.filename or self.name or "data"
        text = f"{label} ({format_size(self.size)}, {self.mime})"
        data = {
            "text/plain": f"VirtualFile({text}, url={self.url if self.name else 'data:...'})",
            "text/html": html.link(self.url, text, download=self.filename),
        }
        return data, {html.METADATA_KEY: self.record}

    def __str__(self) -> str:
        return self.url


def vfile(
    data: Data, ext: str | None = None, mime: str | None = None, filename: str | None = None
) -> VirtualFile:
    """Store ``data`` (bytes-like, a path, or a binary file object) and return its URL.

    The file belongs to the running cell (released when the cell is re-run) or, outside a
    cell, to the kernel session. The server serves it with the type of its extension, taken
    from ``ext``, ``filename``, the path, ``mime`` or the leading bytes, in that order.
    """
    refused = formats.problem("vfile", data)
    if refused is not None:
        raise refused
    ext = guess_ext(data, ext, mime, filename, "bin")
    mime = mime or mime_for_ext(ext)
    session = current_session()
    if not session.available:
        session.notice_no_server()
        blob = read_bytes(data, DATA_URL_LIMIT)
        return VirtualFile(None, data_url(mime, blob), len(blob), mime, None, filename)
    info = session.write(data, ext)
    vf = VirtualFile(info.name, session.url(info.name), info.size, mime, info.tier, filename)
    session.referenced_by(info.name, vf)
    return vf

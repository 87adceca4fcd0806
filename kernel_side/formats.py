"""What the helpers' bytes are, from their leading bytes (magic numbers), and the one short
error for bytes or paths a helper cannot show.

``vfs_ext.image(b"...")`` of bytes that are no image would store them and show a broken
picture; a wrong path would fail deep in the write. Checking the first bytes first costs one
small read and says what was expected, before anything is written. The helpers raise what
``problem`` returns themselves: the traceback is then the caller's line and the helper's.
"""

from __future__ import annotations

import io
import os
from typing import IO, TypeGuard, cast

from vfs_ext.sources import Data

#: Leading bytes -> extension.
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"%PDF-", "pdf"),
    (b"\x1aE\xdf\xa3", "webm"),
    (b"OggS", "ogg"),
    (b"fLaC", "flac"),
    (b"ID3", "mp3"),
)
#: Bytes read to tell a format: an SVG's ``<svg`` may follow an XML prolog and a DOCTYPE.
HEAD_SIZE = 1024

IMAGE_FORMATS = {"png": "PNG", "jpg": "JPEG", "gif": "GIF", "webp": "WebP", "svg": "SVG"}
_IMAGE_EXTS = {*IMAGE_FORMATS, "jpeg"}
#: What each media helper plays, for its error message.
MEDIA_FORMATS = {"video": "MP4, WebM or Ogg", "audio": "WAV, MP3, Ogg, FLAC or M4A"}
#: Known formats that are no video or audio.
_NOT_MEDIA = {"png", "jpg", "gif", "webp", "svg", "pdf"}


def sniff(head: bytes) -> str | None:
    """The extension the leading bytes tell, or None."""
    for magic, ext in _MAGIC:
        if head.startswith(magic):
            return ext
    if head[:4] == b"RIFF" and head[8:12] in (b"WEBP", b"WAVE"):
        return "webp" if head[8:12] == b"WEBP" else "wav"
    if head[4:8] == b"ftyp":
        return "m4a" if head[8:11] == b"M4A" else "mp4"
    stripped = head.lstrip()
    if stripped.startswith((b"<svg", b"<?xml", b"<!DOCTYPE svg")) and b"<svg" in head:
        return "svg"
    return None


def is_path(data: object) -> TypeGuard[str | os.PathLike[str]]:
    return isinstance(data, (str, os.PathLike))


def head(data: Data, size: int = HEAD_SIZE) -> bytes:
    """The first bytes of any source, leaving a file object where it was."""
    if isinstance(data, (str, os.PathLike)):
        with open(data, "rb") as f:
            return f.read(size)
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data[:size])
    # A stream with only ``read`` raises AttributeError here, a pipe OSError: callers catch both.
    stream = cast(IO[bytes], data)
    pos = stream.tell()
    first = stream.read(size)
    stream.seek(pos)
    return first


def _looks_like_text(first: bytes) -> bool:
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c.isprintable() or c.isspace() for c in text)


def _describe(first: bytes) -> str:
    found = sniff(first)
    if found:
        return f"they are {IMAGE_FORMATS.get(found, found.upper())}"
    if not first:
        return "there are none"
    return f"they start with {first[:16]!r}"


def problem(helper: str, data: Data, ext: str | None = None) -> Exception | None:
    """Why ``vfs_ext.<helper>(data)`` cannot show ``data``, or None (also when it cannot
    tell: an unreadable source fails later with its own error)."""
    if is_path(data) and not os.path.exists(data):
        return FileNotFoundError(f"vfs_ext.{helper}: no such file: {os.fspath(data)!r}")
    try:
        first = head(data)
    except (OSError, AttributeError, io.UnsupportedOperation):
        return None
    if not isinstance(first, bytes):
        return None  # a text-mode file: the write says how to open it
    found = sniff(first)
    if helper == "image":
        if (ext and ext.lower() not in _IMAGE_EXTS) or found in IMAGE_FORMATS:
            return None  # a format without a check here (BMP, AVIF...) or a known image
        *most, last = IMAGE_FORMATS.values()
        expected = f"{', '.join(most)} or {last}"
        return ValueError(f"vfs_ext.image expects {expected} bytes; {_describe(first)}")
    if helper in MEDIA_FORMATS and (found in _NOT_MEDIA or not first or _looks_like_text(first)):
        return ValueError(
            f"vfs_ext.{helper} expects {helper} bytes ({MEDIA_FORMATS[helper]}); {_describe(first)}"
        )
    return None

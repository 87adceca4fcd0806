"""The Python API: ``vfile()`` and display helpers for images, video, audio, PDF and downloads.

With a server, each helper writes its payload as a virtual file (in the running cell's group)
and displays a few hundred bytes of HTML. Without one (VS Code, nbclient, plain IPython) the
helpers display the usual inline output, and ``vfile()`` returns a ``data:`` URL up to
``DATA_URL_LIMIT`` bytes.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from typing import Any

from vfs_ext.config import format_size
from vfs_ext.mimes import mime_for_ext
from vfs_ext.records import REFERENCE_MIME
from vfs_ext.sources import Data

from . import formats, html, reference
from .extension import current_session
from .files import DATA_URL_LIMIT, VirtualFile, data_url, guess_ext, read_bytes, vfile

__all__ = [
    "DATA_URL_LIMIT",
    "VirtualFile",
    "VirtualOutput",
    "audio",
    "download",
    "image",
    "pdf",
    "vfile",
    "video",
]


class VirtualOutput:
    """What the helpers return: displays as the HTML element, keeps ``.file`` for scripts."""

    def __init__(
        self, file: VirtualFile | None, data: dict[str, Any], metadata: dict[str, Any]
    ) -> None:
        self.file = file
        self._data = data
        self._metadata = metadata

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        return dict(self._data), dict(self._metadata)

    def __repr__(self) -> str:
        return str(self._data.get("text/plain", "VirtualOutput"))


def _output(
    data: Data,
    element: Callable[[VirtualFile], str],
    *,
    ext: str | None = None,
    filename: str | None = None,
    ref: dict[str, Any] | None = None,
) -> VirtualOutput | None:
    """Store ``data`` and display ``element(file)``; None when there is no server. With
    ``ref`` (the element's attributes), the bundle also carries the reference that vfs_ext's
    JupyterLab extension renders (kernel_side.reference)."""
    session = current_session()
    if not session.available:
        session.notice_no_server()
        return None
    try:
        head = formats.head(data) if ref is not None else b""
    except (OSError, AttributeError, io.UnsupportedOperation):
        head = b""
    vf = vfile(data, ext=ext, filename=filename)
    assert vf.name is not None
    stand_in = element(vf)
    bundle: dict[str, Any] = {
        html.fallback(stand_in): stand_in,
        "text/plain": html.plain(vf.mime, vf.size, vf.url),
    }
    if ref is not None:
        attrs = {k: v for k, v in ref.items() if v is not None}
        bundle[REFERENCE_MIME] = reference.reference(vf.record, attrs, head)
    return VirtualOutput(vf, bundle, {html.METADATA_KEY: vf.record})


def _inline(
    mime: str, blob: bytes, plain: str, metadata: dict[str, Any] | None = None
) -> VirtualOutput:
    payload = blob.decode("utf-8") if mime == "image/svg+xml" else base64.b64encode(blob).decode()
    return VirtualOutput(None, {mime: payload, "text/plain": plain}, metadata or {})


def _media_inline(tag: str, mime: str, blob: bytes, **attrs: Any) -> VirtualOutput:
    return VirtualOutput(
        None,
        {
            "text/html": html.media(tag, data_url(mime, blob), **attrs),
            "text/plain": f"<{tag} {mime}>",
        },
        {},
    )


def image(
    data: Data,
    format: str | None = None,
    width: int | str | None = None,
    height: int | str | None = None,
    alt: str = "",
) -> VirtualOutput:
    """An ``<img>`` of a PNG, JPEG, GIF, WebP or SVG (``format`` guessed when omitted)."""
    refused = formats.problem("image", data, format)
    if refused is not None:
        raise refused
    ext = guess_ext(data, format, None, None, "png")
    output = _output(
        data,
        lambda f: html.img(f.url, alt=alt, width=width, height=height),
        ext=ext,
        ref={"alt": alt, "width": width, "height": height},
    )
    if output is not None:
        return output
    mime = mime_for_ext(ext)
    md = {mime: {k: v for k, v in (("width", width), ("height", height)) if v is not None}}
    return _inline(mime, read_bytes(data), f"<image {mime}>", md if md[mime] else None)


def _media(
    tag: str,
    data: Data,
    format: str | None,
    default: str,
    **attrs: Any,
) -> VirtualOutput:
    ext = guess_ext(data, format, None, None, default)
    output = _output(data, lambda f: html.media(tag, f.url, **attrs), ext=ext, ref=attrs)
    if output is not None:
        return output
    return _media_inline(tag, mime_for_ext(ext), read_bytes(data), **attrs)


def video(
    data: Data,
    controls: bool = True,
    autoplay: bool = False,
    loop: bool = False,
    muted: bool = False,
    width: int | str | None = None,
    *,
    format: str | None = None,
) -> VirtualOutput:
    """A ``<video src>`` (mp4, webm, ogg; ``format`` guessed when omitted)."""
    refused = formats.problem("video", data, format)
    if refused is not None:
        raise refused
    return _media(
        "video",
        data,
        format,
        "mp4",
        controls=controls,
        autoplay=autoplay,
        loop=loop,
        muted=muted,
        width=width,
    )


def audio(
    data: Data,
    controls: bool = True,
    autoplay: bool = False,
    loop: bool = False,
    muted: bool = False,
    *,
    format: str | None = None,
) -> VirtualOutput:
    """An ``<audio src>`` (wav, mp3, ogg, flac, m4a; ``format`` guessed when omitted)."""
    refused = formats.problem("audio", data, format)
    if refused is not None:
        raise refused
    return _media(
        "audio", data, format, "wav", controls=controls, autoplay=autoplay, loop=loop, muted=muted
    )


def pdf(data: Data, height: int | str = 600) -> VirtualOutput:
    """A PDF viewer (``<object>``) with a link that survives in untrusted notebooks."""
    refused = formats.problem("pdf", data)
    if refused is not None:
        raise refused
    output = _output(
        data,
        lambda f: html.pdf(f.url, f.name or "", f.size, height=height),
        ext="pdf",
        ref={"height": height},
    )
    if output is not None:
        return output
    return _inline("application/pdf", read_bytes(data), "<PDF document>")


def download(data: Data, filename: str, label: str | None = None) -> VirtualOutput:
    """A download link that saves as ``filename`` (a ``data:`` URL without a server)."""
    refused = formats.problem("download", data)
    if refused is not None:
        raise refused
    output = _output(
        data, lambda f: html.download(f.url, filename, f.size, label), filename=filename
    )
    if output is not None:
        return output
    vf = vfile(data, filename=filename)  # within DATA_URL_LIMIT
    bundle = {
        "text/html": html.download(vf.url, filename, vf.size, label),
        "text/plain": f"{filename} ({format_size(vf.size)})",
    }
    return VirtualOutput(vf, bundle, {})

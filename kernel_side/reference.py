"""The reference MIME type: what a frontend with vfs_ext's JupyterLab extension renders.

Every virtual output's bundle carries ``application/vnd.vfs-ext.v1+json`` (the file's name, the
original MIME type, size, alt text and dimensions) next to the ``text/html`` fallback that
frontends without the extension show. Because the extension hands the fetched payload to
JupyterLab's own renderer for the original type, payloads of any MIME type can leave iopub:
plotly and other JSON, big HTML tables, Markdown, LaTeX... (docs/frontend.md has the table).
The extension builds the URL from the page's base URL, so the record needs no URL.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from typing import Any

from vfs_ext.records import REFERENCE_MIME

from . import ranking

#: Types never moved out: the fallback text, our own reference, and types whose payload is a
#: handle on something living in the page (widgets), not the thing shown.
KEEP_INLINE = frozenset(
    {
        "text/plain",
        REFERENCE_MIME,
        "application/vnd.jupyter.widget-view+json",
        "application/vnd.jupyter.widget-state+json",
    }
)


def is_json_value(value: Any) -> bool:
    """A payload IPython keeps as a JSON object or array (plotly, Vega, GeoJSON, JSON)."""
    return isinstance(value, (dict, list))


def json_bytes(value: Any) -> bytes:
    """The payload as the kernel would send it, compact; ValueError/TypeError when it is not
    JSON (NaN included: JupyterLab's JSON.parse would refuse the file)."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode("utf-8")


def movable(mime: str) -> bool:
    """Whether a payload of this type may become a virtual file once the frontend has the
    reference renderer (every type but KEEP_INLINE)."""
    return mime not in KEEP_INLINE


def dimensions(mime: str, payload: bytes) -> dict[str, int] | None:
    """An image's pixel size from its header (PNG, GIF, JPEG), so the frontend keeps its room
    before it loads (lazy loading needs it: unsized images would all look near the viewport)."""
    try:
        if mime == "image/png" and payload[:8] == b"\x89PNG\r\n\x1a\n":
            width, height = struct.unpack(">II", payload[16:24])
        elif mime == "image/gif" and payload[:4] == b"GIF8":
            width, height = struct.unpack("<HH", payload[6:10])
        elif mime == "image/jpeg":
            found = _jpeg_size(payload)
            if found is None:
                return None
            width, height = found
        else:
            return None
    except struct.error:
        return None
    return {"width": width, "height": height} if width > 0 and height > 0 else None


#: JPEG start-of-frame markers (all but DHT 0xC4, JPG 0xC8 and DAC 0xCC).
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(payload: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 9 < len(payload) and payload[pos] == 0xFF:
        marker = payload[pos + 1]
        (length,) = struct.unpack(">H", payload[pos + 2 : pos + 4])
        if marker in _SOF:
            height, width = struct.unpack(">HH", payload[pos + 5 : pos + 9])
            return width, height
        pos += 2 + length
    return None


def reference(
    record: Mapping[str, Any], mime_md: Mapping[str, Any], payload: bytes
) -> dict[str, Any]:
    """The reference for one stored payload (see the module docstring)."""
    ref: dict[str, Any] = {"name": record["name"], "mime": record["mime"], "size": record["size"]}
    for key in ("alt", "width", "height"):
        value = mime_md.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and value != "":
            ref[key] = value
    dims = dimensions(record["mime"], payload)
    if dims:
        ref["dimensions"] = dims
    rest = {k: v for k, v in mime_md.items() if k not in ("alt", "width", "height")}
    if rest:
        ref["metadata"] = rest
    return ref


def add_reference(data: dict[str, Any], refs: list[dict[str, Any]]) -> None:
    """Put the reference of the payload JupyterLab would have shown into ``data``.

    Only when it outranks every payload left inline (kernel_side.ranking): otherwise JupyterLab
    shows that inline payload anyway, and a reference ranked above it would take its place."""
    best = ranking.shown(ref["mime"] for ref in refs)
    if best is None:
        return
    inline = [mime for mime in data if mime not in KEEP_INLINE]
    if ranking.shown([best, *inline]) == best:
        data[REFERENCE_MIME] = next(ref for ref in refs if ref["mime"] == best)


def plain_fallback(data: dict[str, Any], description: str, threshold: int) -> None:
    """A ``text/plain`` that says what was moved out, unless the bundle has a small one.

    A large one goes (a 100k-row DataFrame's text is 2 MiB): the bundle's other types were
    moved out, so a frontend has better to show, and a notebook no reason to carry it."""
    plain = data.get("text/plain")
    if not isinstance(plain, str) or len(plain) > threshold:
        data["text/plain"] = description

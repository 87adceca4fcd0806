"""Move the base64 ``data:`` URIs of an HTML output into virtual files.

IPython's ``Video(embed=True)`` and ``Audio(array, rate=...)`` put the whole recording in a
``<source src="data:...;base64,...">``; matplotlib's ``to_jshtml`` keeps every frame in a string
literal of its inline script (``frames[3] = "data:image/png;base64,..."``). Replacing each URI
by the URL of a virtual file holding its bytes leaves everything else byte-identical, so
scripts, styles and attributes work as before. One addition: JupyterLab's sanitizer strips
``<source src>`` in untrusted outputs (a reopened notebook), so a ``<video>`` / ``<audio>``
without a ``src`` of its own gets the URL of its moved source on the element itself.

SVG payloads are not rewritten: JupyterLab shows an SVG as an ``<img>``, and an SVG loaded as
an image may not fetch anything, so its embedded images must stay ``data:`` URIs (a large SVG
is stored whole instead, by kernel_side.externalize).
"""

from __future__ import annotations

import binascii
import logging
import re
from collections.abc import Callable
from typing import Any

from vfs_ext.errors import VirtualFileError
from vfs_ext.mimes import ext_for_mime

log = logging.getLogger("vfs_ext")

#: URIs of fewer bytes stay inline even in a large page (icons, fonts...).
MIN_DATA_URI = 2048

_RUN = r"[A-Za-z0-9+/]+"
_BREAK = r"\\?\r?\n"  # base64.encodebytes lines; "\" + newline continues a JS string
_SEP = rf"(?:{_BREAK}|\\(?=/))"  # JSON inside a script may write "/" as "\/"
DATA_URI_RE = re.compile(
    r"data:(?P<mime>[A-Za-z0-9][\w.+-]*/[\w.+-]+)(?:;[\w.+-]+=[\w.+-]+)*;base64,"
    rf"(?P<b64>{_RUN}(?:{_SEP}{_RUN})*(?:(?:{_BREAK})?={{1,2}})?)"
)
_MEDIA_OPEN_RE = re.compile(r"<(?P<tag>video|audio)\b(?P<attrs>[^>]*)>", re.IGNORECASE)
_SRC_ATTR_RE = re.compile(r"""\ssrc\s*=""", re.IGNORECASE)
_SOURCE_SRC_RE = re.compile(r"""<source\b[^>]*?\ssrc\s*=\s*["']?(?P<url>[^"'\s>]+)""", re.I)

#: Stores bytes under an extension; returns the record (name, url, mime, size).
Writer = Callable[[bytes, str], dict[str, Any]]


def _decode(b64: str) -> bytes:
    """The bytes of a matched URI (its alphabet already checked by DATA_URI_RE)."""
    if "\\" in b64 or "\n" in b64:
        b64 = b64.replace("\\", "").replace("\r", "").replace("\n", "")
    return binascii.a2b_base64(b64)  # b64decode(validate=True) would re-check: 2x the time


def externalize_html(
    text: str, threshold: int, write: Writer
) -> tuple[str, list[dict[str, Any]]] | None:
    """``text`` with its ``data:`` URIs moved to virtual files when it is larger than
    ``threshold``; None if nothing moved.

    All of them move, not just enough to fit: an animation's frames each below the threshold
    would otherwise stay half inline, and a page loads its frames alike (tiny icons stay).
    """
    if len(text) <= threshold or "base64," not in text:
        return None
    moved: list[tuple[re.Match[str], str]] = []
    records: list[dict[str, Any]] = []
    for match in DATA_URI_RE.finditer(text):
        if len(match["b64"]) * 3 // 4 < MIN_DATA_URI:
            continue
        try:
            payload = _decode(match["b64"])
        except (binascii.Error, ValueError):
            continue  # not base64 after all: leave it as it is
        mime = match["mime"].lower()
        try:
            rec = write(payload, ext_for_mime(mime))
        except VirtualFileError as exc:
            log.warning("vfs_ext: a %s data: URI stays inline: %s", mime, exc)
            break  # the tiers are full: the rest would not fit either
        rec["mime"] = mime
        records.append(rec)
        moved.append((match, str(rec["url"])))
    if not moved:
        return None
    pieces, pos = [], 0
    for match, url in moved:
        pieces += [text[pos : match.start()], url]
        pos = match.end()
    pieces.append(text[pos:])
    return _lift_sources("".join(pieces), {url for _, url in moved}), records


def _lift_sources(text: str, urls: set[str]) -> str:
    """Give each ``<video>`` / ``<audio>`` without ``src`` the URL of its first moved
    ``<source>``: the sanitizer of untrusted outputs removes ``<source src>``."""
    pieces, pos = [], 0
    for match in _MEDIA_OPEN_RE.finditer(text):
        if _SRC_ATTR_RE.search(match["attrs"]):
            continue
        close = re.compile(rf"</{match['tag']}\s*>", re.IGNORECASE).search(text, match.end())
        inner = text[match.end() : close.start() if close else len(text)]
        source = next((s for s in _SOURCE_SRC_RE.finditer(inner) if s["url"] in urls), None)
        if source is None:
            continue
        insert_at = match.start() + 1 + len(match["tag"])
        pieces += [text[pos:insert_at], f' src="{source["url"]}"']
        pos = insert_at
    pieces.append(text[pos:])
    return "".join(pieces)

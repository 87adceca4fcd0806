"""Turn a large MIME bundle into virtual files plus a few hundred bytes of HTML.

Runs on the bundle ``display_formatter.format`` returns, before anything is base64-encoded or
JSON-serialized (a 50 MiB PNG costs ~0.08 s here instead of ~1.6 s inline), and again on
published messages for bundles that bypass the formatter (``display(..., raw=True)``).
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vfs_ext.config import format_size
from vfs_ext.errors import VirtualFileError
from vfs_ext.mimes import ext_for_mime

from . import bokeh, datauri, html, ranking, reference
from .session import Policy
from .vega import externalize_spec, is_vega

log = logging.getLogger("vfs_ext")

#: A payload that fits no tier still goes inline up to this size; beyond, an error replaces it.
INLINE_FALLBACK_LIMIT = 16 * 1024 * 1024

IMAGE_MIMES = ("image/svg+xml", "image/png", "image/jpeg", "image/gif", "image/webp")
BASE64_MIMES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"})

#: Stores bytes under an extension; returns the record (name, url, mime, size).
Writer = Callable[[bytes, str], dict[str, Any]]


def _is_binary(mime: str) -> bool:
    return mime in BASE64_MIMES or mime.startswith(("video/", "audio/"))


def _is_media(mime: str) -> bool:
    """Payloads shown as one element each; a bundle's several ones are the same picture."""
    return _is_binary(mime) or mime == "image/svg+xml"


def payload_size(mime: str, value: Any) -> int:
    """Bytes the payload stands for, without decoding it (base64 is 4/3 of its bytes)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return len(value)
    if isinstance(value, str):
        return len(value) * 3 // 4 if _is_binary(mime) else len(value)
    if reference.is_json_value(value):
        return len(reference.json_bytes(value))
    return 0


def payload_bytes(mime: str, value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if _is_binary(mime):
        return base64.b64decode(value)  # tolerates the newlines IPython's encoder adds
    if reference.is_json_value(value):
        return reference.json_bytes(value)
    return str(value).encode("utf-8")


@dataclass
class _Result:
    data: dict[str, Any]
    metadata: dict[str, Any]
    records: list[dict[str, Any]] = field(default_factory=list)
    #: (rank, bundle key, stand-in HTML) per stored payload (kernel_side.html.fallback)
    elements: list[tuple[tuple[int, int], str, str]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    refs: list[dict[str, Any]] = field(default_factory=list)  # kernel_side.reference
    threshold: int = 0


def externalize(
    data: dict[str, Any],
    metadata: dict[str, Any] | None,
    policy: Policy,
    write: Writer,
    written: list[dict[str, Any]] | None = None,
    kept_inline: Callable[[str, int, str], None] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The bundle with every payload over ``policy.threshold`` moved to a virtual file.

    Any type but plain text goes (kernel_side.reference: the frontend extension renders it
    from the file); the ``data:`` URIs of a small HTML page stay (kernel_side.datauri). Of
    several media payloads, only the one the front end shows is stored (kernel_side.ranking).
    A payload that fits no tier stays inline when small enough; otherwise the bundle says what
    went wrong. ``written``: files already stored for this bundle (an Altair chart's data),
    named in its metadata.
    ``kept_inline(mime, size, reason)`` hears of each payload that stays inline because no tier
    took it.
    """
    metadata = dict(metadata or {})
    records = list(written or [])
    page = data.get("text/html")
    moved = isinstance(page, str) and datauri.externalize_html(page, policy.threshold, write)
    if moved:
        data = {**data, "text/html": moved[0]}
        records += moved[1]
    todo = _due(data, policy)
    if not todo and not records:
        return data, metadata
    result = _Result(dict(data), metadata, records, threshold=policy.threshold)
    for mime in ranking.never_shown([m for m in todo if _is_media(m)]):
        del result.data[mime]  # too large to send along, and no front end would show it
        result.metadata.pop(mime, None)
        todo.remove(mime)
    for mime in todo:
        _store(result, mime, policy, write, kept_inline)
    return _finish(result)


def _due(data: dict[str, Any], policy: Policy) -> list[str]:
    """The MIME types of ``data`` to store: payloads over the threshold of any type that may
    move (kernel_side.reference), and Vega specs (their datasets may be large even when the
    spec is not)."""
    return [
        mime
        for mime, value in data.items()
        if is_vega(mime) or (reference.movable(mime) and _over(mime, value, policy.threshold))
    ]


def _over(mime: str, value: Any, threshold: int) -> bool:
    """Larger than ``threshold``; a JSON value that is not JSON (NaN) counts as small."""
    try:
        return payload_size(mime, value) > threshold
    except (ValueError, TypeError):
        return False


def _store(
    result: _Result,
    mime: str,
    policy: Policy,
    write: Writer,
    kept_inline: Callable[[str, int, str], None] | None = None,
) -> None:
    """Store one payload; one that fits no tier stays inline if small enough, else an error
    message takes its place."""
    try:
        if is_vega(mime):
            _vega(result, mime, policy, write)
        elif bokeh.is_script(mime, result.data):
            _bokeh(result, mime, write)
        else:
            _payload(result, mime, write)
    except VirtualFileError as exc:
        size = payload_size(mime, result.data[mime])
        if size <= INLINE_FALLBACK_LIMIT:
            log.warning("vfs_ext: %s output stays inline: %s", mime, exc)
            if kept_inline is not None:
                kept_inline(mime, size, str(exc))
        else:
            result.data.pop(mime, None)
            result.failures.append(
                f"vfs_ext: this {mime} output ({format_size(size)}) could not be stored "
                f"and is too large to send inline: {exc}"
            )
    except (ValueError, TypeError, binascii.Error) as exc:
        log.warning("vfs_ext: %s output stays inline: %s", mime, exc)


def _payload(result: _Result, mime: str, write: Writer) -> None:
    value = result.data[mime]
    payload = payload_bytes(mime, value)
    rec = write(payload, ext_for_mime(mime))
    rec["mime"] = mime
    mime_md = result.metadata.pop(mime, None) or {}
    url, name, size = rec["url"], rec["name"], rec["size"]
    if mime in IMAGE_MIMES:
        element = html.img(
            url,
            alt=str(mime_md.get("alt") or ""),
            width=mime_md.get("width"),
            height=mime_md.get("height"),
        )
    elif mime == "application/pdf":
        element = html.pdf(url, name, size)
    elif mime == "text/html":
        element = html.iframe(url, name, size)
    elif mime.startswith("video/"):
        element = html.media("video", url, width=mime_md.get("width"))
    elif mime.startswith("audio/"):
        element = html.media("audio", url)
    else:
        element = html.download(url, name, size)
    # A link is the last choice of fallback: a bundle's iframe or image shows more.
    rank = ranking.rank(mime) if "download=" not in element else (ranking.UNRENDERED_RANK + 2, 0)
    del result.data[mime]
    result.records.append(rec)
    result.elements.append((rank, html.fallback(element), element))
    result.refs.append(reference.reference(rec, mime_md, payload))


def _vega(result: _Result, mime: str, policy: Policy, write: Writer) -> None:
    records: list[dict[str, Any]] = []

    def store_json(payload: bytes, ext: str) -> str:
        rec = write(payload, ext)
        records.append(rec)
        return str(rec["url"])

    moved = externalize_spec(result.data[mime], policy.threshold, store_json)
    result.records.extend(records)
    if moved is not None:
        result.data[mime] = moved[0]


def _bokeh(result: _Result, mime: str, write: Writer) -> None:
    """BokehJS or a Bokeh document: a small script loads it by URL (kernel_side.bokeh)."""

    def store(payload: bytes, ext: str) -> dict[str, Any]:
        rec = write(payload, ext)
        result.records.append(rec)
        return rec

    moved = bokeh.externalize_script(mime, result.data, result.metadata, store)
    if moved is None:
        log.info("vfs_ext: a %s output bokeh did not write stays inline", mime)
    else:
        result.data[mime] = moved


def _finish(result: _Result) -> tuple[dict[str, Any], dict[str, Any]]:
    data, metadata = result.data, result.metadata
    reference.add_reference(data, result.refs)
    if result.elements and html.HTML not in data:
        _rank, key, element = min(result.elements)
        # Next to the bundle's own Markdown, the stand-in stays HTML (nbconvert prefers it).
        data[html.HTML if key in data else key] = element
    if result.records:
        primary = result.records[0]
        plain = html.plain(primary["mime"], primary["size"], primary["url"])
        reference.plain_fallback(data, plain, result.threshold)
        record = dict(primary)
        if len(result.records) > 1:
            record["files"] = result.records
        metadata[html.METADATA_KEY] = record
    if result.failures:
        message = "\n".join(result.failures)
        if not result.elements and not (set(data) - {"text/plain"}):
            data = html.error(message)
        else:
            data.setdefault("text/plain", message)
        metadata.setdefault(html.METADATA_KEY, {})["error"] = message
    return data, metadata

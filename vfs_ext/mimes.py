"""Extension <-> MIME type, shared by both sides so a file is served as what it was written as."""

from __future__ import annotations

import mimetypes
import re

# What the stdlib table lacks or gets wrong on some platforms.
_EXTRA = {
    "webm": "video/webm",
    "webp": "image/webp",
    "avif": "image/avif",
    "mp4": "video/mp4",
    "m4a": "audio/mp4",
    "ogg": "audio/ogg",
    "ogv": "video/ogg",
    "oga": "audio/ogg",
    "opus": "audio/opus",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "svg": "image/svg+xml",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "pdf": "application/pdf",
    "json": "application/json",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "html": "text/html",
    "htm": "text/html",
    "txt": "text/plain",
    "js": "text/javascript",
    "mjs": "text/javascript",
    "wasm": "application/wasm",
    "parquet": "application/vnd.apache.parquet",
    "arrow": "application/vnd.apache.arrow.file",
    "feather": "application/vnd.apache.arrow.file",
    "npy": "application/octet-stream",
    "zip": "application/zip",
    "gz": "application/gzip",
    "bin": "application/octet-stream",
}
_PREFERRED_EXT = {mime: ext for ext, mime in reversed(list(_EXTRA.items()))}
_PREFERRED_EXT.update({"image/jpeg": "jpg", "text/html": "html", "audio/ogg": "ogg"})

DEFAULT_MIME = "application/octet-stream"

#: Types a browser shows without running anything in them (or only downloads). Everything else,
#: including types nobody listed (an ``+xml`` type may be rendered as a document with scripts),
#: is served with a sandboxing CSP: an allow-list, so a type we did not think of stays safe.
PASSIVE_MIMES = frozenset(
    {
        "application/pdf",
        "application/json",
        "application/octet-stream",
        "application/wasm",
        "application/zip",
        "application/gzip",
        "application/vnd.apache.parquet",
        "application/vnd.apache.arrow.file",
        "text/plain",
        "text/csv",
        "text/tab-separated-values",
    }
)
_PASSIVE_MAJORS = ("image/", "audio/", "video/")


def is_passive(mime: str) -> bool:
    """Whether a browser could not run script from a document of this type (see PASSIVE_MIMES);
    SVG and any other ``+xml`` image, audio or video type is active."""
    mime = mime.split(";", 1)[0].strip().lower()
    if mime in PASSIVE_MIMES:
        return True
    return mime.startswith(_PASSIVE_MAJORS) and "xml" not in mime


def mime_for_ext(ext: str) -> str:
    """The Content-Type to serve a file with this extension as; unknown -> octet-stream."""
    ext = ext.lower().lstrip(".")
    if ext in _EXTRA:
        return _EXTRA[ext]
    guessed, _ = mimetypes.guess_type(f"x.{ext}", strict=False)
    return guessed or DEFAULT_MIME


def ext_for_mime(mime: str) -> str:
    """The extension to store a payload of this MIME type under (``bin`` when unknown)."""
    mime = mime.split(";", 1)[0].strip().lower()
    if mime in _PREFERRED_EXT:
        return _PREFERRED_EXT[mime]
    if mime.endswith("+json"):
        return "json"
    guessed = mimetypes.guess_extension(mime, strict=False)
    return guessed.lstrip(".") if guessed else "bin"


#: Vega and Vega-Lite specs of every version, with altair 6's ``application/vnd.vegalite.v6.json``
#: (no ``+json``) too. Kernels move their datasets out (kernel_side.vega); exports bring them back.
VEGA_MIME_RE = re.compile(r"\Aapplication/vnd\.(?:vega|vegalite)\.v\d+(?:\.\d+)*[+.]json\Z")


def is_vega(mime: str) -> bool:
    return bool(VEGA_MIME_RE.match(mime))

"""The tiny HTML that stands in for a large payload, and the bundle around it.

Media stand-ins go under ``text/markdown`` (``fallback``), everything else under ``text/html``:
JupyterLab's table of contents parses every output's ``text/html`` into a ``<div>`` of the page to
find headings, and Chromium downloads each ``<img>`` / ``<video>`` of it at once, though the
``<div>`` is never shown; it finds Markdown headings with ``DOMParser``, which loads nothing.
Every frontend renders raw HTML in Markdown outputs (docs/frontend.md).

Only what JupyterLab's sanitizer keeps in untrusted outputs (a reopened notebook) is relied on:
``<img src>``, ``<video src>``, ``<audio src>`` and ``<a href>``. ``<source src>``, iframes,
``<object>`` and ``<embed>`` are stripped there, so PDFs and HTML pages use an ``<object>`` /
``<iframe>`` (shown in trusted outputs) with a link inside or next to it that survives.
"""

from __future__ import annotations

from html import escape

from vfs_ext.config import format_size

# The record every bundle carries in its metadata, shared with the server: vfs_ext.records.
from vfs_ext.records import METADATA_KEY as METADATA_KEY
from vfs_ext.records import record as record

#: Where a bundle keeps the stand-in of a payload of this kind: media in Markdown (see above).
MARKDOWN = "text/markdown"
HTML = "text/html"


def fallback(element: str) -> str:
    """The bundle key for a stand-in: Markdown for the elements that load by themselves."""
    return MARKDOWN if element.startswith(("<img ", "<video ", "<audio ")) else HTML


def _attr(name: str, value: object) -> str:
    """``$`` as an entity: Markdown renderers take ``$...$`` for math, even in attributes."""
    if value is None or value is False:
        return ""
    if value is True:
        return f" {name}"
    return f' {name}="{escape(str(value), quote=True).replace("$", "&#36;")}"'


def _dimension(value: object) -> object:
    """Numbers are pixels; strings (``"100%"``) pass through."""
    return value if value is None or isinstance(value, str) else int(value)  # type: ignore[call-overload]


def img(url: str, *, alt: str = "", width: object = None, height: object = None) -> str:
    """``loading="lazy"``: where it survives (trusted outputs, nbconvert HTML, VS Code) a long
    notebook fetches the images near the viewport only. JupyterLab's sanitizer drops it."""
    return (
        f"<img{_attr('src', url)}{_attr('alt', alt)}"
        f"{_attr('width', _dimension(width))}{_attr('height', _dimension(height))}"
        ' loading="lazy"/>'
    )


def media(
    tag: str,
    url: str,
    *,
    controls: bool = True,
    autoplay: bool = False,
    loop: bool = False,
    muted: bool = False,
    width: object = None,
) -> str:
    """``<video src>`` / ``<audio src>`` directly: the sanitizer strips ``<source src>``.

    The closing tag on its own line makes the element a raw HTML block in Markdown
    (CommonMark's type 7) rather than a paragraph around it."""
    return (
        f"<{tag}{_attr('src', url)}{_attr('controls', controls)}{_attr('autoplay', autoplay)}"
        f"{_attr('loop', loop)}{_attr('muted', muted)}{_attr('width', _dimension(width))}"
        f">\n</{tag}>"
    )


def link(url: str, text: str, *, download: str | None = None) -> str:
    return (
        f'<a{_attr("href", url)}{_attr("download", download)} target="_blank" '
        f'rel="noopener">{escape(text)}</a>'
    )


def pdf(url: str, name: str, size: int, *, height: object = 600) -> str:
    """An ``<object>`` in trusted outputs; its inner link is what an untrusted one keeps."""
    inner = link(url, f"Open PDF {name} ({format_size(size)})")
    return (
        f'<object{_attr("data", url)} type="application/pdf" width="100%"'
        f"{_attr('height', _dimension(height))}>{inner}</object>"
    )


def iframe(url: str, name: str, size: int, *, height: object = 400) -> str:
    """For large HTML (``--html``): an iframe when trusted, plus a link that always survives."""
    return (
        f'<iframe{_attr("src", url)} width="100%"{_attr("height", _dimension(height))} '
        f'style="border:0"></iframe>'
        f"<div>{link(url, f'Open {name} ({format_size(size)})')}</div>"
    )


def download(url: str, filename: str, size: int, label: str | None = None) -> str:
    text = label if label is not None else f"Download {filename} ({format_size(size)})"
    return link(url, text, download=filename)


def plain(mime: str, size: int, url: str) -> str:
    return f"<{mime}, {format_size(size)}, virtual file {url}>"


def error(message: str) -> dict[str, str]:
    """A bundle that says what went wrong instead of a payload that could not be stored."""
    return {
        "text/plain": message,
        "text/html": f'<pre style="color:#b00">{escape(message)}</pre>',
    }

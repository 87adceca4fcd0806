"""Which representation of a bundle a front end shows: JupyterLab's MIME ranking.

A bundle often carries the same picture several times (``PIL.Image``: PNG and JPEG; matplotlib
with several ``figure_formats``: PNG and SVG). JupyterLab renders exactly one MIME type per
output, the one of lowest rank among those it has a renderer for; ties go to the renderer
registered first. Storing only that one keeps the budget for outputs people see.

The ranks are JupyterLab 4's (``@jupyterlab/rendermime`` ``standardRendererFactories`` and the
default mime extensions: vega5-extension 57, pdf-extension 100); Notebook 7 uses the same
registry. JupyterLab has no renderer for ``video/*`` or ``audio/*`` bundles: they come last.
"""

from __future__ import annotations

from collections.abc import Iterable

from .vega import is_vega

#: (rank, MIME types in registration order) as JupyterLab 4.6 registers them.
_JUPYTERLAB_RANKS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (50, ("text/html",)),
    (60, ("text/markdown",)),
    (70, ("text/latex",)),
    (80, ("image/svg+xml",)),
    (90, ("image/bmp", "image/png", "image/jpeg", "image/gif", "image/webp")),
    (100, ("application/pdf",)),
    (110, ("application/javascript", "text/javascript")),
    (120, ("text/plain",)),
)
_ORDER = {mime: (rank, i) for rank, mimes in _JUPYTERLAB_RANKS for i, mime in enumerate(mimes)}
VEGA_RANK = 57
#: Types JupyterLab renders nothing for; vfs_ext shows them as ``<video>`` / ``<audio>``.
UNRENDERED_RANK = 1000


def rank(mime: str) -> tuple[int, int]:
    """Sort key: lower is what JupyterLab prefers."""
    if mime in _ORDER:
        return _ORDER[mime]
    if is_vega(mime):
        return (VEGA_RANK, 0)
    if mime.startswith("video/"):
        return (UNRENDERED_RANK, 0)
    if mime.startswith("audio/"):
        return (UNRENDERED_RANK, 1)
    return (UNRENDERED_RANK + 1, 0)


def shown(mimes: Iterable[str]) -> str | None:
    """The MIME type JupyterLab would display out of ``mimes`` (None for none)."""
    return min(mimes, key=rank, default=None)


def never_shown(due: list[str]) -> list[str]:
    """Of the media payloads due for storage (all over the threshold), those to drop: all but
    the best ranked, which is stored and shown; the others would hold budget (or, inline,
    iopub) for a picture no front end displays."""
    best = shown(due)
    return [mime for mime in due if mime != best]

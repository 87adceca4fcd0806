"""Bokeh's notebook output by URL: the scripts stay, their large contents move to virtual files.

``output_notebook()`` publishes BokehJS itself (``application/javascript`` for the classic
notebook and ``application/vnd.bokehjs_load.v0+json`` for jupyter_bokeh, ~3.9 MB each with
``INLINE`` resources), and ``show(p)`` a script holding the whole document (``docs_json``, 10 MB
for 500k points) next to ``application/vnd.bokehjs_exec.v0+json``, whose metadata ties the plot
to its root ``<div>`` (published just before) and to a comm for ``push_notebook``. Whatever runs
these scripts in the page (jupyter_bokeh's renderers, JupyterLab's JavaScript renderer, the
classic notebook) must still get a script, so the reference type cannot stand in for them:

- BokehJS moves to a ``.js`` file that a small script loads with ``<script src>`` (the same
  global scope as the inline script);
- a document's ``docs_json`` moves to a ``.json`` file that a small script fetches before it
  calls ``Bokeh.embed.embed_items_notebook`` as bokeh's own script does; the render items
  (root elements, the comm's target) stay in the script, so ``push_notebook`` still works.

Both scripts build the URL from the page's base URL (``jupyter-config-data`` in JupyterLab and
Notebook 7, ``data-base-url`` in the classic notebook), with the kernel's URL as a fallback; a
document whose file is gone says so in its root element instead of an empty plot. The scripts'
shapes live in vfs_ext.bokeh_scripts, which exports (server_side.export_bokeh) read back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from vfs_ext.bokeh_scripts import (
    EXEC_MIME,
    LOAD_MIME,
    bokehjs_loader,
    document_loader,
    is_script,
    split_document,
)

__all__ = ["externalize_script", "is_script"]

#: Stores bytes under an extension; returns the record (name, url, mime, size).
StoreFile = Callable[[bytes, str], dict[str, Any]]


def externalize_script(
    mime: str, data: Mapping[str, Any], metadata: Mapping[str, Any], store: StoreFile
) -> str | None:
    """The small script that stands for ``data[mime]``, its contents stored with ``store``;
    None when the script is not one bokeh writes (it then stays inline: moved as a whole, no
    frontend would run it)."""
    script = data[mime]
    if not isinstance(script, str):
        return None
    if mime == LOAD_MIME or LOAD_MIME in data:
        return bokehjs_loader(store(script.encode("utf-8"), "js"))
    exec_md = metadata.get(EXEC_MIME)
    if not (isinstance(exec_md, Mapping) and "id" in exec_md):
        return None  # a server app's script (``show(app)``) is small and has no document
    parts = split_document(script)
    if parts is None:
        return None
    docs_json, render_items = parts
    return document_loader(store(docs_json.encode("utf-8"), "json"), render_items)

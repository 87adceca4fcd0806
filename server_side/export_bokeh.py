"""Bokeh's scripts back inline in an export, so the exported page draws the plot with no server.

A Bokeh output by URL keeps bokeh's MIME types, with small scripts that load BokehJS (a ``.js``
virtual file) or fetch a document's ``docs_json`` (a ``.json`` one) from the server
(kernel_side.bokeh). Offline, neither can load anything. Restoring puts back what bokeh wrote:
BokehJS as both entries of its load bundle, and the document as bokeh's own script with
``docs_json`` inline next to the render items the loader kept (vfs_ext.bokeh_scripts). The exec
type and its metadata were never changed, so nbconvert's templates and jupyter_bokeh run the
scripts as they would without vfs_ext.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vfs_ext.bokeh_scripts import JS_MIME, LOAD_MIME, parse_loader


def restore_bokeh(
    data: dict[str, Any], payloads: Mapping[str, bytes]
) -> tuple[set[str], list[str]]:
    """Every loader script in ``data`` becomes bokeh's script again (in place), from the bytes
    in ``payloads`` (by file name). Returns the files restored and warnings for loaders whose
    file is not among the output's records (the loader is kept: it still works with a server)."""
    restored: set[str] = set()
    warnings: list[str] = []
    for mime in (JS_MIME, LOAD_MIME):
        loader = parse_loader(data.get(mime))
        if loader is None:
            continue
        payload = payloads.get(loader.name)
        if payload is None:
            warnings.append(
                f"vfs_ext: a Bokeh script loads {loader.name}, which its output does not record;"
                " it stays a script that needs the server"
            )
            continue
        data[mime] = loader.restore(payload.decode("utf-8"))
        restored.add(loader.name)
    return restored, warnings

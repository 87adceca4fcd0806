"""The ``vfs_ext`` record in an output's metadata: which virtual files the output shows.

Kernels write it with each virtual output; the kernel reads it back from its own messages
(kernel_side.shown) and the server from notebooks being saved (server_side.pins).
"""

from __future__ import annotations

from typing import Any

METADATA_KEY = "vfs_ext"

#: The bundle entry that stands for a payload moved to a virtual file (kernel_side.reference):
#: rendered by vfs_ext's JupyterLab extension (labextension/), ranked above ``text/html``.
REFERENCE_MIME = "application/vnd.vfs-ext.v1+json"


def record(name: str, url: str, mime: str, size: int) -> dict[str, Any]:
    return {"name": name, "url": url, "mime": mime, "size": size}


def shown_names(metadata: object) -> frozenset[str]:
    """The virtual files an output shows, from its record (several for Vega); nothing for any
    metadata that is not shaped like one."""
    found = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
    if not isinstance(found, dict):
        return frozenset()
    files = found.get("files")
    records = [
        found,
        *(r for r in (files if isinstance(files, list) else ()) if isinstance(r, dict)),
    ]
    return frozenset(r["name"] for r in records if isinstance(r.get("name"), str) and r["name"])

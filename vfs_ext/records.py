"""The ``vfs_ext`` record in an output's metadata: which virtual files the output shows.

Kernels write it with each virtual output; the kernel reads it back from its own messages
(kernel_side.shown) and the server from notebooks being saved (server_side.pins). When a server
saves the notebook it adds the SHA-256 of each file's bytes (``HASH_KEY``): the name of the copy
kept in the notebook's sidecar folder (server_side.persist), so the output outlives its kernel.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

METADATA_KEY = "vfs_ext"

#: The bundle entry that stands for a payload moved to a virtual file (kernel_side.reference):
#: rendered by vfs_ext's JupyterLab extension (labextension/), ranked above ``text/html``.
REFERENCE_MIME = "application/vnd.vfs-ext.v1+json"

#: The record key holding the hex SHA-256 of the file's bytes, once a server saved them.
HASH_KEY = "sha256"
HASH_RE = re.compile(r"\A[0-9a-f]{64}\Z")


def record(name: str, url: str, mime: str, size: int) -> dict[str, Any]:
    return {"name": name, "url": url, "mime": mime, "size": size}


def records_of(metadata: object) -> list[dict[str, Any]]:
    """The records of an output (the record itself, then its ``files`` for Vega), as the dicts
    found in ``metadata`` (a save annotates them in place); nothing for any metadata that is
    not shaped like one. Only records with a non-empty string name are returned."""
    found = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
    if not isinstance(found, dict):
        return []
    files = found.get("files")
    records = [
        found,
        *(r for r in (files if isinstance(files, list) else ()) if isinstance(r, dict)),
    ]
    return [r for r in records if isinstance(r.get("name"), str) and r["name"]]


def shown_names(metadata: object) -> frozenset[str]:
    """The virtual files an output shows, from its record (several for Vega)."""
    return frozenset(r["name"] for r in records_of(metadata))


def recorded_hash(rec: dict[str, Any]) -> str | None:
    """The record's SHA-256 if it is shaped like one (64 lower-case hex digits), else None."""
    value = rec.get(HASH_KEY)
    return value if isinstance(value, str) and HASH_RE.match(value) else None


def notebook_outputs(notebook: object) -> Iterator[dict[str, Any]]:
    """Every output dict of a notebook (nbformat 4 JSON), skipping anything malformed."""
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    for cell in cells if isinstance(cells, list) else ():
        outputs = cell.get("outputs") if isinstance(cell, dict) else None
        for output in outputs if isinstance(outputs, list) else ():
            if isinstance(output, dict):
                yield output


def set_reference_hashes(notebook: object, digests: dict[str, str]) -> None:
    """Fill the ``hash`` field (``sha256:<hex>``) of every reference to a file in ``digests``,
    so a reference carries the hash of the bytes it stands for, as its record does."""
    for output in notebook_outputs(notebook):
        data = output.get("data")
        ref = data.get(REFERENCE_MIME) if isinstance(data, dict) else None
        if isinstance(ref, dict) and isinstance(ref.get("name"), str) and ref["name"] in digests:
            ref["hash"] = f"sha256:{digests[ref['name']]}"


def notebook_records(notebook: object) -> Iterator[dict[str, Any]]:
    """Every record of every output of a notebook, in document order."""
    for output in notebook_outputs(notebook):
        yield from records_of(output.get("metadata"))

"""Saved notebooks and their sidecar folders (``.ipynb_vfs/``), as the persistence tests build
and inspect them: notebooks whose outputs carry ``vfs_ext`` records, saved through the server."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

from vfs_ext.records import record

from .server import RunningServer

#: Bytes that start like a PNG, for files the server types by extension.
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64


def notebook(*outputs: tuple[str, str]) -> dict:
    """A notebook with one output per (name, mime), each with a vfs_ext record."""
    cells = [
        new_code_cell(
            "x",
            outputs=[
                new_output(
                    "display_data",
                    data={"text/html": f'<img src="/@file/{n}">', "text/plain": n},
                    metadata={"vfs_ext": record(n, f"/@file/{n}", mime, 3)},
                )
                for n, mime in outputs
            ],
        )
    ]
    return nbformat.validator.normalize(new_notebook(cells=cells))[1]


def save(server: RunningServer, path: str, *names: str, mime: str = "image/png") -> dict:
    content = notebook(*((n, mime) for n in names))
    (server.root_dir / path).parent.mkdir(parents=True, exist_ok=True)
    server.api("PUT", f"api/contents/{path}", {"type": "notebook", "content": content})
    return json.loads((server.root_dir / path).read_text())


def sidecar(server: RunningServer, folder: str = "") -> Path:
    return server.root_dir / folder / ".ipynb_vfs"


def sidecar_files(server: RunningServer, folder: str = "") -> list[str]:
    path = sidecar(server, folder)
    if not path.exists():
        return []
    return sorted(p.name for p in path.iterdir() if not p.name.startswith("."))


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def records(saved: dict) -> list[dict]:
    return [o["metadata"]["vfs_ext"] for c in saved["cells"] for o in c["outputs"]]

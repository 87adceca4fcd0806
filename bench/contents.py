"""Figure 7's notebooks and how it saves them: through the contents API (``PUT``), the way
JupyterLab does, in the variants it compares (with records, without them, inline), and ``cp``
of the same tier files as the floor."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import subprocess
import time
from pathlib import Path
from typing import Any

from .harness import Bench


def put(bench: Bench, path: str, content: dict[str, Any]) -> float:
    """Seconds one contents-API save of ``content`` takes."""
    body = json.dumps({"type": "notebook", "content": content}).encode()
    t0 = time.perf_counter()
    status, _, data = bench.server.request(
        "PUT",
        f"api/contents/{path}",
        body=body,
        timeout=600,
        headers={"Content-Type": "application/json"},
    )
    seconds = time.perf_counter() - t0
    if status >= 400:
        raise RuntimeError(f"save of {path} failed: {status} {data[:300]!r}")
    return seconds


async def new_folder(bench: Bench, name: str, content: dict[str, Any]) -> str:
    """A folder holding ``plain.ipynb`` and ``nb.ipynb``, each saved once (empty), so that the
    measured saves do not also pay for making the notebooks' first checkpoints."""
    (bench.server.root_dir / name).mkdir()
    empty = stripped({**content, "cells": []})
    for nb in ("plain", "nb"):
        await asyncio.to_thread(put, bench, f"{name}/{nb}.ipynb", empty)
    return name


def records(nb: dict[str, Any]) -> list[dict[str, Any]]:
    """The vfs_ext records of a notebook's outputs, in order."""
    return [
        o["metadata"]["vfs_ext"]
        for c in nb["cells"]
        for o in c["outputs"]
        if "vfs_ext" in o.get("metadata", {})
    ]


def tier_paths(bench: Bench, names: list[str]) -> list[Path]:
    """Where the server's tiers hold the (PNG) virtual files ``names``, in order."""
    found = {p.name: p for p in bench.server.memory_dir.rglob("*.png") if p.name in names}
    found.update({p.name: p for p in bench.server.disk_dir.rglob("*.png") if p.name in names})
    return [found[n] for n in names]


def stripped(nb: dict[str, Any]) -> dict[str, Any]:
    """The notebook without records: a save that persistence has nothing to do for."""
    out = copy.deepcopy(nb)
    for cell in out["cells"]:
        for output in cell["outputs"]:
            output.get("metadata", {}).pop("vfs_ext", None)
    return out


def inline(nb: dict[str, Any], paths: list[Path]) -> dict[str, Any]:
    """The notebook as it would be saved without vfs_ext: each image base64 in its output."""
    out = copy.deepcopy(nb)
    outputs = [o for c in out["cells"] for o in c["outputs"] if "vfs_ext" in o.get("metadata", {})]
    for output, path in zip(outputs, paths, strict=True):
        output["data"] = {"image/png": base64.b64encode(path.read_bytes()).decode("ascii")}
        output["metadata"] = {}
    return out


def cp(paths: list[Path], target: Path) -> float:
    """Seconds ``cp`` takes to copy ``paths`` into the new folder ``target``."""
    target.mkdir()
    t0 = time.perf_counter()
    subprocess.run(["cp", *map(str, paths), str(target)], check=True)
    return time.perf_counter() - t0

"""Altair through its own hook: a data transformer that stores a chart's rows as a virtual file.

Altair inlines every row of a DataFrame into the spec (hence its ``MaxRowsError`` at 5000 rows);
its ``data_transformers`` registry is the documented place to change that (its own "json"
transformer writes files next to the notebook). vfs_ext's transformer, for a chart displayed
under ``%%vfs`` / ``%vfs auto on``, writes rows larger than the threshold to a virtual JSON file
and returns ``{"url": ..., "format": {"type": "json"}}``: every renderer (html, mimetype,
jupyterlab) and every Altair version then carries a small spec.

It is registered under the name "vfs_ext" by entry points (``altair.vegalite.v5.data_transformer``
and ``...v6...``) and at run time. While vfs_ext formats an output under a policy, it is
enabled for that output when Altair's "default" is the active transformer (a user's own choice,
"json" or "vegafusion", is kept). Outside such a display (``chart.save()``, ``chart.to_dict()``)
it behaves as Altair's default, so nothing saved points at a virtual file.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from vfs_ext.errors import VirtualFileError

log = logging.getLogger("vfs_ext")

NAME = "vfs_ext"

#: Stores bytes under an extension; returns the record (name, url, mime, size).
Writer = Callable[[bytes, str], dict[str, Any]]


@dataclass
class _Display:
    """The output being formatted on this thread: where rows go and what was written."""

    threshold: int
    write: Writer
    written: list[dict[str, Any]] = field(default_factory=list)


_local = threading.local()


def transformer(data: Any, max_rows: int | None = 5000, **_options: Any) -> Any:
    """Altair's data transformer: a URL for large rows while vfs_ext displays the chart."""
    from altair.vegalite.data import default_data_transformer, to_values

    display: _Display | None = getattr(_local, "display", None)
    if display is None:
        # None (alt.data_transformers.disable_max_rows) works, though altair annotates int.
        return default_data_transformer(data, max_rows=max_rows)  # type: ignore[arg-type]
    values = to_values(data)
    rows = values.get("values") if isinstance(values, dict) else None
    if not isinstance(rows, list):
        return values  # GeoJSON and the like: left to Altair as they are
    payload = json.dumps(rows, separators=(",", ":"), ensure_ascii=False, default=str).encode()
    if len(payload) <= display.threshold:
        return values
    try:
        rec = display.write(payload, "json")
    except VirtualFileError as exc:
        log.warning("vfs_ext: an Altair chart's data stays inline: %s", exc)
        return values
    rec["mime"] = "application/json"
    display.written.append(rec)
    return {"url": rec["url"], "format": {"type": "json"}}


def _registry() -> Any | None:
    """The imported Altair's ``data_transformers``; None when Altair was never imported."""
    altair = sys.modules.get("altair")
    return getattr(altair, "data_transformers", None)


@contextmanager
def displaying(threshold: int, write: Writer) -> Iterator[list[dict[str, Any]]]:
    """Around the formatting of one output: Altair charts in it store their large rows with
    ``write``; yields the records of the files written."""
    registry = _registry()
    active = getattr(registry, "active", None)
    if registry is None or active not in ("default", NAME):
        yield []
        return
    outer = getattr(_local, "display", None)
    display = _local.display = _Display(threshold, write)
    try:
        if active == NAME:
            yield display.written
        else:
            registry.register(NAME, transformer)  # when vfs_ext's entry points are not installed
            with registry.enable(NAME):
                yield display.written
    finally:
        _local.display = outer

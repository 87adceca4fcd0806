"""Move the large inline datasets of Vega / Vega-Lite specs to virtual JSON files.

Altair inlines every row (hence its MaxRowsError); the spec stays renderable by JupyterLab's
Vega renderer when the rows move to ``{"url": ..., "format": {"type": "json"}}``. Absolute
``{base_url}@file/`` URLs are not rewritten by the renderer's URL resolver.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from vfs_ext.mimes import VEGA_MIME_RE as VEGA_MIME_RE  # one home, shared with the server
from vfs_ext.mimes import is_vega as is_vega

#: Datasets smaller than this stay inline even in a large spec: a URL would not save much.
MIN_DATASET = 1024

#: Stores JSON bytes and returns the absolute URL they are served at.
StoreJson = Callable[[bytes, str], str]


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _data_url(url: str, old: dict[str, Any], fmt_type: str) -> dict[str, Any]:
    """A data reference to ``url`` that keeps the other keys (``format.parse``, transforms)."""
    new = {k: v for k, v in old.items() if k != "values"}
    fmt = dict(new.get("format") or {})
    fmt.setdefault("type", fmt_type)
    new["url"] = url
    new["format"] = fmt
    return new


def externalize_spec(
    spec: Any, threshold: int, store_json: StoreJson
) -> tuple[dict[str, Any], int] | None:
    """A copy of ``spec`` with its largest datasets moved out until it fits ``threshold``.

    Returns ``(new spec, number of datasets moved)`` or None when the spec is small or has no
    movable inline data.
    """
    if isinstance(spec, (str, bytes)):
        spec = json.loads(spec)
    if not isinstance(spec, dict):
        return None
    total = len(_dumps(spec))
    if total <= threshold:
        return None
    inline = _InlineData()
    inline.named(spec.get("datasets"))
    spec = inline.copy(spec, top=True)

    moved = 0
    for size, payload, fmt_type, put_url in sorted(inline.found, key=lambda c: -c[0]):
        if total <= threshold or size < MIN_DATASET:
            break
        ext = fmt_type if fmt_type in ("json", "csv", "tsv") else "txt"
        put_url(store_json(payload, ext))
        total -= size
        moved += 1
    if not moved:
        return None
    if inline.moved_names:
        spec = _rename_refs(spec, inline.moved_names)
        left = {k: v for k, v in spec["datasets"].items() if k not in inline.moved_names}
        if left:
            spec["datasets"] = left
        else:
            del spec["datasets"]
    return spec, moved


class _InlineData:
    """The inline datasets of a spec, each with its size and how to point it at a URL.

    Vega-Lite's top-level "datasets" map names to rows referenced as {"data": {"name": ...}};
    inline {"values": ...} appear under "data" (a dict in Vega-Lite, a list of named entries in
    Vega) at any depth.
    """

    def __init__(self) -> None:
        self.found: list[tuple[int, bytes, str, Callable[[str], None]]] = []
        self.moved_names: dict[str, str] = {}  # dataset name -> its URL, once moved

    def named(self, datasets: Any) -> None:
        """Note the top-level named datasets."""
        if not isinstance(datasets, dict):
            return
        for name, rows in datasets.items():
            if isinstance(rows, (list, dict)):
                payload = _dumps(rows)

                def replace(url: str, name: str = name) -> None:
                    self.moved_names[name] = url

                self.found.append((len(payload), payload, "json", replace))

    def entry(self, entry: dict[str, Any], container: Any, slot: Any) -> None:
        """Note an inline ``{"values": ...}`` found at ``container[slot]``."""
        values = entry["values"]
        fmt = entry.get("format") or {}
        if isinstance(values, str):
            payload, fmt_type = values.encode("utf-8"), str(fmt.get("type", "json"))
        else:
            payload, fmt_type = _dumps(values), "json"

        def replace(url: str) -> None:
            container[slot] = _data_url(url, entry, fmt_type)

        self.found.append((len(payload), payload, fmt_type, replace))

    def copy(self, node: Any, top: bool = False) -> Any:
        """Copy the containers (so replacing touches only our copy) and note inline data."""
        if isinstance(node, list):
            return [self.copy(item) for item in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if top and key == "datasets":
                out[key] = value
            elif key == "data" and isinstance(value, dict) and "values" in value:
                out[key] = value
                self.entry(value, out, key)
            elif key == "data" and isinstance(value, list):
                out[key] = self._entries(value)
            else:
                out[key] = self.copy(value)
        return out

    def _entries(self, value: list[Any]) -> list[Any]:
        """A copy of Vega's list of data entries, noting the inline ones."""
        entries = [e if isinstance(e, dict) and "values" in e else self.copy(e) for e in value]
        for i, entry in enumerate(entries):
            if isinstance(entry, dict) and "values" in entry:
                self.entry(entry, entries, i)
        return entries


def _rename_refs(node: Any, moved: dict[str, str]) -> Any:
    """Point every ``{"data": {"name": n}}`` of a moved dataset at its URL."""
    if isinstance(node, list):
        return [_rename_refs(item, moved) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if (
            key == "data"
            and isinstance(value, dict)
            and value.get("name") in moved
            and "values" not in value
        ):
            out[key] = _data_url(moved[value["name"]], value, "json")
        elif key == "datasets":
            out[key] = value
        else:
            out[key] = _rename_refs(value, moved)
    return out

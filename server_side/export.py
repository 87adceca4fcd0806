"""Self-contained notebooks: virtual outputs restored to the MIME bundles they stand for.

A virtual output shows its bytes by URL, which means nothing without a server. To share or
export a notebook, each output with a ``vfs_ext`` record gets its bytes back, from the sidecar
beside the notebook (checked against the recorded hash) or from a live server's tiers:

- an image, PDF or whole HTML page the kernel replaced by an ``<img>`` / ``<object>`` /
  ``<iframe>`` stand-in becomes its MIME type again (``image/png`` as base64...), the stand-in
  HTML and text dropped;
- a Vega / Vega-Lite dataset moved to a URL gets its rows back as ``values``;
- Bokeh's loader scripts become bokeh's own again, BokehJS and ``docs_json`` inline
  (server_side.export_bokeh);
- any other URL in the HTML (video, audio, download links, media lifted out of a page) becomes a
  ``data:`` URL, up to ``max_link_size`` bytes (larger ones stay links, with a warning).

An output whose bytes are found nowhere becomes a short note saying so, with a warning. The
reference type JupyterLab's vfs_ext renderer reads (``REFERENCE_MIME``) is dropped.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from html import escape, unescape
from pathlib import Path
from typing import Any

from vfs_ext.config import StoreConfig, format_size, read_server_record
from vfs_ext.errors import VirtualFileError
from vfs_ext.mimes import is_vega
from vfs_ext.names import parse_name
from vfs_ext.records import METADATA_KEY, notebook_outputs, recorded_hash, records_of
from vfs_ext.store import Store

from .export_bokeh import restore_bokeh
from .sidecar import Sidecar, file_name, sha256_of

log = logging.getLogger("vfs_ext")

#: The bundle entry by which JupyterLab's vfs_ext renderer finds a virtual output.
REFERENCE_MIME = "application/vnd.vfs-ext.v1+json"
#: The nbconvert preprocessor (server_side.nbconvert), as config files name it.
PREPROCESSOR = "server_side.nbconvert.InlineVirtualFiles"
#: Largest file turned into a ``data:`` link (base64 makes it 4/3 larger in the notebook).
DEFAULT_MAX_LINK_SIZE = 20 * 1024 * 1024

BASE64_MIMES = ("image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf")
#: mime -> the opening of the stand-in kernel_side.html writes for it, up to the URL.
_STAND_IN = {
    **dict.fromkeys((*BASE64_MIMES[:4], "image/svg+xml"), "img src"),
    "application/pdf": "object data",
    "text/html": "iframe src",
}
#: Where a bundle keeps a stand-in: media under Markdown, the rest (and older notebooks' media)
#: under HTML (kernel_side/html.py).
_STAND_IN_KEYS = ("text/markdown", "text/html")
_PLAIN_STAND_IN = re.compile(r"\A<[^<>]*, virtual file [^<>]*@file/[^<>]*>\Z")
_DIMENSION = re.compile(r'\b(width|height)="(\d+)"')


class Sources:
    """Where the bytes of a notebook's virtual files may be: its sidecar, then live tiers."""

    def __init__(self, folder: Path | None, stores: Iterable[Store] = ()) -> None:
        self.folder = folder
        self.stores = list(stores)

    def read(self, rec: dict[str, Any]) -> bytes | None:
        """The bytes behind a record, or None when neither the sidecar nor a tier has them."""
        match = parse_name(rec.get("name"))
        if match is None:
            return None
        digest = recorded_hash(rec)
        if self.folder is not None and digest is not None:
            data = self._from_sidecar(file_name(digest, match["ext"]), digest)
            if data is not None:
                return data
        for store in self.stores:
            info = store.lookup(match.string)
            if info is not None:
                data = _read_regular(info.path)
                if data is not None:
                    return data
        return None

    def _from_sidecar(self, file: str, digest: str) -> bytes | None:
        assert self.folder is not None
        with Sidecar(self.folder) as sidecar:
            try:
                if not sidecar.open():
                    return None
            except OSError:
                return None
            opened = sidecar.open_file(file)
            if opened is None:
                return None
            fd, st = opened
            try:
                if sha256_of(fd, st.st_size) != digest:
                    log.warning("vfs_ext: %s does not match its hash", sidecar.path / file)
                    return None
                return os.pread(fd, st.st_size, 0)
            finally:
                os.close(fd)


def live_stores() -> list[Store]:
    """The tiers of the servers this process can find: the one whose environment it inherited
    (a kernel or terminal of it, or the server itself) and every running server that published
    its record in the runtime dir."""
    configs = [StoreConfig.from_env()]
    try:
        from jupyter_core.paths import jupyter_runtime_dir
        from jupyter_server.serverapp import list_running_servers

        runtime = jupyter_runtime_dir()
        configs += [read_server_record(runtime, s["pid"]) for s in list_running_servers(runtime)]
    except Exception as exc:  # an unreadable runtime dir must not stop an export
        log.debug("vfs_ext: could not list running servers: %s", exc)
    stores: dict[str, Store] = {}
    for config in configs:
        if config is not None and config.namespace not in stores:
            try:
                stores[config.namespace] = Store(config)
            except (VirtualFileError, OSError) as exc:
                log.debug("vfs_ext: tiers of %s unusable: %s", config.namespace, exc)
    return list(stores.values())


def _read_regular(path: Path) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as f:
            return f.read()
    except OSError:
        return None


def inline_notebook(
    notebook: Any, sources: Sources, max_link_size: int = DEFAULT_MAX_LINK_SIZE
) -> list[str]:
    """Restore every virtual output of ``notebook`` (nbformat 4, changed in place); returns
    warnings for what could not be restored."""
    warnings: list[str] = []
    for output in notebook_outputs(notebook):
        warnings += inline_output(output, sources, max_link_size)
    return warnings


def inline_output(output: Any, sources: Sources, max_link_size: int) -> list[str]:
    """Restore one output in place (see the module docstring); returns warnings."""
    data = output.get("data")
    # An output of several files records its first one twice (the record and its ``files``).
    records = list({rec["name"]: rec for rec in records_of(output.get("metadata"))}.values())
    if not records or not isinstance(data, dict):
        return []
    payloads = {rec["name"]: sources.read(rec) for rec in records}
    missing = [rec for rec in records if payloads[rec["name"]] is None]
    if missing:
        _placeholder(output, missing)
        return [
            f"vfs_ext: {rec.get('mime', 'a')} output ({rec['name']}) was found neither beside "
            "the notebook nor in a running server; it is replaced by a note"
            for rec in missing
        ]
    data.pop(REFERENCE_MIME, None)
    output["metadata"].pop(METADATA_KEY, None)
    found = {name: payload for name, payload in payloads.items() if payload is not None}
    restored, warnings = restore_bokeh(data, found)
    for mime in [m for m in data if is_vega(m)]:
        data[mime] = _restore_spec(data[mime], found)
    for rec in records:
        payload = found[rec["name"]]
        if rec["name"] not in restored and not _restore_mime(output, rec, payload):
            warnings += _inline_links(data, rec, payload, max_link_size)
    plain = data.get("text/plain")
    if isinstance(plain, str) and _PLAIN_STAND_IN.match(plain) and len(data) > 1:
        del data["text/plain"]
    return warnings


def _url_re(name: str) -> re.Pattern[str]:
    """Any URL of the virtual file ``name`` (whatever the base_url; ``\\/`` in scripts)."""
    return re.compile(rf"[^\s\"'<>()=]*@file\\?/{re.escape(name)}(?:\?[^\s\"'<>]*)?")


def _restore_mime(output: Any, rec: dict[str, Any], payload: bytes) -> bool:
    """An image, PDF or page shown by its stand-in becomes its own MIME entry again."""
    data = output["data"]
    mime = rec.get("mime")
    tag = _STAND_IN.get(mime) if isinstance(mime, str) else None
    if tag is None or (mime != "text/html" and mime in data):
        return False
    for key in _STAND_IN_KEYS:
        html = data.get(key)
        element = (
            re.match(rf'\A<{tag}="(?P<url>[^"]*)"[^<>]*>', html) if isinstance(html, str) else None
        )
        if element is not None and _url_re(rec["name"]).fullmatch(unescape(element["url"])):
            break
    else:
        return False
    if mime in BASE64_MIMES:
        data[mime] = base64.b64encode(payload).decode("ascii")
    else:
        data[mime] = payload.decode("utf-8", "replace")
    if mime != key:
        del data[key]
        size = {k: int(v) for k, v in _DIMENSION.findall(element.group(0))}
        if size:
            output["metadata"][mime] = size
    return True


def _inline_links(
    data: dict[str, Any], rec: dict[str, Any], payload: bytes, max_link_size: int
) -> list[str]:
    """Every URL of the file in the stand-ins becomes a ``data:`` URL (up to the size cap)."""
    pattern = _url_re(rec["name"])
    keys = [k for k in _STAND_IN_KEYS if isinstance(data.get(k), str) and pattern.search(data[k])]
    if not keys:
        return []
    if len(payload) > max_link_size:
        return [
            f"vfs_ext: {rec['name']} ({format_size(len(payload))}) stays a link to the server:"
            f" larger than the {format_size(max_link_size)} a data: link may carry"
        ]
    mime = str(rec.get("mime") or "application/octet-stream")
    url = f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"
    for key in keys:
        data[key] = pattern.sub(lambda _m: url, data[key])
    return []


def _restore_spec(spec: Any, payloads: Mapping[str, bytes]) -> Any:
    """A copy of a Vega spec whose datasets at virtual-file URLs are inline ``values`` again."""
    if isinstance(spec, list):
        return [_restore_spec(item, payloads) for item in spec]
    if not isinstance(spec, dict):
        return spec
    url = spec.get("url")
    if isinstance(url, str) and "@file/" in url:
        name = url.replace("\\/", "/").rsplit("@file/", 1)[-1]
        payload = payloads.get(name)
    else:
        payload = None
    if payload is not None:
        fmt = spec.get("format")
        fmt = fmt if isinstance(fmt, dict) else {}
        text = payload.decode("utf-8")
        values = json.loads(text) if fmt.get("type", "json") == "json" else text
        return {**{k: v for k, v in spec.items() if k != "url"}, "values": values}
    return {k: _restore_spec(v, payloads) for k, v in spec.items()}


def _placeholder(output: Any, missing: list[dict[str, Any]]) -> None:
    """Replace an output whose bytes are gone by a note that says so (in place)."""
    what = ", ".join(
        f"{rec.get('mime', 'file')} ({format_size(rec['size'])})"
        if isinstance(rec.get("size"), int)
        else str(rec.get("mime", "file"))
        for rec in missing
    )
    note = (
        f"vfs_ext: this output ({what}) was not kept with the notebook and its kernel is gone;"
        " run the cell again to see it"
    )
    output["data"].clear()
    output["data"].update({"text/plain": note, "text/html": f"<pre>{escape(note)}</pre>"})
    output["metadata"].pop(METADATA_KEY, None)


def enable_preprocessor(config: Any) -> None:
    """Add the preprocessor to a traitlets config's ``Exporter.preprocessors`` (once): the
    server's ``/nbconvert/`` handler builds exporters from the server's config, which does not
    read ``jupyter_nbconvert_config``."""
    current = list(config.Exporter.get("preprocessors", []))
    if PREPROCESSOR not in current:
        config.Exporter.preprocessors = [*current, PREPROCESSOR]

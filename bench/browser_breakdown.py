"""``python -m bench.browser --breakdown``: where the time of a virtual image goes, per phase.

One cell's image by URL, and the floors' parts (a 1 KiB inline image's round trip; a ``no-store``
fetch and ``createImageBitmap`` of the same URL; an uncached ``<img>`` of it from ``src`` set to
decoded; a ``no-store`` fetch into a Blob shown by a detached ``<img>``), each timed from the
Shift+Enter keydown with timestamps from the page and the kernel on one clock
(``performance.timeOrigin`` + ``now()`` against the kernel's ``time.time()``, same machine):

- the page: websocket frames sent and received (``WebSocket`` wrapped before JupyterLab loads),
  the output node added, the renderer's ``data-vfs-state`` turning ``loading`` (``src`` set),
  the new ``<img>``'s ``load`` event, resource timing of the GET, ``img.decode()``, the next frame;
- the kernel: the cell's code starting, the virtual file's write, ``display()`` returning.
"""

from __future__ import annotations

import json
import statistics
from typing import Any

from tests.support.jupyter_ui import NotebookUI
from tests.support.server import RunningServer

from .browser_common import write_nb
from .browser_js import (
    BREAKDOWN_ARM_JS,
    FLOOR_BLOB_JS,
    FLOOR_FETCH_PARTS_JS,
    FLOOR_IMG_JS,
    LAST_FILE_URL_JS,
    WS_INIT_JS,
)
from .harness import KERNEL_SETUP

#: The page's clock origin in epoch ms, to put the kernel's ``time.time()`` on the page's clock.
KERNEL_JS_CLOCK = "performance.timeOrigin"
#: Kernel side: times the virtual file's write and the cell's display() in epoch seconds.
KERNEL_TIMING = r"""
import time as _time
import kernel_side.session as _vfs_session
_bd = {}
_bd_write = _vfs_session.KernelSession.write
def _bd_timed_write(self, *args, **kwargs):
    t = _time.time()
    try:
        return _bd_write(self, *args, **kwargs)
    finally:
        _bd["write"] = [t, _time.time()]
_vfs_session.KernelSession.write = _bd_timed_write
def _bd_show(img):
    _bd.clear()
    _bd["start"] = _time.time()
    display(img)
    _bd["shown"] = _time.time()
"""
READ_KERNEL = "print(_json.dumps(_bd))"


def _run(ui: NotebookUI, index: int, read: int, origin: float) -> dict[str, float]:
    """Run cell ``index``; its page marks and kernel times, in ms from the keydown."""
    cell = ui.cell(index)
    cell.scroll_into_view_if_needed()
    ui.page.evaluate(BREAKDOWN_ARM_JS, cell.element_handle())
    ui.run_cell(index, timeout=120_000)
    ui.page.wait_for_function("window.__vfsMarks !== null", timeout=120_000)
    marks: dict[str, float] = ui.page.evaluate("window.__vfsMarks")
    ui.run_cell(read, timeout=120_000)
    kernel = json.loads(ui.outputs(read).last.inner_text())
    for key, value in (
        ("k_start", kernel.get("start")),
        ("k_shown", kernel.get("shown")),
        ("k_write0", (kernel.get("write") or [None])[0]),
        ("k_write1", (kernel.get("write") or [None, None])[1]),
    ):
        if value is not None:
            marks[key] = value * 1000 - origin
    keydown = marks["key"]
    return {k: v - keydown for k, v in marks.items() if v is not None}


def _fetch(ui: NotebookUI, url: str) -> dict[str, float]:
    got: dict[str, float] = ui.page.evaluate(FLOOR_FETCH_PARTS_JS, url)
    start = got["start"]
    return {k: v - start for k, v in got.items()}


#: (label, mark) rows of the by-URL image, in the order they happen.
URL_ROWS = [
    ("execute_request sent on the websocket", "sent"),
    ("kernel: cell code starts", "k_start"),
    ("kernel: virtual file write starts", "k_write0"),
    ("kernel: virtual file written", "k_write1"),
    ("kernel: display() returned", "k_shown"),
    ("display_data received on the websocket", "display"),
    ("output node in the DOM", "output"),
    ("src set", "src"),
    ("GET: request sent", "res_requestStart"),
    ("GET: first byte", "res_responseStart"),
    ("GET: last byte", "res_responseEnd"),
    ("img load event", "loaded"),
    ("img.decode() resolved", "decoded"),
    ("next frame", "frame"),
    ("execute_reply received", "reply"),
]
TINY_ROWS = [
    ("execute_request sent", "sent"),
    ("kernel: cell code starts", "k_start"),
    ("kernel: display() returned", "k_shown"),
    ("display_data received", "display"),
    ("output node in the DOM", "output"),
    ("img load event", "loaded"),
    ("img.decode() resolved", "decoded"),
]
FETCH_ROWS = [
    ("request sent", "requestStart"),
    ("first byte", "responseStart"),
    ("last byte", "responseEnd"),
    ("blob() resolved", "body"),
    ("createImageBitmap resolved", "decoded"),
]


def _median_rows(
    runs: list[dict[str, float]], rows: list[tuple[str, str]]
) -> list[tuple[str, float, float]]:
    """(label, median ms since start, median ms since the previous row) per row present."""
    out = []
    previous = "0"
    for label, key in rows:
        values = [r[key] for r in runs if key in r]
        if not values:
            continue
        deltas = [r[key] - r.get(previous, 0.0) for r in runs if key in r]
        out.append((label, statistics.median(values), statistics.median(deltas)))
        previous = key
    return out


def breakdown(ctx: Any, srv: RunningServer, sizes: list[int], repeats: int) -> str:
    """Markdown tables: each size's image by URL per phase, and the floors."""
    sources = {
        "setup": f"%load_ext vfs_ext\n{KERNEL_SETUP}\n{KERNEL_TIMING}\ntiny = _bench_png(1024)",
        "tiny": "_bd_show(Image(tiny))",
        "read": READ_KERNEL,
    }
    for size in sizes:
        sources[f"data_{size}"] = f"data_{size} = _bench_png({size})"
        sources[f"url_{size}"] = f"%%vfs\n_bd_show(Image(data_{size}))"
    cells = {key: n for n, key in enumerate(sources)}
    write_nb(srv.root_dir / "breakdown.ipynb", list(sources.values()))
    ctx.add_init_script(WS_INIT_JS)
    ui = NotebookUI(ctx, "lab", srv.url, srv.token, "breakdown.ipynb").open()
    origin = ui.page.evaluate(KERNEL_JS_CLOCK)
    read = cells["read"]
    ui.run_cell(cells["setup"], timeout=300_000)
    tiny = [_run(ui, cells["tiny"], read, origin) for _ in range(repeats + 1)][1:]
    floor_rt = statistics.median(r["decoded"] for r in tiny)
    parts = []
    for size in sizes:
        ui.run_cell(cells[f"data_{size}"], timeout=120_000)
        by_url = [_run(ui, cells[f"url_{size}"], read, origin) for _ in range(repeats + 1)][1:]
        url = ui.page.evaluate(LAST_FILE_URL_JS)
        fetches = [_fetch(ui, url) for _ in range(repeats)]
        floor_fetch = statistics.median(f["decoded"] for f in fetches)
        floor_img = statistics.median(ui.page.evaluate(FLOOR_IMG_JS, url) for _ in range(repeats))
        floor_blob = statistics.median(ui.page.evaluate(FLOOR_BLOB_JS, url) for _ in range(repeats))
        summary = [
            f"### {size / 2**20:g} MiB image by URL\n",
            f"Floors: the issue's {floor_rt:.0f} + {floor_fetch:.0f} ms (round trip + fetch and "
            f"createImageBitmap); <img> {floor_rt:.0f} + {floor_img:.0f} ms (uncached <img>, src "
            f"to decoded); blob {floor_rt:.0f} + {floor_blob:.0f} ms (fetch, Blob, <img> "
            "decode).\n",
        ]
        total = statistics.median(r["decoded"] for r in by_url)
        summary.append(
            f"By URL {total:.0f} ms = {total / (floor_rt + floor_fetch):.2f}x the floor, "
            f"{total / (floor_rt + floor_img):.2f}x the <img> floor, "
            f"{total / (floor_rt + floor_blob):.2f}x the blob floor."
        )
        parts.append(
            "\n".join(summary)
            + "\n\n"
            + _table("by URL, from Shift+Enter", _median_rows(by_url, URL_ROWS))
            + "\n\n"
            + _table("floor: no-store fetch + decode", _median_rows(fetches, FETCH_ROWS))
        )
    tiny_rows = _median_rows(tiny, TINY_ROWS)
    parts.append(_table("floor: 1 KiB inline image, from Shift+Enter", tiny_rows))
    ui.close()
    return "\n\n".join(parts)


def _table(title: str, rows: list[tuple[str, float, float]]) -> str:
    lines = [f"| {title} | ms | step |", "|---|---|---|"]
    lines += [f"| {label} | {at:.1f} | +{step:.1f} |" for label, at, step in rows]
    return "\n".join(lines)

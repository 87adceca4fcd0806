"""``python -m bench.browser --breakdown``: where the time of a virtual image goes, per phase.

One cell's image by URL, and the two halves of the floor (a 1 KiB inline image's round trip; a
``no-store`` fetch and decode of the same URL), each timed from the Shift+Enter keydown with
timestamps from the page and the kernel on one clock (``performance.timeOrigin`` + ``now()``
against the kernel's ``time.time()``, same machine):

- the page: websocket frames sent and received (``WebSocket`` wrapped before JupyterLab loads),
  the output node added, the renderer's ``data-vfs-state`` turning ``loading`` (the
  IntersectionObserver fired and ``src`` was set in the same task) and ``loaded`` (the image's
  ``load`` event), resource timing of the GET, ``img.decode()``, the next frame;
- the kernel: the cell's code starting, the virtual file's write, ``display()`` returning.
"""

from __future__ import annotations

import json
import statistics
from typing import Any

from tests.support.jupyter_ui import NotebookUI
from tests.support.server import RunningServer

from .browser import write_nb
from .harness import KERNEL_SETUP

#: Timestamps each websocket frame (direction, message type) before JupyterLab sees it.
WS_INIT_JS = """(() => {
    const log = window.__vfsWs = [];
    const kind = data => {
        let text = '';
        if (typeof data === 'string') text = data.slice(0, 4000);
        else if (data instanceof ArrayBuffer)
            text = new TextDecoder().decode(
                new Uint8Array(data, 0, Math.min(4000, data.byteLength)));
        const types = [...text.matchAll(/"msg_type"\\s*:\\s*"(\\w+)"/g)].map(m => m[1]);
        return types.find(t => t !== 'execute_request') || types[0] || '?';
    };
    const Native = window.WebSocket;
    const send = Native.prototype.send;
    Native.prototype.send = function (data) {
        log.push([performance.now(), 'out', kind(data)]);
        return send.call(this, data);
    };
    window.WebSocket = class extends Native {
        constructor(...args) {
            super(...args);
            this.addEventListener('message',
                e => log.push([performance.now(), 'in', kind(e.data)]));
        }
    };
})();"""

#: Arms one run of ``cell``: marks from the keydown until the new image is decoded and framed.
ARM_JS = """cell => {
    window.__vfsMarks = null;
    for (const el of cell.querySelectorAll('img')) el.dataset.vfsOld = '1';
    const m = {};
    const mark = k => { if (!(k in m)) m[k] = performance.now(); };
    let from = 0;
    const onKey = e => {
        if (e.key === 'Enter' && e.shiftKey) {
            mark('key');
            from = window.__vfsWs.length;
            document.removeEventListener('keydown', onKey, true);
        }
    };
    document.addEventListener('keydown', onKey, true);
    const finish = img => {
        mark('loaded');
        img.decode().catch(() => null).then(() => {
            mark('decoded');
            requestAnimationFrame(() => {
                mark('frame');
                observer.disconnect();
                const ws = window.__vfsWs.slice(from);
                const first = (dir, type) =>
                    (ws.find(w => w[1] === dir && w[2] === type) || [null])[0];
                m.sent = first('out', 'execute_request');
                m.display = first('in', 'display_data');
                m.reply = first('in', 'execute_reply');
                const url = img.currentSrc;
                const res = url.startsWith('data:') ? null :
                    performance.getEntriesByName(url).filter(e => e.initiatorType === 'img').pop();
                const keys = ['startTime', 'requestStart', 'responseStart', 'responseEnd'];
                if (res) for (const k of keys) m['res_' + k] = res[k];
                window.__vfsMarks = m;
            });
        });
    };
    const observer = new MutationObserver(() => {
        if (!('key' in m)) return;
        const out = cell.querySelector('.jp-OutputArea-output');
        if (out && !out.querySelector('[data-vfs-old]')) mark('output');
        const ref = cell.querySelector('.jp-VfsReference');
        const state = ref && ref.dataset.vfsState;
        if (state === 'loading' || state === 'loaded') mark('src');
        const img = cell.querySelector('.jp-OutputArea-output img:not([data-vfs-old])');
        if (img && !img.dataset.vfsWatched) {
            img.dataset.vfsWatched = '1';
            if (img.complete && img.naturalWidth) finish(img);
            else img.addEventListener('load', () => finish(img), {once: true});
        }
    });
    observer.observe(cell, {subtree: true, childList: true, attributes: true,
                            attributeFilter: ['data-vfs-state', 'src']});
}"""

#: The floor's second half, with the resource timing of its GET.
FETCH_JS = """async url => {
    const t = performance.now();
    const r = await fetch(url, {cache: 'no-store'});
    const blob = await r.blob();
    const body = performance.now();
    const bmp = await createImageBitmap(blob);
    bmp.close();
    const end = performance.now();
    const res = performance.getEntriesByName(new URL(url, location.href).href)
        .filter(e => e.initiatorType === 'fetch').pop();
    return {start: t, requestStart: res.requestStart, responseStart: res.responseStart,
            responseEnd: res.responseEnd, body, decoded: end};
}"""

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
    ui.page.evaluate(ARM_JS, cell.element_handle())
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
    key = marks["key"]
    return {k: v - key for k, v in marks.items() if v is not None}


def _fetch(ui: NotebookUI, url: str) -> dict[str, float]:
    got: dict[str, float] = ui.page.evaluate(FETCH_JS, url)
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
    ("IntersectionObserver fired, src set", "src"),
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
    """Markdown tables: each size's image by URL per phase, and the floor's two halves."""
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
    parts = []
    for size in sizes:
        ui.run_cell(cells[f"data_{size}"], timeout=120_000)
        by_url = [_run(ui, cells[f"url_{size}"], read, origin) for _ in range(repeats + 1)][1:]
        url = ui.cell(cells[f"url_{size}"]).locator(".jp-VfsReference img").first
        src = url.get_attribute("src") or ""
        fetches = [_fetch(ui, src) for _ in range(repeats)]
        total = statistics.median(r["decoded"] for r in by_url)
        floor_rt = statistics.median(r["decoded"] for r in tiny)
        floor_fetch = statistics.median(f["decoded"] for f in fetches)
        parts.append(
            f"### {size / 2**20:g} MiB image by URL: {total:.0f} ms vs floor "
            f"{floor_rt:.0f} + {floor_fetch:.0f} ms = {total / (floor_rt + floor_fetch):.2f}x\n\n"
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

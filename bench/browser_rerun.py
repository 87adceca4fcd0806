"""``python -m bench.browser --only rerun``: a cell showing a large image, re-run five times.

Each re-run replaces the image, and Chromium releases the old one in a later major GC whose
pause is almost all Blink's weak callbacks (docs/frontend.md, "Long tasks, traced"). The
``longtask`` observer of the other rows misses most of these GC tasks, so these rows count
the main thread's tasks over 50 ms in a Chromium trace (CDP ``Tracing``), from the first
re-run to ``SETTLE_MS`` after the last image was decoded, for three pages in one browser:

- the floor: a bare page (python's ``http.server``, no JupyterLab) that replaces an ``<img>``
  of the same kind of PNG by a new one five times, each a file of its own like a re-run's;
- JupyterLab, the cell inline (base64 in the notebook), and by URL (this extension).
"""

from __future__ import annotations

import functools
import json
import statistics
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.support.jupyter_ui import NotebookUI
from tests.support.server import RunningServer

from .browser_common import MiB, Table, write_nb
from .browser_trace import CATEGORIES, LONG_MS, long_tasks, main_spans
from .harness import KERNEL_SETUP

RERUNS = 5
#: How long the trace goes on after the last image was decoded: the GC that releases the
#: replaced image comes up to about a second later.
SETTLE_MS = 1500

#: Marks the cell's images as old, so the next one found is the re-run's.
MARK_JS = "cell => { for (const img of cell.querySelectorAll('img')) img.dataset.vfsOld = '1'; }"
#: Whether the re-run's image has arrived (then ``DECODE_JS`` waits for its decode).
ARRIVED_JS = """cell => {
    const img = cell.querySelector('.jp-OutputArea-output img:not([data-vfs-old])');
    return !!img && img.complete && img.naturalWidth > 0;
}"""
DECODE_JS = """cell => cell.querySelector('.jp-OutputArea-output img:not([data-vfs-old])')
    .decode().catch(() => null)"""

#: The floor: replace the page's ``<img>`` by one of the next file, ``urls.length - 1`` times,
#: each once the previous one was decoded, then wait ``settle`` ms.
BARE_JS = """async ([urls, settle]) => {
    const box = document.body;
    for (const url of urls) {
        const img = document.createElement('img');
        img.src = url;
        box.replaceChildren(img);
        await img.decode();
        await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
    }
    await new Promise(r => setTimeout(r, settle));
}"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def bare_site(sizes: list[int]) -> Iterator[str]:
    """An ``http.server`` on a free port serving RERUNS + 1 PNG files per size (the bench's
    own PNG generator, as the kernel uses), and an empty page; yields its URL."""
    namespace: dict[str, Any] = {}
    exec(KERNEL_SETUP, namespace)  # defines _bench_png, the PNG every image row shows
    with tempfile.TemporaryDirectory(prefix="vfs-bench-bare-") as tmp:
        root = Path(tmp)
        (root / "index.html").write_text("<!doctype html><title>floor</title><body></body>")
        for size in sizes:
            for i in range(RERUNS + 1):
                (root / f"{size}-{i}.png").write_bytes(namespace["_bench_png"](size))
        handler = functools.partial(_Quiet, directory=str(root))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}/"
        finally:
            server.shutdown()
            server.server_close()
            thread.join()


#: One long task: its duration and the part of it in major GCs, in ms.
Task = tuple[float, float]


def _traced(ctx: Any, page: Any, run: Any) -> list[Task]:
    """The main thread's tasks over LONG_MS while ``run()`` goes on."""
    browser = ctx.browser
    browser.start_tracing(page=page, categories=CATEGORIES)
    try:
        run()
    finally:
        raw = json.loads(browser.stop_tracing())
    events = raw["traceEvents"] if isinstance(raw, dict) else raw
    spans = main_spans(events)
    return [(t["dur"] / 1000, gc_ms(spans, t)) for t in long_tasks(spans)]


def gc_ms(spans: list[dict[str, Any]], task: dict[str, Any]) -> float:
    """Time in V8 major GCs (Blink's weak callbacks included) inside ``task``."""
    end = task["ts"] + task["dur"]
    inside = (s for s in spans if s["name"] == "MajorGC" and task["ts"] <= s["ts"] < end)
    return sum(s.get("dur", 0) for s in inside) / 1000


def floor(ctx: Any, site: str, size: int) -> list[Task]:
    """The bare page's long tasks over RERUNS replacements of a ``size`` image."""
    page = ctx.new_page()
    try:
        page.goto(site)
        urls = [f"{site}{size}-{i}.png" for i in range(RERUNS + 1)]
        page.evaluate(BARE_JS, [urls[:1], 0])  # the first image, untraced
        return _traced(ctx, page, lambda: page.evaluate(BARE_JS, [urls[1:], SETTLE_MS]))
    finally:
        page.close()


def reruns(ctx: Any, ui: NotebookUI, index: int) -> list[Task]:
    """The JupyterLab page's long tasks over RERUNS re-runs of the cell at ``index``."""

    def once() -> None:
        # The new image is the signal (the prompt of a cell this tall can read empty for a
        # moment while JupyterLab's windowing re-attaches it).
        ui.start_cell(index)
        cell = ui.cell(index).element_handle()
        ui.page.wait_for_function(ARRIVED_JS, arg=cell, timeout=300_000, polling="raf")
        ui.page.evaluate(DECODE_JS, cell)
        ui.page.evaluate(MARK_JS, cell)

    def run() -> None:
        for _ in range(RERUNS):
            once()
        ui.page.wait_for_timeout(SETTLE_MS)

    ui.page.evaluate(MARK_JS, ui.cell(index).element_handle())
    once()  # the image a first run shows, untraced
    return _traced(ctx, ui.page, run)


def longest(samples: list[list[Task]]) -> float:
    return max((d for s in samples for d, _ in s), default=0.0)


def summary(samples: list[list[Task]]) -> str:
    """The longest task over the samples, and the mean time per sample in long tasks and in
    GC (a mean, not a median: a GC pause comes in some samples and not others)."""
    total = statistics.fmean(sum(d for d, _ in s) for s in samples)
    gc = statistics.fmean(sum(g for _, g in s) for s in samples)
    return (
        f"longest {longest(samples):.0f} ms; mean per {RERUNS} re-runs {total:.0f} ms in long"
        f" tasks ({gc:.0f} ms GC)"
    )


def rerun(ctx: Any, srv: RunningServer, sizes: list[int], repeats: int, table: Table) -> None:
    """Rows: per size, the long tasks of RERUNS re-runs, inline / by URL / the bare floor."""
    cells = [f"%load_ext vfs_ext\n{KERNEL_SETUP}"]
    for size in sizes:
        cells.append(f"data_{size} = _bench_png({size})")
        cells.append(f"display(Image(data_{size}))")
        cells.append(f"%%vfs\ndisplay(Image(data_{size}))")
    write_nb(srv.root_dir / "rerun.ipynb", cells)
    with bare_site(sizes) as site:
        bare = {size: [floor(ctx, site, size) for _ in range(repeats)] for size in sizes}
    ui = NotebookUI(ctx, "lab", srv.url, srv.token, "rerun.ipynb").open()
    ui.run_cell(0, timeout=300_000)
    for n, size in enumerate(sizes):
        ui.run_cell(1 + 3 * n, timeout=120_000)
        inline: list[list[Task]] = []
        by_url: list[list[Task]] = []
        for _ in range(repeats):  # alternated, so a burst of load elsewhere hits both
            inline.append(reruns(ctx, ui, 2 + 3 * n))
            by_url.append(reruns(ctx, ui, 3 + 3 * n))
        verdict = "ok" if longest(by_url) <= LONG_MS else "MISS"
        if verdict == "MISS" and longest(bare[size]) > LONG_MS:
            verdict += " (floor too)"
        table.add(
            f"re-run of a {size // MiB} MiB image x{RERUNS}: long tasks (longest, mean total)",
            summary(inline),
            summary(by_url),
            f"bare page: {summary(bare[size])}",
            "none > 50 ms by URL",
            verdict,
        )
    ui.close()

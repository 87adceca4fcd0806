"""``python -m bench.browser`` (``make bench-browser``): inline vs by URL in real Chromium.

JupyterLab 4 with vfs_ext's extension, one server, one page per scenario; every time is taken
in the page (``performance.now()``), from the Shift+Enter keydown to the output being drawn:

- a cell's image, inline vs by URL, at 10 and 50 MiB: time until decoded, and the main
  thread's long tasks meanwhile; beside it, the browser floor measured in the same page: a
  1 KiB output's round trip plus a ``no-store`` fetch and decode of the same URL;
- plotly, 300k points: time until plotly has drawn, inline vs by URL;
- opening a notebook of 50 x 5 MiB images, inline vs by URL vs no outputs: time to first
  screen (the first image decoded; cells shown for no outputs), JS heap, requests.

python -m bench.browser            # full run (a few minutes on 2 cores)
python -m bench.browser --quick    # small sizes, one repeat
python -m bench.browser --breakdown  # only the by-URL image, per phase (bench/browser_breakdown.py)
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.support.browser import jupyter_env
from tests.support.jupyter_ui import CELLS, NotebookUI
from tests.support.server import RunningServer, jupyter_server

from .harness import KERNEL_SETUP

MiB = 2**20
REF = ".jp-VfsReference"
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
#: No news pop-up; everything else as a user gets it (default windowing, the table of
#: contents looking for headings in outputs).
SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}

#: Collects long tasks for the whole page; armed once per page.
LONGTASKS_JS = """() => {
    if (window.__vfsLong) return;
    window.__vfsLong = [];
    new PerformanceObserver(list => {
        for (const e of list.getEntries()) window.__vfsLong.push([e.startTime, e.duration]);
    }).observe({type: 'longtask', buffered: true});
}"""

#: Arms one measurement: t0 at the next Shift+Enter, t1 when ``kind`` is drawn in the cell.
ARM_JS = """([cell, kind]) => {
    window.__vfsResult = null;
    for (const el of cell.querySelectorAll('img, .js-plotly-plot')) el.dataset.vfsOld = '1';
    let t0 = null;
    const onKey = e => {
        if (e.key === 'Enter' && e.shiftKey) {
            t0 = performance.now();
            document.removeEventListener('keydown', onKey, true);
        }
    };
    document.addEventListener('keydown', onKey, true);
    const done = t1 => {
        const long = window.__vfsLong.filter(([s, d]) => s + d >= t0 && s <= t1);
        window.__vfsResult = {ms: t1 - t0, long: long.map(([s, d]) => d)};
    };
    const check = () => {
        if (t0 !== null && kind === 'img') {
            const img = cell.querySelector('.jp-OutputArea-output img:not([data-vfs-old])');
            if (img && img.complete && img.naturalWidth > 0) {
                img.decode().then(() => done(performance.now()), () => done(performance.now()));
                return;
            }
        }
        if (t0 !== null && kind === 'plotly') {
            const gd = cell.querySelector('.js-plotly-plot:not([data-vfs-old])');
            if (gd && gd._fullData && gd._fullData.length && gd.querySelector('canvas')) {
                requestAnimationFrame(() => done(performance.now()));
                return;
            }
        }
        requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
}"""

FLOOR_FETCH_JS = """async url => {
    const t = performance.now();
    const r = await fetch(url, {cache: 'no-store'});
    const bmp = await createImageBitmap(await r.blob());
    bmp.close();
    return performance.now() - t;
}"""


def write_nb(path: Path, cells: list[Any]) -> None:
    nb = new_notebook(
        cells=[c if not isinstance(c, str) else new_code_cell(c) for c in cells],
        metadata={"kernelspec": KERNELSPEC},
    )
    nbformat.write(nb, path)


def measure(ui: NotebookUI, index: int, kind: str, timeout: float = 120_000) -> dict[str, Any]:
    """Run one cell; the page's time from Shift+Enter to drawn, and the long tasks."""
    ui.page.evaluate(LONGTASKS_JS)
    ui.cell(index).scroll_into_view_if_needed()
    handle = ui.cell(index).element_handle()
    ui.page.evaluate(ARM_JS, [handle, kind])
    ui.run_cell(index, timeout=timeout)
    ui.page.wait_for_function("window.__vfsResult !== null", timeout=timeout)
    return ui.page.evaluate("window.__vfsResult")


def med(values: list[float]) -> float:
    return statistics.median(values)


def fmt_ms(ms: float) -> str:
    return f"{ms:.0f} ms"


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, ...]] = []

    def add(self, *row: str) -> None:
        self.rows.append(row)
        print("  " + " | ".join(row), flush=True)

    def markdown(self) -> str:
        head = ("what", "inline", "by URL", "ratio / floor", "target", "verdict")
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in self.rows]
        return "\n".join(lines)


def long_text(samples: list[dict[str, Any]]) -> str:
    worst = max((max(s["long"], default=0.0) for s in samples), default=0.0)
    total = med([sum(s["long"]) for s in samples])
    return f"longest task {worst:.0f} ms, {total:.0f} ms in long tasks"


def images(ctx: Any, srv: RunningServer, sizes: list[int], repeats: int, table: Table) -> None:
    """A cell's image inline vs by URL, and the floor, in one page."""
    cells = [f"%load_ext vfs_ext\n{KERNEL_SETUP}\ntiny = _bench_png(1024)"]
    for size in sizes:
        cells.append(f"data_{size} = _bench_png({size})")
        cells.append(f"display(Image(data_{size}))")
        cells.append(f"%%vfs\ndisplay(Image(data_{size}))")
    cells.append("display(Image(tiny))")
    write_nb(srv.root_dir / "images.ipynb", cells)
    ui = NotebookUI(ctx, "lab", srv.url, srv.token, "images.ipynb").open()
    ui.run_cell(0, timeout=120_000)
    tiny = len(cells) - 1
    for n, size in enumerate(sizes):
        first = 1 + 3 * n
        ui.run_cell(first, timeout=120_000)
        if n == 0:  # warm-up: the first image of each kind
            measure(ui, first + 1, "img")
            measure(ui, first + 2, "img")
        inline = [measure(ui, first + 1, "img") for _ in range(repeats)]
        by_url = [measure(ui, first + 2, "img") for _ in range(repeats)]
        url = ui.cell(first + 2).locator(f"{REF} img").first.get_attribute("src")
        floor_rt = [measure(ui, tiny, "img")["ms"] for _ in range(repeats)]
        floor_fetch = [ui.page.evaluate(FLOOR_FETCH_JS, url) for _ in range(repeats)]
        floor = med(floor_rt) + med(floor_fetch)
        ours = med([s["ms"] for s in by_url])
        label = f"{size // MiB} MiB image, Shift+Enter -> decoded"
        ratio = ours / floor
        table.add(
            label,
            fmt_ms(med([s["ms"] for s in inline])),
            fmt_ms(ours),
            f"{ratio:.2f}x floor ({med(floor_rt):.0f} + {med(floor_fetch):.0f} ms)",
            "<= 1.2x floor",
            "ok" if ratio <= 1.2 else "MISS",
        )
        worst = max((max(s["long"], default=0.0) for s in by_url), default=0.0)
        table.add(
            f"{size // MiB} MiB image, main-thread long tasks",
            long_text(inline),
            long_text(by_url),
            "",
            "none > 50 ms by URL",
            "ok" if worst <= 50 else "MISS",
        )
    ui.close()


def plotly(ctx: Any, srv: RunningServer, points: int, repeats: int, table: Table) -> None:
    setup = (
        "%load_ext vfs_ext\nimport numpy as np, plotly.graph_objects as go, plotly.io as pio\n"
        "pio.renderers.default = 'plotly_mimetype'\nrng = np.random.default_rng(0)\n"
        f"fig = go.Figure(go.Scattergl(x=rng.random({points}), y=rng.random({points}), "
        "mode='markers'))"
    )
    write_nb(srv.root_dir / "plotly.ipynb", [setup, "fig", "%%vfs\nfig"])
    ui = NotebookUI(ctx, "lab", srv.url, srv.token, "plotly.ipynb").open()
    ui.run_cell(0, timeout=120_000)
    measure(ui, 1, "plotly")  # warm-up: the first chart loads plotly.js itself
    inline = [measure(ui, 1, "plotly") for _ in range(repeats)]
    by_url = [measure(ui, 2, "plotly") for _ in range(repeats)]
    a, b = med([s["ms"] for s in inline]), med([s["ms"] for s in by_url])
    table.add(
        f"plotly {points // 1000}k points, Shift+Enter -> drawn",
        fmt_ms(a),
        fmt_ms(b),
        f"{b / a:.2f}x inline",
        "<= 1.0x inline",
        "ok" if b <= a else "MISS",
    )
    table.add("plotly, main-thread long tasks", long_text(inline), long_text(by_url), "", "", "")
    ui.close()


def _first_screen(ui: NotebookUI, cdp: Any, want_image: bool) -> dict[str, Any]:
    ui.page.goto(ui.notebook_url, wait_until="domcontentloaded")
    ui.page.locator(CELLS).first.wait_for(state="visible", timeout=300_000)
    if want_image:
        ui.page.wait_for_function(
            """() => [...document.querySelectorAll('.jp-OutputArea-output img')]
                .some(img => img.complete && img.naturalWidth > 0)""",
            timeout=300_000,
            polling="raf",
        )
    ms = ui.page.evaluate("performance.now()")
    requests = len([r for r in ui.file_responses if r.request.method == "GET"])
    ui.page.wait_for_load_state("networkidle", timeout=300_000)
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return {"ms": ms, "heap": metrics.get("JSHeapUsedSize", 0) / MiB, "requests": requests}


def opening(ctx: Any, srv: RunningServer, count: int, size: int, table: Table) -> None:
    """First screen of a notebook of ``count`` images, inline vs by URL vs no outputs."""
    make = f"%load_ext vfs_ext\n{KERNEL_SETUP}"
    run = f"%%vfs\nfor i in range({count}):\n    display(Image(_bench_png({size})))"
    write_nb(srv.root_dir / "by_url.ipynb", [make, run])
    ui = NotebookUI(ctx, "lab", srv.url, srv.token, "by_url.ipynb").open()
    ui.run_cells([0, 1], first_timeout=300_000)
    ui.save()
    saved = srv.api("GET", "api/contents/by_url.ipynb")["content"]
    ui.close()
    png = base64.b64encode(_png(size)).decode()
    cell = new_code_cell(run)
    cell.outputs = [new_output("display_data", data={"image/png": png}) for _ in range(count)]
    write_nb(srv.root_dir / "inline.ipynb", [make, cell])
    write_nb(srv.root_dir / "empty.ipynb", [make, run])
    for name in ("inline.ipynb", "empty.ipynb"):  # a running kernel for each, as by_url has
        srv.api("POST", "api/sessions", {"path": name, "type": "notebook", "kernel": KERNELSPEC})
    nb_bytes = {n: (srv.root_dir / n).stat().st_size for n in ("inline.ipynb", "by_url.ipynb")}
    results = {}
    for name, want_image in (
        ("empty.ipynb", False),
        ("inline.ipynb", True),
        ("by_url.ipynb", True),
    ):
        page_ui = NotebookUI(ctx, "lab", srv.url, srv.token, name)
        cdp = ctx.new_cdp_session(page_ui.page)
        cdp.send("Performance.enable")
        results[name] = _first_screen(page_ui, cdp, want_image)
        page_ui.close()
    empty, inline, url = (results[n] for n in ("empty.ipynb", "inline.ipynb", "by_url.ipynb"))
    label = f"open {count} x {size // MiB} MiB images"
    ratio = url["ms"] / empty["ms"]
    table.add(
        f"{label}: first screen (no outputs: {empty['ms']:.0f} ms)",
        fmt_ms(inline["ms"]),
        fmt_ms(url["ms"]),
        f"{ratio:.2f}x no outputs",
        "<= 1.2x no outputs",
        "ok" if ratio <= 1.2 else "MISS",
    )
    table.add(
        f"{label}: JS heap after load (no outputs: {empty['heap']:.0f} MiB)",
        f"{inline['heap']:.0f} MiB",
        f"{url['heap']:.0f} MiB",
        "",
        "",
        "",
    )
    table.add(
        f"{label}: /@file/ requests at first screen; .ipynb size",
        f"{inline['requests']}; {nb_bytes['inline.ipynb'] / MiB:.0f} MiB",
        f"{url['requests']}; {nb_bytes['by_url.ipynb'] / 1024:.0f} KiB",
        "",
        "",
        "",
    )
    assert len(saved["cells"][1]["outputs"]) == count


def _png(n: int) -> bytes:
    """The kernel's _bench_png, here: an inline notebook is written without a kernel."""
    namespace: dict[str, Any] = {}
    exec(
        KERNEL_SETUP.split("_bench_owner = None")[0].replace("from IPython.display", "#"), namespace
    )
    return namespace["_bench_png"](n)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.browser", description=__doc__)
    p.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument(
        "--breakdown", action="store_true", help="only the by-URL image and the floor, per phase"
    )
    args = p.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} not found: make chromium", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    quick = args.quick
    sizes = [1 * MiB] if quick else [10 * MiB, 50 * MiB]
    repeats = 1 if quick else args.repeats
    table = Table()
    tables: list[str] = []
    steps: list[Callable[[Any, RunningServer], None]] = [
        lambda ctx, srv: images(ctx, srv, sizes, repeats, table),
        lambda ctx, srv: plotly(ctx, srv, 3_000 if quick else 300_000, repeats, table),
        lambda ctx, srv: opening(ctx, srv, 3 if quick else 50, (1 if quick else 5) * MiB, table),
    ]
    if args.breakdown:
        from .browser_breakdown import breakdown

        steps = [lambda ctx, srv: tables.append(breakdown(ctx, srv, sizes, repeats))]
    print(f"load average before: {load_average()}", flush=True)
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vfs-bench-browser-")))
        env = jupyter_env(tmp / "jupyter", SETTINGS)
        srv = stack.enter_context(jupyter_server(tmp, app="lab", env=env))
        pw = stack.enter_context(sync_playwright())
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        stack.callback(browser.close)
        for step in steps:
            ctx = browser.new_context(viewport={"width": 1280, "height": 1000})
            ctx.set_default_timeout(120_000)
            try:
                step(ctx, srv)
            finally:
                ctx.close()
    print(f"load average after: {load_average()}")
    print()
    print("\n\n".join(tables) if args.breakdown else table.markdown())
    return 0


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: the machine is shared, so say how busy it was."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())

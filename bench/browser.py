"""``python -m bench.browser`` (``make bench-browser``): inline vs by URL in real Chromium.

JupyterLab 4 with vfs_ext's extension, one server, one page per scenario; every time is taken
in the page (``performance.now()``), from the Shift+Enter keydown to the output being drawn:

- a cell's image, inline vs by URL, at 10 and 50 MiB: time until decoded, and the main
  thread's long tasks meanwhile; beside it, the browser floor measured in the same page: a
  1 KiB output's round trip plus a ``no-store`` fetch and decode of the same URL;
- plotly, 300k points: time until plotly has drawn, inline vs by URL;
- opening a notebook of 50 x 5 MiB images, inline vs by URL vs no outputs: time to first
  screen (the first image decoded; cells shown for no outputs), JS heap, requests;
- a cell showing a 10 / 50 MiB image re-run five times: the main thread's long tasks from a
  Chromium trace, inline vs by URL vs a bare page replacing an ``<img>`` (browser_rerun.py).

python -m bench.browser            # full run (a few minutes on 2 cores)
python -m bench.browser --quick    # small sizes, one repeat
python -m bench.browser --only images  # the image rows only (also: plotly, opening, rerun)
python -m bench.browser --breakdown  # only the by-URL image, per phase (bench/browser_breakdown.py)
python -m bench.browser --trace      # its main-thread long tasks, event by event (browser_trace.py)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.support.browser import jupyter_env
from tests.support.jupyter_ui import NotebookUI
from tests.support.server import RunningServer, jupyter_server

from .browser_common import MiB, Table, fmt_ms, load_average, long_text, med, write_nb
from .browser_js import (
    ARM_JS,
    FLOOR_FETCH_JS,
    FLOOR_IMG_JS,
    LAST_FILE_URL_JS,
    LONGTASKS_JS,
)
from .browser_open import opening
from .browser_rerun import rerun
from .harness import KERNEL_SETUP

#: No news pop-up; everything else as a user gets it (default windowing, the table of
#: contents looking for headings in outputs).
SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def measure(ui: NotebookUI, index: int, kind: str, timeout: float = 120_000) -> dict[str, Any]:
    """Run one cell; the page's time from Shift+Enter to drawn, and the long tasks."""
    ui.page.evaluate(LONGTASKS_JS)
    ui.cell(index).scroll_into_view_if_needed()
    handle = ui.cell(index).element_handle()
    ui.page.evaluate(ARM_JS, [handle, kind])
    ui.run_cell(index, timeout=timeout)
    ui.page.wait_for_function("window.__vfsResult !== null", timeout=timeout)
    return ui.page.evaluate("window.__vfsResult")


def images(ctx: Any, srv: RunningServer, sizes: list[int], repeats: int, table: Table) -> None:
    """A cell's image inline vs by URL, and the floors, in one page.

    The floors: the issue's (a 1 KiB output's round trip + a ``no-store`` fetch and
    ``createImageBitmap`` of the same URL) and the ``<img>`` floor (the same round trip + a
    detached ``<img>`` of the URL, uncached, from ``src`` set to decoded).
    """
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
        url = ui.page.evaluate(LAST_FILE_URL_JS)
        floor_rt = med([measure(ui, tiny, "img")["ms"] for _ in range(repeats)])
        floor_fetch = med([ui.page.evaluate(FLOOR_FETCH_JS, url) for _ in range(repeats)])
        floor_img = med([ui.page.evaluate(FLOOR_IMG_JS, url) for _ in range(repeats)])
        floor, img_floor = floor_rt + floor_fetch, floor_rt + floor_img
        mib = f"{size // MiB} MiB image"
        ours = med([s["ms"] for s in by_url])
        ratio = ours / floor
        table.add(
            f"{mib}, Shift+Enter -> decoded",
            fmt_ms(med([s["ms"] for s in inline])),
            fmt_ms(ours),
            f"{ratio:.2f}x floor ({floor_rt:.0f} + {floor_fetch:.0f} ms); "
            f"{ours / img_floor:.2f}x <img> floor ({floor_rt:.0f} + {floor_img:.0f} ms)",
            "<= 1.2x floor",
            "ok" if ratio <= 1.2 else "MISS",
        )
        worst = max((max(s["long"], default=0.0) for s in by_url), default=0.0)
        table.add(
            f"{mib}, main-thread long tasks",
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.browser", description=__doc__)
    p.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument(
        "--breakdown", action="store_true", help="only the by-URL image and the floor, per phase"
    )
    p.add_argument(
        "--only",
        default="images,plotly,opening,rerun",
        help="comma-separated scenarios of the full run (images, plotly, opening, rerun)",
    )
    p.add_argument(
        "--trace",
        action="store_true",
        help="only the by-URL image under a Chromium trace: its long tasks, event by event",
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
    scenarios: dict[str, Callable[[Any, RunningServer], None]] = {
        "images": lambda ctx, srv: images(ctx, srv, sizes, repeats, table),
        "plotly": lambda ctx, srv: plotly(ctx, srv, 3_000 if quick else 300_000, repeats, table),
        "opening": lambda ctx, srv: opening(
            ctx, srv, 3 if quick else 50, (1 if quick else 5) * MiB, table
        ),
        "rerun": lambda ctx, srv: rerun(ctx, srv, sizes, repeats, table),
    }
    steps = [scenarios[name] for name in args.only.split(",")]
    if args.breakdown:
        from .browser_breakdown import breakdown

        steps = [lambda ctx, srv: tables.append(breakdown(ctx, srv, sizes, repeats))]
    if args.trace:
        from .browser_trace import trace

        steps = [lambda ctx, srv: tables.append(trace(ctx, srv, sizes, repeats))]
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
    print("\n\n".join(tables) if tables else table.markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())

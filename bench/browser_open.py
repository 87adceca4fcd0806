"""``python -m bench.browser``: opening a notebook of many images, inline vs by URL vs none.

The time to first screen (the first image decoded; the first cell shown for no outputs), the
page's JS heap once the network is idle (CDP ``JSHeapUsedSize``), and the file requests made
for the first screen. Each notebook opens in a browser context of its own: no HTTP cache.
"""

from __future__ import annotations

import base64
from typing import Any

from nbformat.v4 import new_code_cell, new_output

from tests.support.jupyter_ui import CELLS, NotebookUI
from tests.support.server import RunningServer

from .browser_common import KERNELSPEC, MiB, Table, fmt_ms, write_nb
from .harness import KERNEL_SETUP


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


def _open(ctx: Any, srv: RunningServer, name: str, want_image: bool) -> dict[str, Any]:
    """Open ``name`` in a new context, so nothing is in the HTTP cache."""
    own = ctx.browser.new_context(viewport={"width": 1280, "height": 1000})
    try:
        page_ui = NotebookUI(own, "lab", srv.url, srv.token, name)
        cdp = own.new_cdp_session(page_ui.page)
        cdp.send("Performance.enable")
        result = _first_screen(page_ui, cdp, want_image)
        page_ui.close()
        return result
    finally:
        own.close()


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
        results[name] = _open(ctx, srv, name, want_image)
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

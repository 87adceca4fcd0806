"""``python -m bench.browser --trace``: what the page's main thread does in a virtual image's
long tasks, from a Chromium trace (CDP ``Tracing``, through Playwright).

For each size, the by-URL cell runs ``repeats`` times under a trace; every task of the
renderer's main thread longer than 50 ms in that window is printed as a tree of the events
inside it (2 ms and longer: V8 and Blink GC with V8's reason, script by function, image
decode, layout, style, paint), so a long task is attributed to our code or to Chromium.
"""

from __future__ import annotations

import json
from typing import Any

from tests.support.jupyter_ui import NotebookUI
from tests.support.server import RunningServer

from .browser_common import MiB, write_nb
from .browser_js import LONGTASKS_JS
from .harness import KERNEL_SETUP

CATEGORIES = [
    "toplevel",
    "devtools.timeline",
    "disabled-by-default-devtools.timeline",
    "v8",
    "v8.execute",
    "disabled-by-default-v8.gc",
    "blink",
    "blink_gc",
    "cppgc",
    "disabled-by-default-cppgc",
    "loading",
]
LONG_MS = 50.0
SHOWN_MS = 2.0
TASKS = ("ThreadControllerImpl::RunTask", "RunTask")


def trace(ctx: Any, srv: RunningServer, sizes: list[int], repeats: int) -> str:
    """Markdown: per size, the main thread's long tasks as event trees."""
    cells = [f"%load_ext vfs_ext\n{KERNEL_SETUP}"]
    for size in sizes:
        cells += [f"data_{size} = _bench_png({size})", f"%%vfs\ndisplay(Image(data_{size}))"]
    write_nb(srv.root_dir / "trace.ipynb", cells)
    ui = NotebookUI(ctx, "lab", srv.url, srv.token, "trace.ipynb").open()
    ui.run_cell(0, timeout=300_000)
    ui.page.evaluate(LONGTASKS_JS)
    browser = ctx.browser
    out = []
    for n, size in enumerate(sizes):
        ui.run_cell(1 + 2 * n, timeout=120_000)
        cell = 2 + 2 * n
        ui.run_cell(cell, timeout=120_000)  # warm-up, untraced
        _wait_image(ui, cell)
        browser.start_tracing(page=ui.page, categories=CATEGORIES)
        for _ in range(repeats):
            ui.run_cell(cell, timeout=120_000)
            _wait_image(ui, cell)
        events = json.loads(browser.stop_tracing())
        events = events["traceEvents"] if isinstance(events, dict) else events
        out.append(f"### {size // MiB} MiB by URL, {repeats} runs\n")
        out.append(_long_tasks(events))
    ui.close()
    return "\n".join(out)


def _wait_image(ui: NotebookUI, cell: int) -> None:
    ui.page.wait_for_function(
        """cell => [...cell.querySelectorAll('.jp-VfsReference')]
            .every(r => r.dataset.vfsState === 'loaded')
            && [...cell.querySelectorAll('.jp-VfsReference img')]
            .some(img => img.complete && img.naturalWidth > 0)""",
        arg=ui.cell(cell).element_handle(),
        timeout=120_000,
        polling="raf",
    )


def _main_thread(events: list[dict[str, Any]]) -> tuple[int, int] | None:
    """(pid, tid) of the renderer's main thread with the most events (the page's)."""
    mains = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("ph") == "M" and e.get("args", {}).get("name") == "CrRendererMain"
    }
    counts = {key: 0 for key in mains}
    for e in events:
        key = (e.get("pid"), e.get("tid"))
        if key in counts:
            counts[key] += 1
    return max(counts, key=lambda k: counts[k]) if counts else None


def main_spans(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The complete events of the page's main thread, in order, outer before inner."""
    main = _main_thread(events)
    return sorted(
        (e for e in events if (e.get("pid"), e.get("tid")) == main and e.get("ph") == "X"),
        key=lambda e: (e["ts"], -e.get("dur", 0)),
    )


def long_tasks(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The main thread's tasks over LONG_MS, outermost only (RunTask nests in
    ThreadControllerImpl's). A trace sees the GC tasks a ``longtask`` observer misses."""
    tasks: list[dict[str, Any]] = []
    for e in spans:
        long = e["name"] in TASKS and e.get("dur", 0) >= LONG_MS * 1000
        if long and (not tasks or e["ts"] >= tasks[-1]["ts"] + tasks[-1]["dur"]):
            tasks.append(e)
    return tasks


def _long_tasks(events: list[dict[str, Any]]) -> str:
    if _main_thread(events) is None:
        return "no renderer main thread in the trace\n"
    spans = main_spans(events)
    tasks = long_tasks(spans)
    if not tasks:
        return "no main-thread task over 50 ms\n"
    lines = []
    for task in tasks:
        end = task["ts"] + task["dur"]
        inside = [e for e in spans if task["ts"] <= e["ts"] and e["ts"] + e.get("dur", 0) <= end]
        lines.append(f"- task of {task['dur'] / 1000:.0f} ms:")
        lines += _tree(inside[1:], task["ts"], end, 1)
    return "\n".join(lines) + "\n"


def _tree(spans: list[dict[str, Any]], start: int, end: int, depth: int) -> list[str]:
    """The children of [start, end) of at least SHOWN_MS, nested up to depth 6."""
    lines: list[str] = []
    i = 0
    while i < len(spans) and depth <= 6:
        e = spans[i]
        e_end = e["ts"] + e.get("dur", 0)
        inner = [s for s in spans[i + 1 :] if s["ts"] < e_end]
        if e.get("dur", 0) >= SHOWN_MS * 1000:
            lines.append(f"{'  ' * depth}- {_label(e)}: {e['dur'] / 1000:.1f} ms")
            lines += _tree(inner, e["ts"], e_end, depth + 1)
        i += 1 + len(inner)
    return lines


def _label(e: dict[str, Any]) -> str:
    args = e.get("args") or {}
    if "GC" in e["name"] and args:  # why V8 collected, and what it freed
        why = {k: v for k, v in args.items() if k != "data" and not isinstance(v, dict)}
        return f"{e['name']} {why}" if why else e["name"]
    data = args.get("data") or {}
    what = data.get("functionName") or data.get("url") or data.get("type") or ""
    if data.get("url") and data.get("functionName"):
        what = f"{data['functionName']} ({data['url'].rsplit('/', 1)[-1][:60]})"
    return f"{e['name']} {what}".strip()

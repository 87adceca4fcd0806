"""``bench.browser --trace`` reads a Chromium trace right: which main-thread tasks were long and
what ran inside them (a synthetic trace in Chromium's format; no browser needed)."""

from __future__ import annotations

from typing import Any

from bench.browser_trace import _long_tasks, long_tasks, main_spans

PID, MAIN, OTHER = 7, 1, 2


def span(name: str, ts_ms: float, dur_ms: float, tid: int = MAIN, **args: Any) -> dict[str, Any]:
    return {
        "ph": "X",
        "pid": PID,
        "tid": tid,
        "name": name,
        "ts": int(ts_ms * 1000),
        "dur": int(dur_ms * 1000),
        "args": args,
    }


def trace() -> list[dict[str, Any]]:
    meta = [
        {
            "ph": "M",
            "pid": PID,
            "tid": MAIN,
            "name": "thread_name",
            "args": {"name": "CrRendererMain"},
        },
        {
            "ph": "M",
            "pid": PID,
            "tid": OTHER,
            "name": "thread_name",
            "args": {"name": "Compositor"},
        },
    ]
    return [
        *meta,
        # A long task: a GC with V8's reason, mostly Blink's weak callbacks.
        span("ThreadControllerImpl::RunTask", 0, 300),
        span("RunTask", 0, 300),
        span("MajorGC", 1, 298, type="finalize incremental marking via task"),
        span("CppGC.AtomicWeak", 10, 280),
        span("V8.GC_MC_EVACUATE", 291, 1),  # under 2 ms: left out
        # A short task with script: not listed.
        span("ThreadControllerImpl::RunTask", 400, 30),
        span("FunctionCall", 401, 28, data={"functionName": "f", "url": "http://x/a.js"}),
        # A long task on another thread: not the page's main thread.
        span("ThreadControllerImpl::RunTask", 500, 100, tid=OTHER),
        # A long task with script, labelled by function and file.
        span("ThreadControllerImpl::RunTask", 700, 80),
        span("FunctionCall", 701, 78, data={"functionName": "load", "url": "http://x/lib/b.js"}),
    ]


def test_long_tasks_are_the_main_threads_with_what_ran_in_them() -> None:
    text = _long_tasks(trace())
    lines = text.splitlines()
    assert [line for line in lines if line.startswith("- task")] == [
        "- task of 300 ms:",
        "- task of 80 ms:",
    ]
    assert "MajorGC {'type': 'finalize incremental marking via task'}: 298.0 ms" in text
    assert "      - CppGC.AtomicWeak: 280.0 ms" in lines
    assert "V8.GC_MC_EVACUATE" not in text
    assert "FunctionCall load (b.js): 78.0 ms" in text
    assert "FunctionCall f" not in text


def test_no_long_task_says_so() -> None:
    events = [e for e in trace() if e.get("ts", 0) < 400_000 or e["ph"] == "M"]
    for e in events:
        if e["ph"] == "X":
            e["dur"] = min(e["dur"], 40_000)
    assert _long_tasks(events) == "no main-thread task over 50 ms\n"


def test_the_rerun_rows_count_the_outermost_long_tasks_of_the_main_thread() -> None:
    """bench/browser_rerun.py sums these: each long task once (not its nested RunTask), none
    from another thread."""
    assert [t["dur"] / 1000 for t in long_tasks(main_spans(trace()))] == [300, 80]


def test_the_rerun_rows_split_out_the_gc_inside_a_long_task() -> None:
    from bench.browser_rerun import gc_ms

    spans = main_spans(trace())
    tasks = long_tasks(spans)
    assert [gc_ms(spans, t) for t in tasks] == [298, 0]

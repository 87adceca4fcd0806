"""Results as markdown: one row per measurement, with the alternative and the target beside it."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Row:
    """One line of the results table."""

    figure: str
    what: str
    ours: str
    alternative: str
    ratio: str = ""
    target: str = ""
    verdict: str = ""  # "ok", "MISS", "" (no target) or "n/a: <why>"


@dataclass
class Results:
    """Everything one run measured: table rows plus raw points for the scaling plot."""

    rows: list[Row] = field(default_factory=list)
    # series name -> [(size in bytes, seconds)]
    points: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print(
            f"  {row.figure} | {row.what}: {row.ours} vs {row.alternative} {row.ratio}", flush=True
        )

    def point(self, series: str, size: int, seconds: float) -> None:
        self.points.setdefault(series, []).append((size, seconds))

    def markdown(self) -> str:
        head = "| figure | measurement | vfs_ext | alternative | ratio | target | |"
        lines = [head, "|---|---|---|---|---|---|---|"]
        for r in self.rows:
            cells = (r.figure, r.what, r.ours, r.alternative, r.ratio, r.target, r.verdict)
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)


def median_time(fn: Callable[[], object], repeats: int, warmup: int = 0) -> float:
    """Median wall time of ``fn`` over ``repeats`` runs, after ``warmup`` untimed runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def fmt_s(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def fmt_rate(nbytes: int, seconds: float) -> str:
    return f"{nbytes / seconds / 2**30:.2f} GiB/s" if seconds > 0 else "inf"


def fmt_mib(nbytes: float) -> str:
    return f"{nbytes / 2**20:.1f} MiB"


def verdict(value: float, target: float, higher_is_better: bool = True) -> str:
    ok = value >= target if higher_is_better else value <= target
    return "ok" if ok else "MISS"

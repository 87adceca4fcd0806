"""What ``bench.browser``'s scenarios share: notebooks on disk, medians, the printed table."""

from __future__ import annotations

import os
import statistics
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

MiB = 2**20
REF = ".jp-VfsReference"
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def write_nb(path: Path, cells: list[Any]) -> None:
    nb = new_notebook(
        cells=[c if not isinstance(c, str) else new_code_cell(c) for c in cells],
        metadata={"kernelspec": KERNELSPEC},
    )
    nbformat.write(nb, path)


def med(values: list[float]) -> float:
    return statistics.median(values)


def fmt_ms(ms: float) -> str:
    return f"{ms:.0f} ms"


def long_text(samples: list[dict[str, Any]]) -> str:
    """The longest main-thread task over the samples, and the median time in long tasks."""
    worst = max((max(s["long"], default=0.0) for s in samples), default=0.0)
    total = med([sum(s["long"]) for s in samples])
    # The longest of all runs can exceed the median total: a task seen in one run only.
    return f"longest task {worst:.0f} ms; median per run {total:.0f} ms in long tasks"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: the machine is shared, so say how busy it was."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


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

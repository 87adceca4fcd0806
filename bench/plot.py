"""Figure 6: the cost curves (latency vs size for both paths) as a PNG and a markdown table."""

from __future__ import annotations

import textwrap
from pathlib import Path

from .report import Results, fmt_s


def size_label(n: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} B"


def table(results: Results) -> str:
    """One row per size, one column per series (sizes are the actual payload sizes)."""
    series = sorted(results.points)
    by_size: dict[int, dict[str, float]] = {}
    for name in series:
        for size, seconds in results.points[name]:
            by_size.setdefault(_bucket(size), {})[name] = seconds
    lines = ["| size | " + " | ".join(series) + " |", "|---" * (len(series) + 1) + "|"]
    for size in sorted(by_size):
        cells = [fmt_s(by_size[size][s]) if s in by_size[size] else "-" for s in series]
        lines.append(f"| {size_label(size)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _bucket(size: int) -> int:
    """PNG payloads are a few bytes off the nominal size; file the point under the nominal one."""
    for scale in (2**30, 2**20, 2**10):
        if size >= scale:
            return round(size / scale) * scale
    return size


def plot(results: Results, path: Path, title: str) -> bool:
    """Write the log-log plot; False when matplotlib is missing (the demo extra)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    panels = (
        ("display: ", axes[0], "display latency (execute_request -> bytes held)"),
        ("GET ", axes[1], "fetch time of the whole file"),
    )
    for prefix, ax, heading in panels:
        for name in sorted(results.points):
            if not name.startswith(prefix):
                continue
            pts = sorted(results.points[name])
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=name[len(prefix) :])
        ax.set_xscale("log", base=2)
        ticks = sorted({_bucket(s) for pts in results.points.values() for s, _ in pts})
        ax.set_xticks(ticks, [size_label(t) for t in ticks], rotation=30, fontsize=8)
        ax.minorticks_off()
        ax.set_yscale("log")
        ax.set_xlabel("payload size")
        ax.set_ylabel("seconds (median)")
        ax.set_title(heading, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle(textwrap.fill(title, 150), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True

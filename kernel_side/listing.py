"""What ``%vfs ls`` and ``%vfs stats`` show, sized for a notebook's output area.

A virtual file's name is 60-odd characters of hex and its cell a UUID: a listing of them ran
past the output area's edge. So cells are shown by execution count (``[12]``, as JupyterLab
labels them), names by their first token digits (the full name is in the link and its title),
sizes and ages in human units, every line within ~100 characters. Files in their retirement
grace (vfs_ext.retire: frames a live plot replaced, released seconds later) are no longer on
screen: hidden unless asked for, so a live plot lists the frame it shows, not the last 40.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from vfs_ext.config import format_size
from vfs_ext.mimes import mime_for_ext
from vfs_ext.names import parse_name
from vfs_ext.stats import StoreStats
from vfs_ext.tiers import FileInfo

#: Columns of a line that ``%vfs stats`` indents its detail lines by.
INDENT = " " * 8
MAX_PATH = 90


def short_name(name: str) -> str:
    """``0e4bd9f0….png`` for ``<owner>-<group>-0e4bd9f05f9e….png``: unique enough to tell
    files apart on one screen, the full name being in the link."""
    match = parse_name(name)
    return f"{match['token'][:8]}….{match['ext']}" if match else name


def age(seconds: float) -> str:
    seconds = max(0.0, seconds)
    for limit, unit, div in ((90, "s", 1), (5400, "min", 60), (129600, "h", 3600)):
        if seconds < limit:
            return f"{seconds / div:.0f} {unit}"
    return f"{seconds / 86400:.0f} d"


def ls_rows(
    files: Iterable[FileInfo],
    counts: Mapping[str, int],
    retiring: frozenset[str],
    url: Any,
    *,
    show_all: bool,
) -> tuple[list[dict[str, str]], int]:
    """The rows to list (oldest first) and how many retiring files were left out."""
    now, rows, hidden = time.time(), [], 0
    for f in files:
        if f.name in retiring and not show_all:
            hidden += 1
            continue
        count = counts.get(f.group)
        rows.append(
            {
                "cell": f"[{count}]" if count else "-",
                "name": short_name(f.name),
                "type": mime_for_ext(f.name.rsplit(".", 1)[-1]),
                "size": format_size(f.size),
                "tier": f.tier,
                "age": age(now - f.mtime) + (" (retiring)" if f.name in retiring else ""),
                "full": f.name,
                "url": url(f.name),
            }
        )
    return rows, hidden


def ls_bundle(rows: list[dict[str, str]], hidden: int) -> dict[str, str]:
    """text/plain (aligned columns) and text/html (a table whose names link to the files)."""
    cols = ["cell", "name", "type", "size", "tier", "age"]
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in cols}
    right = {"cell", "size"}
    lines = [
        "  ".join((row[c].rjust if c in right else row[c].ljust)(widths[c]) for c in cols).rstrip()
        for row in [{c: c for c in cols}, *rows]
    ]
    note = f"{hidden} retiring file(s) not shown (%vfs ls --all)" if hidden else ""
    head = "".join(f"<th>{c}</th>" for c in cols)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td><a href="{escape(r["url"])}" title="{escape(r["full"])}" '
            f'target="_blank">{escape(r[c])}</a></td>'
            if c == "name"
            else f"<td>{escape(r[c])}</td>"
            for c in cols
        )
        + "</tr>"
        for r in rows
    )
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return {
        "text/plain": "\n".join([*lines, note] if note else lines),
        "text/html": table + (f"<p>{escape(note)}</p>" if note else ""),
    }


def _short_path(path: str) -> str:
    if len(path) <= MAX_PATH:
        return path
    half = (MAX_PATH - 1) // 2
    return f"{path[:half]}…{path[-half:]}"


def stats_lines(stats: StoreStats) -> list[str]:
    """Per tier: usage on one line, its directory and details on the next ones."""
    lines = []
    for t in stats.tiers:
        lines.append(
            f"{t.name:<7} {format_size(t.used)} used of {format_size(t.budget)}, "
            f"{format_size(t.free)} free, {t.files} file(s)"
        )
        lines.append(INDENT + _short_path(t.path))
        details = []
        if t.huge_pages:
            details.append(f"tmpfs, huge pages: {t.huge_pages}")
        if t.keep_free:
            details.append(f"keeps {format_size(t.keep_free)} of its filesystem free")
        if details:
            lines.append(INDENT + "; ".join(details))
        if t.draining:
            lines.append(
                f"{INDENT}draining {format_size(t.draining)}: released, still being "
                "downloaded (in the budget until then)"
            )
    ev = stats.events
    lines.append(
        f"this kernel: {ev.fallback} fallback(s), {ev.evict} eviction(s), {ev.error} error(s)"
    )
    # "disabled: why", or "moved: why, and where to" (vfs_ext.squatting)
    lines += [f"{name} tier {reason}" for name, reason in stats.refused.items()]
    return lines

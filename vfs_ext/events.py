"""Fallbacks, evictions and errors happen in kernels; the server counts them for the admin view.

Each event is one JSON line appended (O_APPEND, so concurrent writers never interleave) to a
file in the namespace's last tier.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path

EVENTS_FILE = ".events.jsonl"


def record(root: Path, kind: str, **fields: object) -> None:
    """Append one event; never raises (losing a counter must not lose an output)."""
    line = json.dumps({"t": time.time(), "kind": kind, **fields}, default=str) + "\n"
    try:
        fd = os.open(
            root / EVENTS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600
        )
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
    except OSError:
        pass


def count(root: Path, since: float = 0.0) -> Counter[str]:
    """Events per kind recorded at or after ``since``."""
    counts: Counter[str] = Counter()
    try:
        with open(root / EVENTS_FILE, encoding="utf-8") as f:
            for line in f:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("t", 0) >= since:
                    counts[str(event.get("kind"))] += 1
    except OSError:
        pass
    return counts

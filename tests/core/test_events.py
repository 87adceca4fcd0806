"""The admin's event counts: every fallback, eviction and error counted once, however long the
server runs, with the events file kept bounded on disk."""

from __future__ import annotations

import json
import os
from pathlib import Path

from vfs_ext import events, layout
from vfs_ext.config import StoreConfig
from vfs_ext.store import Store


def on_disk(root: Path) -> int:
    """Bytes of event files in ``root`` (both generations)."""
    return sum(
        (root / name).stat().st_size
        for name in (layout.EVENTS_FILE, layout.ROTATED_EVENTS_FILE)
        if (root / name).exists()
    )


def test_events_are_counted_once_across_polls(tmp_path: Path) -> None:
    log = events.EventLog(tmp_path)
    for _ in range(3):
        events.record(tmp_path, "fallback", name="a.png", to="disk")
    log.poll()
    events.record(tmp_path, "error", reasons=["memory: full", "disk: full"])
    log.poll()
    log.poll()
    assert log.counts == {"fallback": 3, "error": 1}
    assert [e["kind"] for e in log.recent] == ["fallback"] * 3 + ["error"]
    assert log.recent[-1]["reasons"] == ["memory: full", "disk: full"]


def test_rotation_bounds_the_file_and_loses_no_event(tmp_path: Path) -> None:
    log = events.EventLog(tmp_path, max_bytes=4096, recent=5)
    line = len(json.dumps({"t": 0.0, "kind": "evict", "name": "x" * 40})) + 20
    for i in range(2000):
        events.record(tmp_path, "evict", name=f"{i:040d}")
        if i % 50 == 49:
            log.poll()
            assert on_disk(tmp_path) <= 2 * 4096 + 50 * line
    log.poll()
    assert log.counts == {"evict": 2000}
    assert [e["name"] for e in log.recent] == [f"{i:040d}" for i in range(1995, 2000)]


def test_an_event_written_into_the_rotated_file_is_still_counted(tmp_path: Path) -> None:
    """A kernel that opened the file just before the rename appends to the old generation."""
    log = events.EventLog(tmp_path, max_bytes=1)
    events.record(tmp_path, "fallback")
    late_writer = os.open(tmp_path / layout.EVENTS_FILE, os.O_WRONLY | os.O_APPEND)
    try:
        log.poll()  # reads one event, then rotates
        assert (tmp_path / layout.ROTATED_EVENTS_FILE).exists()
        assert not (tmp_path / layout.EVENTS_FILE).exists()
        os.write(late_writer, b'{"t": 1e12, "kind": "error"}\n')
    finally:
        os.close(late_writer)
    events.record(tmp_path, "evict")  # into a fresh file
    log.poll()
    assert log.counts == {"fallback": 1, "error": 1, "evict": 1}


def test_a_partial_line_waits_and_junk_is_skipped(tmp_path: Path) -> None:
    log = events.EventLog(tmp_path)
    path = tmp_path / layout.EVENTS_FILE
    with open(path, "ab") as f:
        f.write(b"not json\n" + b"[1, 2]\n" + b'{"kind": "no time"}\n')
        f.write(b"z" * (events._MAX_LINE + 10))  # a damaged run without newline
        f.write(b'\n{"t": 1e12, "kind": "fallback"}\n{"t": 1e12, "kind": "er')
    log.poll()
    assert log.counts == {"fallback": 1}
    with open(path, "ab") as f:
        f.write(b'ror"}\n')
    log.poll()
    assert log.counts == {"fallback": 1, "error": 1}


def test_only_events_since_the_server_started_count(tmp_path: Path) -> None:
    path = tmp_path / layout.EVENTS_FILE
    path.write_text('{"t": 10.0, "kind": "error"}\n{"t": 30.0, "kind": "error"}\n')
    log = events.EventLog(tmp_path, since=20.0)
    log.poll()
    assert log.counts == {"error": 1}


def test_a_file_replaced_under_the_reader_is_read_from_its_start(tmp_path: Path) -> None:
    log = events.EventLog(tmp_path)
    events.record(tmp_path, "error")
    events.record(tmp_path, "error")
    log.poll()
    (tmp_path / layout.EVENTS_FILE).unlink()  # e.g. an admin cleaning up by hand
    events.record(tmp_path, "fallback")
    log.poll()
    assert log.counts == {"error": 2, "fallback": 1}


def test_the_server_counts_every_kernels_events_and_rotates(make_store) -> None:
    server = make_store()
    root = server.events_root
    n = events.MAX_BYTES // 60 + 10  # more than MAX_BYTES of lines
    with open(root / layout.EVENTS_FILE, "ab") as f:
        f.write(b"".join(b'{"t": 1e12, "kind": "fallback", "x": "%030d"}\n' % i for i in range(n)))
    events.record(root, "error")
    stats = server.stats().to_json()
    assert stats["events"] == {"fallback": n, "evict": 0, "error": 1}
    assert stats["recent_events"][-1]["kind"] == "error"
    assert (root / layout.ROTATED_EVENTS_FILE).exists()  # read past MAX_BYTES: rotated
    events.record(root, "evict")
    server.sweep()  # sweeps read (and rotate) too, so the file stays bounded unwatched
    assert server.stats().to_json()["events"] == {"fallback": n, "evict": 1, "error": 1}


def test_a_kernel_counts_its_own_events_and_leaves_the_file_alone(make_store) -> None:
    """``%vfs stats`` in a kernel: what this kernel recorded, never another reader of the file."""
    server = make_store()
    kernel = Store(StoreConfig(tiers=server.config.tiers, namespace=server.namespace))
    events.record(server.events_root, "evict")  # another kernel's
    kernel.record_event("fallback", name="a.png", to="disk")
    kernel.record_event("fallback", name="b.png", to="disk")
    stats = kernel.stats().to_json()
    assert stats["events"] == {"fallback": 2, "evict": 0, "error": 0}
    assert [e["name"] for e in stats["recent_events"]] == ["a.png", "b.png"]
    assert server.stats().to_json()["events"] == {"fallback": 2, "evict": 1, "error": 0}


def test_a_damaged_line_stops_neither_counting_nor_sweeps(make_store) -> None:
    server = make_store()
    with open(server.events_root / layout.EVENTS_FILE, "ab") as f:
        f.write(b"[" * 100_000 + b"\n")  # json.loads: RecursionError, not ValueError
    events.record(server.events_root, "error")
    server.sweep()
    assert server.stats().to_json()["events"]["error"] == 1

"""Large outputs are hashed ahead of the save, in the server, in the background: a save of a
file already hashed only copies it. What saves may trust of a hash computed ahead, and what the
worker thread does when files go, persistence is off, or the server stops."""

from __future__ import annotations

import mmap
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import wait_until
from tests.support.server import RunningServer, jupyter_server, server_store
from tests.support.sidecars import digest, records, save, sidecar_files
from vfs_ext.owner import Owner

MIB = 1024 * 1024


def big(tag: bytes, size: int = 2 * MIB) -> bytes:
    """Bytes large enough to be hashed ahead (server_side.prehash.MIN_BYTES is 1 MiB)."""
    return tag + os.urandom(size - len(tag))


def persist(server: RunningServer) -> dict:
    return server.api("GET", "api/vfs")["persist"]


def idle(server: RunningServer) -> dict:
    """api/vfs's persist section once the hashing thread has nothing left to do."""
    return wait_until(
        lambda: (p := persist(server))["hashing_pending"] == 0 and p, "the hashing thread idle"
    )


def delta(after: dict, before: dict, key: str) -> int:
    return after[key] - before[key]


def metric(server: RunningServer, line: str) -> float:
    _, _, body = server.request("GET", "metrics")
    for row in body.decode().splitlines():
        if row.startswith(line + " "):
            return float(row.split()[-1])
    raise AssertionError(f"{line} not in the metrics")


def test_a_shown_file_is_hashed_before_the_save_which_then_only_copies_it(
    server: RunningServer, owner: Owner
) -> None:
    before = idle(server)
    data = big(b"ahead")
    name = owner.write(data, "png").name
    hashed = wait_until(
        lambda: delta(p := persist(server), before, "hashed_ahead_files") == 1 and p,
        "the file hashed ahead",
    )
    assert delta(hashed, before, "hashed_ahead_bytes") == len(data)
    assert delta(hashed, before, "copied_files") == 0  # no save yet
    saved = save(server, "ahead/nb.ipynb", name)
    after = idle(server)
    assert records(saved)[0]["sha256"] == digest(data)
    assert delta(after, before, "copied_files") == 1
    assert delta(after, before, "hashed_at_save_bytes") == 0  # copied, not hashed
    assert sidecar_files(server, "ahead") == [f"{digest(data)}.png"]
    assert (
        metric(server, 'vfs_ext_persist_hashed_bytes_total{when="ahead"}')
        == (after["hashed_ahead_bytes"])
    )
    assert (
        metric(server, 'vfs_ext_persist_hashed_bytes_total{when="save"}')
        == (after["hashed_at_save_bytes"])
    )
    owner.release(name)
    assert server.get_file(name)[2] == data


def test_a_save_right_after_the_display_hashes_no_file_twice(
    server: RunningServer, owner: Owner
) -> None:
    """The save takes over what the worker has not hashed yet, from where it is."""
    before = idle(server)
    files = [big(bytes([n]), 32 * MIB) for n in range(4)]
    names = [owner.write(data, "png").name for data in files]
    saved = save(server, "right-after/nb.ipynb", *names)
    after = idle(server)
    assert [r["sha256"] for r in records(saved)] == [digest(d) for d in files]
    hashed = delta(after, before, "hashed_ahead_bytes") + delta(
        after, before, "hashed_at_save_bytes"
    )
    total = sum(map(len, files))
    assert total <= hashed <= total + len(files) * 4 * MIB  # at most a chunk a file twice


def test_frames_released_before_their_turn_are_not_hashed(
    server: RunningServer, owner: Owner
) -> None:
    """A loop redrawing a plot: only frames still shown when the worker gets to them cost a
    hash, and the last one is ready for the next save."""
    before = idle(server)
    previous = None
    for n in range(100):
        name = owner.write(big(n.to_bytes(2, "big"), MIB), "png").name
        if previous is not None:
            owner.release(previous)
        previous = name
    after = wait_until(
        lambda: (p := idle(server))["hashed_ahead_files"] > before["hashed_ahead_files"] and p,
        "the last frame hashed",
    )
    assert delta(after, before, "hashed_ahead_files") <= 50
    assert previous is not None
    save(server, "redraw/nb.ipynb", previous)
    assert delta(idle(server), before, "hashed_at_save_files") == 0


def test_a_file_rewritten_after_its_hash_is_hashed_again_at_save(
    server: RunningServer, owner: Owner
) -> None:
    before = idle(server)
    info = owner.write(big(b"first"), "png")
    wait_until(lambda: delta(persist(server), before, "hashed_ahead_files") == 1, "the first hash")
    rewritten = big(b"second")
    with open(info.path, "r+b") as f:  # the kernel owns its file and may write to it
        f.write(rewritten)
    saved = save(server, "rewritten/nb.ipynb", info.name)
    assert records(saved)[0]["sha256"] == digest(rewritten)
    assert delta(idle(server), before, "hashed_at_save_files") == 1
    owner.release(info.name)
    status, headers, body = server.get_file(info.name)
    assert (status, body) == (200, rewritten)
    assert headers["etag"] == f'"sha256-{digest(rewritten)}"'


def test_bytes_changed_without_a_trace_are_not_served_under_the_old_hash(
    server: RunningServer, owner: Owner
) -> None:
    """Writes through a mapping dirtied before the hash change no file time: the save cannot
    tell, but the sidecar file is checked against its hash before it is first served."""
    before = idle(server)
    original = big(b"mapped")
    info = owner.write(original, "png")
    fd = os.open(info.path, os.O_RDWR)
    try:
        with mmap.mmap(fd, len(original)) as mapped:
            mapped[:6] = b"mapped"  # dirty the page first: later writes fault no more
            wait_until(
                lambda: delta(persist(server), before, "hashed_ahead_files") == 1, "the hash"
            )
            mapped[:6] = b"CHANGE"
        saved = save(server, "mapped/nb.ipynb", info.name)
    finally:
        os.close(fd)
    recorded = records(saved)[0]["sha256"]
    owner.release(info.name)
    status, headers, body = server.get_file(info.name)
    assert status in (200, 404)
    if status == 200:  # the change was seen and the copy hashed: served under its own hash
        assert digest(body) == recorded
        assert headers["etag"] == f'"sha256-{recorded}"'
    else:
        assert recorded == digest(original)  # copied under the hash computed ahead: refused
        assert "does not match its hash" in server.log_text()


def test_events_naming_files_not_ours_hash_nothing(
    server: RunningServer, owner: Owner, other_server: RunningServer
) -> None:
    """The events file is the kernels': a line naming another server's file, a path or a
    symlink planted in the tier hashes nothing; only this server's tier files are read."""
    theirs_store = server_store(other_server)
    theirs = theirs_store.open_owner("victim")
    try:
        secret = theirs.write(big(b"secret"), "png").name
        planted = owner.write(big(b"planted"), "png")
        link_name = planted.name.replace(".png", ".bin")
        os.symlink(planted.path, planted.path.with_name(link_name))
        before = idle(server)
        store = server_store(server)
        try:
            for name in (secret, "../../etc/passwd", link_name):
                store.record_event("write", name=name, tier="memory", size=2 * MIB)
            mine = owner.write(big(b"mine"), "png")  # queued after them
        finally:
            store.close()
        after = wait_until(
            lambda: (p := idle(server))["hashed_ahead_files"] > before["hashed_ahead_files"] and p,
            "this server's file hashed",
        )
        assert delta(after, before, "hashed_ahead_files") == 1
        assert delta(after, before, "hashed_ahead_bytes") == mine.size
    finally:
        theirs.release_all()
        theirs.close(remove=True)
        theirs_store.close()


@pytest.fixture
def other_server(tmp_path: Path) -> Iterator[RunningServer]:
    with jupyter_server(tmp_path / "other") as running:
        yield running


def niced_threads(pid: int) -> int:
    """Threads of ``pid`` at nice 19 (the hashing worker), from /proc."""
    count = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        count += fields[16] == "19"  # field 19 of stat: nice
    return count


@pytest.fixture
def off(tmp_path: Path) -> Iterator[RunningServer]:
    with jupyter_server(tmp_path, extra_args=["--VirtualFiles.persist=False"]) as running:
        yield running


def test_with_persistence_off_nothing_is_hashed(server: RunningServer, off: RunningServer) -> None:
    store = server_store(off)
    owner = store.open_owner("off")
    try:
        owner.write(big(b"off"), "png")
        assert persist(off) == {"enabled": False, "reason": "VirtualFiles.persist is off"}
        _, _, body = off.request("GET", "metrics")
        assert b"vfs_ext_persist_hashed" not in body
        assert niced_threads(off.proc.pid) == 0
        assert niced_threads(server.proc.pid) == 1  # the worker a server with persist has
    finally:
        owner.close(remove=True)
        store.close()


def test_stopping_the_server_while_it_hashes_leaves_nothing_behind(tmp_path: Path) -> None:
    with jupyter_server(tmp_path) as running:
        store = server_store(running)
        owner = store.open_owner("stopped")
        namespace = [t.root for t in store.tiers]
        before = idle(running)
        for n in range(4):
            owner.write(big(bytes([n]), 128 * MIB), "bin")
        wait_until(
            lambda: delta(persist(running), before, "hashed_ahead_bytes") > 0, "hashing started"
        )
        running.proc.send_signal(signal.SIGTERM)
        assert running.proc.wait(30) == 0
        owner.close()
        store.close()
        assert [root for root in namespace if root.exists()] == []
        assert "Traceback" not in running.log_text()
        assert "did not stop" not in running.log_text()

"""Every kind of payload a kernel may hand over is stored byte for byte, and big ones are
streamed: a 256 MiB file never sits in the writer's memory."""

from __future__ import annotations

import array
import errno
import io
import os
import subprocess
import threading

import numpy as np
import pytest

from tests.support.payloads import ReadOnly, payload
from tests.support.processes import CHILD_TIMEOUT
from tests.support.tiers import part_files
from vfs_ext import SourceError, sources
from vfs_ext.store import Store

DATA = payload("sources", 5 * 1024 * 1024 + 123)  # more than one 4 MiB chunk, not a multiple


def stored_bytes(store: Store, name: str) -> bytes:
    info = store.lookup(name)
    assert info is not None
    data = info.path.read_bytes()
    assert len(data) == info.size
    return data


@pytest.fixture
def owner(store: Store):
    with store.open_owner("kernel-sources") as owner:
        yield owner


def test_bytes_like(store, owner):
    matrix = np.arange(60_000, dtype=np.float64).reshape(300, 200)
    doubles = array.array("d", range(10_000))
    cases = {
        "bytes": (DATA, DATA),
        "bytearray": (bytearray(DATA), DATA),
        "memoryview": (memoryview(DATA), DATA),
        "memoryview slice": (memoryview(DATA)[10:-10], DATA[10:-10]),
        "memoryview of float64 2-D numpy": (memoryview(matrix), matrix.tobytes()),
        "memoryview of array.array('d')": (memoryview(doubles), doubles.tobytes()),
        "numpy array": (matrix, matrix.tobytes()),
        "array.array": (doubles, doubles.tobytes()),
        "non-contiguous numpy view": (matrix[:, ::3], matrix[:, ::3].tobytes()),
        "empty": (b"", b""),
        "empty 2-D numpy": (np.zeros((0, 3)), b""),
        "0-d numpy scalar": (np.float64(1.5), np.float64(1.5).tobytes()),
        "big-endian strided": (
            matrix.astype(">i4")[::2, ::5],
            matrix.astype(">i4")[::2, ::5].tobytes(),
        ),
    }
    for label, (data, expected) in cases.items():
        info = owner.write(data, "bin")
        assert info.size == len(expected), label
        assert stored_bytes(store, info.name) == expected, label


def test_paths(store, owner, tmp_path):
    path = tmp_path / "in.bin"
    path.write_bytes(DATA)
    for data in (path, str(path)):
        info = owner.write(data, "bin")
        assert stored_bytes(store, info.name) == DATA


def test_seekable_file_is_read_from_its_current_position(store, owner, tmp_path):
    path = tmp_path / "in.bin"
    path.write_bytes(DATA)
    with open(path, "rb") as f:
        f.seek(1000)
        assert stored_bytes(store, owner.write(f, "bin").name) == DATA[1000:]
    buffer = io.BytesIO(DATA)
    buffer.seek(7)
    assert stored_bytes(store, owner.write(buffer, "bin").name) == DATA[7:]


def test_non_seekable_pipe(store, owner, tmp_path):
    """A real pipe: no size, no seek, reads until EOF."""
    path = tmp_path / "in.bin"
    path.write_bytes(DATA)
    with subprocess.Popen(["cat", str(path)], stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None and not proc.stdout.seekable()
        info = owner.write(proc.stdout, "bin")
    assert stored_bytes(store, info.name) == DATA


def test_raw_os_pipe_fed_by_a_thread(store, owner):
    read_fd, write_fd = os.pipe()

    def feed() -> None:
        with open(write_fd, "wb") as w:
            for i in range(0, len(DATA), 100_000):
                w.write(DATA[i : i + 100_000])

    feeder = threading.Thread(target=feed)
    feeder.start()
    with open(read_fd, "rb", buffering=0) as r:
        info = owner.write(r, "bin")
    feeder.join(30)
    assert stored_bytes(store, info.name) == DATA


def test_fifo_path_is_read_as_a_stream(store, owner, tmp_path):
    """A path to a FIFO has no size: it is streamed to EOF, not cut at st_size 0."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "wb") as w:
            w.write(DATA)

    feeder = threading.Thread(target=feed)
    feeder.start()
    info = owner.write(fifo, "bin")
    feeder.join(30)
    assert stored_bytes(store, info.name) == DATA


def test_object_with_only_read(store, owner):
    info = owner.write(ReadOnly(DATA, step=50_000), "bin")
    assert info.size == len(DATA)
    assert stored_bytes(store, info.name) == DATA


@pytest.mark.parametrize(
    "make_text",
    [
        lambda p: open(p, encoding="utf-8"),  # noqa: SIM115 - closed by the test
        lambda p: io.StringIO("text"),
        lambda p: type("T", (), {"read": lambda self, n=-1: "text"})(),
    ],
    ids=["text file", "StringIO", "read() returns str"],
)
def test_text_is_rejected(store, owner, tmp_path, make_text):
    path = tmp_path / "in.txt"
    path.write_text("hello")
    f = make_text(path)
    try:
        with pytest.raises(TypeError, match="binary"):
            owner.write(f, "txt")
    finally:
        if hasattr(f, "close"):
            f.close()
    assert owner.files() == []
    for tier in store.tiers:
        assert part_files(tier.root) == []


@pytest.mark.parametrize("bad", [123, 4.5, None, object(), ["a"]])
def test_other_types_are_rejected(owner, bad):
    with pytest.raises(TypeError, match="cannot store"):
        owner.write(bad, "bin")


def test_extension_is_normalized_and_checked(owner):
    assert owner.write(b"x", ".PNG").name.endswith(".png")
    assert owner.write(b"x").name.endswith(".bin")
    for bad in ("../x", "a/b", "x" * 17, "p ng", "é"):
        with pytest.raises(ValueError, match="extension"):
            owner.write(b"x", bad)


@pytest.mark.parametrize("mode", ["path", "stream"])
def test_large_file_is_streamed_not_loaded(make_store, tmp_path, spawn, mode):
    """256 MiB from a file (by path, and as a read-only stream of unknown size): the writer's
    peak RSS (VmHWM of the child) grows by a small fraction of that."""
    size = 256 * 1024 * 1024
    path = tmp_path / "big.bin"
    with open(path, "wb") as f:
        f.truncate(size)  # sparse: cheap to create, still 256 MiB to read
    store = make_store()
    child = spawn(store, "rss", mode, path)
    out = child.read()
    assert child.finish() == 0
    assert out["size"] == size
    assert out["growth"] < 32 * 1024 * 1024, out  # one 4 MiB chunk buffer, not the file
    assert [f.size for t in store.tiers for f in t.iter_files()] == [size]


class _ReadAndFileno:
    """A stream object with ``read`` and ``fileno`` only (no ``readinto``, no seeking)."""

    def __init__(self, f) -> None:
        self.read = f.read
        self.fileno = f.fileno


class _OnlyRead:
    def __init__(self, f) -> None:
        self.read = f.read


WRAPPERS = {"raw": (0, None), "buffered": (-1, None), "read and fileno": (-1, _ReadAndFileno)}


def _feed_in_pieces(write_fd: int, data: bytes) -> threading.Thread:
    """A producer on another thread that writes ``data`` in 64 KiB pieces, then closes."""

    def feed() -> None:
        with open(write_fd, "wb", buffering=0) as w:
            for i in range(0, len(data), 64 * 1024):
                w.write(data[i : i + 64 * 1024])

    feeder = threading.Thread(target=feed)
    feeder.start()
    return feeder


@pytest.mark.parametrize("kind", list(WRAPPERS))
def test_a_non_blocking_pipe_is_read_to_its_end(store, owner, kind):
    """A read that finds a non-blocking pipe empty waits for more: it is not the end."""
    buffering, wrap = WRAPPERS[kind]
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    feeder = _feed_in_pieces(write_fd, DATA)
    with open(read_fd, "rb", buffering=buffering) as r:
        info = owner.write(wrap(r) if wrap else r, "bin")
    feeder.join(CHILD_TIMEOUT)
    assert stored_bytes(store, info.name) == DATA


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("raw", "sent no data for"),
        ("buffered", "sent no data for"),
        ("read and fileno", "sent no data for"),
        ("only read", "no file descriptor to wait on"),
    ],
)
def test_a_stalled_non_blocking_stream_is_an_error_not_a_short_file(
    store, owner, monkeypatch, kind, message
):
    """1000 bytes, then nothing and no end: storing them as the whole file would be a lie."""
    monkeypatch.setattr(sources, "STALL_TIMEOUT", 0.2)
    buffering, wrap = WRAPPERS.get(kind, (-1, _OnlyRead))
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    os.write(write_fd, b"x" * 1000)
    try:
        with (
            open(read_fd, "rb", buffering=buffering) as r,
            pytest.raises(SourceError, match=message),
        ):
            owner.write(wrap(r) if wrap else r, "bin")
    finally:
        os.close(write_fd)
    assert owner.files() == []
    assert all(part_files(t.root) == [] for t in store.tiers)


def _write_only_file(path):
    f = open(path, "wb")  # noqa: SIM115 - closed by the test
    f.write(payload("new", 2 * 1024 * 1024))
    f.seek(0)
    return f


@pytest.mark.parametrize(
    ("make_source", "message", "code"),
    [
        (lambda p: "/proc/self/mem", "reading the data to store failed: Input/output", errno.EIO),
        (_write_only_file, "cannot be read .* open it for reading", None),
    ],
    ids=["EIO", "opened for writing"],
)
def test_a_source_that_cannot_be_read_fails_at_once_and_evicts_nothing(
    make_store, tmp_path, make_source, message, code
):
    """Reading the user's data failed: no tier would do better, evicting older outputs would
    only lose them, and "raise the budget" would send the user the wrong way."""
    MiB = 1024 * 1024
    store = make_store(memory_budget=4 * MiB, disk_budget=4 * MiB)
    with store.open_owner("k") as owner:
        old = owner.write(payload("old", 3 * MiB), "bin", "old")
        source = make_source(tmp_path / "out.bin")
        try:
            with pytest.raises(SourceError, match=message) as err:
                owner.write(source, "bin", "new", evict=True)
        finally:
            if hasattr(source, "close"):
                source.close()
        assert err.value.errno == code
        assert "budget" not in str(err.value)
        assert [f.name for f in owner.files()] == [old.name], "nothing evicted, nothing written"
    assert store.stats().to_json()["events"] == {"fallback": 0, "evict": 0, "error": 0}
    assert all(part_files(t.root) == [] for t in store.tiers)

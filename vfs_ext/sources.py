"""What a virtual file can be written from: any buffer, a path, or a binary file object.

Everything is read in bounded chunks, so a 2 GiB file never sits in memory at once.
"""

from __future__ import annotations

import io
import os
import selectors
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, Protocol, Union, cast

from .errors import SourceError

CHUNK = 4 * 1024 * 1024


class Readable(Protocol):
    """Any object with a binary ``read``: it is read in chunks to its end, so a file-like
    object need not be a whole IO[bytes] (a wrapper of a socket or a decoder, say)."""

    def read(self, n: int = -1, /) -> bytes: ...


Data = Union[bytes, bytearray, memoryview, str, os.PathLike, IO[bytes], Readable]  # noqa: UP007 - py3.10 runtime alias

#: How long a non-blocking stream may stay without data before the write gives up. A blocking
#: stream would wait for ever; a write that waits must end some day, with an error, not cut short.
STALL_TIMEOUT = 60.0


class TextGiven(TypeError):
    """A file object gave text where bytes were expected: it must be opened in binary mode."""


@dataclass
class Source:
    """A readable payload with its size when known and a way back to its start when possible."""

    view: memoryview | None = None
    file: IO[bytes] | None = None
    start: int = 0
    size: int | None = None
    owns_file: bool = False

    @property
    def restartable(self) -> bool:
        return self.view is not None or self.start >= 0

    def rewind(self) -> None:
        if self.file is not None:
            try:
                self.file.seek(self.start)
            except Exception as exc:  # a file-like object may raise anything
                raise SourceError.reading(exc) from exc

    def chunks(self) -> Iterator[memoryview]:
        """The bytes in order; SourceError if reading fails (never a silently shorter file)."""
        if self.view is not None:
            for off in range(0, len(self.view), CHUNK):
                yield self.view[off : off + CHUNK]
            return
        assert self.file is not None
        buf = bytearray(CHUNK)
        mv = memoryview(buf)
        while True:
            n = self._read_into(mv)
            if not n:
                return
            yield mv[:n]

    def _read_into(self, mv: memoryview) -> int:
        """One read; a non-blocking stream without data ready (None) is waited for, not EOF."""
        deadline = time.monotonic() + STALL_TIMEOUT
        while True:
            try:
                n = self.file.readinto(mv)  # type: ignore[union-attr]
            except BlockingIOError:
                n = None  # some streams raise instead of returning None
            except TextGiven:
                raise
            except Exception as exc:  # a file-like object may raise anything
                raise SourceError.reading(exc) from exc
            if n is not None:
                return n
            _wait_readable(self.file, deadline)

    def close(self) -> None:
        if self.owns_file and self.file is not None:
            self.file.close()


def open_source(data: Data) -> Source:
    """Wrap ``data``; TypeError for anything but bytes-like, a path or a binary file."""
    view = _as_bytes_view(data)
    if view is not None:
        return Source(view=view, size=view.nbytes)
    if isinstance(data, (str, os.PathLike)):
        f = open(data, "rb")  # noqa: SIM115 - closed by Source.close
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):  # a FIFO or a device: a stream of unknown size
            return Source(file=f, start=-1, size=None, owns_file=True)
        return Source(file=f, start=0, size=st.st_size, owns_file=True)
    if isinstance(data, io.TextIOBase):
        raise TypeError("a text file was given; open it in binary mode ('rb')")
    if hasattr(data, "read"):
        given = cast(IO[bytes], data)
        # A RawIOBase is all of IO[bytes] that Source uses (readinto, seek, tell, close).
        stream = given if hasattr(given, "readinto") else cast(IO[bytes], _ReadIntoAdapter(given))
        try:
            seekable = stream.seekable()
        except (AttributeError, ValueError):
            seekable = False
        if seekable:
            start = stream.tell()
            end = stream.seek(0, io.SEEK_END)
            stream.seek(start)
            return Source(file=stream, start=start, size=end - start)
        return Source(file=stream, start=-1, size=None)
    raise TypeError(
        f"cannot store {type(data).__name__}: pass bytes, bytearray, memoryview, "
        "a path, or a binary file object"
    )


def _wait_readable(file: object, deadline: float) -> None:
    """Wait until a non-blocking stream has data (or its end) to read, until ``deadline``."""
    try:
        fd = file.fileno()  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        raise SourceError(
            "the stream to store has no data yet but is not at its end (non-blocking), and "
            "gives no file descriptor to wait on; pass a blocking stream"
        ) from None
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not selector.select(remaining):
            raise SourceError(
                f"the stream to store sent no data for {STALL_TIMEOUT:.0f} s and did not end "
                "(a non-blocking stream that stalled); nothing was stored"
            )


def _as_bytes_view(data: object) -> memoryview | None:
    """A flat byte view of any buffer (bytes, memoryview, numpy array, array.array), or None.

    Non-contiguous buffers (e.g. a strided numpy view) are copied in C order, like ``tobytes``.
    """
    if isinstance(data, (str, os.PathLike)) or hasattr(data, "read"):
        return None  # paths and files (an mmap is both a buffer and a file: read it as a file)
    try:
        view = memoryview(data)  # type: ignore[arg-type]
    except TypeError:
        return None
    if view.format == "B" and view.ndim == 1 and view.c_contiguous:
        return view
    if not view.c_contiguous or not view.nbytes:
        return memoryview(view.tobytes())
    return view.cast("B")


class _ReadIntoAdapter(io.RawIOBase):
    """Gives ``readinto`` to file-like objects that only have ``read``."""

    def __init__(self, f: IO[bytes]) -> None:
        self._f = f

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        """The wrapped file's, to wait on when it is non-blocking."""
        return self._f.fileno()

    def readinto(self, b: Any) -> int | None:
        data = self._f.read(len(b))
        if data is None:
            return None  # non-blocking and nothing to read yet, like RawIOBase.readinto
        if isinstance(data, str):
            raise TextGiven("file object returned text; open it in binary mode ('rb')")
        n = len(data)
        b[:n] = data
        return n

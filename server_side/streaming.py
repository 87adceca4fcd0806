"""Streaming a file already opened by the handler: large responses from mapped chunks.

``StreamingFileHandler`` is tornado's ``StaticFileHandler`` with ``get_content`` reading the
descriptor that ``validate_absolute_path`` opened (``self._fd``) instead of the path again, and
``write``/``flush`` handing a mapped chunk to the connection without copying it.
"""

from __future__ import annotations

import asyncio
import mmap
import os
from asyncio import Future
from collections.abc import Iterator
from typing import Any

from tornado import web

#: 1 MiB: tornado's 64 KiB costs more CPU per byte served; see VirtualFiles.chunk_size.
DEFAULT_CHUNK_SIZE = 1024 * 1024

#: Responses this large are sent from mapped chunks instead of pread copies (py-spy: the copy
#: was a third of the server's time); below it pread is as cheap and needs no mapping set-up.
MMAP_MIN = 1024 * 1024


def _map_chunk(fd: int, offset: int, size: int) -> mmap.mmap | None:
    """``size`` bytes of ``fd`` from ``offset`` (a multiple of ``mmap.ALLOCATIONGRANULARITY``),
    mapped read-only; None if it cannot be mapped (a filesystem without mmap, a short file).

    Safe from SIGBUS: tiers write a file under a temporary name and rename it, and release
    unlinks it, so a served file is never truncated. One chunk at a time, not the whole file:
    mapped tmpfs pages count in the server's RSS while mapped.
    """
    try:
        return mmap.mmap(fd, size, access=mmap.ACCESS_READ, offset=offset)
    except (OSError, ValueError):
        return None


class StreamingFileHandler(web.StaticFileHandler):
    """Serve ``self._fd`` (set by a subclass's ``validate_absolute_path``), then close it."""

    chunk_size = DEFAULT_CHUNK_SIZE
    _fd: int | None = None
    _pending_map: mmap.mmap | None = None  # a mapped chunk write() keeps for flush()
    _window: mmap.mmap | None = None  # the mapped chunk being sent
    _sent = 0  # body bytes handed to the connection

    def get_content(  # type: ignore[override]
        self, abspath: str, start: int | None = None, end: int | None = None
    ) -> Iterator[bytes | mmap.mmap]:
        """Stream from the descriptor opened at validation, ``chunk_size`` bytes at a time.

        An instance method (tornado's is a classmethod keyed by path for ``get_content_version``,
        which the handler's ``compute_etag`` makes unused), so a released file still streams whole.
        Responses of at least ``MMAP_MIN`` bytes are sent from one mapped chunk at a time (see
        ``_map_chunk``); each mapping is closed once the socket has taken its bytes, so memory
        stays bounded. Anything that cannot be mapped is read with ``pread``.
        """
        fd = self._fd
        assert fd is not None
        offset = start or 0
        stop = self._stat_result.st_size if end is None else end
        use_mmap = stop - offset >= MMAP_MIN
        page = mmap.ALLOCATIONGRANULARITY
        try:
            while offset < stop:
                size = min(self.chunk_size, stop - offset)
                mapping = None
                if use_mmap and offset % page:  # a range's unaligned start: read up to a page
                    size = min(size, page - offset % page)
                elif use_mmap:
                    size = min(max(page, self.chunk_size - self.chunk_size % page), stop - offset)
                    mapping = self._window = _map_chunk(fd, offset, size)
                    use_mmap = mapping is not None
                if mapping is None:
                    chunk = os.pread(fd, size, offset)
                    if not chunk:
                        return  # truncated under us: Content-Length is already sent, end here
                    offset += len(chunk)
                    self._sent += len(chunk)
                    yield chunk
                    continue
                try:
                    self._sent += size
                    yield mapping  # resumed once flush() has written it all
                finally:
                    self._unmap()
                offset += size
        finally:
            self._close_file()

    def write(self, chunk: str | bytes | dict[str, Any] | mmap.mmap) -> None:
        # RequestHandler.write only takes bytes (and would copy into its buffer): keep a mapped
        # chunk for flush(), which hands it to the connection uncopied.
        if isinstance(chunk, mmap.mmap):
            if self._finished:
                raise RuntimeError("Cannot write() after finish()")
            assert self._pending_map is None
            self._pending_map = chunk
            return
        super().write(chunk)

    def flush(self, include_footers: bool = False) -> Future[None]:
        """Send a pending mapped chunk as is; everything else goes through tornado's flush."""
        mapping, self._pending_map = self._pending_map, None
        if mapping is None:
            return super().flush(include_footers)
        if self._transforms:  # e.g. compress_response's gzip: transforms work on bytes
            super().write(mapping[:])
            return super().flush(include_footers)
        return asyncio.ensure_future(self._send_mapped(mapping))

    async def _send_mapped(self, mapping: mmap.mmap) -> None:
        if not self._headers_written:
            await super().flush()  # the headers alone; the body must not overtake them
        assert self.request.connection is not None
        # The mmap itself, not a memoryview: IOStream keeps large buffers uncopied and releases
        # its own view when done, but casts a memoryview into one that a connection reset's
        # traceback keeps alive, and a mapping with a live view cannot be closed.
        # send() copies the bytes into the socket, so once the mapping is closed nothing refers
        # to the file's pages: vfs_ext/reuse.py relies on that to overwrite a released file
        # (sendfile or splice here would break it).
        await self.request.connection.write(mapping)  # type: ignore[arg-type]

    def on_finish(self) -> None:
        self._close_file()  # HEAD, 304 and clients that disconnect never finish get_content
        super().on_finish()

    def _unmap(self) -> None:
        """Unmap the chunk being sent (the mapping holds a duplicate of the descriptor)."""
        mapping, self._window = self._window, None
        if mapping is not None:
            try:
                mapping.close()
            except BufferError:
                pass  # still referenced by a connection; unmapped when that lets go of it

    def _close_file(self) -> None:
        self._unmap()
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

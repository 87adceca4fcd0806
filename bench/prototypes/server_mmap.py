"""Prototype for server_side/handlers.py: stream from mmap windows, no pread copy.

Loaded as a jupyter_server_config.py (``python -m bench --server-config <this file>``).
Windows are mapped one chunk at a time so RSS stays bounded (mapped tmpfs pages count in VmRSS).
Files in the tiers are written to a temporary name and renamed, never truncated, so a mapping
cannot SIGBUS; released files are unlinked, which keeps mapped pages valid.
"""

import mmap
import os

from server_side import handlers

Handler = handlers.VirtualFileHandler
SMALL = 1 << 20  # below this, pread is as cheap and avoids mmap set-up


def get_content(self, abspath, start=None, end=None):
    fd = self._fd
    offset = start or 0
    stop = self._stat_result.st_size if end is None else end
    try:
        if stop - offset < SMALL:
            while offset < stop:
                chunk = os.pread(fd, min(self.chunk_size, stop - offset), offset)
                if not chunk:
                    return
                offset += len(chunk)
                yield chunk
            return
        while offset < stop:
            base = offset - offset % mmap.ALLOCATIONGRANULARITY
            n = min(self.chunk_size, stop - offset)
            window = mmap.mmap(fd, offset + n - base, prot=mmap.PROT_READ, offset=base)
            yield memoryview(window)[offset - base :]
            offset += n
    finally:
        self._close_fd()


def write(self, chunk):
    if isinstance(chunk, memoryview):  # RequestHandler.write accepts only bytes/str/dict
        self._view = chunk
        return None
    return super(Handler, self).write(chunk)


async def flush(self, include_footers=False):
    view = getattr(self, "_view", None)
    if view is None:
        return await super(Handler, self).flush(include_footers)
    self._view = None
    if not self._headers_written:
        await super(Handler, self).flush()  # headers only
    # HTTP1Connection.write checks Content-Length and IOStream keeps large memoryviews uncopied.
    await self.request.connection.write(view)
    return None


Handler.get_content = get_content
Handler.write = write
Handler.flush = flush

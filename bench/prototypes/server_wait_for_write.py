# What-if (not shipped), with bench/prototypes/kernel_async_write.py: a GET for a name not
# stored yet polls for it (up to 1 s) instead of answering 404 at once.
import asyncio

from server_side import handlers as _handlers

_serve = _handlers.VirtualFileHandler._serve


async def _serve_when_stored(self, name, include_body):
    for _ in range(3000):
        if self.store.lookup(name) is not None:
            break
        await asyncio.sleep(0.0003)
    await _serve(self, name, include_body)


_handlers.VirtualFileHandler._serve = _serve_when_stored

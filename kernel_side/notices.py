"""In a kernel: what the notebook user is told, and where the rest of vfs_ext's log goes.

Without a handler, records of the ``vfs_ext`` logger reach Python's last-resort handler, which
writes them raw to ``sys.stderr``: ipykernel shows that in the running cell, once for every
output. So ``route_log`` hands them to ipykernel's own log (the kernel's console, i.e. the
server's log), and the few things a user can act on are said on purpose, once per kernel, in
the cell that met them (``Notices.once``).
"""

from __future__ import annotations

import logging
import sys
import threading

LOGGER = "vfs_ext"


def route_log() -> None:
    """Send vfs_ext's records where ipykernel's own go; nothing changes when the logger has a
    handler already (ours, or the user's) or outside ipykernel (plain IPython, scripts)."""
    logger = logging.getLogger(LOGGER)
    if logger.handlers:
        return
    try:
        from ipykernel.kernelapp import IPKernelApp
    except ImportError:
        return
    if not IPKernelApp.initialized():
        return
    handlers = IPKernelApp.instance().log.handlers
    for handler in handlers or [logging.NullHandler()]:
        logger.addHandler(handler)


class Notices:
    """Messages for the notebook user, each said once per kernel on the cell's stderr."""

    def __init__(self) -> None:
        self._said: set[str] = set()
        self._lock = threading.Lock()  # outputs may be written from several threads

    def once(self, key: str, message: str) -> None:
        """Print ``message`` unless a message with this ``key`` was printed already."""
        with self._lock:
            if key in self._said:
                return
            self._said.add(key)
        print(message, file=sys.stderr)

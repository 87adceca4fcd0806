"""Prototype: TCP_NODELAY on kernel websockets (jupyter_server leaves Nagle on).

With Nagle on, a small message written right after another small one waits for the client's
delayed ACK (~40 ms on Linux). Every vfs_ext output is a small message, so it always pays this.
Loaded as a jupyter_server_config.py (``python -m bench --server-config <this file>``).
"""

from jupyter_server.services.kernels.websocket import KernelWebsocketHandler

_open = KernelWebsocketHandler.open


def open_nodelay(self, *args, **kwargs):
    self.set_nodelay(True)
    return _open(self, *args, **kwargs)


KernelWebsocketHandler.open = open_nodelay

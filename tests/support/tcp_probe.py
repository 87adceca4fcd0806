"""A test-only server extension: ``GET {base_url}vfs-test/tcp`` reports each connected TCP
socket of the server process by peer port, with its TCP_NODELAY option.

It reads the kernel's view of the sockets (a duplicate of each descriptor), not tornado's
objects, so a test sees what the network stack does, whatever code set the option.
"""

from __future__ import annotations

import os
import socket
import stat
from typing import Any

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web

ROUTE = "vfs-test/tcp"


def connected_tcp_sockets() -> dict[int, bool]:
    """``{peer port: TCP_NODELAY}`` for every connected TCP socket this process holds."""
    found: dict[int, bool] = {}
    for entry in os.listdir("/proc/self/fd"):
        try:
            fd = int(entry)
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                continue
            sock = socket.socket(fileno=os.dup(fd))
        except OSError:
            continue  # closed meanwhile (e.g. the listdir descriptor itself)
        with sock:
            if sock.family not in (socket.AF_INET, socket.AF_INET6):
                continue
            if sock.type != socket.SOCK_STREAM:
                continue
            try:
                peer_port = sock.getpeername()[1]
            except OSError:
                continue  # listening socket
            found[peer_port] = bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
    return found


class TcpProbeHandler(JupyterHandler):
    @web.authenticated
    def get(self) -> None:
        self.finish({str(port): nodelay for port, nodelay in connected_tcp_sockets().items()})


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": __name__}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    route = url_path_join(serverapp.base_url, ROUTE)
    serverapp.web_app.add_handlers(".*$", [(route, TcpProbeHandler)])

"""The ceiling for serving: a minimal HTTP/1.1 responder that answers every GET with one file
through ``os.sendfile`` (zero copies in user space). Run as its own process, like the server.

    python -m bench.ceiling PORT FILE
"""

from __future__ import annotations

import os
import socket
import sys
import threading


def serve(port: int, path: str) -> None:
    listener = socket.create_server(("127.0.0.1", port), backlog=64)
    print("ready", flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=_answer, args=(conn, path), daemon=True).start()


def _answer(conn: socket.socket, path: str) -> None:
    with conn:
        head = b""
        while b"\r\n\r\n" not in head:
            data = conn.recv(65536)
            if not data:
                return
            head += data
        fd = os.open(path, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                + f"Content-Length: {size}\r\nConnection: close\r\n\r\n".encode()
            )
            offset = 0
            while offset < size:
                sent = os.sendfile(conn.fileno(), fd, offset, size - offset)
                if not sent:
                    break
                offset += sent
        finally:
            os.close(fd)


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2])

"""Kernel websockets get TCP_NODELAY (``VirtualFiles.kernel_websocket_nodelay``) and still work.

Nagle's algorithm made every small kernel message written after another wait for the browser's
delayed ACK; the option is checked on the server's own socket, through a test-only extension
(``tcp_probe``) that reads it from the kernel, so the test does not depend on timing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import websocket

from tests.support import REPO, tcp_probe
from tests.support.server import RunningServer, jupyter_server

TIMEOUT = 60.0


@pytest.fixture(scope="module", params=[True, False], ids=["nodelay", "nagle"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("ws")
    probe_config = tmp / "probe-config" / "jupyter_server_config.d"
    probe_config.mkdir(parents=True)
    (probe_config / "tcp_probe.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {tcp_probe.__name__: True}}})
    )
    with jupyter_server(
        tmp,
        extra_args=[f"--VirtualFiles.kernel_websocket_nodelay={request.param}"],
        env={"JUPYTER_CONFIG_PATH": str(probe_config.parent), "PYTHONPATH": str(REPO)},
    ) as running:
        yield request.param, running


@pytest.fixture(scope="module")
def kernel_id(server: tuple[bool, RunningServer]) -> Iterator[str]:
    _, running = server
    kid = running.api("POST", "api/kernels", {"name": "python3"})["id"]
    yield kid
    running.api("DELETE", f"api/kernels/{kid}")


def _connect(running: RunningServer, kid: str) -> websocket.WebSocket:
    url = running.url.replace("http://", "ws://") + (
        f"api/kernels/{kid}/channels?session_id={uuid.uuid4().hex}"
    )
    return websocket.create_connection(
        url, header=[f"Authorization: token {running.token}"], timeout=TIMEOUT
    )


def _execute(ws: websocket.WebSocket, code: str) -> tuple[str, dict[str, Any]]:
    """Run ``code`` over the websocket (legacy JSON protocol): its stdout and execute_reply."""
    msg_id = uuid.uuid4().hex
    header = {
        "msg_id": msg_id,
        "msg_type": "execute_request",
        "session": uuid.uuid4().hex,
        "username": "test",
        "version": "5.3",
        "date": "",
    }
    content = {"code": code, "silent": False, "store_history": False, "allow_stdin": False}
    message = {"header": header, "parent_header": {}, "metadata": {}, "content": content}
    ws.send(json.dumps({**message, "channel": "shell", "buffers": []}))
    stdout, reply = "", None
    while reply is None or not stdout:
        msg = json.loads(ws.recv())  # bounded by the connection's timeout
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            stdout += msg["content"]["text"]
        elif msg["msg_type"] == "execute_reply":
            reply = msg["content"]
    return stdout, reply


def test_kernel_websocket_nodelay_follows_the_setting_and_executes(
    server: tuple[bool, RunningServer], kernel_id: str
) -> None:
    enabled, running = server
    ws = _connect(running, kernel_id)
    try:
        stdout, reply = _execute(ws, "print(6 * 7)")
        assert ws.sock is not None
        local_port = ws.sock.getsockname()[1]
        probe = running.api("GET", tcp_probe.ROUTE)  # the server's side of our socket
    finally:
        ws.close()
    assert reply["status"] == "ok"
    assert stdout == "42\n"
    assert probe[str(local_port)] is enabled


def test_plain_http_connections_are_left_alone(server: tuple[bool, RunningServer]) -> None:
    """The option is set on kernel websockets only; other connections keep tornado's default."""
    _, running = server
    conn, resp = running.connect("GET", tcp_probe.ROUTE)
    try:
        probe = json.loads(resp.read())
        local_port = conn.sock.getsockname()[1]
    finally:
        conn.close()
    assert probe[str(local_port)] is False

"""A kernel client over the server's websocket, speaking the v1 binary protocol like JupyterLab.

Timing starts when the execute_request is written and stops when a caller-supplied ``hold``
function, run on the first matching output message, has the output's bytes in hand.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from tests.support.messages import cell_metadata, execute_content

PROTOCOL = "v1.kernel.websocket.jupyter.org"
OUTPUT_TYPES = ("display_data", "execute_result", "update_display_data")
TIMEOUT = 300.0


def _encode(channel: str, parts: list[bytes]) -> bytes:
    chan = channel.encode()
    offsets = [8 * (1 + 1 + len(parts) + 1)]
    offsets.append(offsets[-1] + len(chan))
    for p in parts:
        offsets.append(offsets[-1] + len(p))
    head = len(offsets).to_bytes(8, "little") + b"".join(o.to_bytes(8, "little") for o in offsets)
    return head + chan + b"".join(parts)


def _decode(raw: bytes) -> tuple[str, dict[str, Any]]:
    count = int.from_bytes(raw[:8], "little")
    offs = [int.from_bytes(raw[8 * (i + 1) : 8 * (i + 2)], "little") for i in range(count)]
    channel = raw[offs[0] : offs[1]].decode()
    keys = ("header", "parent_header", "metadata", "content")
    msg = {k: json.loads(raw[offs[i + 1] : offs[i + 2]]) for i, k in enumerate(keys)}
    return channel, msg


@dataclass
class Execution:
    """What one execute_request produced."""

    seconds: float | None  # request written -> ``hold`` returned, None if nothing matched
    held: Any
    outputs: list[dict[str, Any]] = field(default_factory=list)  # iopub output messages
    stdout: str = ""


class KernelSession:
    """One kernel started through the REST API (so it inherits the server's environment)."""

    #: Ask for immediate ACKs before each read (Linux TCP_QUICKACK). jupyter_server's kernel
    #: websocket leaves Nagle on, so a small message queued behind another waits for the
    #: client's delayed ACK (~40 ms); a browser pays that too, so this is off by default and
    #: only shows how much of a small output's latency that stall is.
    quickack = False

    def __init__(self, server: Any, kernel_id: str, ws: WebSocketClientConnection) -> None:
        self.server = server
        self.kernel_id = kernel_id
        self.ws = ws
        self.session = uuid.uuid4().hex

    @classmethod
    async def start(cls, server: Any) -> KernelSession:
        kernel = server.api("POST", "api/kernels", {"name": "python3"})
        url = server.url.replace("http://", "ws://") + f"api/kernels/{kernel['id']}/channels"
        request = HTTPRequest(
            url + f"?session_id={uuid.uuid4().hex}",
            headers={"Authorization": f"token {server.token}"},
            request_timeout=60,
        )
        ws = await asyncio.wait_for(
            websocket_connect(request, subprotocols=[PROTOCOL], max_message_size=4 * 2**30), 60
        )
        # tornado's client caps its read buffer at 100 MB regardless of max_message_size; a
        # browser has no such cap, so lift it for the inline messages of large images.
        ws.protocol.stream.max_buffer_size = 8 * 2**30  # type: ignore[union-attr]
        self = cls(server, kernel["id"], ws)
        await self._wait_ready()
        return self

    async def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            msg_id = self._send("kernel_info_request", {})
            try:
                await asyncio.wait_for(self._until_reply(msg_id, "shell"), 5)
                return
            except asyncio.TimeoutError:
                continue
        raise TimeoutError("the kernel never answered kernel_info_request")

    def _send(self, msg_type: str, content: dict[str, Any], metadata: dict | None = None) -> str:
        msg_id = uuid.uuid4().hex
        header = {
            "msg_id": msg_id,
            "msg_type": msg_type,
            "session": self.session,
            "username": "bench",
            "date": "",
            "version": "5.3",
        }
        parts = [json.dumps(x).encode() for x in (header, {}, metadata or {}, content)]
        self.ws.write_message(_encode("shell", parts), binary=True)
        return msg_id

    async def _recv(self) -> tuple[str, dict[str, Any]]:
        if self.quickack and hasattr(socket, "TCP_QUICKACK"):
            sock = self.ws.protocol.stream.socket  # type: ignore[union-attr]
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        raw = await self.ws.read_message()
        if raw is None:
            raise ConnectionError("the kernel websocket closed")
        assert isinstance(raw, bytes)
        return _decode(raw)

    async def _until_reply(self, msg_id: str, channel: str) -> dict[str, Any]:
        while True:
            chan, msg = await self._recv()
            if chan == channel and msg["parent_header"].get("msg_id") == msg_id:
                return msg

    async def execute(
        self,
        code: str,
        *,
        cell_id: str | None = None,
        hold: Callable[[dict[str, Any]], Any] | None = None,
        timeout: float = TIMEOUT,
    ) -> Execution:
        """Run ``code``; ``hold(msg)`` is called on output messages until it returns non-None."""
        return await asyncio.wait_for(self._execute(code, cell_id, hold), timeout)

    async def _execute(
        self, code: str, cell_id: str | None, hold: Callable[[dict[str, Any]], Any] | None
    ) -> Execution:
        t0 = time.perf_counter()
        msg_id = self._send("execute_request", execute_content(code), cell_metadata(cell_id))
        result = Execution(None, None)
        idle = reply = False
        error: dict[str, Any] | None = None
        while not (idle and reply):
            chan, msg = await self._recv()
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["header"]["msg_type"]
            if chan == "iopub" and kind in OUTPUT_TYPES:
                result.outputs.append(msg)
                if hold is not None and result.seconds is None:
                    held = hold(msg)
                    if held is not None:
                        result.seconds = time.perf_counter() - t0
                        result.held = held
            elif chan == "iopub" and kind == "stream":
                result.stdout += msg["content"]["text"]
            elif chan == "iopub" and kind == "error":
                error = msg["content"]
            elif chan == "iopub" and kind == "status":
                idle = msg["content"]["execution_state"] == "idle"
            elif chan == "shell" and kind == "execute_reply":
                reply = True
                if msg["content"]["status"] != "ok":
                    error = error or msg["content"]
        if error is not None:
            trace = "\n".join(error.get("traceback", [])) or error
            raise RuntimeError(f"cell failed:\n{code}\n{trace}")
        return result

    async def shutdown(self) -> None:
        self.ws.close()
        try:
            self.server.api("DELETE", f"api/kernels/{self.kernel_id}")
        except AssertionError:
            pass

"""Real kernels for tests: started through a real server's REST API (so they inherit its
``VFS_EXT_*`` environment) and driven with jupyter_client, one execute_request at a time."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_client import BlockingKernelClient

from .messages import cell_metadata, execute_content
from .server import RunningServer

TIMEOUT = 60.0
#: Replaced outputs' files go at once instead of after vfs_ext.retire's grace, so a test can
#: check right after its cell which files were released (the grace has tests of its own).
NO_GRACE = "import vfs_ext.retire\nvfs_ext.retire.RETIRE_GRACE_S = 0\n"


@dataclass
class Execution:
    """What one execute_request produced on iopub, and its reply."""

    reply: dict[str, Any]
    messages: list[dict[str, Any]] = field(default_factory=list)

    def outputs(self, *types: str) -> list[dict[str, Any]]:
        types = types or ("display_data", "execute_result", "update_display_data")
        return [m for m in self.messages if m["msg_type"] in types]

    def stream(self, name: str = "stdout") -> str:
        return "".join(
            m["content"]["text"]
            for m in self.messages
            if m["msg_type"] == "stream" and m["content"]["name"] == name
        )

    def url(self) -> str:
        """The virtual file URL of the one output (its ``vfs_ext`` metadata record)."""
        (msg,) = self.outputs()
        return msg["content"]["metadata"]["vfs_ext"]["url"]

    @property
    def error(self) -> str | None:
        errors = [m["content"] for m in self.messages if m["msg_type"] == "error"]
        return "\n".join("\n".join(e["traceback"]) for e in errors) or None


def connect(connection_file: Path, timeout: float = TIMEOUT) -> BlockingKernelClient:
    """A client on a kernel's channels, once the kernel answers.

    No heartbeat: a kernel still importing on a busy machine misses its first beats and
    wait_for_ready would call it dead; our own timeouts bound every wait instead."""
    client = BlockingKernelClient()
    client.load_connection_file(str(connection_file))
    client.start_channels(hb=False)
    client.wait_for_ready(timeout=timeout)
    return client


class Kernel:
    """One kernel, talked to over ZMQ with the connection file its server wrote."""

    def __init__(self, kernel_id: str, connection_file: Path) -> None:
        self.id = kernel_id
        self.connection_file = connection_file
        self.client = connect(connection_file)

    def reconnect(self) -> None:
        self.client.stop_channels()
        self.client = connect(self.connection_file)

    def execute(self, code: str, cell_id: str | None = None, *, check: bool = True) -> Execution:
        """Run ``code`` as a cell (with JupyterLab's ``metadata.cellId`` when given)."""
        msg = self.client.session.msg(
            "execute_request", execute_content(code), metadata=cell_metadata(cell_id)
        )
        self.client.shell_channel.send(msg)
        msg_id = msg["header"]["msg_id"]
        messages = []
        deadline = time.monotonic() + TIMEOUT
        while True:
            m = self.client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            if m["parent_header"].get("msg_id") != msg_id:
                continue
            if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                break
            messages.append(m)
        while True:
            reply = self.client.get_shell_msg(timeout=TIMEOUT)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        result = Execution(reply, messages)
        if check and reply["content"]["status"] != "ok":
            raise AssertionError(f"cell failed:\n{result.error}")
        return result

    def value(self, expression: str) -> Any:
        """Evaluate ``expression`` in the kernel and return it (JSON round trip)."""
        out = self.execute(f"import json as _j; print(_j.dumps(({expression})))")
        return json.loads(out.stream())

    def close(self) -> None:
        self.client.stop_channels()


def start_kernel(server: RunningServer, path: str | None = None) -> Kernel:
    """A kernel of ``server``; with ``path`` (relative to its root_dir), it runs in that
    directory as a notebook's kernel does, else in the server's working directory."""
    request = {"name": "python3"} if path is None else {"name": "python3", "path": path}
    model = server.api("POST", "api/kernels", request)
    return Kernel(model["id"], server.runtime_dir / f"kernel-{model['id']}.json")


def shutdown_kernel(server: RunningServer, kernel: Kernel) -> None:
    kernel.close()
    status, _, _ = server.request("DELETE", f"api/kernels/{kernel.id}")
    assert status in (204, 404)


@contextmanager
def running_kernel(
    server: RunningServer, setup: str = "", path: str | None = None
) -> Iterator[Kernel]:
    """A kernel of ``server`` that has run ``setup``, shut down when the block ends."""
    kernel = start_kernel(server, path)
    try:
        if setup:
            kernel.execute(setup)
        yield kernel
    finally:
        shutdown_kernel(server, kernel)


def new_cell_id() -> str:
    return str(uuid.uuid4())

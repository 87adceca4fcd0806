"""Run code in a kernel found by its connection file, for tests whose kernels belong to servers
the test does not drive itself (a hub's users, a server being stopped)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jupyter_client import BlockingKernelClient

TIMEOUT = 60.0


def run_code(connection_file: Path, code: str, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
    """Execute ``code``; the iopub messages it produced (outputs, streams). AssertionError with
    the traceback if it failed."""
    client = BlockingKernelClient()
    client.load_connection_file(str(connection_file))
    client.start_channels(hb=False)  # our timeouts bound every wait; a busy kernel misses beats
    messages: list[dict[str, Any]] = []
    try:
        client.wait_for_ready(timeout=timeout)
        reply = client.execute_interactive(code, output_hook=messages.append, timeout=timeout)
    finally:
        client.stop_channels()
    if reply["content"]["status"] != "ok":
        errors = [m["content"]["traceback"] for m in messages if m["msg_type"] == "error"]
        raise AssertionError("\n".join("\n".join(tb) for tb in errors) or str(reply["content"]))
    return messages


def printed(messages: list[dict[str, Any]]) -> str:
    """What the execution printed to stdout."""
    return "".join(
        m["content"]["text"]
        for m in messages
        if m["msg_type"] == "stream" and m["content"]["name"] == "stdout"
    )

"""A server stopped while its kernel writes (JupyterHub stops servers with SIGINT and no terminal):
nothing may be left behind, and the kernel never creates folders others can read."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.support.execute import run_code
from tests.support.leftovers import pid_gone, tree
from tests.support.processes import kernel_pid, wait_until
from tests.support.server import RunningServer, jupyter_server
from vfs_ext.confine import remove_namespace

#: The kernel's own session writes, as outputs do (evicting its older files when full), from a
#: thread that keeps going whatever happens to the server.
WRITE_IN_A_LOOP = """
import threading, time
from kernel_side.extension import current_session
_session = current_session()
assert _session.available
_written = []

def _keep_writing():
    for i in range(4000):  # 40 s at most: the kernel dies long before
        try:
            _written.append(_session.write(b"z" * 262144, "bin", evict=True).name)
        except Exception:
            pass
        time.sleep(0.01)

threading.Thread(target=_keep_writing, daemon=True).start()
"""


def _start_writing(running: RunningServer) -> int:
    """A kernel of ``running`` writing in a loop; its pid once it has written."""
    notebook = {"path": "w.ipynb", "name": "w.ipynb", "type": "notebook"}
    model = running.api("POST", "api/sessions", {**notebook, "kernel": {"name": "python3"}})
    kernel_id = model["kernel"]["id"]
    run_code(running.runtime_dir / f"kernel-{kernel_id}.json", WRITE_IN_A_LOOP)
    wait_until(lambda: len(tree(running.memory_dir)) > 5, "the kernel's writes")
    return kernel_pid(kernel_id)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_stopping_the_server_while_a_kernel_writes_leaves_nothing(tmp_path: Path, sig: int) -> None:
    # Under JupyterHub, SIGINT without a terminal ends jupyter_server's event loop by a
    # KeyboardInterrupt: kernels are not shut down and live on for a second or two.
    args = ["--VirtualFiles.memory_budget=2MiB", "--VirtualFiles.disk_budget=4MiB"]
    with jupyter_server(tmp_path, extra_args=args) as running:
        bases = [running.memory_dir, running.disk_dir]
        pid = _start_writing(running)
        running.proc.send_signal(sig)
        running.proc.wait(30)
        wait_until(lambda: pid_gone(pid), "the orphaned kernel to exit", timeout=30)
        assert [tree(base) for base in bases] == [[], []]
        assert not any(base.exists() for base in bases)


DISPLAY = """
import io, numpy as np
from PIL import Image as _PIL
from IPython.display import Image, display
_buf = io.BytesIO()
_PIL.frombytes("RGB", (400, 400), np.random.bytes(480000)).save(_buf, "PNG")
display(Image(data=_buf.getvalue()))
"""


def _shown(messages: list[dict]) -> list[str]:
    """Per display: "url" for a virtual output, "inline" for the image itself."""
    return [
        "url" if "vfs_ext" in m["content"]["metadata"] else "inline"
        for m in messages
        if m["msg_type"] == "display_data"
    ]


def test_a_kernel_whose_server_left_keeps_its_outputs_inline(tmp_path: Path) -> None:
    """The server's exit clean-up ran, its kernel lives on: its outputs stay inline, as without a
    server, and it makes no folder."""
    with jupyter_server(tmp_path) as running:
        kernel = running.api("POST", "api/kernels", {"name": "python3"})
        connection = running.runtime_dir / f"kernel-{kernel['id']}.json"
        assert _shown(run_code(connection, "%load_ext vfs_ext\n%vfs auto on\n" + DISPLAY)) == [
            "url"
        ]
        for tier in running.api("GET", "api/vfs")["tiers"]:
            remove_namespace(Path(tier["path"]))  # as the server does at exit
        first = run_code(connection, DISPLAY)
        assert _shown(first) == ["inline"]
        assert "has stopped" in "".join(
            m["content"].get("text", "") for m in first if m["msg_type"] == "stream"
        )
        assert _shown(run_code(connection, DISPLAY)) == ["inline"]
        assert [tree(base) for base in (running.memory_dir, running.disk_dir)] == [[], []]

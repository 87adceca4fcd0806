"""The soak's load: kernels re-running plotting and ``clear_output`` cells, and download clients
with random Range requests and disconnects. Each part runs on its own threads until stopped."""

from __future__ import annotations

import http.client
import json
import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_client import BlockingKernelClient

from tests.support.kernels import connect
from tests.support.messages import cell_metadata, execute_content

BIG = 256 * 1024 * 1024
BIG_FILES = 4
CELL_TIMEOUT = 60.0

SETUP = """
%load_ext vfs_ext
%vfs auto on --threshold 64KiB
import io, json, time
import numpy as np
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from IPython.display import Image, clear_output, display
from PIL import Image as _PIL

def _noise_png(n=300):
    buf = io.BytesIO()
    _PIL.frombytes("RGB", (n, n), np.random.bytes(n * n * 3)).save(buf, "PNG")
    return buf.getvalue()
"""

#: Each word of file k holds its own byte offset plus k: a client checks any aligned word it got.
BIG_CELL = f"""
import vfs_ext
_words = np.arange({BIG} // 8, dtype=np.uint64) * 8
_big = [vfs_ext.vfile(memoryview(_words + k).cast("B"), ext="bin") for k in range({BIG_FILES})]
del _words
print(json.dumps([v.url for v in _big]))
"""

PLOT_CELL = """
fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
ax.imshow(np.random.rand(200, 300))
display(fig)
plt.close(fig)
"""

LOOP_CELL = """
for _i in range(8):
    clear_output(wait=True)
    display(Image(data=_noise_png()))
    time.sleep(0.05)
"""

_URL_RE = re.compile(r"/@file/[0-9a-f-]+\.[a-z0-9]+")


@dataclass
class Shown:
    """What one kernel's outputs show now: the @file paths of each cell's latest output."""

    cells: dict[str, list[str]] = field(default_factory=dict)

    def paths(self) -> list[str]:
        return [p for paths in self.cells.values() for p in paths]


class KernelDriver(threading.Thread):
    """Re-runs a plotting cell and a clear_output loop in one kernel until stopped; after the
    kernel is killed (and restarted by the server) it reconnects and sets up again."""

    def __init__(self, kernel_id: str, connection_file: Path, stop: threading.Event) -> None:
        super().__init__(daemon=True, name=f"driver-{kernel_id[:8]}")
        self.kernel_id = kernel_id
        self.connection_file = connection_file
        self.stop_event = stop
        self.shown = Shown()
        self.runs = Counter[str]()
        self.lock = threading.Lock()  # held while a cell runs: the killer waits to see one

    def run(self) -> None:
        client: BlockingKernelClient | None = None
        while not self.stop_event.is_set():
            client = self._round(client)
        if client is not None:
            client.stop_channels()

    def finish(self) -> None:
        """Once the load is over, run both cells to the end (a kill may have cut the last ones
        short: the front end would show their partial outputs, which we did not follow)."""
        client = None
        for _ in range(5):
            client = self._round(client)
            if client is not None:
                client.stop_channels()
                return
        raise AssertionError(f"kernel {self.kernel_id} could not run its cells again")

    def _round(self, client: BlockingKernelClient | None) -> BlockingKernelClient | None:
        """Both cells once (connecting and setting up first if needed); None if cut short."""
        try:
            if client is None:
                client = connect(self.connection_file, CELL_TIMEOUT)
                self.execute(client, SETUP, "setup")
            for cell, code in (("plot", PLOT_CELL), ("loop", LOOP_CELL)):
                self.execute(client, code, cell)
            return client
        except (TimeoutError, RuntimeError, AssertionError):
            self.runs["interrupted"] += 1
            if client is not None:
                client.stop_channels()
            return None

    def execute(self, client: BlockingKernelClient, code: str, cell: str) -> list[dict[str, Any]]:
        """Run ``code`` as cell ``cell``; remember the outputs it leaves on screen."""
        msg = client.session.msg(
            "execute_request", execute_content(code), metadata=cell_metadata(cell)
        )
        client.shell_channel.send(msg)
        msg_id = msg["header"]["msg_id"]
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + CELL_TIMEOUT
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError(f"cell {cell} did not finish")
            try:
                m = client.get_iopub_msg(timeout=1)
            except Exception:  # queue.Empty: the kernel may have been killed; keep polling
                continue
            if m["parent_header"].get("msg_id") != msg_id:
                continue
            if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                break
            if m["msg_type"] == "clear_output":
                messages = [x for x in messages if x["msg_type"] == "stream"]
            elif m["msg_type"] == "error":
                raise AssertionError("\n".join(m["content"]["traceback"]))
            else:
                messages.append(m)
        outputs = [m for m in messages if m["msg_type"] in ("display_data", "execute_result")]
        with self.lock:
            if cell != "setup":
                self.shown.cells[cell] = [
                    p for m in outputs for p in _URL_RE.findall(json.dumps(m["content"]["data"]))
                ]
            self.runs[cell] += 1
        return messages


@dataclass
class DownloadStats:
    started: int = 0
    completed: int = 0
    aborted: int = 0  # the client hung up on purpose midway
    ranges: int = 0
    bytes: int = 0
    conn_errors: int = 0  # refused or reset: the server restarting
    statuses: Counter[int] = field(default_factory=Counter)
    bad_bytes: int = 0  # words that were not what the file holds there

    def merge(self, other: DownloadStats) -> None:
        for name in ("started", "completed", "aborted", "ranges", "bytes", "conn_errors"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.bad_bytes += other.bad_bytes
        self.statuses.update(other.statuses)


class Targets:
    """Where clients download from now (the server's port, its token, the big files)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value: tuple[int, str, list[str]] | None = None
        self.open = threading.Event()  # cleared while the server restarts

    def set(self, port: int, token: str, paths: list[str]) -> None:
        with self._lock:
            self._value = (port, token, paths)
        self.open.set()

    def get(self) -> tuple[int, str, list[str]] | None:
        with self._lock:
            return self._value


class Downloader(threading.Thread):
    """Downloads big files: whole or a random Range, to the end or hanging up at random."""

    def __init__(self, targets: Targets, stop: threading.Event, seed: int) -> None:
        super().__init__(daemon=True, name=f"download-{seed}")
        self.targets = targets
        self.stop_event = stop
        self.rng = random.Random(seed)
        self.stats = DownloadStats()

    def run(self) -> None:
        while not self.stop_event.is_set():
            if not self.targets.open.wait(1):
                continue
            target = self.targets.get()
            if target is None:
                continue
            port, token, paths = target
            try:
                self._one(port, token, self.rng.choice(paths))
            except (OSError, http.client.HTTPException):
                self.stats.conn_errors += 1
                time.sleep(0.2)  # the server is restarting: no event tells us when it is back

    def _one(self, port: int, token: str, path: str) -> None:
        headers = {"Authorization": f"token {token}"}
        start = 0
        if self.rng.random() < 0.5:
            start = self.rng.randrange(0, BIG, 8)
            end = min(BIG - 1, start + self.rng.randrange(8, 64 * 1024 * 1024))
            headers["Range"] = f"bytes={start}-{end}"
            self.stats.ranges += 1
        hang_up = self.rng.random() < 0.5
        budget = self.rng.randrange(1, BIG) if hang_up else BIG
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            self.stats.started += 1
            self.stats.statuses[resp.status] += 1
            if resp.status not in (200, 206):
                resp.read()
                return
            got = 0
            while got < budget:
                chunk = resp.read(min(1024 * 1024, budget - got))
                if not chunk:
                    break
                if got == 0 and len(chunk) >= 8:
                    self._check(path, start, chunk)
                got += len(chunk)
            self.stats.bytes += got
            if chunk and hang_up:  # stopped reading before the end: hang up on the server
                self.stats.aborted += 1
            else:
                self.stats.completed += 1
        finally:
            conn.close()

    def _check(self, path: str, start: int, chunk: bytes) -> None:
        """The first word received is its offset plus the file's index (0..BIG_FILES-1)."""
        value = int.from_bytes(chunk[:8], "little") - start
        if not 0 <= value < BIG_FILES:
            self.stats.bad_bytes += 8

"""``make demo``: run_demo.py prints a working URL, the demo notebook runs top to bottom in
JupyterLab with every output served by URL, and Ctrl-C stops everything cleanly."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import REPO
from tests.support.browser import artifact, jupyter_env
from tests.support.jupyter_ui import CELLS, NotebookUI
from tests.support.server import free_port

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

URL_RE = re.compile(r"(http://127\.0\.0\.1:\d+/)lab/tree/demo\.ipynb\?token=([0-9a-f]+)")
MEMORY_TIER_RE = re.compile(r"vfs_ext: memory tier (\S+)")
START_TIMEOUT = 120.0
STOP_TIMEOUT = 40.0


class Demo:
    """run_demo.py as a user starts it, with its output collected line by line."""

    def __init__(self, tmp: Path) -> None:
        self.workdir = tmp / "demo"
        env = {
            **os.environ,
            **jupyter_env(tmp / "jupyter"),
            "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
            "JUPYTER_CONFIG_DIR": str(tmp / "config"),
            "PYTHONUNBUFFERED": "1",
        }
        env = {k: v for k, v in env.items() if not k.startswith("VFS_EXT_")}
        cmd = [sys.executable, str(REPO / "examples" / "run_demo.py")]
        cmd += ["--port", str(free_port()), "--workdir", str(self.workdir)]
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        """The first output line matching ``pattern`` (lines already seen count too)."""
        for seen in self.lines:
            if m := pattern.search(seen):
                return m
        while True:
            try:
                line = self._queue.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no {pattern.pattern!r} within {timeout} s") from None
            if line is None:
                raise AssertionError("run_demo.py exited:\n" + "".join(self.lines))
            self.lines.append(line)
            if m := pattern.search(line):
                return m

    def interrupt(self) -> int:
        """Ctrl-C, as in a terminal."""
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(STOP_TIMEOUT)

    def close(self) -> None:
        """Stop through Ctrl-C (the script stops jupyter, which runs in its own session);
        SIGKILL only if that hangs."""
        if self.proc.poll() is None:
            try:
                self.interrupt()
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    d = Demo(tmp_path)
    try:
        yield d
    finally:
        d.close()


def test_demo_runs_and_stops_cleanly(demo: Demo, context: Any) -> None:
    m = demo.wait_for(URL_RE, START_TIMEOUT)
    server_url, token = m.group(1), m.group(2)
    memory_tier = Path(demo.wait_for(MEMORY_TIER_RE, 5).group(1))
    assert (demo.workdir / "demo.ipynb").read_bytes() == (
        REPO / "examples" / "demo.ipynb"
    ).read_bytes(), "the demo must run on a copy"

    ui = NotebookUI(context, "lab", server_url, token, "demo.ipynb").open()
    kinds = ui.page.locator(CELLS).evaluate_all(
        "cells => cells.map(c => c.classList.contains('jp-CodeCell'))"
    )
    ui.run_cells([i for i, is_code in enumerate(kinds) if is_code])

    html = ui.page.locator(CELLS).evaluate_all("cells => cells.map(c => c.innerHTML)")
    outputs = ui.page.locator(f"{CELLS} .jp-OutputArea-output")
    imgs = outputs.locator("img[src*='@file/']")
    assert imgs.count() >= 4, "image helper, live plot, %vfs auto plot and %%vfs image"
    frames = outputs.locator("img[alt^='frame ']")  # the live plot shows its last frame only
    assert frames.count() == 1 and frames.first.get_attribute("alt") == "frame 39"
    for n in range(imgs.count()):
        assert ui.wait_image(imgs.nth(n)) > 0, imgs.nth(n).get_attribute("src")
    assert ui.wait_media_ready(outputs.locator("video").first, play=False) >= 2
    assert outputs.locator("audio[src*='@file/']").count() == 1
    assert outputs.locator("object[data*='@file/']").count() == 1
    assert outputs.locator("a[download='waves.csv']").count() == 1
    # The Vega-Lite chart drew its 100,000 rows fetched from a virtual JSON file.
    chart = outputs.locator(".vega-embed canvas, .vega-embed svg.marks").first
    chart.wait_for(state="visible")
    assert any("/@file/" in r.url and r.url.endswith(".json") for r in ui.file_responses)
    assert not any("data:image/png;base64" in h for h in html), "an image stayed inline"
    chart.scroll_into_view_if_needed()
    ui.page.screenshot(path=str(artifact("demo-lab.png")))
    assert ui.problems.ours() == []

    ui.close()
    assert demo.interrupt() == 0
    assert not memory_tier.exists(), f"{memory_tier} left behind"

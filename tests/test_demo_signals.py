"""``make demo`` and ``run_demo.py`` stop cleanly on SIGINT also when a script started them in the
background, where the shell makes them inherit SIGINT ignored (``cmd &`` without job control)."""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import REPO
from tests.support.http_client import fetch
from tests.support.processes import command_lines, wait_until
from tests.support.server import free_port

START_TIMEOUT = 120.0
STOP_TIMEOUT = 60.0

pytestmark = pytest.mark.timeout(300)


@dataclass
class BackgroundDemo:
    """A bash script that starts the demo with ``&`` and reports its exit status."""

    script: subprocess.Popen[str]
    port: int
    token: str
    workdir: Path
    memory_dir: Path

    def answers(self) -> bool:
        url = f"http://127.0.0.1:{self.port}/api/status?token={self.token}"
        try:
            return fetch(url, timeout=2)[0] == 200
        except OSError:  # not listening yet
            return False

    def processes(self) -> list[str]:
        """Every process but the script whose command line names this demo's directory."""
        found = command_lines(str(self.workdir))
        return [line for pid, line in found.items() if pid != self.script.pid]

    def job_pid(self) -> int:
        return int((self.workdir.parent / "job.pid").read_text())


def start(tmp_path: Path, command: str) -> BackgroundDemo:
    token = secrets.token_hex(16)
    port = free_port()
    workdir = tmp_path / "demo"
    memory_dir = Path("/dev/shm") / f"vfs_ext-test-{secrets.token_hex(4)}"
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "jupyter_server_config.py").write_text(
        f"c.VirtualFiles.memory_dir = {str(memory_dir)!r}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("VFS_EXT_")}
    env |= {
        "JUPYTER_CONFIG_DIR": str(config_dir),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
    }
    demo_args = f"--workdir {workdir} --token {token}"
    script = (
        "trap '' INT\n"  # the script outlives the signal, to report the demo's exit status
        + command.format(args=demo_args, q=shlex.quote(demo_args), port=port, py=sys.executable)
        + f" &\necho $! > {tmp_path / 'job.pid'}\nwait $!\necho exit $?\n"
    )
    proc = subprocess.Popen(
        ["bash", "-c", script],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives a job
    )
    return BackgroundDemo(proc, port, token, workdir, memory_dir)


@pytest.fixture
def cleanup() -> Iterator[list[BackgroundDemo]]:
    demos: list[BackgroundDemo] = []
    yield demos
    for demo in demos:
        if demo.script.poll() is None:
            os.killpg(demo.script.pid, signal.SIGTERM)
            demo.script.wait(STOP_TIMEOUT)
        shutil.rmtree(demo.memory_dir, ignore_errors=True)


def stopped_cleanly(demo: BackgroundDemo) -> None:
    out, _ = demo.script.communicate(timeout=STOP_TIMEOUT)
    assert out.strip().splitlines()[-1] == "exit 0"
    wait_until(lambda: not demo.processes(), "the demo's processes to exit", timeout=10)
    namespaces = list(demo.memory_dir.iterdir()) if demo.memory_dir.exists() else []
    assert namespaces == [], "the server left its memory tier behind"


def test_run_demo_in_background_stops_on_sigint(tmp_path: Path, cleanup: list) -> None:
    demo = start(tmp_path, "{py} examples/run_demo.py --port {port} {args}")
    cleanup.append(demo)
    wait_until(demo.answers, "the demo server to answer", timeout=START_TIMEOUT)
    os.kill(demo.job_pid(), signal.SIGINT)
    stopped_cleanly(demo)


def test_make_demo_in_background_passes_sigint_on(tmp_path: Path, cleanup: list) -> None:
    """SIGINT to the job's process group, as a terminal's Ctrl-C sends it: make, which does not
    forward SIGINT, waits for run_demo.py to stop jupyter, and exits with its status."""
    demo = start(tmp_path, "make -s -o .venv/.installed demo PY={py} PORT={port} DEMO_ARGS={q}")
    cleanup.append(demo)
    wait_until(demo.answers, "the demo server to answer", timeout=START_TIMEOUT)
    assert len(demo.processes()) == 3  # make, run_demo.py, jupyter lab
    os.killpg(demo.script.pid, signal.SIGINT)
    stopped_cleanly(demo)

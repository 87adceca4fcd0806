"""Lifecycle with real kernels and real processes: exported environment, release on session end,
restart keeps outputs, sweeps of killed owners and servers, namespace removal on stop."""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.execute import printed, run_code
from tests.support.processes import kernel_pid, wait_until
from tests.support.server import RunningServer, jupyter_server, server_store
from vfs_ext.config import StoreConfig
from vfs_ext.names import owner_key

SWEEP_INTERVAL = "0.3"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    args = [f"--VirtualFiles.sweep_interval={SWEEP_INTERVAL}"]
    with jupyter_server(tmp_path_factory.mktemp("life"), extra_args=args) as running:
        yield running


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)


@pytest.fixture
def session(server: RunningServer) -> Iterator[dict[str, Any]]:
    model = server.api(
        "POST",
        "api/sessions",
        {"path": "n.ipynb", "name": "n.ipynb", "type": "notebook", "kernel": {"name": "python3"}},
    )
    yield model
    status, _, _ = server.request("DELETE", f"api/sessions/{model['id']}")
    assert status in (204, 404)


def run_in_kernel(server: RunningServer, kernel_id: str, code: str) -> str:
    """Execute ``code`` in the server's kernel; returns what it printed (without heartbeats,
    which a kernel on a busy machine misses: it was then called dead)."""
    return printed(run_code(server.runtime_dir / f"kernel-{kernel_id}.json", code))


WRITE_AS_KERNEL = """
from vfs_ext.store import Store
_store = Store.from_env()
_owner = _store.open_owner({kernel_id!r})
print(_owner.write(b"written by the kernel", ext="txt").name)
"""


def test_kernel_inherits_the_exported_environment(
    server: RunningServer, session: dict[str, Any]
) -> None:
    kernel_id = session["kernel"]["id"]
    config = StoreConfig.from_env(environ_of(kernel_pid(kernel_id)))
    assert config is not None
    report = server.api("GET", "api/vfs")
    assert config.namespace == report["namespace"]
    assert [(t.name, str(t.path / config.namespace), t.budget) for t in config.tiers] == [
        (t["name"], t["path"], t["budget"]) for t in report["tiers"]
    ]
    assert config.base_url == "/"
    assert config.server_pid == server.proc.pid
    assert config.threshold == report["settings"]["threshold"]


def test_session_files_live_through_restart_and_go_with_the_session(
    server: RunningServer, session: dict[str, Any]
) -> None:
    kernel_id = session["kernel"]["id"]
    name = run_in_kernel(server, kernel_id, WRITE_AS_KERNEL.format(kernel_id=kernel_id)).strip()
    assert re.fullmatch(r"[0-9a-f-]+\.txt", name), name
    assert server.request("GET", f"@file/{name}")[2] == b"written by the kernel"

    report = server.api("GET", "api/vfs")
    mine = next(o for o in report["owners"] if o["kernel_id"] == kernel_id)
    assert mine["files"] == 1
    assert mine["sessions"][0]["path"] == "n.ipynb"

    # Restart: the new process holds no lock for a while, yet the server still lists the kernel.
    server.api("POST", f"api/kernels/{kernel_id}/restart")
    runs = server.api("GET", "api/vfs")["sweeps"]["runs"]
    wait_until(lambda: server.api("GET", "api/vfs")["sweeps"]["runs"] >= runs + 2, "two sweeps")
    status, _, body = server.request("GET", f"@file/{name}")
    assert (status, body) == (200, b"written by the kernel")

    server.api("DELETE", f"api/sessions/{session['id']}")
    wait_until(lambda: server.request("HEAD", f"@file/{name}")[0] == 404, "release on shutdown")
    for tier in server.api("GET", "api/vfs")["tiers"]:
        assert not (Path(tier["path"]) / owner_key(kernel_id)).exists()


VICTIM = """
import sys
from vfs_ext.store import Store
owner = Store.from_env().open_owner("victim")
print(owner.write(b"orphan bytes" * 1000, ext="bin").name, flush=True)
sys.stdin.read()
"""


def test_files_of_a_killed_owner_are_swept(server: RunningServer) -> None:
    store = server_store(server)
    live = store.open_owner("survivor")
    try:
        survivor = live.write(b"still wanted", ext="txt").name
        victim = subprocess.Popen(
            [sys.executable, "-c", VICTIM],
            env={**os.environ, **store.resolved_config().to_env()},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert victim.stdout is not None
        name = victim.stdout.readline().decode().strip()
        assert server.request("HEAD", f"@file/{name}")[0] == 200
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        victim.stdin.close()  # type: ignore[union-attr]
        victim.stdout.close()
        wait_until(lambda: server.request("HEAD", f"@file/{name}")[0] == 404, "the sweep")
        for tier in store.tiers:
            assert not (tier.root / owner_key("victim")).exists()
        assert server.request("GET", f"@file/{survivor}")[2] == b"still wanted"
        assert server.api("GET", "api/vfs")["sweeps"]["owners"] >= 1
    finally:
        live.close(remove=True)
        store.close()


def namespace_with_a_file(running: RunningServer) -> list[Path]:
    """Write a file into the server's namespace (as a kernel that has gone since); its roots."""
    store = server_store(running)
    with store.open_owner("someone") as owner:
        owner.write(b"x" * 100, ext="bin")
    roots = [t.root for t in store.tiers]
    assert all(r.is_dir() for r in roots)
    store.close()
    return roots


def test_stop_removes_the_namespace(tmp_path: Path) -> None:
    with jupyter_server(tmp_path) as running:
        roots = namespace_with_a_file(running)
    assert not any(r.exists() for r in roots)
    assert running.proc.returncode == 0


WRITE_UNTIL_KILLED = """
import threading, time
from vfs_ext.store import Store
_store = Store.from_env()
_owner = _store.open_owner({kernel_id!r})

def _keep_writing():
    for i in range(2000):  # 40 s at most: the server's shutdown kills us long before
        _owner.write(b"y" * 4096, ext="bin", group=f"cell-{{i % 3}}")
        time.sleep(0.02)

threading.Thread(target=_keep_writing, daemon=True).start()
"""


def test_stop_removes_the_namespace_even_while_a_kernel_writes(tmp_path: Path) -> None:
    # jupyter_server stops extensions before kernels: writes in between recreate directories
    # after stop_extension removed the namespace.
    with jupyter_server(tmp_path) as running:
        notebook = {"path": "w.ipynb", "name": "w.ipynb", "type": "notebook"}
        model = running.api("POST", "api/sessions", {**notebook, "kernel": {"name": "python3"}})
        kernel_id = model["kernel"]["id"]
        store = server_store(running)
        roots = [t.root for t in store.tiers]
        store.close()
        run_in_kernel(running, kernel_id, WRITE_UNTIL_KILLED.format(kernel_id=kernel_id))
        owner_dir = roots[0] / owner_key(kernel_id)
        wait_until(lambda: len(list(owner_dir.glob("*/*.bin"))) > 3, "the kernel's writes")
        running.proc.send_signal(signal.SIGTERM)
        running.proc.wait(30)
        assert running.proc.returncode == 0
        assert not any(r.exists() for r in roots)


def test_ctrl_c_without_a_terminal_still_removes_the_namespace(tmp_path: Path) -> None:
    # Without a tty, jupyter_server installs no SIGINT handler: the KeyboardInterrupt ends its
    # event loop and skips its clean-up (extensions are never stopped), e.g. Ctrl-C on
    # `docker run` without -t. The process still exits normally, and the namespace must go.
    with jupyter_server(tmp_path) as running:
        roots = namespace_with_a_file(running)
        running.proc.send_signal(signal.SIGINT)
        running.proc.wait(30)
        assert not any(r.exists() for r in roots)
        assert not list(running.runtime_dir.glob("vfs_ext-server-*.json"))


def test_next_start_sweeps_a_killed_server(tmp_path: Path) -> None:
    memory_dir, disk_dir = Path("/dev/shm") / f"vfs_ext-test-{os.getpid()}-k", tmp_path / "disk"
    on_the_same_tiers = functools.partial(jupyter_server, memory_dir=memory_dir, disk_dir=disk_dir)
    with on_the_same_tiers(tmp_path / "a") as first:
        store = server_store(first)
        owner = store.open_owner("kernel-of-a-dead-server")
        owner.write(b"x" * 5000, ext="bin")
        owner.close()  # its process "died" too: the lock is free
        roots = [t.root for t in store.tiers]
        store.close()
        os.killpg(first.proc.pid, signal.SIGKILL)
        first.proc.wait(10)
        assert all(r.is_dir() for r in roots)  # nothing cleaned up after SIGKILL

        with on_the_same_tiers(tmp_path / "b") as second:
            assert not any(r.exists() for r in roots)
            sweeps = second.api("GET", "api/vfs")["sweeps"]
            assert sweeps["owners"] >= 1
            assert sweeps["bytes"] >= 5000


def test_extension_list_shows_vfs_ext_enabled_and_ok(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp_path),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"),
        "NO_COLOR": "1",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter", "server", "extension", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    assert re.search(r"^\s*vfs_ext\s+enabled\s*$", out, re.M), out
    assert re.search(r"^\s*vfs_ext [0-9][^\s]*\s+OK\s*$", out, re.M), out
    assert (
        json.loads(
            (Path(sys.prefix) / "etc/jupyter/jupyter_server_config.d/vfs_ext.json").read_text()
        )["ServerApp"]["jpserver_extensions"]["vfs_ext"]
        is True
    )


def test_unsafe_memory_dir_is_refused_and_reported(tmp_path: Path) -> None:
    """A memory_dir that is a symlink could point anywhere: the server says so and uses disk."""
    target = tmp_path / "target"
    target.mkdir()
    link = tmp_path / "shm-link"
    link.symlink_to(target)
    with jupyter_server(tmp_path / "s", memory_dir=link) as running:
        report = running.api("GET", "api/vfs")
        assert [t["name"] for t in report["tiers"]] == ["disk"]
        assert "symlink" in report["refused"]["memory"]
        assert "memory tier disabled" in running.log_text()
        config = StoreConfig.from_env(_kernel_env_of(running))
        assert config is not None
        assert [t.name for t in config.tiers] == ["disk"]  # kernels are told the same
    assert list(target.iterdir()) == []


def test_overlapping_tier_dirs_fail_loading_clearly_and_leave_nothing(tmp_path: Path) -> None:
    """The same directory for both tiers: the extension says which settings to fix (it used to
    wait 5 s for its own lock and leave the namespace behind)."""
    shared = tmp_path / "tiers"
    with jupyter_server(tmp_path / "s", memory_dir=shared, disk_dir=shared) as running:
        log = running.log_text()
        assert "VirtualFiles.memory_dir" in log and "overlap" in log, log
        assert running.request("GET", "api/vfs")[0] == 404  # the extension is not loaded
    assert not shared.exists() or list(shared.iterdir()) == []


def _kernel_env_of(server: RunningServer) -> dict[str, str]:
    kernel = server.api("POST", "api/kernels", {"name": "python3"})
    try:
        return environ_of(wait_until(lambda: _pid_or_none(kernel["id"]), "the kernel process"))
    finally:
        server.api("DELETE", f"api/kernels/{kernel['id']}")


def _pid_or_none(kernel_id: str) -> int | None:
    try:
        return kernel_pid(kernel_id)
    except AssertionError:
        return None

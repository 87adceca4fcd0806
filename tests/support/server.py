"""A real ``jupyter server`` (or ``jupyter lab``) process with the extension, for tests.

Each server gets private tier directories, runtime and config dirs, so tests never share state
and never leave anything in /dev/shm.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.client import HTTPConnection, HTTPResponse
from pathlib import Path
from typing import Any

from vfs_ext.config import StoreConfig, TierSpec
from vfs_ext.store import Store

from . import http_client
from .http_client import Response

START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunningServer:
    """A live server: where it listens, its token, and the directories it owns."""

    proc: subprocess.Popen[bytes]
    port: int
    token: str
    base_url: str
    root_dir: Path
    memory_dir: Path
    disk_dir: Path
    runtime_dir: Path
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.base_url}"

    def fetch(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        auth: bool = True,
        timeout: float = 30.0,
    ) -> Response:
        """One request to ``url``, a path under base_url as pages and outputs write it
        (``{base_url}@file/<name>``): the answer whatever its status, redirects not followed.
        With ``auth`` the server's token goes in the Authorization header."""
        assert url.startswith(self.base_url), f"{url} is not under {self.base_url}"
        hdrs = dict(headers or {})
        if auth:
            hdrs.setdefault("Authorization", f"token {self.token}")
        return http_client.fetch(
            f"http://127.0.0.1:{self.port}{url}",
            method=method,
            headers=hdrs,
            body=body,
            timeout=timeout,
        )

    def request(self, method: str, path: str, **kwargs: Any) -> Response:
        """``fetch`` of ``path`` relative to base_url."""
        return self.fetch(self.base_url + path.lstrip("/"), method=method, **kwargs)

    def get_file(
        self, name: str, headers: dict[str, str] | None = None, query: str = ""
    ) -> Response:
        """GET the virtual file ``name`` (``query`` starts with ``?``)."""
        return self.request("GET", f"@file/{name}{query}", headers=headers)

    def connect(
        self, method: str, path: str, headers: dict[str, str] | None = None
    ) -> tuple[HTTPConnection, HTTPResponse]:
        """A request relative to base_url whose body the caller reads at its own pace."""
        hdrs = {"Authorization": f"token {self.token}", **(headers or {})}
        return http_client.connect(self.port, method, self.base_url + path.lstrip("/"), hdrs)

    def api(self, method: str, path: str, payload: Any = None) -> Any:
        body = None if payload is None else json.dumps(payload).encode()
        status, _, data = self.request(
            method, path, body=body, headers={"Content-Type": "application/json"}
        )
        if status >= 400:
            raise AssertionError(f"{method} {path} -> {status}: {data[:500]!r}")
        return json.loads(data) if data else None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def jupyter_server(
    tmp_path: Path,
    *,
    app: str = "server",
    base_url: str = "/",
    extra_args: list[str] | None = None,
    env: dict[str, str] | None = None,
    memory_dir: Path | None = None,
    disk_dir: Path | None = None,
    prefix: list[str] | None = None,
    root_dir: Path | None = None,
) -> Iterator[RunningServer]:
    """Start ``jupyter <app>`` with the extension on a free loopback port; stop it afterwards.

    ``prefix`` goes before the command, e.g. ``tests.support.mounts.in_private_tmpfs(...)``; it
    must exec the command in its own process (signals go to that pid). ``root_dir``: serve an
    existing folder (e.g. a previous server's) instead of a fresh one."""
    tag = secrets.token_hex(4)
    root_dir = root_dir or tmp_path / f"root-{tag}"
    runtime_dir = tmp_path / f"runtime-{tag}"
    config_dir = tmp_path / f"config-{tag}"
    for d in (root_dir, runtime_dir, config_dir):
        d.mkdir(parents=True, exist_ok=True)
    memory_dir = memory_dir or Path("/dev/shm") / f"vfs_ext-test-{tag}"
    disk_dir = disk_dir or tmp_path / f"disk-{tag}"
    port = free_port()
    token = secrets.token_hex(16)
    log_path = tmp_path / f"server-{tag}.log"
    proc_env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(runtime_dir),
        "JUPYTER_CONFIG_DIR": str(config_dir),
        "JUPYTER_PLATFORM_DIRS": "1",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    for name in list(proc_env):
        if name.startswith("VFS_EXT_") and name not in (env or {}):
            del proc_env[name]  # never inherit a surrounding server's tiers
    args = [
        *(prefix or []),
        sys.executable,
        "-m",
        "jupyter",
        app,
        "--no-browser",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.allow_root=True",  # CI containers run as root
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        f"--ServerApp.base_url={base_url}",
        *(extra_args or []),
    ]
    # A trait given twice on the command line is an error in traitlets (the extension then fails
    # to link), so an explicit --VirtualFiles.memory_dir/disk_dir in extra_args replaces ours.
    given = {arg.split("=", 1)[0] for arg in extra_args or []}
    for flag, value in (
        ("--VirtualFiles.memory_dir", memory_dir),
        ("--VirtualFiles.disk_dir", disk_dir),
    ):
        if flag not in given:
            args.append(f"{flag}={value}")
    log_file = open(log_path, "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(
        args, env=proc_env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
    )
    server = RunningServer(
        proc, port, token, base_url, root_dir, memory_dir, disk_dir, runtime_dir, log_path, proc_env
    )
    try:
        _wait_ready(server)
        yield server
    finally:
        stop(server)
        log_file.close()
        shutil.rmtree(memory_dir, ignore_errors=True)


def _wait_ready(server: RunningServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(
                f"jupyter exited with {server.proc.returncode}:\n{server.log_text()}"
            )
        try:
            status, _, _ = server.request("GET", "api/status", timeout=2)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)  # the server offers no readiness event to wait on
    raise TimeoutError(f"jupyter did not answer within {START_TIMEOUT} s:\n{server.log_text()}")


def stop(server: RunningServer, timeout: float = 20.0) -> None:
    """SIGTERM (clean shutdown of kernels and extension), SIGKILL the group if it hangs."""
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGTERM)
        try:
            server.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    # Kill anything left in the process group (kernels of a killed server).
    try:
        os.killpg(server.proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if server.proc.poll() is None:
        server.proc.wait(5)


def server_store(server: RunningServer) -> Store:
    """A writer's view of the server's namespace, from what the server reports in ``api/vfs``.

    Built like a kernel's (``Store(config)``), not ``Store.for_server``: the server holds the
    namespace's server lock.
    """
    report = server.api("GET", "api/vfs")
    tiers = tuple(TierSpec(t["name"], Path(t["path"]).parent, t["budget"]) for t in report["tiers"])
    return Store(StoreConfig(tiers=tiers, namespace=report["namespace"]))

"""A real JupyterHub (LocalProcessSpawner, configurable-http-proxy) with throwaway Unix users
(tests/support/unix_users.py), for root tests. Everything listens on loopback; users, processes
and files go when the test ends.

The proxy comes from npm (``make hub-proxy`` installs it into build/); JupyterHub from the
``test`` extra.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import REPO, http_client
from .mounts import can_unshare
from .processes import wait_until
from .server import free_port
from .unix_users import (
    UnixUser,
    closed_dirs,
    hidden_interpreter,
    interpreter_prefix,
    kill_processes_of,
)

PROXY = REPO / "build" / "node_modules" / ".bin" / "configurable-http-proxy"
START_TIMEOUT = 90.0


def missing_requirement() -> str | None:
    """Why a hub test cannot run here, or None."""
    if os.geteuid() != 0:
        return "JupyterHub's LocalProcessSpawner runs users' servers as other Unix users: root only"
    if closed_dirs(REPO / "x") or closed_dirs(Path(sys.prefix) / "x"):
        return f"other users cannot enter {REPO} or {sys.prefix}, so their servers cannot run it"
    hidden = hidden_interpreter()
    if hidden is not None and (len(closed_dirs(Path(os.path.realpath(sys.executable)))) > 1):
        return f"other users cannot run {sys.executable} (several closed directories on its way)"
    if hidden is not None and not can_unshare():
        return f"other users cannot run {sys.executable} and unshare -m is not available"
    if shutil.which("useradd") is None or shutil.which("userdel") is None:
        return "useradd/userdel are not installed"
    if not PROXY.exists():
        return f"configurable-http-proxy missing at {PROXY}: run `make hub-proxy` (npm)"
    try:
        import jupyterhub  # noqa: F401
    except ImportError:
        return "jupyterhub is not installed: pip install -e '.[test]'"
    return None


@dataclass
class Hub:
    """A running hub: its public URL (the proxy) and an admin service token."""

    proc: subprocess.Popen[bytes]
    port: int
    token: str
    log_path: Path
    tokens: dict[str, str] = field(default_factory=dict)  # user name -> API token

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: Any = None,
        opener: urllib.request.OpenerDirector | None = None,
        timeout: float = 30.0,
    ) -> tuple[int, dict[str, str], bytes]:
        """One request to the proxy; (status, headers, body). Redirects are not followed unless
        ``opener`` does."""
        headers = {"Authorization": f"token {token}"} if token else {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        return http_client.fetch(
            self.url + path.lstrip("/"),
            method=method,
            headers=headers,
            body=data,
            opener=opener,
            timeout=timeout,
        )

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """The hub's REST API as the admin service."""
        status, _, data = self.request(method, f"hub/api/{path}", token=self.token, body=body)
        if status >= 400:
            raise AssertionError(f"{method} hub/api/{path} -> {status}: {data[:500]!r}")
        return json.loads(data) if data else None

    def start_server(self, user: str) -> None:
        """Spawn ``user``'s server and wait until the hub says it is ready."""
        self.api("POST", f"users/{user}/server")
        wait_until(
            lambda: (self.api("GET", f"users/{user}")["servers"].get("") or {}).get("ready"),
            f"{user}'s server",
            timeout=START_TIMEOUT,
        )

    def stop_server(self, user: str) -> None:
        """Stop ``user``'s server as the hub does (LocalProcessSpawner: SIGINT first)."""
        self.api("DELETE", f"users/{user}/server")
        wait_until(
            lambda: not self.api("GET", f"users/{user}")["servers"],
            f"{user}'s server to stop",
            timeout=START_TIMEOUT,
        )

    def user_token(self, user: str) -> str:
        if user not in self.tokens:
            reply = self.api("POST", f"users/{user}/tokens", {"note": "vfs_ext test"})
            self.tokens[user] = reply["token"]
        return self.tokens[user]

    def log_in(self, user: str, password: str) -> urllib.request.OpenerDirector:
        """A browser-like client logged in as ``user`` (cookies, redirects followed)."""
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = http_client.fetch(self.url + "hub/login", opener=opener)[2].decode()
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page)
        form = {"username": user, "password": password, **({"_xsrf": xsrf[1]} if xsrf else {})}
        body = urllib.parse.urlencode(form).encode()
        status, _, _ = http_client.fetch(
            self.url + "hub/login", method="POST", body=body, opener=opener, timeout=60
        )
        assert status < 400, f"logging in as {user}: {status}"
        return opener

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


HUB_CONFIG = """
c = get_config()  # noqa
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.JupyterHub.db_url = "sqlite:///{dir}/hub.sqlite"
c.JupyterHub.cookie_secret_file = "{dir}/cookie_secret"
c.JupyterHub.pid_file = "{dir}/hub.pid"
c.JupyterHub.cleanup_servers = True
c.ConfigurableHTTPProxy.command = ["{proxy}"]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.ConfigurableHTTPProxy.pid_file = "{dir}/proxy.pid"
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = "{password}"
c.Authenticator.allowed_users = {users!r}
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = ["{python}", "-m", "jupyterhub.singleuser"]
c.Spawner.ip = "127.0.0.1"
c.Spawner.start_timeout = {timeout}
c.Spawner.http_timeout = {timeout}
c.Spawner.args = {args!r}
c.JupyterHub.services = [{{"name": "vfs-test", "api_token": "{token}"}}]
c.JupyterHub.load_roles = [
    {{
        "name": "vfs-test",
        "scopes": ["admin:users", "admin:servers", "tokens", "list:users"],
        "services": ["vfs-test"],
    }}
]
"""


@contextmanager
def jupyterhub(
    workdir: Path, users: list[UnixUser], password: str, server_args: list[str]
) -> Iterator[Hub]:
    """Run ``jupyterhub`` for ``users`` (DummyAuthenticator with ``password``); stop it after,
    with every process it started."""
    workdir.mkdir(parents=True, exist_ok=True)
    port, hub_port, api_port = free_port(), free_port(), free_port()
    token = secrets.token_hex(16)
    config = workdir / "jupyterhub_config.py"
    config.write_text(
        HUB_CONFIG.format(
            port=port,
            hub_port=hub_port,
            api_port=api_port,
            dir=workdir,
            proxy=PROXY,
            password=password,
            users={u.name for u in users},
            python=sys.executable,
            timeout=int(START_TIMEOUT),
            args=server_args,
            token=token,
        )
    )
    log_path = workdir / "hub.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VFS_EXT_", "JUPYTER"))}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                *interpreter_prefix(workdir / "interpreter"),
                *(sys.executable, "-m", "jupyterhub", "-f", str(config)),
            ],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    hub = Hub(proc, port, token, log_path)
    try:
        wait_until(lambda: _answers(hub), "the hub", timeout=START_TIMEOUT)
        yield hub
    finally:
        _stop(hub)
        for user in users:
            kill_processes_of(user.uid)


def _answers(hub: Hub) -> bool:
    if hub.proc.poll() is not None:
        raise RuntimeError(f"jupyterhub exited with {hub.proc.returncode}:\n{hub.log_text()}")
    try:
        return hub.request("GET", "hub/api/", timeout=5)[0] == 200
    except OSError:
        return False


def _stop(hub: Hub) -> None:
    """SIGTERM the hub (it stops the proxy and, with cleanup_servers, the users' servers), then
    SIGKILL its process group if anything lingers."""
    if hub.proc.poll() is None:
        hub.proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            hub.proc.wait(30)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(hub.proc.pid, signal.SIGKILL)
    if hub.proc.poll() is None:
        hub.proc.wait(10)

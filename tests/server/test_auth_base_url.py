"""Under ``jupyter lab`` with a JupyterHub-style base_url: routes, auth, and CLI configuration."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.http_client import fetch
from tests.support.server import RunningServer, jupyter_server
from vfs_ext.owner import Owner

BASE_URL = "/user/alice/"
SECRET = b"only for alice " * 100


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    args = [
        "--VirtualFiles.memory_dir=",  # no memory tier: files go to disk
        "--VirtualFiles.disk_budget=1GiB",
        "--VirtualFiles.threshold=1MiB",
        "--VirtualFiles.sweep_interval=0",
    ]
    config_dir = tmp_path_factory.mktemp("alice-config")
    (config_dir / "jupyter_server_config.py").write_text('c.VirtualFiles.max_file_size = "3MiB"\n')
    with jupyter_server(
        tmp_path_factory.mktemp("alice"),
        app="lab",
        base_url=BASE_URL,
        extra_args=args,
        env={"JUPYTER_CONFIG_DIR": str(config_dir)},
    ) as running:
        yield running


@pytest.fixture
def name(owner: Owner) -> str:
    return owner.write(SECRET, ext="txt").name


def test_command_line_and_config_file_apply_under_jupyter_lab(server: RunningServer) -> None:
    report = server.api("GET", "api/vfs")
    assert [t["name"] for t in report["tiers"]] == ["disk"]
    assert report["tiers"][0]["budget"] == 1024**3
    assert report["tiers"][0]["path"].startswith(str(server.disk_dir))
    assert report["settings"]["threshold"] == 1024**2
    assert report["settings"]["sweep_interval"] == 0
    assert report["settings"]["max_file_size"] == 3 * 1024**2  # from jupyter_server_config.py
    assert report["base_url"] == BASE_URL


def test_served_under_base_url(server: RunningServer, name: str) -> None:
    status, _, body = server.request("GET", f"@file/{name}")
    assert status == 200
    assert body == SECRET
    auth = {"Authorization": f"token {server.token}"}
    status, _, body = fetch(f"http://127.0.0.1:{server.port}/@file/{name}", headers=auth)
    assert status == 404
    assert SECRET not in body


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_no_credentials_redirects_to_login(server: RunningServer, name: str, method: str) -> None:
    status, headers, body = server.request(method, f"@file/{name}", auth=False)
    assert status == 302
    assert headers["location"].startswith(f"{BASE_URL}login?next=")
    assert SECRET not in body


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_wrong_token_gets_no_bytes(server: RunningServer, name: str, method: str) -> None:
    status, headers, body = server.request(
        method, f"@file/{name}", auth=False, headers={"Authorization": "token wrong"}
    )
    assert status in (302, 403)
    assert SECRET not in body
    assert headers.get("content-length") != str(len(SECRET))


def test_token_in_query(server: RunningServer, name: str) -> None:
    status, _, body = server.request("GET", f"@file/{name}?token={server.token}", auth=False)
    assert status == 200
    assert body == SECRET


def test_login_cookie_needs_a_same_origin_referer(server: RunningServer, name: str) -> None:
    """Like ``/files/``: a browser's cookie works for pages of this server, not for other sites."""
    status, headers, _ = server.request("GET", f"api/status?token={server.token}", auth=False)
    assert status == 200
    cookie = headers["set-cookie"].split(";", 1)[0]
    path = f"{BASE_URL}@file/{name}"
    host = f"127.0.0.1:{server.port}"
    same_site = {"Cookie": cookie, "Host": host, "Referer": f"http://{host}{BASE_URL}lab"}
    status, _, body = server.fetch(path, headers=same_site, auth=False)
    assert status == 200
    assert body == SECRET
    cross_site = {**same_site, "Referer": "https://evil.example/page"}
    status, _, body = server.fetch(path, headers=cross_site, auth=False)
    assert status == 403
    assert SECRET not in body

"""vfs_ext under a real JupyterHub: two Unix users, LocalProcessSpawner, configurable-http-proxy.

A user's outputs render at ``/user/<name>/@file/...``; another user's token or login cookie gets
403 on them and on ``api/vfs``; stopping a server while its kernel writes (the hub sends SIGINT,
and the kernel outlives the server by a second or two) leaves no byte and no folder another user
could read.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.execute import printed, run_code
from tests.support.hub import Hub, jupyterhub, missing_requirement
from tests.support.leftovers import pid_gone, tree
from tests.support.processes import kernel_pid, wait_until
from tests.support.unix_users import UnixUser

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(missing_requirement() is not None, reason=str(missing_requirement())),
]

PASSWORD = secrets.token_hex(8)
#: Small budgets: a kernel writing in a loop fills both tiers within a second.
SERVER_ARGS = ["--VirtualFiles.memory_budget=4MiB", "--VirtualFiles.disk_budget=8MiB"]

RENDER = """
%load_ext vfs_ext
%vfs auto on
import io
from PIL import Image as _PIL
from IPython.display import Image, display
_buf = io.BytesIO()
_PIL.effect_noise((400, 400), 64).convert("RGB").save(_buf, "PNG")
display(Image(data=_buf.getvalue()))
print(len(_buf.getvalue()))
"""

WRITE_IN_A_LOOP = """
import threading, time
from kernel_side.extension import current_session
_session = current_session()

def _keep_writing():
    for i in range(4000):  # 40 s at most: the kernel dies long before
        try:
            _session.write(b"z" * 262144, "bin", evict=True)
        except Exception:
            pass
        time.sleep(0.01)

threading.Thread(target=_keep_writing, daemon=True).start()
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, users: list[UnixUser]) -> Iterator[Hub]:
    with jupyterhub(tmp_path_factory.mktemp("hub"), users, PASSWORD, SERVER_ARGS) as running:
        yield running


@pytest.fixture(scope="module")
def alice(hub: Hub, users: list[UnixUser]) -> UnixUser:
    """The first user, with a running server."""
    hub.start_server(users[0].name)
    return users[0]


def new_kernel(hub: Hub, user: UnixUser) -> tuple[str, Path]:
    """A notebook session on ``user``'s server: its kernel id and connection file."""
    token = hub.user_token(user.name)
    model = {
        "path": "v.ipynb",
        "name": "v.ipynb",
        "type": "notebook",
        "kernel": {"name": "python3"},
    }
    status, _, body = hub.request("POST", f"user/{user.name}/api/sessions", token=token, body=model)
    assert status == 201, body
    kernel_id = _json(body)["kernel"]["id"]
    found = wait_until(
        lambda: list(user.home.glob(f".local/share/jupyter/runtime/kernel-{kernel_id}.json")),
        "the kernel's connection file",
    )
    return kernel_id, found[0]


def _json(body: bytes) -> Any:
    import json

    return json.loads(body)


def rendered_url(hub: Hub, alice: UnixUser) -> tuple[str, int]:
    """Render a large image in alice's kernel: the @file URL its output shows, and its size."""
    _, connection = new_kernel(hub, alice)
    messages = run_code(connection, RENDER)
    (html,) = [  # an image's stand-in is Markdown (kernel_side/html.py)
        m["content"]["data"]["text/markdown"] for m in messages if m["msg_type"] == "display_data"
    ]
    match = re.search(r'src="([^"]+)"', html)
    assert match, html
    return match[1], int(printed(messages).split()[-1])


def test_a_virtual_output_renders_at_the_users_url(hub: Hub, alice: UnixUser) -> None:
    url, size = rendered_url(hub, alice)
    assert url.startswith(f"/user/{alice.name}/@file/"), url
    status, headers, body = hub.request("GET", url, token=hub.user_token(alice.name))
    assert (status, len(body), body[:8]) == (200, size, b"\x89PNG\r\n\x1a\n")
    assert headers["content-type"] == "image/png"


def test_another_users_token_and_cookie_are_refused(
    hub: Hub, alice: UnixUser, users: list[UnixUser]
) -> None:
    bob = users[1]
    url, _ = rendered_url(hub, alice)
    bob_token = hub.user_token(bob.name)
    assert hub.request("GET", url, token=bob_token)[0] == 403
    assert hub.request("GET", f"user/{alice.name}/api/vfs", token=bob_token)[0] == 403
    assert (
        hub.request("GET", f"user/{alice.name}/api/vfs", token=hub.user_token(alice.name))[0] == 200
    )

    bob_browser = hub.log_in(bob.name, PASSWORD)
    with bob_browser.open(hub.url + "hub/home", timeout=30) as page:  # logged in: no redirect
        assert page.geturl() == hub.url + "hub/home"
    assert hub.request("GET", url, opener=bob_browser)[0] == 403
    assert hub.request("GET", f"user/{alice.name}/api/vfs", opener=bob_browser)[0] == 403

    # Nor can bob look into alice's tiers as a local user.
    for base in alice_bases(alice):
        listing = subprocess.run(
            ["ls", "-R", str(base)], user=bob.name, capture_output=True, timeout=30
        )
        assert listing.returncode != 0 or not listing.stdout.strip(), listing.stdout


def alice_bases(alice: UnixUser) -> list[Path]:
    """alice's tier base directories (the defaults: /dev/shm and her runtime dir)."""
    return [
        Path(f"/dev/shm/vfs_ext-{alice.uid}"),
        alice.home / ".local/share/jupyter/runtime/vfs_ext",
    ]


def readable_by_others(uid: int) -> list[str]:
    """Folders of ``uid`` under /dev/shm and /tmp that other users may list."""
    found = []
    for top in (Path("/dev/shm"), Path("/tmp")):
        for path, mode, _ in tree(top):
            with _ignoring_races():
                st = os.lstat(path)
                if st.st_uid == uid and stat.S_ISDIR(st.st_mode) and mode & 0o004:
                    found.append(f"{path} {mode:o}")
    return found


class _ignoring_races:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> bool:
        return kind is not None and issubclass(kind, FileNotFoundError)


def test_stopping_a_server_while_its_kernel_writes_leaves_nothing(
    hub: Hub, alice: UnixUser, users: list[UnixUser]
) -> None:
    kernel_id, connection = new_kernel(hub, alice)
    run_code(connection, WRITE_IN_A_LOOP)
    memory = alice_bases(alice)[0]
    wait_until(lambda: len(tree(memory)) > 6, "the kernel's writes")
    pid = kernel_pid(kernel_id)

    hub.stop_server(alice.name)  # SIGINT, as LocalProcessSpawner stops servers
    wait_until(lambda: pid_gone(pid), "the orphaned kernel to exit", timeout=30)

    assert [tree(base) for base in alice_bases(alice)] == [[], []]
    assert readable_by_others(alice.uid) == []

"""No URL under ``@file/`` reaches a byte outside this server's own tier directories."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.server import RunningServer
from vfs_ext.names import group_key, new_name, owner_key
from vfs_ext.owner import Owner
from vfs_ext.store import Store

SECRET = b"FOREIGN-SECRET-" + secrets.token_hex(16).encode()


@pytest.fixture(scope="module")
def planted(server: RunningServer, store: Store, tmp_path_factory: pytest.TempPathFactory):
    """Files the server must never serve, each under a name that passes the name check."""
    outside = tmp_path_factory.mktemp("outside")
    names = {}

    # A file outside every tier, named like a virtual file.
    okey, gkey = owner_key("intruder"), group_key("")
    name = new_name(okey, gkey, "txt")
    (outside / name).write_bytes(SECRET)
    names["outside"] = name

    tier = store.tiers[0]
    # A symlink with a valid name, planted in our namespace, pointing outside.
    link_dir = tier.root / okey / gkey
    link_dir.mkdir(parents=True)
    name = new_name(okey, gkey, "txt")
    os.symlink(outside / names["outside"], link_dir / name)
    names["symlink"] = name

    # A group directory that is a symlink to a directory outside.
    gkey2 = group_key("cell")
    os.symlink(outside, tier.root / okey / gkey2)
    name = new_name(okey, gkey2, "txt")
    (outside / name).write_bytes(SECRET)
    names["symlinked_dir"] = name

    # A file in another server's namespace in the same tier base.
    other_ns = tier.base / "sforeignnamespace"
    name = new_name(okey, gkey, "txt")
    (other_ns / okey / gkey).mkdir(parents=True)
    (other_ns / okey / gkey / name).write_bytes(SECRET)
    names["other_namespace"] = name

    # A FIFO with a valid name: opening it must not hang the server.
    name = new_name(okey, gkey, "txt")
    os.mkfifo(link_dir / name)
    names["fifo"] = name

    yield names


@pytest.fixture(scope="module")
def valid_name(store: Store) -> Iterator[str]:
    o = store.open_owner("hostile-names-owner")
    info = o.write(b"a real file", ext="txt")
    yield info.name
    o.close(remove=True)


def assert_refused(server: RunningServer, raw_path: str) -> None:
    status, _, body = server.request("GET", "@file/" + raw_path)
    if ("@file/" + raw_path).endswith("/") and status in (301, 302):
        return  # jupyter_server's trailing-slash redirect, before any handler of ours
    assert 400 <= status < 500, (raw_path, status)
    assert SECRET not in body
    assert b"a real file" not in body


@pytest.mark.parametrize("kind", ["outside", "symlink", "symlinked_dir", "other_namespace", "fifo"])
def test_planted_files_are_not_served(server: RunningServer, planted: dict[str, str], kind: str):
    status, _, body = server.request("GET", "@file/" + planted[kind])
    assert status == 404
    assert SECRET not in body


@pytest.mark.parametrize(
    "raw",
    [
        "..",
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "%2E%2E%2Fsecret",
        "%2Fetc%2Fpasswd",
        "%00",
        "x" * 5000,
        "%C3%A9t%C3%A9.png",
        "..%5C..%5Cwindows",
        "sforeignnamespace%2Fx",
    ],
)
def test_hand_picked_hostile_names(server: RunningServer, planted: dict[str, str], raw: str):
    assert_refused(server, raw)


def _mutations(name: str) -> st.SearchStrategy[str]:
    """Near misses of a valid name: one character changed, inserted or removed, case, prefixes."""
    i = st.integers(0, len(name) - 1)
    char = st.sampled_from(list("/\\.%\x00 ABCDEFz-_é\n"))
    return st.one_of(
        st.builds(lambda k, c: name[:k] + c + name[k + 1 :], i, char),
        st.builds(lambda k, c: name[:k] + c + name[k:], i, char),
        st.builds(lambda k: name[:k] + name[k + 1 :], i),
        st.just(name.upper()),
        st.sampled_from(["../", "./", "/", "%2e%2e/"]).map(lambda p: p + name),
        st.just(name + "/"),
        st.just(name + ".."),
    )


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_hypothesis_hostile_names(
    server: RunningServer, planted: dict[str, str], valid_name: str, data: st.DataObject
) -> None:
    text = data.draw(
        st.one_of(
            st.text(max_size=300),
            st.lists(
                st.sampled_from(["..", ".", "", "etc", "passwd", *planted.values()]), max_size=6
            ).map("/".join),
            _mutations(valid_name).filter(lambda t: t != valid_name),
            st.sampled_from(list(planted.values())),
        )
    )
    # Both the fully escaped form (reaches our handler as one decoded segment) and the form a
    # path would take with its slashes left in.
    assert_refused(server, quote(text, safe=""))
    assert_refused(server, quote(text, safe="/"))


def test_valid_name_still_served(server: RunningServer, valid_name: str, owner: Owner) -> None:
    """The checks above refuse for the right reason: a real name is served."""
    status, _, body = server.request("GET", "@file/" + valid_name)
    assert status == 200
    assert body == b"a real file"

"""What the server exports is exactly what its kernels read back; sizes parse and print."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vfs_ext.config import (
    ALL_ENV,
    DEFAULT_THRESHOLD,
    DISK,
    ENV_NAMESPACE,
    ENV_TIERS,
    MEMORY,
    StoreConfig,
    TierSpec,
    format_size,
    parse_size,
)
from vfs_ext.store import Store

configs = st.builds(
    StoreConfig,
    tiers=st.lists(
        st.builds(
            TierSpec,
            name=st.sampled_from([MEMORY, DISK]),
            path=st.builds(Path, st.text(min_size=1).map(lambda s: "/" + s.replace("\0", ""))),
            budget=st.none() | st.integers(0, 2**50),
            keep_free=st.none() | st.integers(0, 2**50),
        ),
        min_size=1,
        max_size=3,
    ).map(tuple),
    namespace=st.from_regex(r"\As[0-9a-f]{16}\Z"),
    base_url=st.sampled_from(["/", "/user/alice/", "/user/ü ber/"]),
    max_file_size=st.none() | st.integers(0, 2**50),
    threshold=st.integers(0, 2**40),
    server_pid=st.none() | st.integers(1, 2**22),
)


@given(configs)
def test_env_round_trip(config):
    env = config.to_env()
    assert set(env) <= set(ALL_ENV)
    assert all(isinstance(v, str) for v in env.values())
    assert StoreConfig.from_env(env) == config


def test_threshold_zero_survives_the_round_trip():
    """0 means 'externalize everything'; it must not turn into the default."""
    config = StoreConfig(tiers=(TierSpec(DISK, Path("/x")),), namespace="s1", threshold=0)
    restored = StoreConfig.from_env(config.to_env())
    assert restored is not None and restored.threshold == 0
    env = config.to_env()
    del env["VFS_EXT_THRESHOLD"]
    restored = StoreConfig.from_env(env)
    assert restored is not None and restored.threshold == DEFAULT_THRESHOLD


def test_no_server_means_none():
    assert StoreConfig.from_env({}) is None
    assert StoreConfig.from_env({ENV_TIERS: "[]"}) is None
    assert Store.from_env({}) is None


@pytest.mark.parametrize(
    ("tiers", "extra"),
    [
        ("not json", {}),
        ('[{"path": "/x"}]', {}),
        ('[{"name": "disk"}]', {}),
        ("{}", {}),
        ('[{"name": "disk", "path": "/x", "budget": Infinity}]', {}),
        ('[{"name": "disk", "path": "/x", "budget": -5}]', {}),
        ('[{"name": "disk", "path": "/x", "budget": 1.5}]', {}),
        ('[{"name": "disk", "path": "/x", "budget": true}]', {}),
        ('[{"name": "disk", "path": "/x", "keep_free": -1}]', {}),
        ("[]", {"VFS_EXT_THRESHOLD": "-3"}),
        ("[]", {"VFS_EXT_MAX_FILE_SIZE": "1e5"}),
        ("[]", {"VFS_EXT_SERVER_PID": "x"}),
    ],
)
def test_malformed_env_is_a_clear_error(tiers, extra):
    with pytest.raises(ValueError, match=ENV_TIERS):
        StoreConfig.from_env({ENV_TIERS: tiers, ENV_NAMESPACE: "s1", **extra})


def test_resolved_config_reaches_a_kernel_store(store):
    """A kernel building its store from the exported env writes where the server looks."""
    env = store.resolved_config().to_env()
    kernel_store = Store.from_env(env)
    assert kernel_store is not None
    assert [t.root for t in kernel_store.tiers] == [t.root for t in store.tiers]
    assert [t.budget for t in kernel_store.tiers] == [t.budget for t in store.tiers]
    assert [t.keep_free for t in kernel_store.tiers] == [t.keep_free for t in store.tiers]
    assert all(t.budget > 0 for t in store.tiers)
    with kernel_store.open_owner("k") as owner:
        info = owner.write(b"hello", "txt")
    assert store.lookup(info.name).path.read_bytes() == b"hello"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4096", 4096),
        (4096, 4096),
        ("0", 0),
        ("256KB", 256_000),
        ("256KiB", 256 * 1024),
        ("256k", 256 * 1024),
        ("10MiB", 10 * 1024**2),
        ("10 MB", 10_000_000),
        ("1.5G", int(1.5 * 1024**3)),
        ("2gib", 2 * 1024**3),
        ("1_000", 1000),
        ("3T", 3 * 1024**4),
        ("12b", 12),
    ],
)
def test_parse_size(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    "text", ["", "MiB", "-1", "-1MiB", "10 XB", "1.2.3", "inf", "nan", "1e400", "ten", "1e400K"]
)
def test_parse_size_rejects_nonsense(text):
    with pytest.raises(ValueError, match="invalid size"):
        parse_size(text)


def test_format_size():
    assert format_size(0) == "0 B"
    assert format_size(1023) == "1023 B"
    assert format_size(1024) == "1.0 KiB"
    assert format_size(10 * 1024**2) == "10.0 MiB"
    assert format_size(3 * 1024**4) == "3072.0 GiB"


@given(st.integers(0, 2**45))
def test_format_then_parse_is_close(n):
    assert abs(parse_size(format_size(n)) - n) <= max(1, n * 0.05)


@given(st.text())
def test_parse_size_gives_bytes_or_a_clear_error(text):
    try:
        value = parse_size(text)
    except ValueError as exc:
        assert "invalid size" in str(exc)
    else:
        assert isinstance(value, int) and value >= 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(
    tiers=json_values.map(json.dumps) | st.text(),
    extra=st.dictionaries(
        st.sampled_from(["VFS_EXT_MAX_FILE_SIZE", "VFS_EXT_THRESHOLD", "VFS_EXT_SERVER_PID"]),
        st.text(max_size=8),
    ),
)
def test_from_env_never_crashes_on_garbage(tiers, extra):
    """A kernel started with a broken environment gets a clear ValueError, nothing else."""
    try:
        config = StoreConfig.from_env({ENV_TIERS: tiers, ENV_NAMESPACE: "s1", **extra})
    except ValueError as exc:
        assert "VFS_EXT" in str(exc)
    else:
        assert config is not None
        numbers = [t.budget for t in config.tiers] + [config.max_file_size, config.threshold]
        assert all(n is None or (type(n) is int and n >= 0) for n in numbers)

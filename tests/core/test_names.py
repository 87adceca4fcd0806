"""A name is unguessable, never repeats, and nothing but a real file of ours ever resolves:
hostile names, look-alikes and planted symlinks all come back as "not found"."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vfs_ext.names import NAME_PATTERN, NAME_RE, TOKEN_LEN, is_valid_name, new_name, parse_name
from vfs_ext.store import Store


@pytest.fixture
def planted(store: Store, tmp_path: Path) -> Iterator[dict]:
    """A store with one real file, plus secrets outside the tiers that hostile names aim at."""
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text("secret")
    with store.open_owner("victim") as owner:
        info = owner.write(b"real", "txt", "cell")
        yield {"store": store, "info": info, "owner": owner, "secret": secret}


def hostile_variants(real: str, secret: Path, store: Store) -> list[str]:
    owner, group, token_ext = real.split("-")
    token, ext = token_ext.split(".")
    root = store.tiers[0].root
    return [
        "",
        ".",
        "..",
        "/",
        "../" * 10 + "etc/passwd",
        str(secret),
        os.path.relpath(secret, root),
        os.path.relpath(secret, root / owner / group),
        real.upper(),
        real[:-1] + real[-1].upper(),
        real + "\0",
        "\0" + real,
        real + "/",
        "./" + real,
        f"{owner}/{group}/{real}",
        f"{owner}-{group}-{token}",  # no extension
        f"{owner}-{group}-{token}.",
        f"{owner}-{group}-{token[:-1]}.{ext}",  # 124 bits
        f"{owner}-{group}-{token}0.{ext}",
        f"{owner}-{group}-{token}.{ext}\n",
        f"{owner}-{group}-{token}.{ext}/..",
        f"{owner}-{group}-{token}.{'x' * 17}",
        f"{owner}-{group}-{token}.{ext} ",
        f"{owner}--{token}.{ext}",
        f"{owner}-{group}-{token}.{ext}".replace("-", "/"),
        f"{owner}-{group}-\u0430{token[1:]}.{ext}",  # Cyrillic a
        f"{owner}-{group}-" + "\u0663" * TOKEN_LEN + f".{ext}",  # Arabic-Indic digits
        ".lock",
        ".server.lock",
        ".budget.lock",
        ".events.jsonl",
        f"{owner}/.lock",
        "x" * 10_000,
        real * 2,
    ]


def test_the_real_name_resolves_and_nothing_close_does(planted):
    store, info = planted["store"], planted["info"]
    assert store.lookup(info.name) == info
    for name in hostile_variants(info.name, planted["secret"], store):
        assert store.lookup(name) is None, repr(name)
        assert not is_valid_name(name), repr(name)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    junk=st.text() | st.binary().map(lambda b: b.decode("latin-1")),
    where=st.sampled_from(["alone", "prefix", "suffix", "inside"]),
)
def test_hypothesis_hostile_names_never_resolve(planted, junk, where):
    store, real = planted["store"], planted["info"].name
    name = {
        "alone": junk,
        "prefix": junk + real,
        "suffix": real + junk,
        "inside": real[:20] + junk + real[20:],
    }[where]
    if name == real:
        return
    assert store.lookup(name) is None


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.from_regex(NAME_RE))
def test_valid_looking_names_of_nobody_do_not_resolve(store, name):
    assert is_valid_name(name)
    assert store.lookup(name) is None


@pytest.mark.parametrize("obj", [None, 0, b"abc", ["a"], {"a": 1}, Path("x"), object()])
def test_non_strings_are_not_names(store, obj):
    assert parse_name(obj) is None
    assert store.lookup(obj) is None


def test_names_are_random_and_never_repeat(store):
    """Tens of thousands of names: all distinct, and each of the 128 token bits varies."""
    with store.open_owner("k") as owner:
        written = {owner.write(b"", "bin", f"g{i % 7}").name for i in range(500)}
    assert len(written) == 500
    assert all(NAME_RE.fullmatch(n) for n in written)

    generated = [new_name("0" * 16, "0" * 12, "bin") for _ in range(20_000)]
    assert len(set(generated)) == len(generated)
    tokens = [int(m["token"], 16) for n in generated[:2000] if (m := NAME_RE.match(n))]
    assert len(tokens) == 2000 and TOKEN_LEN * 4 >= 128
    for bit in range(128):
        ones = sum((t >> bit) & 1 for t in tokens)
        assert 700 < ones < 1300, f"bit {bit} is set in {ones} of 2000 tokens"


def test_pattern_is_anchored_and_exported():
    assert re.fullmatch(NAME_PATTERN, "0" * 16 + "-" + "0" * 12 + "-" + "a" * 32 + ".png")
    assert NAME_RE.pattern.startswith(r"\A") and NAME_RE.pattern.endswith(r"\Z")


def test_planted_symlinks_never_resolve(store, tmp_path):
    """A symlink where the file, the group dir or the owner dir should be is not followed."""
    outside = tmp_path / "outside"
    outside.mkdir()
    tier = store.tiers[0]
    with store.open_owner("k") as owner:
        real = owner.write(b"real", "txt", "cell")
        owner_dir, group_dir = tier.root / real.owner, tier.root / real.owner / real.group

        # 1. the file itself: a symlink with a valid name pointing outside
        target = outside / "secret.txt"
        target.write_text("secret")
        fake_file = new_name(real.owner, real.group, "txt")
        (group_dir / fake_file).symlink_to(target)

        # 2. a group dir that is a symlink to a dir holding a valid-looking file
        fake_group_name = new_name(real.owner, "f" * 12, "txt")
        (outside / fake_group_name).write_text("secret")
        (owner_dir / ("f" * 12)).symlink_to(outside)

        # 3. an owner dir that is a symlink to a tree with owner/group/file
        (outside / ("e" * 12)).mkdir()
        fake_owner_name = new_name("e" * 16, "e" * 12, "txt")
        (outside / ("e" * 12) / fake_owner_name).write_text("secret")
        (tier.root / ("e" * 16)).symlink_to(outside)

        # 4. a fifo and a directory with valid names (not regular files)
        fifo = new_name(real.owner, real.group, "txt")
        os.mkfifo(group_dir / fifo)
        subdir = new_name(real.owner, real.group, "txt")
        (group_dir / subdir).mkdir()

        for name in (fake_file, fake_group_name, fake_owner_name, fifo, subdir):
            assert store.lookup(name) is None, name
        assert store.lookup(real.name) is not None
        names = {f.name for f in owner.files()}
        assert names == {real.name}, "listing does not follow planted entries either"
        stats = store.stats().to_json()
        assert stats["tiers"][0]["files"] == 1


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(owner_id=st.text(), group=st.text())
def test_any_owner_id_and_group_work(store, owner_id, group):
    """Kernel ids and cell ids are hashed into the name: any text is fine, none leaks out."""
    with store.open_owner(owner_id) as owner:
        info = owner.write(b"data", "txt", group)
        assert is_valid_name(info.name)
        assert store.lookup(info.name) == info
        assert owner.release_group(group) == 1
        assert store.lookup(info.name) is None
    store.release_owner(owner_id)

"""The docs say what the code does: every setting and environment variable is documented, and
links between the docs lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from server_side.traits import VirtualFilesConfig
from tests.support.markdown import (
    REPO,
    anchors,
    code_blocks,
    links,
    read,
    section,
    table_keys,
)
from vfs_ext import config


def test_settings_table_lists_every_trait() -> None:
    traits = set(VirtualFilesConfig.class_own_traits(config=True))
    documented = table_keys(section(read("docs/admin.md"), "Settings"))
    assert sorted(traits - set(documented)) == [], "settings missing from docs/admin.md"
    assert sorted(set(documented) - traits) == [], "docs/admin.md lists settings that do not exist"
    assert len(documented) == len(set(documented)), "a setting is listed twice"


def test_environment_variables_are_documented() -> None:
    source = Path(config.__file__).read_text(encoding="utf-8")
    defined = set(re.findall(r"\"(VFS_EXT_[A-Z_]+)\"", source))
    assert defined == set(config.ALL_ENV), "config.ALL_ENV misses a variable config.py defines"
    documented = set(table_keys(section(read("docs/admin.md"), "Environment variables")))
    assert sorted(defined - documented) == [], "variables missing from docs/admin.md"
    assert sorted(documented - defined) == [], "docs/admin.md lists variables that do not exist"


def test_setup_commands_are_make_targets() -> None:
    (block,) = code_blocks(section(read("README.md"), "Set-up"), "bash")
    commands = [line.split("#")[0].split() for line in block.splitlines() if line.strip()]
    assert commands == [["make", "demo"], ["make", "test"]]
    makefile = read("Makefile")
    for _, target in commands:
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), target


def _doc_pages() -> list[str]:
    pages = ["README.md", "examples/README.md"]
    pages += sorted(str(p.relative_to(REPO)) for p in (REPO / "docs").glob("*.md"))
    return pages


@pytest.mark.parametrize("page", _doc_pages())
def test_relative_links_resolve(page: str) -> None:
    base = (REPO / page).parent
    dangling = []
    for target in links(read(page)):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not ours to check offline
        path, _, anchor = target.partition("#")
        resolved = (base / path).resolve() if path else REPO / page
        missing = not resolved.exists()
        if missing or (anchor and anchor not in anchors(resolved.read_text(encoding="utf-8"))):
            dangling.append(target)
    assert dangling == []

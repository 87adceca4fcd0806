"""Reading the project's Markdown docs in tests: sections, fenced code, tables and links.

Just enough of CommonMark for files we write ourselves: ATX headings, ``` fences, pipe tables.
"""

from __future__ import annotations

import re

from . import REPO

_FENCE = re.compile(r"^```(?P<lang>\w*)\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\((?P<target>[^)\s]+)\)")


def read(relative: str) -> str:
    return (REPO / relative).read_text(encoding="utf-8")


def _without_code(text: str) -> str:
    return _FENCE.sub("", text)


def section(text: str, heading: str) -> str:
    """The body under the heading whose title starts with ``heading``, up to the next heading
    of the same or a higher level (headings inside code fences do not count)."""
    lines = text.splitlines(keepends=True)
    start: int | None = None
    level = 0
    in_fence = False
    for i, line in enumerate(lines):
        if line.startswith("```"):
            in_fence = not in_fence
            continue
        match = None if in_fence else re.match(r"(#+) (.*)", line)
        if match is None:
            continue
        if start is None:
            if match[2].startswith(heading):
                start, level = i + 1, len(match[1])
        elif len(match[1]) <= level:
            return "".join(lines[start:i])
    if start is None:
        raise LookupError(f"no heading starting with {heading!r}")
    return "".join(lines[start:])


def code_blocks(text: str, lang: str) -> list[str]:
    """The bodies of the fenced code blocks tagged ``lang``, in order."""
    return [m["body"] for m in _FENCE.finditer(text) if m["lang"] == lang]


def table_keys(text: str) -> list[str]:
    """The backticked names in the first column of the pipe tables in ``text``."""
    keys = []
    for line in _without_code(text).splitlines():
        cells = line.split("|")
        if len(cells) > 2 and line.startswith("|"):
            keys += re.findall(r"`([^`]+)`", cells[1])
    return keys


def links(text: str) -> list[str]:
    """The targets of Markdown links (not images) outside code."""
    return [m["target"] for m in _LINK.finditer(_without_code(text))]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    return {slug(m[1]) for m in re.finditer(r"^#+ (.*)$", _without_code(text), re.MULTILINE)}

"""Virtual file names: unguessable, never reused, and checkable before any filesystem access.

A name is ``<owner key>-<group key>-<token>.<ext>``. The owner and group keys are short hashes
that tell the lookup which directory to look in (one ``lstat`` per tier, no directory scans);
the token carries 128 random bits, so a name is never reused and cannot be guessed.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from .errors import InvalidExtension

OWNER_KEY_LEN = 16
GROUP_KEY_LEN = 12
TOKEN_LEN = 32  # hex digits: 128 random bits
MAX_EXT_LEN = 16
NAMESPACE_LEN = 16  # hex digits after the "s"

#: The one pattern every virtual file name matches; the server checks it before touching disk.
NAME_PATTERN = (
    rf"(?P<owner>[0-9a-f]{{{OWNER_KEY_LEN}}})"
    rf"-(?P<group>[0-9a-f]{{{GROUP_KEY_LEN}}})"
    rf"-(?P<token>[0-9a-f]{{{TOKEN_LEN}}})"
    rf"\.(?P<ext>[a-z0-9]{{1,{MAX_EXT_LEN}}})"
)
NAME_RE = re.compile(rf"\A{NAME_PATTERN}\Z")
#: Directories a sweep may remove: a server's namespace and an owner's directory. Anything else
#: in a tier directory (an admin may point it at a shared one) is not ours and is left alone.
NAMESPACE_RE = re.compile(rf"\As[0-9a-f]{{{NAMESPACE_LEN}}}\Z")
OWNER_KEY_RE = re.compile(rf"\A[0-9a-f]{{{OWNER_KEY_LEN}}}\Z")
_EXT_RE = re.compile(rf"\A[a-z0-9]{{1,{MAX_EXT_LEN}}}\Z")

#: The group of files that belong to the whole owner rather than to one cell run.
DEFAULT_GROUP = ""


def _key(text: str, length: int) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:length]


def owner_key(owner_id: str) -> str:
    """Directory key of an owner (one per kernel session, e.g. the kernel id)."""
    return _key(f"owner:{owner_id}", OWNER_KEY_LEN)


def group_key(group: str) -> str:
    """Directory key of a group (e.g. one cell's run); the default group is all zeros."""
    if group == DEFAULT_GROUP:
        return "0" * GROUP_KEY_LEN
    return _key(f"group:{group}", GROUP_KEY_LEN)


def normalize_ext(ext: str | None) -> str:
    """Lower-case an extension (with or without its dot); ``bin`` when absent."""
    ext = (ext or "bin").lower().lstrip(".")
    if not _EXT_RE.match(ext):
        raise InvalidExtension(
            f"invalid extension {ext!r}: use 1-{MAX_EXT_LEN} lower-case letters or digits"
        )
    return ext


def new_namespace() -> str:
    """A fresh namespace for one server run (matches NAMESPACE_RE)."""
    return f"s{secrets.token_hex(NAMESPACE_LEN // 2)}"


def new_name(owner: str, group: str, ext: str | None) -> str:
    """A fresh name for ``owner``/``group`` keys (already hashed) with 128 random bits."""
    return f"{owner}-{group}-{secrets.token_hex(TOKEN_LEN // 2)}.{normalize_ext(ext)}"


def parse_name(name: object) -> re.Match[str] | None:
    """The match of a valid name, or None; accepts any object so hostile input is safe."""
    if not isinstance(name, str) or len(name) > 128:
        return None
    return NAME_RE.match(name)


def is_valid_name(name: object) -> bool:
    return parse_name(name) is not None

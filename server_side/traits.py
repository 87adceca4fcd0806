"""A traitlets type for byte sizes, so admins can write ``2GiB`` where bytes are meant."""

from __future__ import annotations

from typing import Any

from traitlets import TraitError, TraitType

from vfs_ext.config import parse_size


class ByteSize(TraitType[Any, Any]):
    """Bytes as an int; accepts ``4096``, ``"256KiB"``, ``"2GiB"`` (config files and the CLI)."""

    info_text = "a size in bytes (an int, or a string such as '256KiB', '10MiB', '2GiB')"

    def validate(self, obj: Any, value: Any) -> int | None:
        if value is None and self.allow_none:
            return None
        if isinstance(value, bool):
            self.error(obj, value)
        if isinstance(value, (int, str)):
            try:
                size = parse_size(value)
            except ValueError as exc:
                raise TraitError(f"{self.name}: {exc}") from exc
            if size < 0:
                raise TraitError(f"{self.name}: {value!r} is negative")
            return size
        self.error(obj, value)

    def from_string(self, s: str) -> int | None:
        if self.allow_none and s.strip() in ("", "None"):
            return None
        return self.validate(None, s)

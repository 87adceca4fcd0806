"""The one exception users see: it always says which setting to change."""


class VirtualFileError(Exception):
    """A virtual file could not be written, found or configured."""

"""``GET/HEAD {base_url}@file/<name>``: a virtual file, served like jupyter_server's ``/files/``.

Modelled on ``jupyter_server.base.handlers.AuthenticatedFileHandler``: tornado's
``StaticFileHandler`` does Range/206/416, HEAD, If-None-Match/304 and streaming; we override only
where a virtual file differs from a file under a static root, each override saying why.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import JupyterHandler
from tornado import web

from vfs_ext.mimes import is_passive, mime_for_ext
from vfs_ext.names import parse_name
from vfs_ext.store import Store
from vfs_ext.tiers import FileInfo

from .counters import ServerCounters
from .persist import Saved
from .streaming import DEFAULT_CHUNK_SIZE, StreamingFileHandler

#: Finds the sidecar copy a saved notebook keeps of a name no tier holds (server_side.persist).
FindSaved = Callable[[str], Awaitable[Saved | None]]

#: Route, relative to base_url (ExtensionApp prepends it). Any one path segment reaches the
#: handler, so a bad name gets our explanation rather than tornado's bare 404.
ROUTE = r"/@file/(?P<name>[^/]+)"

#: A virtual file's name is never reused for other bytes, so a response never goes stale.
CACHE_CONTROL = "private, max-age=31536000, immutable"

NOT_FOUND = (
    "virtual file not found: it was released (its cell was re-run or its kernel shut down) "
    "or never existed"
)
BAD_NAME = "not a virtual file name"
TOKEN_IN_URL = (
    "this file can run scripts, and a script can read the token in its own URL (then act as "
    "you). Open it without ?token= from a page of this server you are logged in to, or send "
    "the token in an 'Authorization: token ...' header"
)

_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_UNSAFE_FILENAME = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|]+')
MAX_FILENAME = 200


def _mime_of(name: str) -> str | None:
    """The type a valid name is served as; None for anything that is not a virtual file name."""
    match = parse_name(name)
    return None if match is None else mime_for_ext(match["ext"])


def _passive(name: str) -> bool:
    """Whether a browser shows this name's type without running anything in it."""
    mime = _mime_of(name)
    return mime is not None and is_passive(mime)


def safe_filename(requested: str | None, fallback: str) -> str:
    """A download name without path parts, control characters or quotes; ``fallback`` if empty."""
    name = (requested or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_FILENAME.sub("_", name).strip(" .")[:MAX_FILENAME].strip(" .")
    return name or fallback


def content_disposition(filename: str) -> str:
    """RFC 6266 ``attachment`` with an ASCII ``filename`` and the exact RFC 5987 ``filename*``."""
    ascii_name = filename.encode("ascii", "replace").decode("ascii").replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


class VirtualFileHandler(JupyterHandler, StreamingFileHandler):
    """Serve one virtual file from this server's tiers, authenticated like ``/files/``."""

    auth_resource = "contents"

    def initialize(  # type: ignore[override]
        self,
        store: Store,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        find_saved: FindSaved | None = None,
        counters: ServerCounters | None = None,
    ) -> None:
        # No static root: names are looked up in the store's tier directories, then in the
        # sidecars of saved notebooks.
        self.store = store
        self.chunk_size = chunk_size
        self.find_saved = find_saved
        self.counters = counters
        self._saved: Saved | None = None
        self._info: FileInfo | None = None
        self.root = ""
        self.default_filename = None

    @property
    def content_security_policy(self) -> str:
        # Read in set_default_headers, before get() runs: decide from the URL. Anything a browser
        # might run script in (HTML, SVG, JS, XML types, any type not known to be passive) runs
        # in an opaque origin so it cannot act as the Jupyter user. Passive types gain nothing
        # from the sandbox, and older Chromium releases refuse to show a PDF in a sandboxed
        # document, so they are served without it.
        csp = super().content_security_policy
        if not _passive(self.request.path.rsplit("/", 1)[-1]):
            csp += "; sandbox allow-scripts"
        return csp

    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:  # type: ignore[override]
        """The file's bytes (or the requested range of them)."""
        await self._serve(name, include_body=True)

    @web.authenticated
    @authorized
    async def head(self, name: str) -> None:  # type: ignore[override]
        """The headers GET would send, without the body."""
        await self._serve(name, include_body=False)

    async def _serve(self, name: str, include_body: bool) -> None:
        self.check_xsrf_cookie()  # as /files/: token, XSRF cookie, or a same-origin Referer
        if "token" in self.request.query_arguments and not _passive(name):
            # Refused rather than redirected to the URL without it: the login cookie would be
            # set by then, but jupyter_server's XSRF check refuses a cookie-only GET without a
            # Referer, which is what a pasted URL is.
            raise web.HTTPError(403, TOKEN_IN_URL)
        if self.get_argument("download", None) not in (None, "", "0"):
            filename = safe_filename(self.get_argument("filename", None), name)
            self.set_header("Content-Disposition", content_disposition(filename))
        # Looked up once per request: validate_absolute_path opens what is found here.
        self._info = self.store.lookup(name)
        if self.find_saved is not None and parse_name(name) and self._info is None:
            self._saved = await self.find_saved(name)  # its kernel is gone: a saved copy?
            if self._saved is not None:
                self._fd = self._saved.fd  # closed like a tier file's
        await web.StaticFileHandler.get(self, name, include_body=include_body)

    @classmethod
    def get_absolute_path(cls, root: str, path: str) -> str:
        # Nothing to join: the name is resolved by the store in validate_absolute_path.
        return path

    def validate_absolute_path(self, root: str, absolute_path: str) -> str:
        """Look the name up in our tiers and open it, so headers and bytes share one inode.

        The name is checked before any filesystem access; the file is opened without following
        symlinks and must be a regular file. Once open, releasing the file cannot cut the
        response short: the descriptor keeps the inode until we close it.
        """
        if parse_name(absolute_path) is None:
            raise web.HTTPError(404, BAD_NAME)
        if self._saved is not None:  # opened and checked against its hash by find_saved
            self._stat_result = self._saved.stat
            return absolute_path
        info = self._info  # looked up by _serve, the one way in (GET and HEAD)
        if info is None:
            raise web.HTTPError(404, NOT_FOUND)
        try:
            fd = os.open(info.path, _OPEN_FLAGS)
        except OSError:
            raise web.HTTPError(404, NOT_FOUND) from None
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise web.HTTPError(404, NOT_FOUND)
        self._fd = fd
        self._stat_result = st  # tornado would otherwise stat the path again (through links)
        return str(info.path)

    def compute_etag(self) -> str | None:
        # Strong and free: the name is never reused for other bytes (the default hashes the file).
        if getattr(self, "absolute_path", None) is None:
            return None
        if self._saved is not None:  # the same bytes have the same tag wherever they are kept
            return f'"sha256-{self._saved.digest}"'
        return f'"{self.path}"'

    def get_content_type(self) -> str:
        # Decided by the extension the kernel wrote the file with; unknown -> octet-stream.
        mime = _mime_of(self.path) or "application/octet-stream"
        return f"{mime}; charset=utf-8" if mime.startswith("text/") else mime

    def set_extra_headers(self, path: str) -> None:
        self.set_header("Cache-Control", CACHE_CONTROL)
        self.set_header("X-Content-Type-Options", "nosniff")  # even if settings["headers"] differ

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """A one-line explanation; a page with scripts and styles would not fit in an <img>."""
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = getattr(exc, "log_message", None) or self._reason
        self.finish(f"{status_code} {self._reason}: {message}\n")

    def on_finish(self) -> None:
        if self.counters is not None:
            self.counters.served(self.get_status(), self._sent)
        super().on_finish()

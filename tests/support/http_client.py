"""The tests' HTTP client: one request, answered as (status, headers, body), whatever the status.

Tests look at redirects and error statuses rather than follow or raise on them, so ``fetch``
follows no redirect (unless given an opener that does) and returns 4xx/5xx answers like 2xx ones.
For a response read at the test's own pace (a stalled or abandoned download), see ``connect``.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from typing import Any

#: status, headers (names lower-cased), body
Response = tuple[int, dict[str, str], bytes]

TIMEOUT = 30.0


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def no_redirects() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(_NoRedirect)


def fetch(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    opener: urllib.request.OpenerDirector | None = None,
    timeout: float = TIMEOUT,
) -> Response:
    """One request to ``url``; the response whatever its status, redirects not followed."""
    req = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    try:
        with (opener or no_redirects()).open(req, timeout=timeout) as resp:
            return resp.status, _lower(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, _lower(err.headers.items()), err.read()


def connect(
    port: int, method: str, path: str, headers: dict[str, str] | None = None
) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    """A request to 127.0.0.1:``port`` whose body the caller reads (or abandons) at its own pace;
    the caller closes the connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    conn.request(method, path, headers=headers or {})
    return conn, conn.getresponse()


def _lower(items: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in items}

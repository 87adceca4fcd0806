"""What Chromium does with virtual files: active content is confined, a PDF still displays."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.media import pdf_bytes
from tests.support.server import RunningServer
from vfs_ext.owner import Owner

pytestmark = pytest.mark.browser

#: Chromium's built-in PDF viewer runs in this extension's frame.
PDF_VIEWER = "chrome-extension://mhjfbmdgcfjbbpaeojofohoefgiehjai/"


@pytest.fixture(scope="module")
def page(server: RunningServer, browser: Any) -> Iterator[Any]:
    """A logged-in page (the token login sets the cookie, as in a real session)."""
    ctx = browser.new_context()
    try:
        pg = ctx.new_page()
        pg.set_default_timeout(30_000)
        pg.goto(f"{server.url}api/status?token={server.token}")
        yield pg
    finally:
        ctx.close()


ACTIVE = b"""<!doctype html><script>
fetch("/api/contents", {credentials: "include"})
  .then(r => r.status, () => "blocked")
  .then(s => { document.title = "origin=" + window.origin + " api=" + s; });
</script>"""


def test_html_runs_in_an_opaque_origin(server: RunningServer, owner: Owner, page: Any) -> None:
    """A virtual HTML file's scripts run, but not as the Jupyter user."""
    name = owner.write(ACTIVE, ext="html").name
    page.goto(f"{server.url}@file/{name}", referer=server.url)
    page.wait_for_function("document.title.includes('api=')")
    assert page.title() == "origin=null api=blocked"


def test_pdf_displays_in_chromium(server: RunningServer, owner: Owner, page: Any) -> None:
    """Chromium's viewer opens it. (Chromium 156 shows PDFs even under ``sandbox``; older
    versions did not, which is why passive types are served without it.)"""
    name = owner.write(pdf_bytes(), ext="pdf").name
    with page.expect_event("framenavigated", predicate=lambda f: f.url.startswith(PDF_VIEWER)):
        response = page.goto(f"{server.url}@file/{name}", referer=server.url)
    assert response is not None
    assert response.status == 200


#: Puts its own URL where the test (or an attacker's server) can read it.
SHOWS_ITS_URL = b"<!doctype html><script>document.title = 'url=' + location.href;</script>"


def test_a_token_in_the_url_never_reaches_an_active_files_script(
    server: RunningServer, owner: Owner, browser: Any
) -> None:
    name = owner.write(SHOWS_ITS_URL, ext="html").name
    ctx = browser.new_context()  # not logged in: the URL's token is all it has
    try:
        pg = ctx.new_page()
        pg.set_default_timeout(30_000)
        response = pg.goto(f"{server.url}@file/{name}?token={server.token}")
        assert response is not None and response.status == 403
        assert "url=" not in pg.title()  # the file's script never ran
        assert "Authorization: token" in pg.inner_text("body")
        # The token logged the browser in: opened from a page of the server, the file runs,
        # and its URL carries no token.
        response = pg.goto(f"{server.url}@file/{name}", referer=server.url)
        assert response is not None and response.status == 200
        pg.wait_for_function("document.title.startsWith('url=')")
        assert pg.title() == f"url={server.url}@file/{name}"
    finally:
        ctx.close()

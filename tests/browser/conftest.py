"""Fixtures for the browser tests: one headless Chromium per module, real Jupyter servers.

Debian's ``/usr/bin/chromium`` is driven through Playwright (Playwright cannot download its own
browser here). Screenshots go to ``test-artifacts/browser/`` (one per scenario, plus one for
every failure).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.assets import write_assets
from tests.support.browser import artifact


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    """Remember each phase's outcome so fixtures can screenshot failures."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def context(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context (cookies, cache, downloads) per test; screenshot on failure."""
    ctx = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 1800})
    ctx.set_default_timeout(30_000)
    try:
        yield ctx
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            for n, page in enumerate(p for p in ctx.pages if not p.is_closed()):
                try:
                    page.screenshot(path=str(artifact(f"{request.node.name}-failed-{n}.png")))
                except Exception:  # a crashed page must not hide the test's own failure
                    pass
        ctx.close()


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real media files (PNG, WebM, WAV, PDF, CSV), made once per session."""
    pytest.importorskip("imageio_ffmpeg", reason="the test extra makes the video")
    return write_assets(tmp_path_factory.mktemp("media"))

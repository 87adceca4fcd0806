"""Fixtures for the browser tests: one headless Chromium per module, real Jupyter servers.

Debian's ``/usr/bin/chromium`` is driven through Playwright (Playwright cannot download its own
browser here). Screenshots go to ``test-artifacts/browser/`` (one per scenario, plus one for
every failure).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.assets import write_assets

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"

#: JupyterLab / Notebook 7 user settings for a private settings dir: no news pop-up over the
#: notebook, and every cell kept in the DOM (windowing would detach off-screen outputs).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


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


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return ARTIFACTS / safe


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real media files (PNG, WebM, WAV, PDF, CSV), made once per session."""
    pytest.importorskip("imageio_ffmpeg", reason="the demo extra makes the test video")
    return write_assets(tmp_path_factory.mktemp("media"))


def jupyter_env(base: Path) -> dict[str, str]:
    """Private JupyterLab settings and data dirs (notebook signatures live in the data dir)."""
    settings = base / "lab-settings"
    for rel, value in LAB_SETTINGS.items():
        path = settings / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    data = base / "data"
    data.mkdir(parents=True, exist_ok=True)
    return {
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
        "JUPYTER_DATA_DIR": str(data),
    }

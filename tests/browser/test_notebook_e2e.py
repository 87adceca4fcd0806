"""What a user sees, in JupyterLab 4 and Notebook 7, with and without a JupyterHub base_url.

One real server per (front end, base_url); in each, two notebooks:
- every helper and ``%%vfs``: image, seekable video (Range -> 206), audio, PDF, download; then
  the same notebook reopened untrusted (sanitized HTML) still shows them;
- the lifecycle: kernel restart keeps outputs, a re-run replaces them (old URL 404), and a
  saved notebook reopens with its outputs while staying a few KiB on disk.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests.support.browser import artifact, jupyter_env, write_notebook
from tests.support.jupyter_ui import NotebookUI
from tests.support.server import RunningServer, jupyter_server

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

SETUP = "%load_ext vfs_ext\nimport vfs_ext"
FILE_ATTRS = "[src*='@file/'], [href*='@file/'], [data*='@file/']"
#: An externalized output in the .ipynb: the HTML, a text/plain line and the metadata record.
MAX_BYTES_PER_OUTPUT = 2048


@pytest.fixture(
    scope="module",
    params=[("lab", "/"), ("notebook", "/"), ("lab", "/user/alice/"), ("notebook", "/user/alice/")],
    ids=["lab", "notebook", "lab-hub", "notebook-hub"],
)
def server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    media: dict[str, Path],
) -> Iterator[tuple[str, RunningServer]]:
    app, base_url = request.param
    tmp = tmp_path_factory.mktemp(f"{app}-server")
    with jupyter_server(tmp, app=app, base_url=base_url, env=jupyter_env(tmp / "jupyter")) as srv:
        for f in media.values():
            shutil.copyfile(f, srv.root_dir / f.name)  # the kernel's cwd is the notebook's dir
        yield app, srv


def file_url(ui: NotebookUI, index: int, selector: str = FILE_ATTRS) -> str:
    """The (single) virtual-file URL an output references, as written in the HTML."""
    el = ui.outputs(index).locator(selector).first
    url = el.evaluate(
        "el => el.getAttribute('src') || el.getAttribute('href') || el.getAttribute('data')"
    )
    assert url, f"cell {index}: no virtual-file URL in {ui.outputs(index).inner_html()[:500]}"
    return url


def range_start(response: Any) -> int | None:
    match = re.match(r"bytes=(\d+)-", response.request.headers.get("range", ""))
    return int(match.group(1)) if match else None


def screenshot(ui: NotebookUI, name: str) -> None:
    ui.page.screenshot(path=str(artifact(f"{name}.png")), full_page=True)


def test_helpers_render(
    server: tuple[str, RunningServer], context: Any, media: dict[str, Path]
) -> None:
    app, srv = server
    path = srv.root_dir / "helpers.ipynb"
    write_notebook(
        path,
        [
            SETUP,
            "vfs_ext.image('picture.png', width=400, alt='picture')",
            "vfs_ext.video('clip.webm', width=320, muted=True)",
            "vfs_ext.audio('tone.wav')",
            "vfs_ext.pdf('report.pdf', height=300)",
            "vfs_ext.download('table.csv', 'squares.csv', label='Get squares.csv')",
            "%%vfs --threshold 64KiB\n"
            "from IPython.display import Image\n"
            "Image(filename='picture.png', width=200)",
        ],
    )
    ui = NotebookUI(context, app, srv.url, srv.token, "helpers.ipynb").open()
    ui.run_cells(range(7))
    prefix = f"{srv.base_url}@file/"
    urls = {i: file_url(ui, i) for i in range(1, 7)}
    for i, url in urls.items():
        assert url.startswith(prefix), f"cell {i}: {url} is not under {prefix}"

    # Images: the helper and %%vfs both turn into <img src> that the browser decodes.
    for i in (1, 6):
        assert ui.wait_image(ui.outputs(i).locator("img").first) == 900, f"cell {i}"
    assert "base64" not in ui.outputs(6).inner_html()

    # Video: decodable, and a seek to the middle fetches the middle with a 206.
    video = ui.outputs(2).locator("video").first
    assert ui.wait_media_ready(video, play=False) >= 2
    size = media["webm"].stat().st_size
    with ui.page.expect_response(
        lambda r: (
            "/@file/" in r.url
            and r.status == 206
            and (range_start(r) or 0) > size // 5
            and (range_start(r) or 0) < size * 4 // 5
        ),
        timeout=30_000,
    ) as seek_response:
        assert ui.seek_middle(video) > 0
    assert seek_response.value.headers["content-range"].startswith(
        f"bytes {range_start(seek_response.value)}-"
    )

    # Audio: decodable once asked to play.
    assert ui.wait_media_ready(ui.outputs(3).locator("audio").first, play=True) >= 2

    # PDF: an element shows it and its URL answers with the PDF.
    pdf_el = ui.outputs(4).locator("object[data*='@file/'], iframe[src*='@file/']").first
    pdf_el.scroll_into_view_if_needed()
    box = pdf_el.bounding_box()
    assert box and box["height"] > 100, box
    status, headers, body = srv.fetch(urls[4])
    assert status == 200
    assert headers["content-type"] == "application/pdf"
    assert body == media["pdf"].read_bytes()

    # Download: the link saves a file under the given name with the exact bytes.
    link = ui.outputs(5).locator("a[href*='@file/']").first
    assert link.inner_text() == "Get squares.csv"
    with ui.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == "squares.csv"
    assert Path(download.path()).read_bytes() == media["csv"].read_bytes()

    ui.cell(0).scroll_into_view_if_needed()
    screenshot(ui, f"helpers-{app}-{srv.base_url.strip('/').replace('/', '-') or 'root'}")

    # Changed on disk while the server runs (a git pull, nbstripout...): the notebook reopens
    # untrusted and its HTML is sanitized; what the outputs rely on survives it.
    ui.save()
    nb = nbformat.read(path, as_version=4)
    nb.metadata["edited_elsewhere"] = True
    nbformat.write(nb, path)
    model = srv.api("GET", "api/contents/helpers.ipynb")
    assert not any(c["metadata"].get("trusted") for c in model["content"]["cells"])
    ui.reopen()
    for i in (1, 6):
        assert ui.wait_image(ui.outputs(i).locator("img").first) == 900, f"untrusted cell {i}"
    assert ui.wait_media_ready(ui.outputs(2).locator("video").first, play=False) >= 2
    assert ui.wait_media_ready(ui.outputs(3).locator("audio").first, play=True) >= 2
    assert ui.outputs(4).locator("a[href*='@file/']").count() == 1, "the PDF link"
    assert ui.outputs(5).locator("a[href*='@file/']").inner_text() == "Get squares.csv"
    ui.cell(0).scroll_into_view_if_needed()
    screenshot(ui, f"untrusted-{app}-{srv.base_url.strip('/').replace('/', '-') or 'root'}")

    assert ui.problems.ours() == []
    assert "Traceback" not in srv.log_text()


def test_restart_rerun_reopen(server: tuple[str, RunningServer], context: Any) -> None:
    app, srv = server
    path = srv.root_dir / "lifecycle.ipynb"
    write_notebook(
        path,
        [
            SETUP,
            "vfs_ext.image('picture.png', width=300)",
            "%%vfs --threshold 64KiB\n"
            "from IPython.display import Image\n"
            "Image(filename='picture.png', width=300)",
        ],
    )
    ui = NotebookUI(context, app, srv.url, srv.token, "lifecycle.ipynb").open()
    ui.run_cells(range(3))
    helper_url, magic_url = file_url(ui, 1), file_url(ui, 2)
    for i in (1, 2):
        assert ui.wait_image(ui.outputs(i).locator("img").first) > 0

    # Restart: what is on screen stays viewable.
    ui.restart_kernel()
    for url in (helper_url, magic_url):
        assert srv.fetch(url)[0] == 200, url
    for i in (1, 2):
        assert ui.outputs(i).locator("img").first.evaluate("img => img.naturalWidth") > 0

    # Re-run the image cell: a new file replaces the old one, which is gone.
    ui.run_cell(0)
    assert ui.run_cell(1) == 2, "the kernel did not restart (execution count not reset)"
    new_url = file_url(ui, 1)
    assert new_url != helper_url
    assert ui.wait_image(ui.outputs(1).locator("img").first) > 0
    status, _, body = srv.fetch(helper_url)
    assert status == 404, (status, body[:200])
    assert srv.fetch(magic_url)[0] == 200  # its cell was not re-run

    # Save, close, reopen while the server runs: trusted, rendered, small on disk.
    ui.save()
    size = path.stat().st_size
    sources = sum(len(c.source) for c in nbformat.read(path, as_version=4).cells)
    assert size < 1024 + sources + 2 * MAX_BYTES_PER_OUTPUT, f"{path.name} is {size} bytes"
    model = srv.api("GET", "api/contents/lifecycle.ipynb")
    assert all(c["metadata"].get("trusted") for c in model["content"]["cells"]), "not trusted"

    ui.reopen()
    assert file_url(ui, 1) == new_url and file_url(ui, 2) == magic_url
    for i in (1, 2):
        assert ui.wait_image(ui.outputs(i).locator("img").first) > 0, f"cell {i} after reopen"
    screenshot(ui, f"lifecycle-{app}-{srv.base_url.strip('/').replace('/', '-') or 'root'}")
    assert ui.problems.ours() == []

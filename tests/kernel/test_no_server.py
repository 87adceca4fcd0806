"""A kernel no vfs_ext server started (VS Code, nbclient, plain jupyter_client): everything
still displays, inline, with one notice; ``vfile()`` gives ``data:`` URLs up to a limit."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_client.manager import KernelManager

from kernel_side.discovery import config_from_server_info
from tests.support.server import RunningServer
from vfs_ext.config import ALL_ENV, StoreConfig, TierSpec

from .conftest import Kernel, new_cell_id

SETUP = """
%load_ext vfs_ext
import base64, io
import vfs_ext
from IPython.display import Image, display
from PIL import Image as P
b = io.BytesIO(); P.new("RGB", (300, 300), "blue").save(b, "png", compress_level=0)
png = b.getvalue()
"""


@pytest.fixture(scope="module")
def k(server: RunningServer) -> Iterator[Kernel]:
    """Started by jupyter_client without VFS_EXT_* but whose JPY_PARENT_PID is a running
    Jupyter server: its server info file has no vfs_ext record, so this is "no server" too."""
    env = {name: value for name, value in os.environ.items() if name not in ALL_ENV}
    env.update(JPY_PARENT_PID=str(server.proc.pid), JUPYTER_RUNTIME_DIR=str(server.runtime_dir))
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(env=env)
    try:
        kernel = Kernel("plain", Path(manager.connection_file))
        try:
            kernel.execute(SETUP)
            yield kernel
        finally:
            kernel.close()
    finally:
        manager.shutdown_kernel(now=True)
        manager.cleanup_resources()


def test_helpers_display_inline_with_one_notice(k: Kernel) -> None:
    out = k.execute("vfs_ext.image(png, width=50)")
    (msg,) = out.outputs()
    assert "image/png" in msg["content"]["data"]
    assert msg["content"]["metadata"]["image/png"] == {"width": 50}
    assert "no Jupyter server with the vfs_ext extension" in out.stream("stderr")
    out = k.execute("vfs_ext.image(png)")
    assert out.stream("stderr") == ""  # once per kernel
    assert "image/png" in out.outputs()[0]["content"]["data"]


def test_inline_image_bytes_are_intact(k: Kernel) -> None:
    (msg,) = k.execute("vfs_ext.image(png)").outputs()
    assert base64.b64decode(msg["content"]["data"]["image/png"]).hex() == k.value("png.hex()")


def test_magics_leave_outputs_inline(k: Kernel) -> None:
    out = k.execute("%%vfs --threshold 1KB\ndisplay(Image(png))", new_cell_id())
    assert "image/png" in out.outputs()[0]["content"]["data"]
    assert "auto mode on" in k.execute("%vfs auto on --threshold 1KB").stream()
    try:
        out = k.execute("Image(png)", new_cell_id())
        assert "image/png" in out.outputs()[0]["content"]["data"]
    finally:
        k.execute("%vfs auto off")
    assert "no Jupyter server with vfs_ext" in k.execute("%vfs").stream()


def test_vfile_returns_a_data_url_up_to_the_limit(k: Kernel) -> None:
    name, tier, url, mime = k.value("[(f := vfs_ext.vfile(png)).name, f.tier, f.url, f.mime]")
    assert name is None and tier is None and mime == "image/png"
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    assert base64.b64decode(url[len(prefix) :]).hex() == k.value("png.hex()")
    out = k.execute(
        "from kernel_side.api import DATA_URL_LIMIT\nvfs_ext.vfile(b'x' * (DATA_URL_LIMIT + 1))",
        check=False,
    )
    assert "VirtualFileError" in out.error and "DATA_URL_LIMIT" in out.error


def test_media_and_download_use_data_urls(k: Kernel) -> None:
    (video,) = k.execute("vfs_ext.video(b'\\x00\\x00\\x00\\x18ftypmp42' + bytes(100))").outputs()
    assert '<video src="data:video/mp4;base64,' in video["content"]["data"]["text/html"]
    (link,) = k.execute("vfs_ext.download(b'a,b\\n1,2\\n', 'table.csv')").outputs()
    assert 'download="table.csv"' in link["content"]["data"]["text/html"]
    assert 'href="data:text/csv;base64,' in link["content"]["data"]["text/html"]
    (doc,) = k.execute("vfs_ext.pdf(b'%PDF-1.4 tiny')").outputs()
    assert "application/pdf" in doc["content"]["data"]


def test_server_info_record_is_the_fallback_discovery(tmp_path: Path) -> None:
    config = StoreConfig((TierSpec("disk", tmp_path, 1000),), "s0123", base_url="/user/a/")
    servers = [{"pid": 1, "url": "x"}, {"pid": 2, "vfs_ext": config.to_env()}]
    assert config_from_server_info(servers, 1) is None  # a server without the extension
    assert config_from_server_info(servers, 2) == config
    assert config_from_server_info(servers, 3) is None

"""A kernel no vfs_ext server started (VS Code, nbclient, plain jupyter_client): everything
still displays, inline, with one notice; ``vfile()`` gives ``data:`` URLs up to a limit."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from jupyter_client.manager import KernelManager

from tests.support.kernels import Kernel, new_cell_id
from tests.support.server import RunningServer, jupyter_server
from vfs_ext import layout
from vfs_ext.config import (
    ALL_ENV,
    StoreConfig,
    TierSpec,
    read_server_record,
    write_server_record,
)

SETUP = """
%load_ext vfs_ext
import base64, io
import vfs_ext
from IPython.display import Image, display
from PIL import Image as P
b = io.BytesIO(); P.new("RGB", (300, 300), "blue").save(b, "png", compress_level=0)
png = b.getvalue()
"""


@contextmanager
def plain_kernel(parent_pid: int, runtime_dir: Path) -> Iterator[Kernel]:
    """A kernel started by jupyter_client itself, without the VFS_EXT_* environment."""
    env = {name: value for name, value in os.environ.items() if name not in ALL_ENV}
    env.update(JPY_PARENT_PID=str(parent_pid), JUPYTER_RUNTIME_DIR=str(runtime_dir))
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


@pytest.fixture(scope="module")
def k(server: RunningServer) -> Iterator[Kernel]:
    """Its JPY_PARENT_PID is a live process that is no vfs_ext server (as under nbclient), in
    the runtime dir of a running server: there is no record for that pid, so "no server"."""
    with plain_kernel(os.getpid(), server.runtime_dir) as kernel:
        yield kernel


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
    assert out.error is not None
    assert "VirtualFileError" in out.error and "DATA_URL_LIMIT" in out.error


def test_media_and_download_use_data_urls(k: Kernel) -> None:
    (video,) = k.execute("vfs_ext.video(b'\\x00\\x00\\x00\\x18ftypmp42' + bytes(100))").outputs()
    assert '<video src="data:video/mp4;base64,' in video["content"]["data"]["text/html"]
    (link,) = k.execute("vfs_ext.download(b'a,b\\n1,2\\n', 'table.csv')").outputs()
    assert 'download="table.csv"' in link["content"]["data"]["text/html"]
    assert 'href="data:text/csv;base64,' in link["content"]["data"]["text/html"]
    (doc,) = k.execute("vfs_ext.pdf(b'%PDF-1.4 tiny')").outputs()
    assert "application/pdf" in doc["content"]["data"]


def test_formatter_gives_base64_when_the_image_stays_inline(k: Kernel) -> None:
    """Tools that call the formatter themselves (ipywidgets' ``Output.append_display_data``)
    need IPython's base64 text, not the raw bytes vfs_ext reads to spare the encoding."""
    k.execute("%vfs auto on --threshold 1KB")
    try:
        kind, text = k.value(
            "[type(d := get_ipython().display_formatter.format(Image(png))[0]['image/png'])"
            ".__name__, d if isinstance(d, str) else '']"
        )
    finally:
        k.execute("%vfs auto off")
    assert kind == "str"
    assert base64.b64decode(text).hex() == k.value("png.hex()")


# Run in a served kernel: a second kernel started from there with jupyter_client, the way nbclient,
# nbconvert --execute and papermill do, inherits the server's VFS_EXT_* variables.
NESTED_KERNEL = """
import json
from jupyter_client.manager import start_new_kernel
CHILD = [
    SETUP + "import json, os\\nprint(json.dumps([os.environ['JPY_PARENT_PID'], "
    "os.environ.get('VFS_EXT_SERVER_PID'), vfs_ext.vfile(png).url]))",
    "%%vfs --threshold 1KB\\ndisplay(Image(png))",
]
km, kc = start_new_kernel(kernel_name="python3", startup_timeout=60)
outputs = []
try:
    for code in CHILD:
        kc.execute_interactive(code, output_hook=outputs.append, timeout=60)
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
errors = [m["content"]["evalue"] for m in outputs if m["msg_type"] == "error"]
assert not errors, errors
streams = {"stdout": "", "stderr": ""}
for m in outputs:
    if m["msg_type"] == "stream":
        streams[m["content"]["name"]] += m["content"]["text"]
displays = [m["content"] for m in outputs if m["msg_type"] == "display_data"]
print(json.dumps({**streams, "displays": displays}))
"""


def test_kernels_started_from_a_served_kernel_have_no_server(
    kernel: Kernel, server: RunningServer
) -> None:
    """Its inherited environment names a server that is not its parent: a notebook it runs
    would be saved with ``@file`` links that die with it, so its outputs stay inline."""
    kernel.execute(f"SETUP = {SETUP!r}")
    out = json.loads(kernel.execute(NESTED_KERNEL).stream())
    parent_pid, server_pid, url = json.loads(out["stdout"])
    assert server_pid == str(server.proc.pid) and parent_pid != server_pid  # the situation
    assert url.startswith("data:image/png;base64,")
    assert "no Jupyter server with the vfs_ext extension" in out["stderr"]
    (display,) = out["displays"]
    assert "image/png" in display["data"] and "vfs_ext" not in display["metadata"]
    assert "@file/" not in json.dumps(display)
    # ... while the served kernel itself still writes virtual files its server serves.
    status, _, body = server.fetch(kernel.value("__import__('vfs_ext').vfile(b'x').url"))
    assert (status, body) == (200, b"x")


def test_kernel_finds_its_parent_server_through_the_record(tmp_path: Path) -> None:
    """A kernel whose launcher drops the server's environment (here a kernelspec running
    ``env -u VFS_EXT_...``) still writes virtual files its server (JPY_PARENT_PID) serves."""
    spec_dir = tmp_path / "data" / "kernels" / "stripped"
    spec_dir.mkdir(parents=True)
    argv = ["env", *(arg for name in ALL_ENV for arg in ("-u", name))]
    argv += [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec = {"argv": argv, "display_name": "stripped", "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    with jupyter_server(tmp_path, env={"JUPYTER_PATH": str(tmp_path / "data")}) as server:
        model = server.api("POST", "api/kernels", {"name": "stripped"})
        kernel = Kernel(model["id"], server.runtime_dir / f"kernel-{model['id']}.json")
        try:
            kernel.execute(SETUP)
            inherited = "[n for n in __import__('os').environ if n.startswith('VFS_EXT_')]"
            assert kernel.value(inherited) == []
            url = kernel.value("vfs_ext.vfile(png).url")
            assert url.startswith(f"{server.base_url}@file/")
            status, _, body = server.request("GET", url[len(server.base_url) :])
            assert status == 200
            assert body.hex() == kernel.value("png.hex()")
        finally:
            kernel.close()
            server.request("DELETE", f"api/kernels/{model['id']}")
        assert layout.server_record(server.runtime_dir, server.proc.pid).exists()
    assert not layout.server_record(server.runtime_dir, server.proc.pid).exists()  # removed at stop


def test_server_record_needs_a_live_server(tmp_path: Path) -> None:
    config = StoreConfig((TierSpec("disk", tmp_path, 1000),), "s0123", base_url="/user/a/")
    write_server_record(tmp_path, os.getpid(), config.to_env())
    assert read_server_record(tmp_path, os.getpid()) == config
    assert read_server_record(tmp_path, os.getppid()) is None  # no record for that pid
    dead = subprocess.Popen(["true"])
    dead.wait()
    write_server_record(tmp_path, dead.pid, config.to_env())
    assert read_server_record(tmp_path, dead.pid) is None  # a killed server's leftover record

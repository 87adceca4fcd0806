"""The Python API in a real kernel: ``vfile()`` and each display helper write a virtual file
the server serves byte for byte, and display HTML that survives JupyterLab's sanitizer."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.support.kernels import Kernel, new_cell_id, shutdown_kernel, start_kernel
from tests.support.server import RunningServer, jupyter_server

SETUP = """
import hashlib, io, os, tempfile
import vfs_ext
payload = os.urandom(300_000)
path = os.path.join(tempfile.mkdtemp(), "clip.webm")
with open(path, "wb") as f:
    f.write(b"\\x1aE\\xdf\\xa3" + payload)
def sha(data): return hashlib.sha256(data).hexdigest()
"""


def served_sha(server: RunningServer, url: str) -> str:
    status, _, body = server.fetch(url)
    assert status == 200
    return hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize(
    ("source", "ext", "mime"),
    [
        ("payload", "bin", "application/octet-stream"),
        ("bytearray(payload)", "bin", "application/octet-stream"),
        ("memoryview(payload)", "bin", "application/octet-stream"),
        ("io.BytesIO(payload)", "bin", "application/octet-stream"),
        ("path", "webm", "video/webm"),
    ],
)
def test_vfile_sources(k: Kernel, server: RunningServer, source: str, ext: str, mime: str) -> None:
    k.execute(f"vf = vfs_ext.vfile({source})")
    name, url, size, got_mime, tier = k.value("[vf.name, vf.url, vf.size, vf.mime, vf.tier]")
    assert url == f"{server.base_url}@file/{name}"
    assert name.endswith(f".{ext}")
    assert got_mime == mime
    assert tier == "memory"
    data = "open(path, 'rb').read()" if source == "path" else "payload"
    assert size == k.value(f"len({data})")
    assert served_sha(server, url) == k.value(f"sha({data})")


def test_vfile_type_from_ext_mime_and_filename(k: Kernel, server: RunningServer) -> None:
    for call, ext, mime in [
        ("vfs_ext.vfile(b'{}', ext='json')", "json", "application/json"),
        ("vfs_ext.vfile(b'a,b', mime='text/csv')", "csv", "text/csv"),
        ("vfs_ext.vfile(b'x', filename='report.txt')", "txt", "text/plain"),
        ("vfs_ext.vfile(b'\\x89PNG\\r\\n\\x1a\\n....')", "png", "image/png"),
    ]:
        name, got = k.value(f"[(v := {call}).name, v.mime]")
        assert name.endswith(f".{ext}") and got == mime
        status, headers, _ = server.request("GET", f"@file/{name}")
        assert status == 200 and headers["content-type"].startswith(mime)


def test_vfile_repr_is_a_link(k: Kernel) -> None:
    out = k.execute("vfs_ext.vfile(payload, filename='data.bin')")
    (msg,) = out.outputs("execute_result")
    data, meta = msg["content"]["data"], msg["content"]["metadata"]["vfs_ext"]
    assert f'href="{meta["url"]}"' in data["text/html"]
    assert "data.bin" in data["text/html"] and "293.0 KiB" in data["text/html"]
    assert meta["name"] in data["text/plain"]
    assert meta["size"] == 300_000


def check_helper(server: RunningServer, out, tag: str, attr: str, expected_sha: str) -> str:
    """The stand-in (media under text/markdown, the rest under text/html), checked."""
    (msg,) = out.outputs()
    data, record = msg["content"]["data"], msg["content"]["metadata"]["vfs_ext"]
    assert set(record) >= {"name", "url", "mime", "size"}
    key = "text/html" if tag in ("a", "object") else "text/markdown"
    (stand_in,) = (data[m] for m in ("text/html", "text/markdown") if m in data)
    assert stand_in == data[key]
    assert f'<{tag} {attr}="{record["url"]}"' in stand_in
    assert "<source" not in stand_in and "<iframe" not in stand_in
    assert record["name"] in data["text/plain"]
    assert served_sha(server, record["url"]) == expected_sha
    return stand_in


def test_image_helper(k: Kernel, server: RunningServer) -> None:
    k.execute(
        "from PIL import Image as P\nb = io.BytesIO()\n"
        "P.new('RGB', (64, 32), 'red').save(b, 'png')\npng = b.getvalue()"
    )
    out = k.execute("vfs_ext.image(png, width=128, alt='red box')", new_cell_id())
    html = check_helper(server, out, "img", "src", k.value("sha(png)"))
    assert 'width="128"' in html and 'alt="red box"' in html
    out = k.execute("vfs_ext.image(io.BytesIO(png), format='png')", new_cell_id())
    check_helper(server, out, "img", "src", k.value("sha(png)"))


def test_video_helper_from_path(k: Kernel, server: RunningServer) -> None:
    out = k.execute("vfs_ext.video(path, autoplay=True, muted=True, width=320)", new_cell_id())
    html = check_helper(server, out, "video", "src", k.value("sha(open(path, 'rb').read())"))
    assert all(a in html for a in (" controls", " autoplay", " muted", 'width="320"'))
    assert " loop" not in html


def test_audio_helper(k: Kernel, server: RunningServer) -> None:
    k.execute("wav = b'RIFF\\x00\\x00\\x00\\x00WAVEfmt ' + payload")
    out = k.execute("vfs_ext.audio(wav, loop=True)", new_cell_id())
    html = check_helper(server, out, "audio", "src", k.value("sha(wav)"))
    assert " loop" in html
    record = out.outputs()[0]["content"]["metadata"]["vfs_ext"]
    assert record["mime"] == "audio/wav"


def test_pdf_helper(k: Kernel, server: RunningServer) -> None:
    k.execute("doc = b'%PDF-1.4\\n' + payload")
    out = k.execute("vfs_ext.pdf(doc, height=400)", new_cell_id())
    html = check_helper(server, out, "object", "data", k.value("sha(doc)"))
    # Untrusted outputs drop <object>; the link inside it is what remains visible.
    assert '<a href="' in html and 'height="400"' in html


def test_download_helper(k: Kernel, server: RunningServer) -> None:
    out = k.execute("vfs_ext.download(payload, 'results.csv', label='Get the results')")
    html = check_helper(server, out, "a", "href", k.value("sha(payload)"))
    assert 'download="results.csv"' in html
    assert "Get the results" in html
    name = out.outputs()[0]["content"]["metadata"]["vfs_ext"]["name"]
    assert name.endswith(".csv")


@pytest.mark.parametrize(
    ("filename", "payload", "ext"),
    [
        ("release-v1.2.3-final", "payload", "bin"),
        ("notes.txt~", "payload", "bin"),
        ("model.ckpt-1000", "payload", "bin"),
        ("photo.jpg_large", "b'\\xff\\xd8\\xff' + payload", "jpg"),
    ],
)
def test_download_with_an_unusual_suffix(
    k: Kernel, server: RunningServer, filename: str, payload: str, ext: str
) -> None:
    """Such a suffix cannot end a virtual file's name; the link still saves under the
    filename, with the type its bytes tell."""
    out = k.execute(f"vfs_ext.download({payload}, {filename!r})")
    html = check_helper(server, out, "a", "href", k.value(f"sha({payload})"))
    assert f'download="{filename}"' in html
    assert out.outputs()[0]["content"]["metadata"]["vfs_ext"]["name"].endswith(f".{ext}")


def test_ls_rm_clear(k: Kernel, server: RunningServer) -> None:
    cell = new_cell_id()
    k.execute("kept = vfs_ext.vfile(b'kept', ext='txt')\ngone = vfs_ext.vfile(b'gone')", cell)
    kept, gone = k.value("[kept.name, gone.name]")
    listing = k.execute("%vfs ls").outputs()[0]["content"]["data"]
    assert "text/plain" in listing
    # The name links to the file (no URL column to overflow the output area).
    link = f'<a href="{server.base_url}@file/{kept}" title="{kept}" target="_blank">'
    assert link in listing["text/html"] and "<th>url</th>" not in listing["text/html"]
    assert f"removed {gone}" in k.execute(f"%vfs rm {gone}").stream()
    assert server.fetch(f"{server.base_url}@file/{gone}")[0] == 404
    assert server.fetch(f"{server.base_url}@file/{kept}")[0] == 200
    assert "not a virtual file" in k.execute(f"%vfs rm {gone}").stream()
    assert "removed" in k.execute("%vfs clear").stream()
    assert server.fetch(f"{server.base_url}@file/{kept}")[0] == 404
    assert "no virtual files" in k.execute("%vfs ls").stream()


def test_status_and_stats(k: Kernel) -> None:
    status = k.execute("%vfs").stream()
    assert "auto mode off" in status and "%vfs ls" in status and "memory" in status
    stats = k.execute("%vfs stats").stream()
    assert "memory" in stats and "disk" in stats and "fallback(s)" in stats
    assert "tmpfs, huge pages: " in stats  # the test servers' memory tier is under /dev/shm
    assert "of its filesystem free" in stats  # memory_keep_free's default, a tenth


def test_bad_arguments_are_errors_not_crashes(k: Kernel) -> None:
    out = k.execute("%vfs frobnicate", check=False)
    assert out.reply["content"]["status"] == "error"
    assert "unknown %vfs command" in out.stream("stderr")
    out = k.execute("%vfs auto on --threshold lots", check=False)
    assert "invalid size" in out.stream("stderr")
    assert k.value("1 + 1") == 2


def test_an_unreadable_source_is_a_catchable_error(k: Kernel) -> None:
    """A file opened for writing cannot be stored: ``vfs_ext.SourceError`` (an ``OSError``)
    says how to open it, the kernel carries on, and nothing half-written stays behind."""
    k.execute("from kernel_side.extension import current_session as _cs")
    parts = "[str(p) for t in _cs().store.tiers for p in t.root.rglob('.part-*')]"
    out = k.execute(
        "try:\n"
        "    with open(path + '.out', 'wb') as f:\n"
        "        vfs_ext.image(f)\n"
        "except vfs_ext.SourceError as e:\n"
        "    print(isinstance(e, OSError), e)",
        new_cell_id(),
    )
    assert out.stream().startswith("True ") and "open it for reading" in out.stream()
    assert k.value(parts) == []


def test_unload_removes_everything_and_load_restores(k: Kernel) -> None:
    try:
        k.execute("%unload_ext vfs_ext")
        assert k.value("'vfs' in get_ipython().magics_manager.magics['line']") is False
        assert k.value("'format' in get_ipython().display_formatter.__dict__") is False
        out = k.execute("%vfs", check=False)
        assert out.reply["content"]["status"] == "error"
    finally:
        k.execute("%load_ext vfs_ext")
    assert k.value("'vfs' in get_ipython().magics_manager.magics['cell']") is True
    assert "auto mode off" in k.execute("%vfs").stream()


def test_urls_carry_the_servers_base_url(tmp_path: Path) -> None:
    """Under JupyterHub the base_url is /user/<name>/; the login cookie's path is that too."""
    with jupyter_server(tmp_path, base_url="/user/alice/") as hub:
        kernel = start_kernel(hub)
        try:
            kernel.execute("%load_ext vfs_ext")
            url = kernel.value("__import__('vfs_ext').vfile(b'hello', ext='txt').url")
            assert url.startswith("/user/alice/@file/")
            status, _, body = hub.fetch(url)
            assert (status, body) == (200, b"hello")
        finally:
            shutdown_kernel(hub, kernel)

"""Saved notebooks keep their virtual outputs: a save copies each file the notebook shows into
the folder's sidecar (``.ipynb_vfs/<sha256>.<ext>``), and the server serves it from there once
no tier holds it: after the kernel is gone, after a restart, in another server's root."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.support.server import RunningServer, jupyter_server, server_store
from tests.support.sidecars import PNG, digest, notebook, records, save, sidecar, sidecar_files
from vfs_ext.owner import Owner
from vfs_ext.records import REFERENCE_MIME


def test_a_save_keeps_each_shown_file_once_beside_the_notebook(
    server: RunningServer, owner: Owner
) -> None:
    name = owner.write(PNG, "png").name
    twin = owner.write(PNG, "png").name  # the same bytes under another name
    saved = save(server, "keep/one.ipynb", name, twin)
    assert [r["sha256"] for r in records(saved)] == [digest(PNG)] * 2
    assert sidecar_files(server, "keep") == [f"{digest(PNG)}.png"]
    kept = sidecar(server, "keep") / f"{digest(PNG)}.png"
    assert kept.read_bytes() == PNG
    before = os.stat(kept)
    copied = server.api("GET", "api/vfs")["persist"]["copied_files"]
    save(server, "keep/one.ipynb", name, twin)  # nothing new: nothing copied
    save(server, "keep/two.ipynb", name)  # another notebook of the folder: stored once
    after = os.stat(kept)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert server.api("GET", "api/vfs")["persist"]["copied_files"] == copied
    assert sidecar_files(server, "keep") == [f"{digest(PNG)}.png"]


def test_a_save_fills_the_hash_of_each_reference(server: RunningServer, owner: Owner) -> None:
    """The reference the extension renders carries the saved bytes' hash, as the record does;
    a reference to a file the server does not hold is left as it was."""
    name = owner.write(PNG, "png").name
    content = notebook((name, "image/png"), ("vfs-0000000000000000-gone.png", "image/png"))
    for output in content["cells"][0]["outputs"]:
        ref_name = output["metadata"]["vfs_ext"]["name"]
        output["data"][REFERENCE_MIME] = {"name": ref_name, "mime": "image/png", "size": 3}
    server.api("PUT", "api/contents/ref.ipynb", {"type": "notebook", "content": content})
    saved = json.loads((server.root_dir / "ref.ipynb").read_text())
    kept, gone = (o["data"][REFERENCE_MIME] for o in saved["cells"][0]["outputs"])
    assert kept == {"name": name, "mime": "image/png", "size": 3, "hash": f"sha256:{digest(PNG)}"}
    assert "hash" not in gone


def test_a_released_file_is_served_from_the_sidecar_like_a_live_one(
    server: RunningServer, owner: Owner
) -> None:
    name = owner.write(PNG, "png").name
    live = server.get_file(name)
    save(server, "serve.ipynb", name)
    assert owner.release(name)
    status, headers, body = server.get_file(name)
    assert status == 200
    assert body == PNG
    assert headers["etag"] == f'"sha256-{digest(PNG)}"'
    assert headers["cache-control"] == live[1]["cache-control"]
    assert headers["content-type"] == "image/png"
    assert headers["content-security-policy"] == live[1]["content-security-policy"]
    status, headers, body = server.get_file(name, {"Range": "bytes=8-15"})
    assert (status, body, headers["content-range"]) == (206, PNG[8:16], f"bytes 8-15/{len(PNG)}")
    assert server.get_file(name, {"If-None-Match": headers["etag"]})[0] == 304
    assert server.request("GET", f"@file/{name}", auth=False)[0] in (302, 403)


def test_active_content_from_a_sidecar_runs_sandboxed(server: RunningServer, owner: Owner) -> None:
    name = owner.write(b"<svg xmlns='http://www.w3.org/2000/svg'/>", "svg").name
    save(server, "svg.ipynb", name, mime="image/svg+xml")
    owner.release(name)
    status, headers, _ = server.get_file(name)
    assert status == 200
    assert "sandbox allow-scripts" in headers["content-security-policy"]


def test_a_name_in_no_tier_and_no_sidecar_is_still_a_404(server: RunningServer) -> None:
    status, _, body = server.get_file("0" * 16 + "-" + "0" * 12 + "-" + "1" * 32 + ".png")
    assert status == 404
    assert b"virtual file not found" in body


def settled(server: RunningServer) -> dict:
    """api/vfs, once the server followed the contents actions just done (deletes, renames)."""
    return server.api("GET", "api/vfs")


def test_autosaves_of_a_redraw_loop_keep_one_frame(server: RunningServer, owner: Owner) -> None:
    save(server, "loop/loop.ipynb")  # a new notebook is saved empty (and checkpointed) first
    for n in range(100):
        frame = owner.write(PNG + n.to_bytes(2, "big"), "png").name
        save(server, "loop/loop.ipynb", frame)
        owner.release(frame)  # the loop draws the next frame
    last = PNG + (99).to_bytes(2, "big")
    assert sidecar_files(server, "loop") == [f"{digest(last)}.png"]
    assert server.get_file(frame)[2] == last


def test_checkpoints_keep_their_files(server: RunningServer, owner: Owner) -> None:
    save(server, "ckpt/nb.ipynb")
    first = owner.write(PNG + b"1", "png").name
    save(server, "ckpt/nb.ipynb", first)
    server.api("POST", "api/contents/ckpt/nb.ipynb/checkpoints")
    second = owner.write(PNG + b"2", "png").name
    save(server, "ckpt/nb.ipynb", second)
    owner.release(first)
    owner.release(second)
    assert sidecar_files(server, "ckpt") == sorted(f"{digest(PNG + s)}.png" for s in (b"1", b"2"))
    (checkpoint,) = server.api("GET", "api/contents/ckpt/nb.ipynb/checkpoints")
    server.api("POST", f"api/contents/ckpt/nb.ipynb/checkpoints/{checkpoint['id']}")
    server.api("GET", "api/contents/ckpt/nb.ipynb")  # what JupyterLab does after reverting
    assert server.get_file(first)[2] == PNG + b"1"


def test_deleting_a_notebook_frees_what_only_it_kept(server: RunningServer, owner: Owner) -> None:
    shared, own = owner.write(PNG + b"s", "png").name, owner.write(PNG + b"o", "png").name
    save(server, "del/a.ipynb", shared, own)
    save(server, "del/b.ipynb", shared)
    server.api("DELETE", "api/contents/del/a.ipynb")
    settled(server)
    assert sidecar_files(server, "del") == [f"{digest(PNG + b's')}.png"]


def test_renamed_and_moved_notebooks_keep_showing(server: RunningServer, owner: Owner) -> None:
    name = owner.write(PNG + b"m", "png").name
    save(server, "src/nb.ipynb", name)
    owner.release(name)
    server.api("PATCH", "api/contents/src/nb.ipynb", {"path": "src/renamed.ipynb"})
    server.api("POST", "api/contents", {"type": "directory"})  # makes "Untitled Folder"
    server.api("PATCH", "api/contents/src/renamed.ipynb", {"path": "Untitled Folder/moved.ipynb"})
    settled(server)
    assert sidecar_files(server, "src") == []
    assert sidecar_files(server, "Untitled Folder") == [f"{digest(PNG + b'm')}.png"]
    assert server.get_file(name)[2] == PNG + b"m"


def test_a_restarted_server_and_a_copied_folder_show_saved_outputs(
    tmp_path: Path, owner: Owner, server: RunningServer
) -> None:
    name = owner.write(PNG + b"r", "png").name
    save(server, "moved/nb.ipynb", name)
    for n in range(2):
        with jupyter_server(tmp_path / str(n)) as other:
            shutil.copytree(server.root_dir / "moved", other.root_dir / "moved")
            assert other.get_file(name)[0] == 404  # not yet learned: the notebook was not read
            other.api("GET", "api/contents/moved/nb.ipynb")
            status, _, body = other.get_file(name)
            assert (status, body) == (200, PNG + b"r")


@pytest.fixture
def other_server(tmp_path: Path):
    with jupyter_server(tmp_path) as other:
        yield other


def test_hostile_records_are_never_copied_or_served(
    server: RunningServer, owner: Owner, other_server: RunningServer
) -> None:
    theirs_store = server_store(other_server)
    theirs = theirs_store.open_owner("victim")
    secret = theirs.write(b"secret", "png").name  # another server's live file
    try:
        mine = owner.write(PNG + b"h", "png").name
        content = notebook((secret, "image/png"), ("../../etc/passwd", "image/png"), (mine, "x"))
        outs = content["cells"][0]["outputs"]
        outs[1]["metadata"]["vfs_ext"]["sha256"] = "../../x"
        outs[2]["metadata"]["vfs_ext"]["size"] = 10**18
        (server.root_dir / "hostile").mkdir()
        server.api("PUT", "api/contents/hostile/nb.ipynb", {"type": "notebook", "content": content})
        assert sidecar_files(server, "hostile") == [f"{digest(PNG + b'h')}.png"]
        assert server.get_file(secret)[0] == 404
        # A notebook claiming a name with a hash whose file holds other bytes is not believed.
        forged = json.loads((server.root_dir / "hostile/nb.ipynb").read_text())
        forged["cells"][0]["outputs"][0]["metadata"]["vfs_ext"]["sha256"] = digest(PNG + b"h")
        (server.root_dir / "hostile/forged.ipynb").write_text(json.dumps(forged))
        server.api("GET", "api/contents/hostile/forged.ipynb")
        assert server.get_file(secret)[0] == 200  # the claim is served: the bytes match the hash
        assert (
            server.get_file(secret)[2] == PNG + b"h"
        )  # ... and they are the sidecar's, not theirs
    finally:
        theirs.release_all()
        theirs.close(remove=True)
        theirs_store.close()


def test_tampered_and_planted_sidecar_files_are_not_served(
    server: RunningServer, owner: Owner, tmp_path: Path
) -> None:
    tampered, planted = owner.write(PNG + b"t", "png").name, owner.write(PNG + b"p", "png").name
    save(server, "bad/nb.ipynb", tampered, planted)
    owner.release(tampered)
    owner.release(planted)
    (sidecar(server, "bad") / f"{digest(PNG + b't')}.png").write_bytes(PNG + b"T")
    target = sidecar(server, "bad") / f"{digest(PNG + b'p')}.png"
    outside = tmp_path / "outside.png"
    outside.write_bytes(PNG + b"p")  # the right bytes, but reached through a symlink
    target.unlink()
    target.symlink_to(outside)
    assert server.get_file(tampered)[0] == 404
    assert server.get_file(planted)[0] == 404


def test_a_symlinked_sidecar_folder_is_not_written_through(
    server: RunningServer, owner: Owner, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (server.root_dir / "link").mkdir()
    (server.root_dir / "link" / ".ipynb_vfs").symlink_to(elsewhere)
    save(server, "link/nb.ipynb", owner.write(PNG, "png").name)
    assert list(elsewhere.iterdir()) == []

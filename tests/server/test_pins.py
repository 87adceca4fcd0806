"""A notebook saved through the server pins the virtual files its outputs show: the kernel's
freeing of replaced outputs then spares them, so a page reloaded from that save shows them.

Persistence is off here: with it, a freed file would still be served from the notebook's
sidecar (tests/server/test_persist.py), hiding whether the tier file was kept.
"""

from __future__ import annotations

from collections.abc import Iterator

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from tests.support.server import RunningServer, jupyter_server
from vfs_ext import retire
from vfs_ext.owner import Owner
from vfs_ext.records import record


def notebook_showing(*names: str) -> dict:
    outputs = [
        new_output(
            "display_data",
            data={"text/html": f'<img src="/@file/{n}">', "text/plain": n},
            metadata={"vfs_ext": record(n, f"/@file/{n}", "image/png", 3)},
        )
        for n in names
    ]
    return nbformat.validator.normalize(new_notebook(cells=[new_code_cell("x", outputs=outputs)]))[
        1
    ]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with jupyter_server(
        tmp_path_factory.mktemp("pins"), extra_args=["--VirtualFiles.persist=False"]
    ) as running:
        yield running


@pytest.fixture
def no_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retire, "RETIRE_GRACE_S", 0)


def test_a_saved_notebooks_files_survive_their_replacement(
    server: RunningServer, owner: Owner, no_grace: None
) -> None:
    saved, unsaved = (owner.write(b"png", "png").name for _ in range(2))
    server.api(
        "PUT", "api/contents/pinned.ipynb", {"type": "notebook", "content": notebook_showing(saved)}
    )
    owner.retire([saved, unsaved])
    assert server.get_file(saved)[0] == 200
    assert server.get_file(unsaved)[0] == 404
    assert owner.release(saved)  # an explicit release (%vfs rm, a re-run) still frees it
    assert server.get_file(saved)[0] == 404


def test_other_saves_pin_nothing(server: RunningServer, owner: Owner, no_grace: None) -> None:
    name = owner.write(b"png", "png").name
    server.api("PUT", "api/contents/notes.txt", {"type": "file", "format": "text", "content": name})
    other = notebook_showing("0" * 16 + "-" + "0" * 12 + "-" + "0" * 32 + ".png")  # nobody's
    server.api("PUT", "api/contents/other.ipynb", {"type": "notebook", "content": other})
    owner.retire([name])
    assert server.get_file(name)[0] == 404


def save(server: RunningServer, path: str, *names: str) -> None:
    server.api(
        "PUT", f"api/contents/{path}", {"type": "notebook", "content": notebook_showing(*names)}
    )


def test_a_later_save_frees_what_only_the_earlier_one_showed(
    server: RunningServer, owner: Owner, no_grace: None
) -> None:
    """A loop autosaved for hours keeps its last saved frame, not one per save."""
    frames = [owner.write(b"png", "png").name for _ in range(4)]
    save(server, "loop.ipynb", frames[0])
    owner.retire([frames[0]])  # the loop went on
    save(server, "loop.ipynb", frames[1])
    assert server.get_file(frames[0])[0] == 404
    assert server.get_file(frames[1])[0] == 200
    save(server, "loop.ipynb", frames[2])  # frames[1] still on the kernel's page: stays
    assert server.get_file(frames[1])[0] == 200
    owner.retire([frames[1], frames[2], frames[3]])  # the kernel leaves frames[2] to the save
    assert [server.get_file(f)[0] for f in frames[1:]] == [404, 200, 404]


def test_a_file_two_notebooks_show_goes_when_neither_does(
    server: RunningServer, owner: Owner, no_grace: None
) -> None:
    name = owner.write(b"png", "png").name
    save(server, "one.ipynb", name)
    save(server, "two.ipynb", name)
    owner.retire([name])
    save(server, "one.ipynb")
    assert server.get_file(name)[0] == 200
    save(server, "two.ipynb")
    assert server.get_file(name)[0] == 404


def test_a_retired_file_shown_again_is_not_freed_by_a_later_save(
    server: RunningServer, owner: Owner, no_grace: None
) -> None:
    name = owner.write(b"png", "png").name
    save(server, "again.ipynb", name)
    owner.retire([name])  # kept for the save
    owner.show_again([name])  # the kernel shows it again (e.g. a captured output re-shown)
    save(server, "again.ipynb")
    assert server.get_file(name)[0] == 200

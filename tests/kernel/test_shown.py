"""Outputs that leave the page (cleared, replaced by an update) give their memory back, and
nothing still shown goes: a live plot redrawn a hundred times keeps one frame stored, not a
hundred. (Released here as soon as they leave: vfs_ext.retire's grace for lagging browsers is
off, NO_GRACE, except where a test turns it on.)"""

from __future__ import annotations

import pytest

from tests.support.kernels import NO_GRACE, Kernel, new_cell_id
from tests.support.processes import wait_until
from tests.support.server import RunningServer
from tests.support.shown import FRAMES, VFS, statuses, urls

SETUP = NO_GRACE + FRAMES


def test_a_live_plot_keeps_only_its_current_frame(k: Kernel, server: RunningServer) -> None:
    out = k.execute(
        VFS + "for i in range(20):\n    clear_output(wait=True)\n    display(Image(frame(i)))",
        new_cell_id(),
    )
    assert len(out.outputs("clear_output")) == 20
    assert statuses(server, out) == [404] * 19 + [200]


def test_a_wait_clear_keeps_the_frame_until_the_next_output(
    k: Kernel, server: RunningServer
) -> None:
    """The front end clears only when the next output arrives: none came, so it is on screen."""
    out = k.execute(
        VFS + "display(Image(frame(1)))\nclear_output(wait=True)\nclear_output(wait=True)",
        new_cell_id(),
    )
    assert statuses(server, out) == [200]


def test_clear_output_releases_at_once_what_it_removed(k: Kernel, server: RunningServer) -> None:
    out = k.execute(
        VFS + "display(Image(frame(1)))\ndisplay(Image(frame(2)))\nclear_output()\n"
        "display(Image(frame(3)))",
        new_cell_id(),
    )
    assert statuses(server, out) == [404, 404, 200]


def test_other_cells_outputs_stay(k: Kernel, server: RunningServer) -> None:
    first = k.execute(VFS + "display(Image(frame(1)))", new_cell_id())
    k.execute(VFS + "display(Image(frame(2)))\nclear_output()", new_cell_id())
    assert statuses(server, first) == [200]


def test_a_virtual_file_still_referenced_may_be_shown_again(
    k: Kernel, server: RunningServer
) -> None:
    """A helper's output kept in a variable survives the clear; a temporary one does not."""
    out = k.execute(
        "kept = vfs_ext.image(frame(1))\ndisplay(kept)\ndisplay(vfs_ext.image(frame(2)))\n"
        "clear_output()\ndisplay(kept)",
        new_cell_id(),
    )
    assert statuses(server, out) == [200, 404, 200]


def test_a_virtual_file_still_referenced_survives_an_update(
    k: Kernel, server: RunningServer
) -> None:
    """The same rule when ``update_display`` replaces it: kept while referenced."""
    out = k.execute(
        "kept = vfs_ext.image(frame(1))\nh = display(kept, display_id=True)\n"
        "h.update(vfs_ext.image(frame(2)))\nh.update(vfs_ext.image(frame(3)))",
        new_cell_id(),
    )
    assert [server.fetch(url)[0] for url in urls(out, "display_data", "update_display_data")] == [
        200,
        404,
        200,
    ]


def test_clearing_from_another_thread_of_the_same_cell(k: Kernel, server: RunningServer) -> None:
    out = k.execute(
        VFS + "import threading\n"
        "def redraw():\n"
        "    for i in range(4):\n"
        "        clear_output(wait=True)\n"
        "        display(Image(frame(i)))\n"
        "t = threading.Thread(target=redraw)\nt.start()\nt.join()",
        new_cell_id(),
    )
    assert statuses(server, out) == [404, 404, 404, 200]


def test_a_file_shown_in_another_cell_stays(k: Kernel, server: RunningServer) -> None:
    first = k.execute("shared = vfs_ext.image(frame(7))\ndisplay(shared)", new_cell_id())
    k.execute("display(shared)\ndel shared\nclear_output()", new_cell_id())
    assert statuses(server, first) == [200]


def test_a_captured_output_shown_again_after_a_clear_stays(
    k: Kernel, server: RunningServer
) -> None:
    """``%%capture`` keeps the bundle (with its vfs_ext record), not a VirtualFile: showing it
    again right after the clear must not lose its file."""
    captured = k.execute("%%capture cap\n" + VFS + "display(Image(frame(1)))", new_cell_id())
    assert captured.outputs() == []
    out = k.execute(
        "for i in range(3):\n    clear_output(wait=True)\n    cap.show()", new_cell_id()
    )
    assert statuses(server, out) == [200, 200, 200]


def test_a_file_shown_again_within_the_grace_is_kept(k: Kernel, server: RunningServer) -> None:
    """``clear_output()`` retires at once; showing the file again takes the retirement back."""
    k.execute("%%capture cap2\n" + VFS + "display(Image(frame(2)))", new_cell_id())
    try:
        out = k.execute(
            "vfs_ext.retire.RETIRE_GRACE_S = 0.5\ncap2.show()\nclear_output()\ncap2.show()\n"
            "assert _cs().owner().retired.settle(30)",
            new_cell_id(),
        )
    finally:
        k.execute("vfs_ext.retire.RETIRE_GRACE_S = 0")
    assert statuses(server, out) == [200, 200]


def test_a_display_id_shown_again_elsewhere_keeps_what_both_show(
    k: Kernel, server: RunningServer
) -> None:
    """JupyterLab relays a display_data whose id was shown before as an update to the earlier
    output: the new image shows in both cells, so clearing one keeps it."""
    first = k.execute(VFS + "display(Image(frame(1)), display_id='shared-id')", new_cell_id())
    second = k.execute(
        VFS + "display(Image(frame(2)), display_id='shared-id')\nclear_output()", new_cell_id()
    )
    assert statuses(server, first) + statuses(server, second) == [404, 200]


@pytest.mark.parametrize(
    "loop",
    [
        "img = vfs_ext.image(frame(i))\n    clear_output(wait=True)\n    display(img)",
        # at each clear the previous frame is still held by img: it goes when img is rebound
        "clear_output()\n    img = vfs_ext.image(frame(i))\n    display(img)",
    ],
    ids=["made-then-cleared", "held-while-cleared"],
)
def test_a_frame_held_in_a_variable_goes_once_rebound(
    k: Kernel, server: RunningServer, loop: str
) -> None:
    out = k.execute(f"for i in range(5):\n    {loop}", new_cell_id())
    assert statuses(server, out) == [404] * 4 + [200]


def test_display_handles_redrawn_after_clears_keep_the_last_version(
    k: Kernel, server: RunningServer
) -> None:
    out = k.execute(
        VFS + "for run in range(3):\n    clear_output(wait=True)\n"
        "    h = display(Image(frame(10 * run)), display_id=True)\n"
        "    for step in (1, 2):\n        h.update(Image(frame(10 * run + step)))",
        new_cell_id(),
    )
    urls_all = urls(out, "display_data", "update_display_data")
    assert len(urls_all) == 9
    assert [server.fetch(u)[0] for u in urls_all] == [404] * 8 + [200]


def test_a_fault_in_the_tracking_never_costs_the_output(k: Kernel, server: RunningServer) -> None:
    k.execute("_area = _shown.output_area")
    try:
        out = k.execute(
            VFS + "_shown.output_area = lambda msg: 1 / 0\n"
            "display(Image(frame(1)))\nclear_output(wait=True)\ndisplay(Image(frame(2)))",
            new_cell_id(),
        )
    finally:
        k.execute("_shown.output_area = _area")
    assert statuses(server, out) == [200, 200]
    assert out.stream("stderr") == ""  # the fault goes to the kernel's log, not the cell

    def logged() -> bool:
        log = server.log_text()
        return "could not track which files the outputs show" in log and "ZeroDivisionError" in log

    wait_until(logged, "the fault in the kernel's log (the server's console)")


def test_a_display_updated_from_later_cells_stays_tracked(k: Kernel, server: RunningServer) -> None:
    """Updates keep their display's area among the remembered ones, however many cells show
    outputs meanwhile."""
    k.execute("_shown_max = _shown.MAX_AREAS\n_shown.MAX_AREAS = 2")
    try:
        k.execute(VFS + "anim = display(Image(frame(0)), display_id=True)", new_cell_id())
        runs = [
            k.execute(
                VFS + f"display(Image(frame({10 * n})))\nanim.update(Image(frame({10 * n + 1})))",
                new_cell_id(),
            )
            for n in (1, 2, 3)
        ]
    finally:
        k.execute("_shown.MAX_AREAS = _shown_max")
    versions = [u for run in runs for u in urls(run, "update_display_data")]
    assert [server.fetch(u)[0] for u in versions] == [404, 404, 200]


def test_odd_metadata_and_transient_are_shown_as_given(k: Kernel) -> None:
    out = k.execute(
        "display({'text/plain': 'a'}, metadata={'vfs_ext': {'files': 5}}, raw=True)\n"
        "display({'text/plain': 'b'}, metadata={'vfs_ext': 'x'}, raw=True, display_id='odd');",
        new_cell_id(),
    )
    assert [m["content"]["data"]["text/plain"] for m in out.outputs()] == ["a", "b"]
    assert "could not track" not in out.stream("stderr")

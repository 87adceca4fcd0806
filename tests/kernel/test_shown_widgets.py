"""Outputs inside ipywidgets (an ``Output`` widget, ``interact``) give their memory back like
the cell's own (test_shown.py), and only the widget's: clearing or updating one side never
releases what the other still shows."""

from __future__ import annotations

from tests.support.kernels import NO_GRACE, Kernel, new_cell_id
from tests.support.server import RunningServer
from tests.support.shown import FRAMES, VFS, statuses

SETUP = NO_GRACE + FRAMES

WIDGET = (
    VFS
    + """out = ipywidgets.Output()
display(out)
display(Image(frame(0)))  # in the cell, beside the widget
for i in range(1, 5):
    with out:
        clear_output(wait=True)
        display(Image(frame(i)))
"""
)


def test_an_output_widget_clears_only_its_own_outputs(k: Kernel, server: RunningServer) -> None:
    cell = new_cell_id()
    out = k.execute(WIDGET, cell)
    assert statuses(server, out) == [200, 404, 404, 404, 200]
    # The widget outlives its cell: clearing it later, from another cell, releases its frame.
    later = k.execute("out.clear_output()", new_cell_id())
    assert len(later.outputs("clear_output")) == 1
    assert statuses(server, out) == [200, 404, 404, 404, 404]


def test_interact_keeps_only_its_current_frame(k: Kernel, server: RunningServer) -> None:
    """ipywidgets' interact redraws into its Output with clear_output(wait=True) per change."""
    first = k.execute(
        VFS
        + "ui = ipywidgets.interactive(lambda seed: display(Image(frame(seed))), seed=(0, 10))\n"
        "display(ui)",
        new_cell_id(),
    )
    moves = k.execute(VFS + "for s in (1, 2, 3):\n    ui.children[0].value = s", new_cell_id())
    assert len(moves.outputs("clear_output")) == 3
    assert statuses(server, first) + statuses(server, moves) == [404, 404, 404, 200]


def test_an_update_does_not_reach_into_an_output_widget(k: Kernel, server: RunningServer) -> None:
    """An ipywidgets Output ignores update_display_data: what it shows stays."""
    out = k.execute(
        VFS + "box = ipywidgets.Output()\ndisplay(box)\n"
        "with box:\n    handle = display(Image(frame(1)), display_id=True)\n"
        "handle.update(Image(frame(2)))",
        new_cell_id(),
    )
    assert statuses(server, out)[0] == 200


def test_an_update_made_while_an_output_widget_captures_leaves_the_cell_as_it_was(
    k: Kernel, server: RunningServer
) -> None:
    """Inside ``with out:`` (``interact`` runs its callback so) the widget's hook takes the
    update of the cell's own display and ignores it: the cell still shows the first image."""
    out = k.execute(
        VFS + "h = display(Image(frame(1)), display_id=True)\n"
        "box = ipywidgets.Output()\nwith box:\n    h.update(Image(frame(2)))",
        new_cell_id(),
    )
    assert statuses(server, out)[0] == 200

"""Figure 5: the saved .ipynb for ten large images, inline vs externalized.

Both notebooks are built with nbformat from the very output messages the kernel sent, the way
a front end saves them, and measured as the bytes ``nbformat.writes`` produces.
"""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, output_from_msg

from .display import INLINE
from .harness import Bench
from .plot import size_label
from .report import Results, Row, fmt_mib


async def build(bench: Bench, code: str, count: int, tag: str) -> nbformat.NotebookNode:
    cells = []
    for i in range(count):
        cell_id = f"nb-{tag}-{i}"
        run = await bench.kernel.execute(code, cell_id=cell_id)
        outputs = [output_from_msg({**m, "msg_type": m["header"]["msg_type"]}) for m in run.outputs]
        cell = new_code_cell(code, outputs=outputs, execution_count=i + 1)
        cell["id"] = cell_id
        cells.append(cell)
    return new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )


async def run(bench: Bench, results: Results, size: int, count: int) -> None:
    await bench.kernel.execute(f"_p = _bench_png({size})")
    inline = len(nbformat.writes(await build(bench, INLINE, count, "inline")).encode())
    label = f"{count} x {size_label(size)} images"
    if not bench.has_kernel_side:
        results.add(
            Row(
                "5 notebook size",
                label,
                "n/a",
                fmt_mib(inline) + " inline",
                verdict="n/a: kernel_side missing",
            )
        )
        return
    ours_nb = await build(bench, "%%vfs\n" + INLINE, count, "vfs")
    nbformat.validate(ours_nb)
    ours = len(nbformat.writes(ours_nb).encode())
    results.add(
        Row(
            "5 notebook size",
            f".ipynb bytes, {label}",
            f"{ours / 1024:.1f} KiB",
            fmt_mib(inline) + " inline",
            f"{inline / ours:.0f}x smaller",
        )
    )

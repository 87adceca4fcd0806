"""``jupyter vfs inline NB.ipynb [-o OUT.ipynb]``: a self-contained copy of a notebook.

Virtual outputs get their bytes back (server_side.export): from the sidecar saved beside the
notebook, else from a running server's tiers. The copy opens anywhere, with or without vfs_ext.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from vfs_ext.config import parse_size

from .export import DEFAULT_MAX_LINK_SIZE, Sources, inline_notebook, live_stores


def inline(source: Path, target: Path, max_link_size: int = DEFAULT_MAX_LINK_SIZE) -> list[str]:
    """Write the self-contained copy of ``source`` to ``target``; returns the warnings."""
    notebook = nbformat.read(source, as_version=4)
    warnings = inline_notebook(
        notebook, Sources(source.resolve().parent, live_stores()), max_link_size
    )
    nbformat.write(notebook, target)
    return warnings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jupyter vfs", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    cmd = commands.add_parser(
        "inline",
        help="write a copy of a notebook whose virtual outputs are inline again",
        description="Write a copy of NOTEBOOK whose virtual outputs carry their bytes again "
        "(images as image/png..., Vega data as values, links as data: URLs), taken from the "
        "sidecar folder beside it (.ipynb_vfs/) or from a running server.",
    )
    cmd.add_argument("notebook", type=Path)
    cmd.add_argument("-o", "--output", type=Path, help="default: NOTEBOOK-inline.ipynb")
    cmd.add_argument(
        "--max-link-size",
        default=str(DEFAULT_MAX_LINK_SIZE),
        help="largest file made a data: link (default: %(default)s bytes; e.g. 50MiB)",
    )
    args = parser.parse_args(argv)
    target = args.output or args.notebook.with_name(f"{args.notebook.stem}-inline.ipynb")
    try:
        warnings = inline(args.notebook, target, parse_size(args.max_link_size))
    except (OSError, ValueError) as exc:
        print(f"jupyter vfs inline: {exc}", file=sys.stderr)
        return 1
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``%vfs`` and ``%%vfs``: turn externalization on for a cell or for the session, list and
remove this kernel's virtual files.

A ``%%vfs`` cell is not run as a cell magic's body (a nested ``run_cell``: no top-level
``await``, and a trailing ``;`` would not silence the result, which IPython looks for in the
outer cell). An input transformer turns its first line into ``%vfs --cell ...``, which sets the
policy until the cell ends, and the body runs as the cell itself. Called as a cell magic
(``run_cell_magic``), ``%%vfs`` still runs its body nested.
"""

from __future__ import annotations

import argparse
import os
import re
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display

from vfs_ext.config import format_size, parse_size
from vfs_ext.names import DEFAULT_GROUP, group_key
from vfs_ext.persist_status import describe, read_status

from . import listing
from .session import KernelSession, Policy

USAGE = """\
%%vfs [--threshold SIZE]            run this cell with large outputs as virtual files
%vfs auto on|off [--threshold SIZE] the same for every following cell
%vfs ls [--all]                     this kernel's virtual files (--all: also retiring ones)
%vfs stats                          per-tier usage, budgets and this kernel's fallbacks
%vfs rm NAME                        remove one virtual file
%vfs clear                          remove all of this kernel's virtual files
SIZE: 4096, 256KB, 10MiB, 1G (KB = 1000 bytes, KiB/K = 1024).
Large outputs of any type move out, HTML included; --html is still accepted and does nothing."""

#: The one line a misused ``%vfs`` adds to its error (IPython shows a UsageError alone).
SHORT_USAGE = "%vfs alone shows the usage"
NO_SERVER_STATUS = "no Jupyter server with vfs_ext: outputs stay inline"

_CELL_MAGIC_LINE = re.compile(r"\A%%vfs(?:[ \t]+(?P<args>[^\n]*))?[ \t]*\n?\Z")


def vfs_cell_transformer(lines: list[str]) -> list[str]:
    """IPython input transformer: a cell starting with ``%%vfs ARGS`` runs as itself, its first
    line replaced (line numbers unchanged) by ``%vfs --cell ARGS``."""
    match = _CELL_MAGIC_LINE.match(lines[0]) if lines else None
    if match is None:
        return lines
    args = ("--cell " + (match["args"] or "")).strip()
    return [f"get_ipython().run_line_magic('vfs', {args!r})\n", *lines[1:]]


@magics_class
class VfsMagics(Magics):
    """The ``%vfs`` line magic and the ``%%vfs`` cell magic."""

    def __init__(self, shell: Any, session: KernelSession) -> None:
        super().__init__(shell)
        self.session = session

    @magic_arguments()
    @argument("command", nargs="*", help="auto on|off, ls, stats, rm NAME, clear")
    @argument("--threshold", "-t", help="externalize payloads larger than SIZE (e.g. 256KB)")
    @argument(
        "--html",
        action="store_true",
        help="no longer needed: large text/html moves out without it (accepted, ignored)",
    )
    @argument("--all", action="store_true", help="ls: also the files being retired")
    @argument("--cell", action="store_true", help=argparse.SUPPRESS)  # a %%vfs first line
    @line_cell_magic
    def vfs(self, line: str, cell: str | None = None) -> None:
        """Large outputs as virtual files served by URL; ``%vfs`` alone prints the status.

        Misuse raises IPython's UsageError: one line, no traceback."""
        args, policy = self._parse(line)
        if cell is not None or args.cell:
            if args.command or args.all:
                raise UsageError(f"%%vfs takes only --threshold SIZE; {SHORT_USAGE}")
            if not self.session.available:
                self.session.notice_no_server()
            if cell is None:
                self.session.set_policy_for_this_cell(policy)
            else:
                self._run_cell(cell, policy)
            return
        command, rest = (args.command[0], args.command[1:]) if args.command else ("", [])
        if command == "auto" and rest in (["on"], ["off"]):
            self.session.auto = policy if rest == ["on"] else None
            if not self.session.available:
                self.session.notice_no_server()
            print(self._auto_text())
        elif command == "ls" and not rest:
            self._ls(show_all=args.all)
        elif command == "stats" and not rest:
            self._stats()
        elif command == "rm" and len(rest) == 1:
            self._rm(rest[0])
        elif command == "clear" and not rest:
            count = self.session.owner().release_all() if self.session.available else 0
            print(f"vfs_ext: removed {count} virtual file(s)")
        elif not command:
            print(self._status())
        else:
            raise UsageError(
                f"unknown %vfs command {' '.join(args.command)!r}: use auto on|off, ls, "
                f"stats, rm NAME or clear; {SHORT_USAGE}"
            )

    def _parse(self, line: str) -> tuple[argparse.Namespace, Policy]:
        """The arguments and the policy they ask for; UsageError for anything wrong."""
        try:
            args = parse_argstring(self.vfs, line)
        except UsageError as exc:
            raise UsageError(f"%vfs: {exc}; {SHORT_USAGE}") from None
        threshold = self.session.default_threshold
        if args.threshold:
            try:
                threshold = parse_size(args.threshold)
            except ValueError as exc:
                raise UsageError(f"%vfs --threshold: {exc}") from None
        return args, Policy(threshold)

    def _run_cell(self, cell: str, policy: Policy) -> None:
        # The nested run_cell shows its own traceback; handing its error to the outer cell's
        # result (kept by the displayhook while it runs) makes the execute_reply say "error",
        # so "run all" stops there, without printing the traceback twice.
        shell = self.shell
        assert shell is not None  # a magic runs in a shell
        outer = shell.displayhook.exec_result
        self.session.push_cell_policy(policy)
        try:
            inner = shell.run_cell(cell, store_history=False)
        finally:
            self.session.pop_cell_policy()
            shell.displayhook.exec_result = outer
        error = inner.error_before_exec or inner.error_in_exec
        if outer is not None and error is not None and outer.error_in_exec is None:
            outer.error_in_exec = error

    def _auto_text(self) -> str:
        auto = self.session.auto
        if auto is None:
            return "vfs_ext: auto mode off"
        return f"vfs_ext: auto mode on (threshold {format_size(auto.threshold)})"

    def _status(self) -> str:
        s = self.session
        if s.available:
            assert s.store is not None
            tiers = ", ".join(f"{t.name} ({format_size(t.budget)})" for t in s.store.tiers)
            files = s.files()
            where = (
                f"server store {s.store.namespace} at {s.base_url}@file/; tiers: {tiers}\n"
                f"this kernel: {len(files)} file(s), "
                f"{format_size(sum(f.size for f in files))}"
            )
        else:
            where = NO_SERVER_STATUS
        return f"{where}\n{self._auto_text()}\n\n{USAGE}"

    def _ls(self, *, show_all: bool = False) -> None:
        s = self.session
        counts = dict(s.cell_counts)
        if s.group != DEFAULT_GROUP and self.shell is not None:
            counts[group_key(s.group)] = self.shell.execution_count  # the running cell's
        rows, hidden = listing.ls_rows(s.files(), counts, s.retiring(), s.url, show_all=show_all)
        if not rows:
            more = f" ({hidden} retiring: %vfs ls --all)" if hidden else ""
            print(f"vfs_ext: no virtual files{more}")
            return
        display(listing.ls_bundle(rows, hidden), raw=True)

    def _stats(self) -> None:
        if self.session.store is None:
            print(f"vfs_ext: {NO_SERVER_STATUS}")
            return
        lines = listing.stats_lines(self.session.store.stats())
        status = read_status(self.session.store.events_root)  # the server writes it on saves
        lines += describe(status, os.environ.get("JPY_SESSION_NAME"))
        print("\n".join(lines))

    def _rm(self, name: str) -> None:
        removed = self.session.available and self.session.owner().release(name)
        if removed:
            print(f"vfs_ext: removed {name}")
        else:
            print(f"vfs_ext: {name} is not a virtual file of this kernel")

"""``%vfs`` and ``%%vfs``: turn externalization on for a cell or for the session, list and
remove this kernel's virtual files.

A ``%%vfs`` cell is not run as a cell magic's body (a nested ``run_cell``: no top-level
``await``, and a trailing ``;`` would not silence the result, which IPython looks for in the
outer cell). An input transformer turns its first line into ``%vfs --cell ...``, which sets the
policy until the cell ends, and the body runs as the cell itself. Called as a cell magic
(``run_cell_magic``), ``%%vfs`` still runs its body nested.
"""

from __future__ import annotations

import re
import time
from html import escape
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display

from vfs_ext.config import format_size, parse_size
from vfs_ext.mimes import mime_for_ext
from vfs_ext.names import DEFAULT_GROUP, group_key

from .session import KernelSession, Policy

USAGE = """\
%%vfs [--threshold SIZE] [--html]   run this cell with large outputs as virtual files
%vfs auto on|off [--threshold SIZE] [--html]   the same for every following cell
%vfs ls                             this kernel's virtual files
%vfs stats                          per-tier usage, budgets and this kernel's fallbacks
%vfs rm NAME                        remove one virtual file
%vfs clear                          remove all of this kernel's virtual files
SIZE: 4096, 256KB, 10MiB, 1G (KB = 1000 bytes, KiB/K = 1024)."""

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
    @argument("--html", action="store_true", help="also move large text/html into an iframe")
    @argument("--cell", action="store_true", help="(what a %%%%vfs first line becomes)")
    @line_cell_magic
    def vfs(self, line: str, cell: str | None = None) -> None:
        """Large outputs as virtual files served by URL; ``%vfs`` alone prints the status."""
        args = parse_argstring(self.vfs, line)
        threshold = parse_size(args.threshold) if args.threshold else self.session.default_threshold
        policy = Policy(threshold, args.html)
        if cell is not None or args.cell:
            if args.command:
                raise ValueError("%%vfs takes only --threshold and --html")
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
            self._ls()
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
            raise ValueError(f"unknown %vfs command {' '.join(args.command)!r}\n{USAGE}")

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
        html = ", HTML too" if auto.html else ""
        return f"vfs_ext: auto mode on (threshold {format_size(auto.threshold)}{html})"

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

    def _ls(self) -> None:
        now = time.time()
        cell_ids, default = self.session.cell_ids, group_key(DEFAULT_GROUP)
        rows = []
        for f in self.session.files():
            ext = f.name.rsplit(".", 1)[-1]
            rows.append(
                {
                    "name": f.name,
                    "mime": mime_for_ext(ext),
                    "size": format_size(f.size),
                    "tier": f.tier,
                    "cell": cell_ids.get(f.group, "-" if f.group == default else f.group),
                    "age": f"{now - f.mtime:.0f} s",
                    "url": self.session.url(f.name),
                }
            )
        if not rows:
            print("vfs_ext: no virtual files")
            return
        cols = list(rows[0])
        widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in cols}
        text = "\n".join(
            "  ".join(row[c].ljust(widths[c]) for c in cols)
            for row in [{c: c for c in cols}, *rows]
        )
        # In HTML the name links to the file instead of a URL column repeating it: the table
        # then fits an output area (the URLs were cut off at its edge).
        shown = [c for c in cols if c != "url"]
        head = "".join(f"<th>{c}</th>" for c in shown)
        body = "".join(
            "<tr>"
            + "".join(
                f'<td><a href="{escape(r["url"])}" target="_blank">{escape(r[c])}</a></td>'
                if c == "name"
                else f"<td>{escape(r[c])}</td>"
                for c in shown
            )
            + "</tr>"
            for r in rows
        )
        table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        display({"text/plain": text, "text/html": table}, raw=True)

    def _stats(self) -> None:
        if self.session.store is None:
            print(f"vfs_ext: {NO_SERVER_STATUS}")
            return
        stats = self.session.store.stats()
        lines = []
        for t in stats.tiers:
            lines.append(
                f"{t.name:<7} used {format_size(t.used):>10}"
                f" of {format_size(t.budget):>10}  free {format_size(t.free):>10}"
                f"  files {t.files:>5}  {t.path}"
                + (f"  (tmpfs, huge pages: {t.huge_pages})" if t.huge_pages else "")
                + (
                    f"  (keeps {format_size(t.keep_free)} of its filesystem free)"
                    if t.keep_free
                    else ""
                )
            )
        ev = stats.events
        lines.append(
            f"fallbacks {ev.fallback}, evictions {ev.evict}, errors {ev.error} (this kernel's)"
        )
        for name, reason in stats.refused.items():
            lines.append(f"{name} tier disabled: {reason}")
        print("\n".join(lines))

    def _rm(self, name: str) -> None:
        removed = self.session.available and self.session.owner().release(name)
        if removed:
            print(f"vfs_ext: removed {name}")
        else:
            print(f"vfs_ext: {name} is not a virtual file of this kernel")

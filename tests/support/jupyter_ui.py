"""Drive a notebook in JupyterLab 4 or Notebook 7 the way a user does: clicks, keys, dialogs.

Both front ends render a notebook with the same widgets (``.jp-NotebookPanel``, ``.jp-Cell``,
``.jp-InputPrompt``, ``.jp-OutputArea-output``) and share the notebook shortcuts, so one driver
serves both; only the URL differs. Every wait is bounded and waits for a DOM state, not a time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import BrowserContext, Locator, Page, Response
from playwright.sync_api import TimeoutError as PlaywrightTimeout

#: The visible notebook (JupyterLab may keep other, hidden notebook panels from its workspace).
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
CELLS = f"{PANEL} .jp-Notebook .jp-Cell"
IDLE = ".jp-Notebook-ExecutionIndicator[data-status='idle']"
KERNEL_START_TIMEOUT = 90_000  # ms; first cell of a fresh kernel on a loaded 2-core machine
CELL_TIMEOUT = 60_000
SUBMIT_TIMEOUT = 10_000  # ms until a submitted cell shows [*] (or its result)
UI_TIMEOUT = 30_000

_PROMPT_DONE = re.compile(r"^\[(\d+)\]:$")

#: Marks the cell ``data-vfs-test-run``: armed -> busy (prompt ``[*]:``) -> done (``[n]:``).
_WATCH_PROMPT = """cell => {
    if (cell._vfsTestObserver) cell._vfsTestObserver.disconnect();
    cell.dataset.vfsTestRun = 'armed';
    const update = () => {
        const p = cell.querySelector('.jp-InputPrompt');
        const t = p ? p.textContent.trim() : '';
        if (t === '[*]:') cell.dataset.vfsTestRun = 'busy';
        else if (/^\\[\\d+\\]:$/.test(t) && cell.dataset.vfsTestRun === 'busy')
            cell.dataset.vfsTestRun = 'done';
    };
    cell._vfsTestObserver = new MutationObserver(update);
    cell._vfsTestObserver.observe(cell, {subtree: true, childList: true, characterData: true});
}"""


@dataclass
class Problems:
    """What went wrong in the page that concerns our URLs: console errors, failed requests."""

    console: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)  # every /@file/ response

    def ours(self) -> list[str]:
        bad = [msg for msg in self.console if "@file/" in msg]
        bad += self.failed
        bad += [f"{r.status} {r.url}" for r in self.responses if r.status >= 400]
        return bad


class NotebookUI:
    """One notebook page: open, run cells, restart, save, read outputs."""

    def __init__(
        self, context: BrowserContext, app: str, server_url: str, token: str, path: str
    ) -> None:
        self.context = context
        self.app = app
        self.server_url = server_url  # ends with base_url
        self.token = token
        self.path = path
        self.problems = Problems()
        self.page: Page = self._new_page()

    # -- opening and closing ------------------------------------------------------------------
    @property
    def notebook_url(self) -> str:
        # A JupyterLab workspace per notebook: another test's open notebooks are not restored.
        stem = re.sub(r"[^A-Za-z0-9_-]", "-", self.path.rsplit(".", 1)[0])
        route = f"lab/workspaces/{stem}/tree" if self.app == "lab" else "notebooks"
        return f"{self.server_url}{route}/{self.path}?token={self.token}"

    def _new_page(self) -> Page:
        page = self.context.new_page()
        page.set_default_timeout(UI_TIMEOUT)
        page.on("console", self._on_console)
        page.on("pageerror", lambda err: self.problems.console.append(f"pageerror: {err}"))
        page.on("requestfailed", self._on_request_failed)
        page.on("response", self._on_response)
        return page

    def _on_console(self, msg: Any) -> None:
        if msg.type == "error":
            self.problems.console.append(f"{msg.text} @ {msg.location.get('url', '')}")

    def _on_request_failed(self, request: Any) -> None:
        # A media element abandoning a request it no longer needs is not an error.
        if "@file/" in request.url and request.failure not in ("net::ERR_ABORTED",):
            self.problems.failed.append(f"{request.failure} {request.url}")

    def _on_response(self, response: Response) -> None:
        if "/@file/" in response.url:
            self.problems.responses.append(response)

    @property
    def file_responses(self) -> list[Response]:
        """Every response to a ``/@file/`` URL this notebook's pages received."""
        return self.problems.responses

    def open(self) -> NotebookUI:
        self.page.goto(self.notebook_url, wait_until="domcontentloaded")
        self.page.locator(CELLS).first.wait_for(state="visible", timeout=KERNEL_START_TIMEOUT)
        # JupyterLab covers the panel with a spinner until the notebook's model is loaded.
        self.page.locator(f"{PANEL} .jp-Spinner").wait_for(
            state="detached", timeout=KERNEL_START_TIMEOUT
        )
        self._dismiss_kernel_dialog()
        self.wait_kernel_idle()
        return self

    def wait_kernel_idle(self, timeout: float = KERNEL_START_TIMEOUT) -> None:
        """The toolbar's execution indicator (both front ends) says the kernel is idle."""
        self.page.locator(f"{PANEL} {IDLE}").first.wait_for(state="attached", timeout=timeout)

    def _dismiss_kernel_dialog(self) -> None:
        """A 'Select Kernel' dialog would block keys; accept the default kernel if it shows."""
        dialog = self.page.locator(".jp-Dialog .jp-mod-accept")
        if dialog.count():
            dialog.first.click()

    def reopen(self) -> NotebookUI:
        """Close this page (no beforeunload prompt) and open the notebook in a fresh one."""
        self.page.close()
        self.page = self._new_page()
        return self.open()

    def close(self) -> None:
        if not self.page.is_closed():
            self.page.close()

    # -- cells --------------------------------------------------------------------------------
    def cell(self, index: int) -> Locator:
        return self.page.locator(CELLS).nth(index)

    def outputs(self, index: int) -> Locator:
        return self.cell(index).locator(".jp-OutputArea-output")

    def prompt(self, index: int) -> str:
        return self.cell(index).locator(".jp-InputPrompt").inner_text().strip()

    def run_cell(self, index: int, timeout: float = CELL_TIMEOUT) -> int:
        """Run one cell with Shift+Enter; wait until it finished; return its execution count."""
        self.start_cell(index)
        return self.wait_cell(index, timeout)

    def start_cell(self, index: int) -> None:
        """Shift+Enter on one cell, returning once it runs (or already finished).

        A MutationObserver watches the prompt go ``[*]:`` then ``[n]:`` (after a restart ``n``
        can equal the previous count, so "the text changed" would not do). While JupyterLab
        finishes connecting to a fresh kernel it can drop a Shift+Enter (no ``[*]:`` ever), so
        the key is pressed again in that case only, as it is when a late dialog took the click.
        """
        for attempt in range(3):
            # Under load the 'Select Kernel' dialog can show after open() looked for it; it
            # then takes the click, so each attempt looks again.
            self._dismiss_kernel_dialog()
            cell = self.cell(index)
            cell.scroll_into_view_if_needed()
            cell.evaluate(_WATCH_PROMPT)
            try:
                cell.locator(".jp-InputArea-editor").click(timeout=SUBMIT_TIMEOUT)
                self.page.keyboard.press("Shift+Enter")
                self._wait_run_state(index, ("busy", "done"), SUBMIT_TIMEOUT)
                break
            except PlaywrightTimeout:
                if attempt == 2:
                    raise

    def wait_cell(self, index: int, timeout: float = CELL_TIMEOUT) -> int:
        """Wait until a started cell finished; its execution count (its error raised)."""
        self._wait_run_state(index, ("done",), timeout)
        done = _PROMPT_DONE.match(self.prompt(index))
        assert done, self.prompt(index)
        tracebacks = self.cell(index).locator("[data-mime-type='application/vnd.jupyter.error']")
        if tracebacks.count():
            raise AssertionError(f"cell {index} raised:\n{tracebacks.first.inner_text()}")
        return int(done.group(1))

    def _wait_run_state(self, index: int, states: tuple[str, ...], timeout: float) -> None:
        self.page.wait_for_function(
            """([sel, i, states]) => {
                const cell = document.querySelectorAll(sel)[i];
                return !!cell && states.includes(cell.dataset.vfsTestRun);
            }""",
            arg=[CELLS, index, list(states)],
            timeout=timeout,
        )

    def run_cells(
        self, indices: range | list[int], first_timeout: float = KERNEL_START_TIMEOUT
    ) -> None:
        for n, i in enumerate(indices):
            self.run_cell(i, timeout=first_timeout if n == 0 else CELL_TIMEOUT)

    # -- kernel and file ----------------------------------------------------------------------
    def command_mode(self) -> None:
        self.page.keyboard.press("Escape")
        self.cell(0).locator(".jp-InputPrompt").click()  # focus the notebook, not an editor

    def restart_kernel(self) -> None:
        """``0 0`` in command mode, then accept the 'Restart Kernel?' dialog."""
        self.command_mode()
        self.page.keyboard.press("0")
        self.page.keyboard.press("0")
        self.page.locator(".jp-Dialog .jp-mod-accept").click()
        self.page.locator(".jp-Dialog").wait_for(state="detached")
        self.wait_kernel_idle()

    def save(self) -> None:
        """Ctrl+S, and wait for the contents API to store the notebook."""
        self.command_mode()
        with self.page.expect_response(
            lambda r: r.request.method == "PUT" and "/api/contents/" in r.url, timeout=UI_TIMEOUT
        ) as saved:
            self.page.keyboard.press("Control+s")
        assert saved.value.status in (200, 201), saved.value.status

    # -- media --------------------------------------------------------------------------------
    def wait_image(self, img: Locator, timeout: float = UI_TIMEOUT) -> int:
        """Wait until the image has loaded; return its naturalWidth (0 = broken image)."""
        img.scroll_into_view_if_needed()
        self.page.wait_for_function(
            "img => img.complete", arg=img.element_handle(), timeout=timeout
        )
        return img.evaluate("img => img.naturalWidth")

    def wait_media_ready(self, media: Locator, *, play: bool, timeout: float = UI_TIMEOUT) -> int:
        """Wait until the element has current data (readyState >= 2); return readyState.

        ``play`` starts muted playback first, for elements that preload nothing by themselves.
        """
        media.scroll_into_view_if_needed()
        if play:
            media.evaluate("el => { el.muted = true; return el.play().catch(() => {}); }")
        self.page.wait_for_function(
            """el => {
                if (el.error) throw new Error(`media error ${el.error.code}: ${el.currentSrc}`);
                return el.readyState >= 2;
            }""",
            arg=media.element_handle(),
            timeout=timeout,
        )
        return media.evaluate("el => el.readyState")

    def seek_middle(self, video: Locator) -> float:
        """Pause and seek to the middle; resolve once 'seeked' fired; return the new time."""
        return video.evaluate(
            """(v, ms) => new Promise((ok, fail) => {
                const timer = setTimeout(() => fail(new Error('no seeked event')), ms);
                v.pause();
                v.addEventListener('seeked', () => { clearTimeout(timer); ok(v.currentTime); },
                                   {once: true});
                v.currentTime = v.duration / 2;
            })""",
            UI_TIMEOUT,
        )

    @contextmanager
    def expect_download(self) -> Iterator[Any]:
        with self.page.expect_download(timeout=UI_TIMEOUT) as info:
            yield info

"""vfs_ext's log lines in the server's own log: jupyter_server's handlers, format and level.

The core and both sides log to the ``vfs_ext`` logger. In the server process nothing configures
it: Python's last-resort handler prints warnings as bare lines (under JupyterHub, without time
or level) and drops INFO lines such as "swept ...". The server app's logger (``ServerApp.log``,
configured by ``--log-level`` and ``ServerApp.logging_config``) does not propagate, so the
``vfs_ext`` logger borrows its handlers and level while the extension runs.
"""

from __future__ import annotations

import logging

#: The logger every vfs_ext module logs to (``logging.getLogger("vfs_ext")``).
LOGGER = "vfs_ext"


class ServerLogging:
    """Route ``vfs_ext`` records to the server app's handlers until ``restore``.

    A ``vfs_ext`` logger the admin configured (through ``ServerApp.logging_config`` or
    ``logging.config``) has handlers of its own and is left as it is.
    """

    def __init__(self, app_log: logging.Logger | logging.LoggerAdapter[logging.Logger]) -> None:
        self.logger = logging.getLogger(LOGGER)
        self._borrowed: list[logging.Handler] = []
        self._saved = (self.logger.level, self.logger.propagate)
        if self.logger.handlers:
            return
        base = app_log.logger if isinstance(app_log, logging.LoggerAdapter) else app_log
        self._borrowed = list(base.handlers)
        for handler in self._borrowed:
            self.logger.addHandler(handler)
        if self._borrowed:
            self.logger.setLevel(base.getEffectiveLevel())
            self.logger.propagate = False  # the root logger's handlers would print it twice

    def restore(self) -> None:
        """Give the handlers back (a server stopped and started again in one process)."""
        for handler in self._borrowed:
            self.logger.removeHandler(handler)
        if self._borrowed:
            self.logger.setLevel(self._saved[0])
            self.logger.propagate = self._saved[1]
        self._borrowed = []

"""The server's running figures since it started: one object the extension app owns.

Everything here only grows (a Prometheus *counter* each), except ``last_sweep`` (a timestamp).
Writers are the app (kernel shutdowns, sweeps) and the ``@file`` handler (responses); readers
are ``GET api/vfs`` (server_side.admin) and anything that exports metrics, which reads the
attributes on each scrape (a ``prometheus_client`` custom collector needs nothing more).
What kernels do (fallbacks, evictions, errors) is counted from their events file instead:
``Store.stats().events``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from vfs_ext.sweep import SweepReport


@dataclass
class Releases:
    """Files released because their kernel was shut down through the API."""

    kernels: int = 0
    files: int = 0
    bytes: int = 0


@dataclass
class Sweeps:
    """Sweeps run, and what they removed of dead kernels and servers."""

    runs: int = 0
    owners: int = 0
    files: int = 0
    bytes: int = 0
    last: float | None = None  # time.time() of the last sweep


@dataclass
class Responses:
    """``@file`` responses by HTTP status, and the body bytes sent."""

    by_status: Counter[int] = field(default_factory=Counter)
    bytes: int = 0


@dataclass
class ServerCounters:
    """All of the server's running figures; updated on the event loop."""

    released: Releases = field(default_factory=Releases)
    sweeps: Sweeps = field(default_factory=Sweeps)
    responses: Responses = field(default_factory=Responses)

    def kernel_released(self, files: int, nbytes: int) -> None:
        self.released.kernels += 1
        self.released.files += files
        self.released.bytes += nbytes

    def swept(self, report: SweepReport, when: float) -> None:
        self.sweeps.runs += 1
        self.sweeps.owners += len(report.owners)
        self.sweeps.files += report.files
        self.sweeps.bytes += report.bytes
        self.sweeps.last = when

    def served(self, status: int, nbytes: int) -> None:
        self.responses.by_status[status] += 1
        self.responses.bytes += nbytes

    def report(self) -> dict[str, Any]:
        """As JSON for ``api/vfs``."""
        return {
            "released": asdict(self.released),
            "sweeps": asdict(self.sweeps),
            "responses": {
                "by_status": {str(k): v for k, v in sorted(self.responses.by_status.items())},
                "bytes": self.responses.bytes,
            },
        }

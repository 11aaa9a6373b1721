"""The Transport protocol: run a command on a host (locally or over SSH) and fetch a local HTTP endpoint.

Every transport has the same shape, so the engine and the probe runner never know which one they use:

* ``run(command, stdin=..., timeout_s=..., max_output=..., stop=...)`` runs ``command`` with ``stdin`` fed
  to it, cuts it at ``timeout_s`` (the process is killed, locally or remotely), caps each output stream
  at ``max_output`` bytes (the rest is read and thrown away, and the result says so), and, when the
  ``stop`` event is set (Ctrl-C), sends the command SIGTERM so its cleanup traps run.
* ``http_get(port, path, timeout_s)`` GETs ``http://127.0.0.1:<port><path>`` *on the host* (over SSH:
  through the existing connection, nothing is exposed).
* ``close()``.

Failures to run at all never raise from ``run``: they come back as a :class:`RawRun` with
``exit_code=None`` and ``error`` set. Failures to *connect* raise :class:`ConnectError` from the
transport's constructor/factory, with a ``kind`` the engine records per host.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal, Protocol, runtime_checkable

DEFAULT_MAX_OUTPUT = 8 * 1024 * 1024
"""Default cap per output stream (stdout, stderr): 8 MiB."""

KILL_GRACE_S = 10
"""Seconds between the remote ``timeout``'s TERM and its KILL (``timeout -k 10``)."""

ConnectErrorKind = Literal["unreachable", "auth", "host-key", "timeout"]


class ConnectError(Exception):
    """A host could not be connected to. ``kind`` says why, ``str()`` says what to do about it."""

    def __init__(self, kind: ConnectErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind: ConnectErrorKind = kind
        self.message = message


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class RawRun:
    """What one command did, before it becomes a :class:`clustermax.models.CommandResult`."""

    exit_code: int | None
    """Exit status; None when the command never finished (timeout, interrupt, transport error)."""
    stdout: bytes
    stderr: bytes
    started_at: datetime
    duration_s: float
    timed_out: bool = False
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    error: str | None = None
    """Transport error (connection dropped, could not start), when the command could not run or finish."""
    interrupted: bool = False
    """True when the stop event cut the command (Ctrl-C / SIGTERM of clustermax)."""


@runtime_checkable
class Transport(Protocol):
    """Runs commands on one host. Implementations: LocalTransport, SSHTransport, ReplayTransport."""

    name: str
    """Host name as the audit knows it."""

    def run(
        self,
        command: str,
        *,
        stdin: bytes | None = None,
        timeout_s: float,
        max_output: int = DEFAULT_MAX_OUTPUT,
        stop: threading.Event | None = None,
    ) -> RawRun:
        """Run ``command`` (a fixed command line; data goes on ``stdin``). Never raises for run failures."""
        ...

    def http_get(self, port: int, path: str, timeout_s: float) -> tuple[int | None, bytes, str | None]:
        """GET http://127.0.0.1:<port><path> on the host: (HTTP status or None, body, error or None)."""
        ...

    def close(self) -> None: ...


class OutputCap:
    """Collects one output stream up to ``limit`` bytes; counts (and drops) the rest."""

    def __init__(self, limit: int) -> None:
        self.limit = max(0, limit)
        self._parts: list[bytes] = []
        self._size = 0
        self.truncated = False

    def feed(self, data: bytes) -> None:
        if not data:
            return
        room = self.limit - self._size
        if room <= 0:
            self.truncated = True
            return
        if len(data) > room:
            data = data[:room]
            self.truncated = True
        self._parts.append(data)
        self._size += len(data)

    def value(self) -> bytes:
        return b"".join(self._parts)

"""Replay recorded command results (from a bundle) as if a host answered them: for tests and demos.

A ``run`` is matched to a recorded main command by the SHA-256 of its stdin script (exact replay of the
same audit), else to the next unconsumed recording with the same command line; an ``http_get`` to the
recording whose command is ``GET http://127.0.0.1:<port><path>``. Unmatched calls come back as transport
errors (``exit_code=None``), never as invented output.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable

from ..models import Bundle, CommandResult
from .base import DEFAULT_MAX_OUTPUT, RawRun, utcnow


def _raw(cmd: CommandResult, max_output: int) -> RawRun:
    out = cmd.stdout.encode("utf-8")
    err = cmd.stderr.encode("utf-8")
    return RawRun(
        exit_code=cmd.exit_code,
        stdout=out[:max_output],
        stderr=err[:max_output],
        started_at=utcnow(),
        duration_s=cmd.duration_s,
        timed_out=cmd.timed_out,
        stdout_truncated=cmd.stdout_truncated or len(out) > max_output,
        stderr_truncated=cmd.stderr_truncated or len(err) > max_output,
        error=cmd.error,
        interrupted=cmd.error == "interrupted",
    )


class ReplayTransport:
    """Serves the recorded commands of one host."""

    def __init__(self, name: str, commands: Iterable[CommandResult]) -> None:
        self.name = name
        self._commands = [c for c in commands if c.host == name]
        self._used: set[str] = set()
        self._lock = threading.Lock()
        self.calls: list[str] = []

    @classmethod
    def from_bundle(cls, bundle: Bundle, host: str) -> ReplayTransport:
        return cls(host, bundle.commands)

    def _take(self, match: list[CommandResult]) -> CommandResult | None:
        for cmd in match:
            if cmd.id not in self._used:
                self._used.add(cmd.id)
                return cmd
        return match[0] if match else None

    def run(
        self,
        command: str,
        *,
        stdin: bytes | None = None,
        timeout_s: float,
        max_output: int = DEFAULT_MAX_OUTPUT,
        stop: threading.Event | None = None,
    ) -> RawRun:
        digest = hashlib.sha256(stdin).hexdigest() if stdin is not None else None
        with self._lock:
            self.calls.append(command)
            found = self._take([c for c in self._commands if digest and c.script_sha256 == digest])
            if found is None:
                found = self._take([c for c in self._commands if c.command == command and c.step == "main"])
        if found is None:
            return RawRun(None, b"", b"", utcnow(), 0.0, error=f"no recording of {command!r} on {self.name}")
        return _raw(found, max_output)

    def http_get(self, port: int, path: str, timeout_s: float) -> tuple[int | None, bytes, str | None]:
        wanted = f"GET http://127.0.0.1:{int(port)}{path}"
        with self._lock:
            self.calls.append(wanted)
            found = self._take([c for c in self._commands if c.command == wanted])
        if found is None:
            return None, b"", f"no recording of {wanted} on {self.name}"
        return found.exit_code, found.stdout.encode("utf-8"), found.error

    def close(self) -> None:
        return None

"""Progress of an audit: a rich display on a terminal, plain log lines otherwise (both on stderr)."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from ..models import HostRecord, ProbeResult, ProbeStatus
from ..sanitize import term


def _result_line(result: ProbeResult) -> str:
    # host names, messages and errors come from the cluster: one terminal-safe line (clustermax.sanitize)
    status = result.status.value + (f"/{result.substatus.value}" if result.substatus else "")
    msg = f": {term(result.message, 400)}" if result.message else ""
    return f"{term(result.host, 80)} {term(result.probe_id, 60)}: {status} ({result.duration_s:.2f} s){msg}"


def _repeats_host_failure(result: ProbeResult, down: dict[str, str | None]) -> bool:
    """A probe result that only repeats its host's connection failure (printed once, with the host)."""
    return result.status == ProbeStatus.ERROR and result.host in down and result.message == down[result.host]


def _host_line(record: HostRecord) -> str:
    name = term(record.name, 80)
    if record.state == "ok":
        t = f" in {record.connect_time_s:.2f} s" if record.connect_time_s is not None else ""
        via = f" via {term(record.via, 80)}" if record.via else ""
        return f"{name}: connected{via}{t}"
    return f"{name}: {record.state}: {term(record.error, 400)}"


class PlainEvents:
    """One line per event, for logs and CI."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self._lock = threading.Lock()
        self._t0 = time.monotonic()
        self._down: dict[str, str | None] = {}

    def _emit(self, text: str) -> None:
        if self.quiet:
            return
        with self._lock:
            self.stream.write(f"[clustermax {time.monotonic() - self._t0:6.1f}s] {text}\n")
            self.stream.flush()

    def phase(self, name: str, hosts: int) -> None:
        self._emit(f"phase {name}: {hosts} host(s)")

    def host_done(self, record: HostRecord) -> None:
        if record.state != "ok":
            self._down[record.name] = record.error
        self._emit(_host_line(record))

    def probe_done(self, result: ProbeResult) -> None:
        if not _repeats_host_failure(result, self._down):
            self._emit(_result_line(result))

    def note(self, text: str) -> None:
        self._emit(term(text, 400))


class RichEvents:
    """A live progress line plus a printed line for every host and every probe that is not ok."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.console = Console(stderr=True)
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self._task = self.progress.add_task("connecting", total=None, counts="")
        self._counts = {s: 0 for s in ProbeStatus}
        self._lock = threading.Lock()
        self._down: dict[str, str | None] = {}

    def __enter__(self) -> RichEvents:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def _update(self, description: str | None = None) -> None:
        counts = "  ".join(f"{s.value} {n}" for s, n in self._counts.items() if n)
        if description is None:
            self.progress.update(self._task, counts=counts)
        else:
            self.progress.update(self._task, description=description, counts=counts)

    def phase(self, name: str, hosts: int) -> None:
        with self._lock:
            self._update(f"{name} phase: {hosts} host(s)")

    def host_done(self, record: HostRecord) -> None:
        style = "green" if record.state == "ok" else "red"
        if record.state != "ok":
            self._down[record.name] = record.error
        self.console.print(_host_line(record), style=style, markup=False, highlight=False)

    def probe_done(self, result: ProbeResult) -> None:
        with self._lock:
            self._counts[result.status] += 1
            self._update()
        if result.status != ProbeStatus.OK and not _repeats_host_failure(result, self._down):
            style = {"failed": "red", "error": "yellow", "skipped": "dim"}.get(result.status.value, "")
            self.console.print(_result_line(result), style=style or None, markup=False, highlight=False)

    def note(self, text: str) -> None:
        self.console.print(term(text, 400), markup=False, highlight=False)

"""Crash-safe persistence of an audit: the journal is the truth, bundle.json a view of it.

* ``DIR/journal.jsonl`` is append-only, one JSON record per line: a ``start`` record (the bundle skeleton:
  origin, target, options), then ``host``, ``command``, ``result`` and ``step`` (a scheduler job) records
  as they arrive, and an ``end`` record. A probe's commands and its result go in one write followed by
  ``fdatasync``, so what was journaled survives a SIGKILL, a crash or a power cut, and a failed write (a
  full disk) is cut back so the file never ends in half a record (:class:`clustermax.safeio.AppendLog`).
* ``DIR/bundle.json`` is rewritten atomically (:func:`clustermax.bundle.io.write_bundle`) after the login
  phase and at the end. ``complete`` is true only in the last one, and only when every planned result is
  in; ``--resume`` never reads bundle.json, it rebuilds the audit from the journal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import ConfigError
from ..models import CommandResult, HostRecord, ProbeResult, SchedulerStep
from ..safeio import AppendLog, max_bundle_bytes, parse_json, read_bytes

JOURNAL = "journal.jsonl"


def _line(kind: str, payload: BaseModel | dict[str, Any]) -> str:
    data = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
    return json.dumps({"kind": kind, "data": data}, sort_keys=True, ensure_ascii=False) + "\n"


class Journal:
    """DIR/journal.jsonl: whole records appended and made durable as each result arrives.

    Raises :class:`clustermax.errors.OutputError` when a record cannot be written (the journal then
    ends with the last record that could).
    """

    def __init__(self, directory: Path, *, sync: bool = True) -> None:
        self.path = directory / JOURNAL
        self._log = AppendLog(self.path, what="journal", sync=sync)

    def write(self, kind: str, payload: BaseModel | dict[str, Any]) -> None:
        self._log.append(_line(kind, payload).encode("utf-8"))

    def write_many(self, records: list[tuple[str, BaseModel | dict[str, Any]]]) -> None:
        """Several records in one write (one fdatasync): a probe's commands with its result."""
        if records:
            self._log.append("".join(_line(k, p) for k, p in records).encode("utf-8"))

    def close(self) -> None:
        self._log.close()


@dataclass
class JournalState:
    """What a journal holds: the start record, and hosts, commands and results (the last one wins)."""

    start: dict[str, Any] | None = None
    hosts: list[HostRecord] = field(default_factory=list)
    commands: list[CommandResult] = field(default_factory=list)
    results: list[ProbeResult] = field(default_factory=list)
    steps: list[SchedulerStep] = field(default_factory=list)
    """Scheduler jobs that ran node probes, in order."""
    skipped: int = 0
    """Lines that could not be read (a line cut by a crash, a damaged or forged record)."""


def read_journal(directory: Path) -> JournalState:
    """Read DIR/journal.jsonl (bounded; every record validated). A missing journal gives an empty state."""
    path = directory / JOURNAL
    state = JournalState()
    if not path.exists() and not path.is_symlink():
        return state
    raw = read_bytes(path, what="journal", limit=max_bundle_bytes())
    hosts: dict[str, HostRecord] = {}
    commands: dict[str, CommandResult] = {}
    results: dict[tuple[str, str], ProbeResult] = {}
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            entry = parse_json(line, f"{path}:{number}", what="journal record")
            if not isinstance(entry, dict):
                raise ValueError("not an object")
            kind, data = entry.get("kind"), entry.get("data")
            if kind == "start":
                if state.start is None:
                    if not isinstance(data, dict):
                        raise ValueError("start record is not an object")
                    state.start = data
            elif kind == "host":
                record = HostRecord.model_validate(data)
                hosts[record.name] = record
            elif kind == "command":
                cmd = CommandResult.model_validate(data)
                commands[cmd.id] = cmd
            elif kind == "result":
                res = ProbeResult.model_validate(data)
                results[(res.host, res.probe_id)] = res
            elif kind == "step":
                state.steps.append(SchedulerStep.model_validate(data))
        except (ConfigError, ValidationError, ValueError):
            state.skipped += 1
    state.hosts = list(hosts.values())
    state.commands = list(commands.values())
    state.results = list(results.values())
    return state

"""Crash-safe persistence of an audit: the append-only journal (bundle.json itself: clustermax.bundle.io)."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..models import CommandResult, HostRecord, ProbeResult

JOURNAL = "journal.jsonl"


class Journal:
    """DIR/journal.jsonl: one JSON object per line, flushed as each result arrives."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / JOURNAL
        self._fh = self.path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, kind: str, payload: BaseModel | dict[str, Any]) -> None:
        data = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
        line = json.dumps({"kind": kind, "data": data}, sort_keys=True, ensure_ascii=False)
        with self._lock:
            self._fh.write(line + "\n")
            self._fh.flush()

    def close(self) -> None:
        with self._lock, contextlib.suppress(OSError):
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()


def read_journal(directory: Path) -> tuple[dict[str, Any] | None, list[HostRecord], list[CommandResult],
                                           list[ProbeResult]]:  # fmt: skip
    """What a journal holds: the start record (bundle skeleton), hosts, commands and results (last wins)."""
    start: dict[str, Any] | None = None
    hosts: dict[str, HostRecord] = {}
    commands: dict[str, CommandResult] = {}
    results: dict[tuple[str, str], ProbeResult] = {}
    path = directory / JOURNAL
    if not path.is_file():
        return None, [], [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by a crash
        kind, data = entry.get("kind"), entry.get("data")
        try:
            if kind == "start" and start is None:
                start = data
            elif kind == "host":
                record = HostRecord.model_validate(data)
                hosts[record.name] = record
            elif kind == "command":
                cmd = CommandResult.model_validate(data)
                commands[cmd.id] = cmd
            elif kind == "result":
                res = ProbeResult.model_validate(data)
                results[(res.host, res.probe_id)] = res
        except ValueError:
            continue
    return start, list(hosts.values()), list(commands.values()), list(results.values())

"""Kernel logs (dmesg, dmesg -T / --ctime, syslog, journalctl) -> NVIDIA Xid events.

Only ``NVRM: Xid`` lines and the "GPU has fallen off the bus" message are read; every other line is
ignored. "Fallen off the bus" without an Xid line (newer drivers print it on several lines) counts
as Xid 79. Severity and class come from :mod:`clustermax.parsers.xid_catalog`.

Timestamps are kept as the log gives them: seconds since boot (float) for ``[ 1234.5678]``, an ISO
string for ``dmesg -T``/``--ctime``, ISO journal/syslog lines; a syslog date without a year cannot
be made ISO, so it goes to ``timestamp_raw`` and ``timestamp`` stays null.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

from ._text import bounded_int, ctime_to_iso, normalize
from .base import ParsedOutput, ParseError
from .xid_catalog import CRITICAL_CLASSES, xid_info

KIND = "xid"

_HIT = re.compile(r"NVRM: (?:Xid|The NVIDIA GPU)|fallen off the bus")
# Xid codes are small numbers: after more than 6 digits the line is no Xid line (not read as 6 digits)
_XID = re.compile(r"NVRM: Xid \((?:PCI:)?([0-9A-Fa-f:.]+)\):\s*(\d{1,6})(?!\d)(?:\s*,\s*|\s+)?(.*)$")
_PID = re.compile(r"\bpid=('?<unknown>'?|\d+)")
_NAME = re.compile(r"\bname=(<unknown>|[^,]*?)(?:,|$)")
_CAUSE = re.compile(r"caused by previous Xid (\d+)")
_FALLEN_GPU = re.compile(r"NVRM: The NVIDIA GPU ([0-9A-Fa-f:.]+)")
_MONO = re.compile(r"\[\s*(\d+\.\d+)\]")
_CTIME = re.compile(r"^\[([A-Z][a-z]{2} [A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d \d{4})\]")
_ISO = re.compile(r"^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?)\s")
_SYSLOG = re.compile(r"^([A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d)\s")
_KERNELISH = re.compile(
    r"^(?:\[\s*\d+\.\d+\]|\[[A-Z][a-z]{2} [A-Z][a-z]{2} "
    r"|[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d |\d{4}-\d\d-\d\d[T ]\d\d:)"
    r"|kernel:|NVRM",
    re.M,
)


# precompiled (were re.<fn>(pattern, ...) calls in the functions named)
_TIMESTAMP_RE1 = re.compile(r"[+-]\d{4}$")
_DETECT_XID_RE1 = re.compile(r"^\[\s*\d+\.\d+\]", re.M)


@dataclass(slots=True, kw_only=True)
class XidEvent:
    """One Xid event. A plain dataclass (a log can hold tens of thousands), serialised by pydantic as a
    field of :class:`XidOutput`."""

    xid: int
    pci: Annotated[str | None, Field(description="PCI address as printed (e.g. 0000:3b:00).")]
    pid: int | None
    process: str | None
    message: str
    cause_xid: Annotated[int | None, Field(description="'caused by previous Xid N'.")]
    severity: Annotated[str, Field(description="critical, high, medium, low or info (xid_catalog).")]
    category: Annotated[
        str, Field(description="hardware, reset-required, application, driver, informational, unknown.")
    ]
    timestamp: Annotated[
        float | str | None,
        Field(description="Seconds since boot (float) or ISO 8601 string, as the log gives; else null."),
    ]
    timestamp_raw: Annotated[str | None, Field(description="The timestamp text as printed.")]
    line: Annotated[int, Field(description="1-based line number in the input.")]


class XidOutput(ParsedOutput):
    events: list[XidEvent] = Field(default_factory=list)
    xids: list[int] = Field(default_factory=list, description="Sorted unique Xid codes.")
    fallen_off_bus: bool = False
    critical_events: int = Field(default=0, description="Events of class hardware or reset-required.")


def _timestamp(line: str) -> tuple[float | str | None, str | None]:
    c0 = line[:1]
    if c0 == "[":
        # only the dmesg -T or the boot-relative form can start with "[" (not ISO, not syslog)
        if line[1:2].isupper():
            m0 = _CTIME.match(line)
            if m0:
                raw0 = m0.group(1)
                return ctime_to_iso(raw0), raw0
        m5 = _MONO.search(line, 0, 80)
        if m5:
            try:
                return float(m5.group(1)), m5.group(1)
            except ValueError:
                return None, None
        return None, None
    m2 = _ISO.match(line) if c0.isdigit() else None
    if m2:
        raw = m2.group(1)
        iso = raw.replace(",", ".").replace(" ", "T", 1)
        if _TIMESTAMP_RE1.search(iso):
            iso = iso[:-2] + ":" + iso[-2:]
        return iso, raw
    m3 = _MONO.search(line, 0, 80)
    mono: float | None = None
    if m3 and (line.startswith("[") or "kernel:" in line[: m3.start() + 1] or m3.start() < 40):
        try:
            mono = float(m3.group(1))
        except ValueError:
            mono = None
    m4 = _SYSLOG.match(line)
    if m4:
        # no year in a classic syslog date: keep it raw; the boot-relative stamp is better if present
        return (mono, m3.group(1) if m3 else m4.group(1)) if mono is not None else (None, m4.group(1))
    if mono is not None and m3 is not None:
        return mono, m3.group(1)
    return None, None


def _bus(pci: str | None) -> str | None:
    """Bus part for de-duplication: '0000:b3:00.0', 'PCI:0000:b3:00' -> 'b3'."""
    if not pci:
        return None
    parts = pci.lower().split(":")
    if len(parts) >= 2:
        return parts[1] if len(parts) >= 3 else parts[0]
    return pci.lower()


def parse_xid(text: str) -> XidOutput:
    """Parse a kernel log for Xid events. Raises :class:`ParseError` for empty or non-log text."""
    if not isinstance(text, str):
        raise ParseError(KIND, "expected text")
    text = normalize(text)
    if not text.strip():
        raise ParseError(KIND, "empty input: expected a kernel log (dmesg, journalctl -k or syslog)")
    events: list[XidEvent] = []
    warnings: list[str] = []
    fallen = False
    fallen_gpu: tuple[str, float | str | None, str | None, int] | None = None
    pending_fallen: list[tuple[str | None, float | str | None, str | None, int]] = []
    last_end = -1
    line_no = 1
    counted_to = 0
    rfind, find, count = text.rfind, text.find, text.count
    xid_search = _XID.search
    for hit in _HIT.finditer(text):
        pos = hit.start()
        start = rfind("\n", 0, pos) + 1
        if start <= last_end:
            continue  # several hits on one line
        end = find("\n", pos)
        if end < 0:
            end = len(text)
        line = text[start:end]
        last_end = end
        line_no += count("\n", counted_to, start)
        counted_to = start
        m = xid_search(line)
        if m:
            rest = m.group(3).strip()
            xid = int(m.group(2))
            pid_m = _PID.search(rest) if "pid=" in rest else None
            pid_s = pid_m.group(1) if pid_m else ""
            pid = bounded_int(pid_s)  # None for '<unknown>' and for digit runs no pid has
            name_m = _NAME.search(rest) if "name=" in rest else None
            process = name_m.group(1).strip() if name_m else None
            if process in ("<unknown>", ""):
                process = None
            message = rest
            if name_m:
                message = rest[name_m.end() :].strip()
            elif pid_m:
                message = rest[pid_m.end() :].lstrip(", ").strip()
            cause = _CAUSE.search(rest) if "caused by" in rest else None
            info = xid_info(xid)
            ts, raw = _timestamp(line)
            if xid == 79 or "fallen off the bus" in rest:
                fallen = True
            event = XidEvent(
                xid=xid,
                pci=m.group(1),
                pid=pid,
                process=process,
                message=message,
                cause_xid=bounded_int(cause.group(1), 6) if cause else None,
                severity=info.severity,
                category=info.category,
                timestamp=ts,
                timestamp_raw=raw,
                line=line_no,
            )
            events.append(event)
            continue
        g = _FALLEN_GPU.search(line)
        if g:
            ts, raw = _timestamp(line)
            fallen_gpu = (g.group(1), ts, raw, line_no)
            if "fallen off the bus" not in line:
                continue
        if "fallen off the bus" in line:
            fallen = True
            if fallen_gpu is not None and line_no - fallen_gpu[3] <= 3:
                pending_fallen.append(fallen_gpu)
                fallen_gpu = None
            else:
                ts, raw = _timestamp(line)
                pending_fallen.append((None, ts, raw, line_no))
    xid79_buses = {_bus(e.pci) for e in events if e.xid == 79}
    info79 = xid_info(79)
    for pci, ts, raw, ln in pending_fallen:
        if pci is not None and _bus(pci) in xid79_buses:
            continue
        events.append(
            XidEvent(
                xid=79,
                pci=pci,
                pid=None,
                process=None,
                message="GPU has fallen off the bus (reported without an Xid line; counted as Xid 79)",
                cause_xid=None,
                severity=info79.severity,
                category=info79.category,
                timestamp=ts,
                timestamp_raw=raw,
                line=ln,
            )
        )
    events.sort(key=lambda e: e.line)
    if not events and not _KERNELISH.search(text[:200_000]):
        raise ParseError(
            KIND, "expected a kernel log (dmesg, dmesg -T, journalctl -k or syslog lines); found none"
        )
    xids = sorted({e.xid for e in events})
    critical = sum(1 for e in events if e.category in CRITICAL_CLASSES)
    return XidOutput.model_construct(
        warnings=warnings, events=events, xids=xids, fallen_off_bus=fallen, critical_events=critical
    )


def detect_xid(text: str) -> float:
    head = text[:500_000]
    if "NVRM: Xid" in head or "fallen off the bus" in head:
        return 0.95
    if "NVRM:" in head:
        return 0.6
    if _KERNELISH.search(head[:5000]) and ("kernel:" in head or _DETECT_XID_RE1.search(head)):
        return 0.3
    return 0.0


_JOURNAL_REFUSED = re.compile(r"permission|not seeing messages|no journal files", re.IGNORECASE)


def journal_refused(stderr: str) -> bool:
    """``journalctl -k`` said it may not show the kernel log (a user outside adm/systemd-journal gets
    an empty log with exit 0 and only this hint on stderr)."""
    return bool(_JOURNAL_REFUSED.search(stderr))

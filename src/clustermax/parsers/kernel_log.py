"""Kernel logs (dmesg, dmesg -T / --ctime, syslog, journalctl) -> NVIDIA Xid events.

Only ``NVRM: Xid (PCI:...): N, ...`` records and the driver's "GPU has fallen off the bus" message are
read; every other line is ignored. A kernel log is recognised by its structure: lines that start with a
kernel-log prefix (``[ 1234.5678]``, ``[Wed Jul 31 23:14:18 2024]``, ``Nov 07 18:17:15 host kernel:``,
an ISO stamp, ``kernel:``) or with ``NVRM:`` itself; the words "fallen off the bus" count only inside
such an ``NVRM:`` line, never in prose.

"Fallen off the bus" without an Xid line (newer drivers print it on several lines) counts as Xid 79; the
same failure named twice (an Xid 79 on ``PCI:0000:91:00`` and ``NVRM: GPU 0000:91:00.0: GPU has fallen
off the bus.``) is one event: PCI ids are compared as domain:bus:device whatever their spelling, and a
message that names no GPU joins the Xid 79 printed next to it. NVSwitch ``SXid`` lines are not Xid
events: they are counted in a warning. Severity and class come from
:mod:`clustermax.parsers.xid_catalog`.

Timestamps are kept as the log gives them: seconds since boot (float) for ``[ 1234.5678]``, an ISO
string for ``dmesg -T``/``--ctime``, ISO journal/syslog lines; a syslog date without a year cannot
be made ISO, so it goes to ``timestamp_raw`` and ``timestamp`` stays null.
"""

from __future__ import annotations

import re
from bisect import bisect_left, insort
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated

from pydantic import Field

from ._paste import unwrapped_detect, unwrapped_input
from ._text import bounded_int, ctime_to_iso, normalize
from .base import ParsedOutput, ParseError
from .xid_catalog import CRITICAL_CLASSES, xid_info

KIND = "xid"

_HIT = re.compile(r"NVRM: (?:Xid|The NVIDIA GPU)|fallen off the bus|SXid \(")
# what may stand before "NVRM:" on a kernel-log line (the same forms as _KERNELISH, and "host kernel:")
_PREFIX = (
    r"(?:\[\s*\d+\.\d+\]"
    r"|\[[A-Z][a-z]{2} [A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d \d{4}\]"
    r"|\S{1,12} +\d{1,2} \d\d:\d\d:\d\d(?:\.\d+)? \S+ kernel:"
    r"|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d\S*(?: \S+ kernel:)?"
    r"|(?:\S+ )?kernel:"
    r"|<\d>)"
)
# a line of a log: a kernel-log prefix, a syslog date, or an NVRM record without one
_KERNELISH = re.compile(rf"^\s*(?:{_PREFIX}|[A-Z][a-z]{{2}} +\d{{1,2}} \d\d:\d\d:\d\d |NVRM: )", re.M)
# a line only the kernel prints: the dmesg stamp or the kernel: tag (not any daemon's syslog line)
_KERNEL_ONLY = re.compile(
    r"^\s*(?:\[\s*\d+\.\d+\]|\[[A-Z][a-z]{2} [A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d \d{4}\]"
    r"|(?:\S+ +)*?kernel:|NVRM: )"
)
_RECORD = re.compile(rf"^\s*(?:{_PREFIX}\s*)*(?:\[\s*\d+\.\d+\]\s*)?NVRM: ")
_FALLEN_NAMED = re.compile(
    r"NVRM: GPU (?:at )?(?:PCI:)?([0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}(?:\.\d)?):"
)
_SAME_EVENT_LINES = 20
"""Lines within which two reports of the same GPU falling off the bus are one failure."""
_SXID = re.compile(r"nvidia-nvswitch\d*: SXid \(PCI:([0-9A-Fa-f:.]+)\): (\d{1,6})\b")
_PCI_PARTS = re.compile(
    r"^(?:PCI:)?(?:([0-9A-Fa-f]{1,8}):)?([0-9A-Fa-f]{1,2}):([0-9A-Fa-f]{1,2})(?:\.[0-9A-Fa-f])?$"
)
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


# precompiled (were re.<fn>(pattern, ...) calls in the functions named)
_TIMESTAMP_RE1 = re.compile(r"[+-]\d{4}$")


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


def _near(lines: list[int], at: int, within: int) -> bool:
    """A line of the sorted ``lines`` within ``within`` lines of ``at``."""
    i = bisect_left(lines, at - within)
    return i < len(lines) and lines[i] <= at + within


@lru_cache(maxsize=1024)
def gpu_id(pci: str | None) -> str | None:
    """One spelling for every way the driver names a GPU: 'PCI:0000:b3:00', '0000:b3:00.0',
    '00000000:B3:00.0', 'b3:00' -> '0000:b3:00' (domain:bus:device); None when it is not a PCI id."""
    if not pci:
        return None
    m = _PCI_PARTS.match(pci.strip())
    if m is None:
        return None
    domain, bus, device = m.groups()
    return f"{int(domain or '0', 16):04x}:{int(bus, 16):02x}:{int(device, 16):02x}"


@unwrapped_input
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
    sxids: list[tuple[str, int]] = []
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
        if "SXid (" in line:
            sx = _SXID.search(line)
            if sx:
                sxids.append((sx.group(1), int(sx.group(2))))
            continue
        if not _RECORD.match(line):
            continue  # the words in prose, or in a line that is no kernel record
        g = _FALLEN_GPU.search(line)
        if g:
            ts, raw = _timestamp(line)
            fallen_gpu = (g.group(1), ts, raw, line_no)
            if "fallen off the bus" not in line:
                continue
        if "fallen off the bus" in line:
            fallen = True
            named = _FALLEN_NAMED.search(line)
            if named:
                ts, raw = _timestamp(line)
                pending_fallen.append((named.group(1), ts, raw, line_no))
            elif fallen_gpu is not None and line_no - fallen_gpu[3] <= 3:
                pending_fallen.append(fallen_gpu)
                fallen_gpu = None
            else:
                ts, raw = _timestamp(line)
                pending_fallen.append((None, ts, raw, line_no))
    # line numbers of the reports so far, per GPU and all together (sorted: the merge is a bisect)
    by_gpu: dict[str | None, list[int]] = {}
    every: list[int] = []
    for e in events:
        if e.xid == 79:
            by_gpu.setdefault(gpu_id(e.pci), []).append(e.line)
            every.append(e.line)
    info79 = xid_info(79)
    merged = 0
    for pci, ts, raw, ln in pending_fallen:
        gid = gpu_id(pci)
        # the same failure told twice: an Xid 79 (or an earlier message) of the same GPU a few lines
        # away, or, when this message names no GPU, one printed right next to it
        if _near(by_gpu.get(gid, []) if gid is not None else every, ln, _SAME_EVENT_LINES if gid else 3):
            merged += 1
            continue
        insort(by_gpu.setdefault(gid, []), ln)
        insort(every, ln)
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
    if merged:
        warnings.append(
            f"{merged} 'fallen off the bus' message(s) tell a failure already reported a few lines away"
            " (an Xid 79 or another message of the same GPU): counted once"
        )
    if sxids:
        codes = ", ".join(str(c) for c in sorted({c for _, c in sxids}))
        switches = len({gpu_id(p) or p for p, _ in sxids})
        warnings.append(
            f"{len(sxids)} NVSwitch SXid line(s) (SXid {codes} on {switches} switch(es)) are not Xid events"
            " and are not evaluated"
        )
    xids = sorted({e.xid for e in events})
    critical = sum(1 for e in events if e.category in CRITICAL_CLASSES)
    return XidOutput.model_construct(
        warnings=warnings, events=events, xids=xids, fallen_off_bus=fallen, critical_events=critical
    )


@unwrapped_detect
def detect_xid(text: str) -> float:
    """Confidence from structure: kernel-log lines carrying ``NVRM:`` records (0.95), full Xid records in
    another tool's wrapper lines (0.9), a kernel log without NVRM lines (0.6); a text where such lines
    are the minority (prose around a quoted line) is no kernel log (0.0 .. 0.3)."""
    if not isinstance(text, str):
        return 0.0
    lines = [line for line in text[:500_000].split("\n") if line.strip()]
    if not lines:
        return 0.0
    kernel = records = xids = 0
    for line in lines:
        if _KERNEL_ONLY.match(line):
            kernel += 1
            if _RECORD.match(line):
                records += 1
        if "NVRM: Xid" in line and _XID.search(line):
            xids += 1
    if records and kernel * 2 >= len(lines):
        return 0.95
    if xids and xids * 2 >= len(lines):
        return 0.9
    if kernel >= 5 and kernel * 10 >= len(lines) * 8:
        return 0.6
    if records or xids:
        return 0.3
    return 0.0


_JOURNAL_REFUSED = re.compile(r"permission|not seeing messages|no journal files", re.IGNORECASE)


def journal_refused(stderr: str) -> bool:
    """``journalctl -k`` said it may not show the kernel log (a user outside adm/systemd-journal gets
    an empty log with exit 0 and only this hint on stderr)."""
    return bool(_JOURNAL_REFUSED.search(stderr))

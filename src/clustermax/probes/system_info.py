"""system_info: host name, OS, kernel, architecture, CPU model and count, memory, uptime (pure)."""

from __future__ import annotations

import re

from ..models import Measurement, ProbeStatus, ScalarValue, SubStatus, Unit
from .base import FileKind, ProbeInput, ProbeOutput, Section


def _ok_text(section: Section | None) -> str | None:
    if section is None or not section.ok:
        return None
    text = section.text.strip()
    return text or None


def _first_line(section: Section | None) -> str | None:
    text = _ok_text(section)
    return text.splitlines()[0].strip() if text else None


def os_pretty_name(os_release: str) -> str | None:
    """PRETTY_NAME of /etc/os-release (else NAME VERSION), quotes removed."""
    values: dict[str, str] = {}
    for line in os_release.splitlines():
        key, sep, value = line.strip().partition("=")
        if not sep or not key or key.startswith("#"):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key] = value
    if values.get("PRETTY_NAME"):
        return values["PRETTY_NAME"]
    name = " ".join(v for v in (values.get("NAME"), values.get("VERSION")) if v)
    return name or None


_LSCPU_MODEL = re.compile(r"^Model name:\s*(?P<v>.+?)\s*$", re.MULTILINE)
_CPUINFO_MODEL = re.compile(r"^(?:model name|cpu model|Processor|cpu)\s*:\s*(?P<v>.+?)\s*$", re.MULTILINE)


def cpu_model(lscpu: str | None, cpuinfo: str | None) -> str | None:
    for text, pattern in ((lscpu, _LSCPU_MODEL), (cpuinfo, _CPUINFO_MODEL)):
        if text:
            # lscpu prints one "Model name" per core type (big.LITTLE); the first is the main one
            for m in pattern.finditer(text):
                value = m.group("v")
                if value and value != "-":
                    return value
    return None


_MEMTOTAL = re.compile(r"^MemTotal:\s*(?P<n>\d+)\s*kB\s*$", re.MULTILINE)


def memory_total_gib(meminfo: str | None) -> float | None:
    m = _MEMTOTAL.search(meminfo or "")
    if not m:
        return None
    return round(int(m.group("n")) * 1024 / 2**30, 2)


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        value = int(text.split()[0])
    except (ValueError, IndexError):
        return None
    return value if value > 0 else None


def _uptime(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return round(float(text.split()[0]), 2)
    except (ValueError, IndexError):
        return None


def from_sections(inp: ProbeInput) -> ProbeOutput:
    s = inp.sections
    lscpu = _ok_text(s.get("lscpu"))
    cpuinfo = _ok_text(s.get("cpuinfo-model"))
    os_text = _ok_text(s.get("os-release"))
    values: dict[str, tuple[ScalarValue, Unit]] = {
        "system.hostname": (_first_line(s.get("hostname")), Unit.TEXT),
        "system.os": (os_pretty_name(os_text) if os_text else None, Unit.TEXT),
        "system.kernel": (_first_line(s.get("kernel")), Unit.VERSION),
        "system.arch": (_first_line(s.get("arch")), Unit.TEXT),
        "system.cpu_model": (cpu_model(lscpu, cpuinfo), Unit.TEXT),
        "system.cpu_count": (_int(_first_line(s.get("cpus"))), Unit.COUNT),
        "system.memory_total": (memory_total_gib(_ok_text(s.get("meminfo"))), Unit.GIB),
        "system.uptime": (_uptime(_first_line(s.get("uptime"))), Unit.SECONDS),
    }
    out = ProbeOutput(
        measurements=[
            Measurement(metric=name, value=value, unit=unit, host=inp.host)
            for name, (value, unit) in values.items()
        ]
    )
    measured = [name for name, (value, _u) in values.items() if value is not None]
    if not measured:
        out.status = ProbeStatus.ERROR
        out.substatus = SubStatus.COMMAND_FAILED
        out.message = "no system information could be read (did the script run?)"
        return out
    hostname, os_name = values["system.hostname"][0], values["system.os"][0]
    out.message = f"{hostname}: {os_name or 'unknown OS'}, {values['system.cpu_count'][0] or '?'} CPUs"
    out.facts = {
        "hostname": hostname,
        "arch": values["system.arch"][0],
        "cpu_count": values["system.cpu_count"][0],
    }
    return out


FILES: tuple[FileKind, ...] = ()
"""No parser kind: ``clustermax import`` files no output under this probe."""

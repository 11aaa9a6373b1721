"""system_info: host name, OS, kernel, architecture, CPU model and count, memory, uptime (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from ..models import ProbeStatus, ScalarValue, SubStatus, Unit
from ..parsers.system import cpu_model, memory_total_gib, os_pretty_name
from .base import FileKind, Measured, ProbeInput, ProbeOutput, Section
from .evidence import measurements_of


def _ok_text(section: Section | None) -> str | None:
    if section is None or not section.ok:
        return None
    text = section.text.strip()
    return text or None


def _first_line(section: Section | None) -> str | None:
    text = _ok_text(section)
    return text.splitlines()[0].strip() if text else None


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


@dataclass(frozen=True)
class SystemFacts:
    """What the host printed about itself, read (None: not printed or unreadable)."""

    hostname: str | None = None
    os: str | None = None
    kernel: str | None = None
    arch: str | None = None
    cpu_model: str | None = None
    cpu_count: int | None = None
    memory_total_gib: float | None = None
    uptime_s: float | None = None


_METRICS = (
    ("system.hostname", "hostname", Unit.TEXT),
    ("system.os", "os", Unit.TEXT),
    ("system.kernel", "kernel", Unit.VERSION),
    ("system.arch", "arch", Unit.TEXT),
    ("system.cpu_model", "cpu_model", Unit.TEXT),
    ("system.cpu_count", "cpu_count", Unit.COUNT),
    ("system.memory_total", "memory_total_gib", Unit.GIB),
    ("system.uptime", "uptime_s", Unit.SECONDS),
)
"""(metric, SystemFacts field, unit), in the order the probe reports them."""


def measure(ev: SystemFacts, host: str) -> Measured:
    """The eight ``system.*`` metrics (null when the host did not tell)."""
    values: dict[str, tuple[ScalarValue, Unit]] = {
        metric: (getattr(ev, field), unit) for metric, field, unit in _METRICS
    }
    return Measured(measurements_of(values, host), [])


def evidence(s: dict[str, Section]) -> SystemFacts:
    os_text = _ok_text(s.get("os-release"))
    return SystemFacts(
        hostname=_first_line(s.get("hostname")),
        os=os_pretty_name(os_text) if os_text else None,
        kernel=_first_line(s.get("kernel")),
        arch=_first_line(s.get("arch")),
        cpu_model=cpu_model(_ok_text(s.get("lscpu")), _ok_text(s.get("cpuinfo-model"))),
        cpu_count=_int(_first_line(s.get("cpus"))),
        memory_total_gib=memory_total_gib(_ok_text(s.get("meminfo"))),
        uptime_s=_uptime(_first_line(s.get("uptime"))),
    )


def from_sections(inp: ProbeInput) -> ProbeOutput:
    ev = evidence(inp.sections)
    measurements, _ = measure(ev, inp.host)
    out = ProbeOutput(measurements=measurements)
    if all(m.value is None for m in measurements):
        out.status = ProbeStatus.ERROR
        out.substatus = SubStatus.COMMAND_FAILED
        out.message = "no system information could be read (did the script run?)"
        return out
    out.message = f"{ev.hostname}: {ev.os or 'unknown OS'}, {ev.cpu_count or '?'} CPUs"
    out.facts = {"hostname": ev.hostname, "arch": ev.arch, "cpu_count": ev.cpu_count}
    return out


FILES: tuple[FileKind, ...] = ()
"""No parser kind: ``clustermax import`` files no output under this probe."""

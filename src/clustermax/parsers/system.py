"""Small system outputs the probes print: /etc/os-release, lscpu, /proc/cpuinfo, /proc/meminfo, the
modules of /proc/modules (lsmod), the listening sockets of ``ss -Htln``, a kernel release. Pure; every
reader returns None (or an empty set) for text it cannot read, never raises."""

from __future__ import annotations

import re

_LSCPU_MODEL = re.compile(r"^Model name:\s*(?P<v>.+?)\s*$", re.MULTILINE)
_CPUINFO_MODEL = re.compile(r"^(?:model name|cpu model|Processor|cpu)\s*:\s*(?P<v>.+?)\s*$", re.MULTILINE)
_MEMTOTAL = re.compile(r"^MemTotal:\s*(?P<n>\d+)\s*kB\s*$", re.MULTILINE)
_MODULE = re.compile(r"^(\S+) ", re.MULTILINE)
_KERNEL_RELEASE = re.compile(r"^(\d+)\.(\d+)")


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


def cpu_model(lscpu: str | None, cpuinfo: str | None) -> str | None:
    """The CPU model from lscpu's ``Model name`` (the first: big.LITTLE prints one per core type), else
    /proc/cpuinfo's model line."""
    for text, pattern in ((lscpu, _LSCPU_MODEL), (cpuinfo, _CPUINFO_MODEL)):
        if text:
            for m in pattern.finditer(text):
                value = m.group("v")
                if value and value != "-":
                    return value
    return None


def memory_total_gib(meminfo: str | None) -> float | None:
    """MemTotal of /proc/meminfo in GiB (2 decimals)."""
    m = _MEMTOTAL.search(meminfo or "")
    if not m:
        return None
    return round(int(m.group("n")) * 1024 / 2**30, 2)


def loaded_modules(proc_modules: str) -> set[str]:
    """Module names of /proc/modules (or lsmod) lines."""
    return set(_MODULE.findall(proc_modules))


def kernel_at_least(release: str, major: int, minor: int) -> bool | None:
    """``uname -r`` is at least major.minor; None when the release is not ``N.M...``."""
    m = _KERNEL_RELEASE.match(release.strip())
    if not m:
        return None
    return (int(m.group(1)), int(m.group(2))) >= (major, minor)


def listening_ports(ss_output: str) -> set[int]:
    """TCP ports of ``ss -Htln`` lines (the local address column, IPv4 or IPv6)."""
    ports = set()
    for line in ss_output.splitlines():
        for f in line.split()[2:5]:
            if ":" in f:
                tail = f.rsplit(":", 1)[1]
                if tail.isdigit():
                    ports.add(int(tail))
                    break
    return ports

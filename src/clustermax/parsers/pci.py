"""PCIe Access Control Services (ACS) from ``lspci -vvv`` and the PCI tree from sysfs paths.

ACS request/completion redirect on a PCIe *switch* port sends peer-to-peer traffic (GPU to GPU, GPU to
NIC under the same switch) up to the root complex, which costs GPUDirect P2P and RDMA most of their
bandwidth; NVIDIA's NCCL troubleshooting guide says to disable it on bare metal. Root ports are another
matter (P2P between root ports crosses the root complex anyway), so only switch ports count.

``lspci -vvv`` shows the extended capabilities, ACS among them, to root only; as another user every device
shows ``Capabilities: <access denied>``. Pure; readers never raise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_HEADER = re.compile(r"^(?P<bdf>(?:[0-9a-f]{4}:)?[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])\s+(?P<desc>.*)$")
_PORT = re.compile(r"Express \(v\d\) (?P<port>Root Port|Upstream Port|Downstream Port)")
_ACSCTL = re.compile(r"ACSCtl:\s*(?P<flags>.*)$")
_FLAG = re.compile(r"(?P<name>[A-Za-z]+)(?P<on>[+-])")
_BDF = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")


@dataclass
class PciFunction:
    bdf: str
    """Domain:bus:device.function (0000: added when lspci printed none)."""
    description: str
    port: str | None = None
    """Root Port, Upstream Port or Downstream Port (PCI Express bridges)."""
    acs_ctl: dict[str, bool] | None = None
    """ACSCtl flags (SrcValid, ReqRedir, CmpltRedir ...): None when lspci showed no ACS control."""
    denied: bool = False
    """``Capabilities: <access denied>``: lspci ran without root."""

    @property
    def redirects(self) -> bool:
        """ACS request or completion redirect is on (peer-to-peer goes through the root complex)."""
        return bool(self.acs_ctl and (self.acs_ctl.get("ReqRedir") or self.acs_ctl.get("CmpltRedir")))


@dataclass
class LspciAcs:
    functions: list[PciFunction] = field(default_factory=list)

    @property
    def denied(self) -> bool:
        """Every capability list was hidden (lspci -vvv as a user)."""
        return (
            bool(self.functions)
            and all(f.denied or f.port is None for f in self.functions)
            and any(f.denied for f in self.functions)
        )

    def switch_ports(self) -> list[PciFunction]:
        return [f for f in self.functions if f.port in ("Upstream Port", "Downstream Port")]


def parse_lspci_acs(text: str) -> LspciAcs:
    """Devices of ``lspci -vvv`` (or ``lspci -D -vvv``, or only its device and ACSCtl lines), each with its
    PCI Express port type and ACSCtl flags."""
    out = LspciAcs()
    current: PciFunction | None = None
    for raw in text.splitlines():
        m = _HEADER.match(raw)
        if m:
            bdf = m.group("bdf")
            current = PciFunction(bdf if bdf.count(":") == 2 else f"0000:{bdf}", m.group("desc"))
            out.functions.append(current)
            continue
        if current is None:
            continue
        line = raw.strip()
        if "Capabilities: <access denied>" in line:
            current.denied = True
            continue
        port = _PORT.search(line)
        if port:
            current.port = port.group("port")
            continue
        acs = _ACSCTL.search(line)
        if acs:
            current.acs_ctl = {
                f.group("name"): f.group("on") == "+" for f in _FLAG.finditer(acs.group("flags"))
            }
    return out


@dataclass(frozen=True)
class PciPath:
    kind: str
    """gpu or nic."""
    chain: tuple[str, ...]
    """The BDFs from the root port down to the device itself (the device is last)."""

    @property
    def ancestors(self) -> tuple[str, ...]:
        return self.chain[:-1]


def parse_pci_paths(text: str) -> list[PciPath]:
    """``gpu /sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0`` lines (readlink -f of a PCI device)."""
    out = []
    for line in text.splitlines():
        kind, _, path = line.strip().partition(" ")
        if kind not in ("gpu", "nic") or not path.startswith("/sys/devices/"):
            continue
        chain = tuple(part for part in path.split("/") if _BDF.match(part))
        if chain:
            out.append(PciPath(kind, chain))
    return out

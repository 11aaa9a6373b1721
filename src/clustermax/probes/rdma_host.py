"""rdma_host: the RDMA NICs of one node and what NCCL makes of them (sections in ``probes/rdma_host/run.sh``).

A node without an RDMA device (and without a BlueField RShim) is *not applicable*.

* ``fabric.hca_firmware`` {device}: sysfs fw_ver of each NVIDIA (Mellanox, vendor 0x15b3) device.
* ``nccl.hca_selection_ok``: NCCL can pick the HCAs a user names: every device has its driver's own name
  (``mlx5_0``; cmax's ``roce_p0_rail0`` scheme too), or the provider set NCCL_IB_HCA (/etc/nccl.conf or the
  login environment). Renamed devices (``ibp26s0``, ``rdmaP23800p0s2``) with no NCCL_IB_HCA are false.
* ``nccl.ib_qps_fit`` {tiers}: NCCL_IB_QPS_PER_CONNECTION (default 1) is at least 2 on a multi-tier fabric
  (Slurm's topology has switches above the leaves, or more than 64 nodes when it says nothing); true on a
  single-tier one; null when the fabric's shape cannot be read.
* ``fabric.acs_redirect_ports``: PCIe switch ports above a GPU or an RDMA NIC with ACS request/completion
  redirect on; null when the audit is not root (lspci shows ACS to root only: not measured, needs root);
  left out when no GPU or NIC sits under a switch.
* ``security.rshim_exposed``: on a node with a BlueField (or an RShim the host can see): true when
  /dev/rshim* or tmfifo_net0 is visible to the host.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..models import Finding, Measurement, ProbeStatus, ScalarValue, Severity, SubStatus, Unit
from ..parsers.hostinfo import RdmaDevice, nccl_settings, rdma_devices, topology_levels
from ..parsers.pci import LspciAcs, PciPath, parse_lspci_acs, parse_pci_paths
from .base import FileKind, Measured, ProbeInput, ProbeOutput, Section
from .evidence import with_remediation

NVIDIA_NET_VENDOR = "0x15b3"
BLUEFIELD_DEVICES = frozenset({"0xa2d2", "0xa2d6", "0xa2dc"})
"""PCI device ids of the BlueField, BlueField-2 and BlueField-3 integrated NIC functions (PCI ID database)."""
STANDARD_NAME = re.compile(r"^(?:(?:mlx5|mlx4|bnxt_re|irdma|qedr|hfi1|efa)_?\d+|roce_p\d+_rail\d+)$")
MULTI_TIER_NODES = 64
"""Without a topology, cmax (and this probe) takes a fabric of more than 64 nodes to need spine switches."""


def _ok(section: Section | None) -> str | None:
    return section.text if section is not None and section.ok else None


@dataclass(frozen=True)
class RdmaHostEvidence:
    devices: list[RdmaDevice] = field(default_factory=list)
    nccl: dict[str, str] = field(default_factory=dict)
    """NCCL_* settings: /etc/nccl.conf, then the login environment (which wins)."""
    tiers: int | None = None
    node_count: int | None = None
    paths: list[PciPath] = field(default_factory=list)
    root: bool | None = None
    acs: LspciAcs | None = None
    rshim: list[str] = field(default_factory=list)


def evidence(s: Mapping[str, Section]) -> RdmaHostEvidence:
    settings = nccl_settings(_ok(s.get("nccl-conf")) or "")
    settings.update(nccl_settings(_ok(s.get("nccl-env")) or ""))
    count_text = (_ok(s.get("node-count")) or "").strip()
    ident = (_ok(s.get("id")) or "").strip()
    lspci = s.get("lspci")
    topo = s.get("topology")
    return RdmaHostEvidence(
        devices=rdma_devices(_ok(s.get("ib-devices")) or ""),
        nccl=settings,
        tiers=topology_levels(topo.text) if topo is not None and topo.rc is not None else None,
        node_count=int(count_text) if count_text.isdigit() and int(count_text) > 0 else None,
        paths=parse_pci_paths(_ok(s.get("pci-paths")) or ""),
        root=(ident == "0") if ident.isdigit() else None,
        acs=parse_lspci_acs(lspci.text) if lspci is not None and lspci.ok else None,
        rshim=[line.strip() for line in (_ok(s.get("rshim")) or "").splitlines() if line.strip()],
    )


def qps_fit(ev: RdmaHostEvidence) -> tuple[bool | None, str]:
    """(fits, tiers label): at least 2 QPs per connection on a multi-tier fabric."""
    raw = ev.nccl.get("NCCL_IB_QPS_PER_CONNECTION", "1")
    qps = int(raw) if raw.isdigit() else None
    if ev.tiers is not None:
        multi, label = ev.tiers > 1, str(ev.tiers)
    elif ev.node_count is not None and ev.node_count > MULTI_TIER_NODES:
        multi, label = True, f"unknown (>{MULTI_TIER_NODES} nodes)"
    else:
        return None, "unknown"
    if not multi:
        return True, label
    return (qps >= 2 if qps is not None else None), label


@dataclass(frozen=True)
class AcsReading:
    applies: bool
    """A GPU sits on this node and, as far as can be read, under PCIe switch ports."""
    ports: int | None = None
    """Switch ports above a GPU or NIC with ACS redirect on; None: lspci was not run as root."""


def acs_redirect_ports(ev: RdmaHostEvidence) -> AcsReading:
    ancestors = {bdf for p in ev.paths for bdf in p.ancestors}
    if not any(p.kind == "gpu" for p in ev.paths):
        return AcsReading(False)
    if ev.acs is None:  # not root: the ACS capability is hidden, so it is not measured
        return AcsReading(ev.root is not True)
    ports = [f for f in ev.acs.switch_ports() if f.bdf in ancestors]
    if not ports:
        return AcsReading(False)
    return AcsReading(True, sum(1 for f in ports if f.redirects))


def measure(ev: RdmaHostEvidence, host: str, remediation: Mapping[str, str] | None = None) -> Measured:
    out: list[Measurement] = []
    findings: list[Finding] = []

    def m(metric: str, value: ScalarValue, unit: Unit, **labels: str) -> None:
        out.append(Measurement(metric=metric, value=value, unit=unit, host=host, labels=labels))

    nvidia = [d for d in ev.devices if d.vendor == NVIDIA_NET_VENDOR]
    for dev in nvidia:
        if dev.firmware:
            m("fabric.hca_firmware", dev.firmware, Unit.VERSION, device=dev.name)
    bluefields = [d for d in nvidia if d.device in BLUEFIELD_DEVICES]
    if ev.devices:
        m("fabric.bluefield_devices", len(bluefields), Unit.COUNT)
        m("fabric.hca_names", ",".join(d.name for d in ev.devices), Unit.TEXT)
        pinned = bool(ev.nccl.get("NCCL_IB_HCA"))
        m("nccl.hca_selection_ok", pinned or all(STANDARD_NAME.match(d.name) for d in ev.devices), Unit.BOOL)
        fits, tiers = qps_fit(ev)
        m("nccl.ib_qps_fit", fits, Unit.BOOL, tiers=tiers)
    acs = acs_redirect_ports(ev)
    if acs.applies:
        m("fabric.acs_redirect_ports", acs.ports, Unit.COUNT)
        if acs.ports:
            findings.append(
                Finding(
                    code="acs-on",
                    severity=Severity.MEDIUM,
                    host=host,
                    message=f"{acs.ports} PCIe switch port(s) above the GPUs/NICs redirect peer-to-peer "
                    "traffic (ACS)",
                )
            )
    if bluefields or ev.rshim:
        m("security.rshim_exposed", bool(ev.rshim), Unit.BOOL)
        if ev.rshim:
            findings.append(
                Finding(
                    code="rshim-exposed",
                    severity=Severity.HIGH,
                    host=host,
                    message=f"the host sees the BlueField RShim ({', '.join(ev.rshim)})",
                )
            )
    return Measured(out, with_remediation(findings, remediation or {}))


def from_sections(inp: ProbeInput) -> ProbeOutput:
    if "ib-devices" not in inp.sections:
        return ProbeOutput(
            status=ProbeStatus.ERROR,
            substatus=SubStatus.COMMAND_FAILED,
            message="the script printed no section",
        )
    ev = evidence(inp.sections)
    if not ev.devices and not ev.rshim:
        return ProbeOutput(
            status=ProbeStatus.SKIPPED,
            substatus=SubStatus.NOT_APPLICABLE,
            message="no RDMA device on this node (/sys/class/infiniband is empty or absent)",
        )
    measurements, findings = measure(ev, inp.host, inp.spec.remediation)
    message = f"{len(ev.devices)} RDMA device(s): {', '.join(d.name for d in ev.devices) or 'none'}"
    acs = acs_redirect_ports(ev)
    if acs.applies and acs.ports is None:
        message += "; PCIe ACS not measured: needs root"
    return ProbeOutput(message=message, measurements=measurements, findings=findings)


FILES: tuple[FileKind, ...] = ()
"""No parser kind: ``clustermax import`` files no output under this probe."""

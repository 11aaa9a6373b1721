"""fabric probe: InfiniBand/RoCE ports (ibstat, or sysfs), GPUDirect RDMA readiness, GPU-NIC affinity.

Sections are described in ``probes/fabric/run.sh``. A node without any RDMA device (no
/sys/class/infiniband) has ``fabric.ports`` = 0: that is a measurement, not an error.

Ports are read by the shared parser (:func:`clustermax.parsers.infiniband.parse_ibstat`, or
``parse_ib_sysfs`` without ibstat) and the topology by ``parse_nvidia_smi_topo``; both are mapped by
:func:`ibstat_measurements` and :func:`topo_measurements`, which ``clustermax import`` calls too (FILES),
so the same text gives the same ``fabric.*`` values either way.

Port metrics (:func:`ibstat_measurements`):

* fabric.ports / ports_active / ports_down: all ports; down = any state other than active. When the
  state of a port is not printed (a cut output) ports_active/ports_down are null. No port at all
  (a node without an RDMA device) is 0 ports, 0 active, 0 down, 0 NICs. ``parsed`` None (the listing
  could not be read) leaves every port metric null.
* fabric.port_rate {ca, port}: Gb/s of each active port (a down port's printed rate is not a link rate,
  so it is reported as not measured).
* fabric.nic_rate: the highest rate among active InfiniBand/Ethernet ports; fabric.nic_count: active
  ports at that rate (the compute fabric; slower management NICs are left out). Null when ports exist
  but none is active at a known rate.
* fabric.link_layer: link layer of those ports (InfiniBand wins a tie); fabric.firmware {ca}.

Findings: ``ports-down`` (ports not active), ``rate-low`` (an active port of the fabric's link layer
below the fabric's rate).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from ..models import Finding, Measurement, ProbeStatus, Severity, SubStatus, Unit
from ..parsers.infiniband import IbPort, IbstatOutput, parse_ib_sysfs, parse_ibstat
from ..parsers.nvidia_smi_topo import NvidiaSmiTopoOutput, parse_nvidia_smi_topo
from ..parsers.system import kernel_at_least, loaded_modules
from .base import FileKind, ImportContext, ImportedOutput, Measured, ProbeInput, ProbeOutput, Section
from .evidence import NOT_COLLECTED, NotCollected, Slot, one_file, parsed_or_none, with_remediation

# ------------------------------------------------------------------------------------------ measure

Result = tuple[list[Measurement], list[Finding]]


def _rate(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def ibstat_measurements(
    parsed: IbstatOutput | None, host: str, labels: dict[str, str] | None = None
) -> Result:
    """``labels`` go on fabric.ports (the probe says where the ports were read: ``source``)."""
    out: list[Measurement] = []
    findings: list[Finding] = []

    def m(metric: str, value: bool | int | float | str | None, unit: Unit, **labels: str) -> None:
        out.append(Measurement(metric=metric, value=value, unit=unit, host=host, labels=labels))

    if parsed is None:
        m("fabric.ports", None, Unit.COUNT, **(labels or {}))
        for name in ("fabric.ports_active", "fabric.ports_down", "fabric.nic_count"):
            m(name, None, Unit.COUNT)
        m("fabric.nic_rate", None, Unit.GBITPS)
        m("fabric.link_layer", None, Unit.TEXT)
        return out, findings
    ports = parsed.ports
    m("fabric.ports", len(ports), Unit.COUNT, **(labels or {}))
    known = [p for p in ports if p.state is not None]
    active = [p for p in known if p.state == "active"]
    down = [p for p in known if p.state != "active"]
    complete = len(known) == len(ports)
    m("fabric.ports_active", len(active) if complete else None, Unit.COUNT)
    m("fabric.ports_down", len(down) if complete else None, Unit.COUNT)
    for p in ports:
        rate = _rate(p.rate_gbps) if (p.state == "active" and p.rate_gbps is not None) else None
        m("fabric.port_rate", rate, Unit.GBITPS, ca=p.ca, port=str(p.port) if p.port is not None else "")
    fabric = [p for p in active if p.rate_gbps is not None and _layer(p) in ("InfiniBand", "Ethernet")]
    if fabric:
        top = max(p.rate_gbps or 0.0 for p in fabric)
        at_top = [p for p in fabric if p.rate_gbps == top]
        layers = Counter(_layer(p) for p in at_top)
        layer = max(layers, key=lambda k: (layers[k], k == "InfiniBand"))
        m("fabric.nic_count", len(at_top), Unit.COUNT)
        m("fabric.nic_rate", _rate(top), Unit.GBITPS)
        m("fabric.link_layer", layer, Unit.TEXT)
        slow = [p for p in fabric if _layer(p) == layer and (p.rate_gbps or 0) < top]
        if slow:
            shown = ", ".join(f"{p.ca}:{p.port} at {_rate(p.rate_gbps or 0)} Gb/s" for p in slow)
            findings.append(
                Finding(
                    code="rate-low",
                    severity=Severity.MEDIUM,
                    host=host,
                    message=f"{len(slow)} active {layer} port(s) below the fabric rate {_rate(top)} Gb/s: "
                    f"{shown}.",
                )
            )
    else:
        m("fabric.nic_count", 0 if not ports else None, Unit.COUNT)
        m("fabric.nic_rate", None, Unit.GBITPS)
        m("fabric.link_layer", None, Unit.TEXT)
    for ca, fw in _firmware(ports).items():
        m("fabric.firmware", fw, Unit.VERSION, ca=ca)
    if down:
        shown = ", ".join(
            f"{p.ca}/{p.port} {p.state}" + (f"/{p.physical_state}" if p.physical_state else "") for p in down
        )
        findings.append(
            Finding(
                code="ports-down",
                severity=Severity.HIGH if len(down) >= max(1, len(ports) // 2) else Severity.MEDIUM,
                host=host,
                message=f"{len(down)} of {len(ports)} IB/RoCE ports are not active: {shown}.",
            )
        )
    return out, findings


def _layer(p: IbPort) -> str | None:
    if p.link_layer is None:
        return None
    low = p.link_layer.strip().lower()
    return {"infiniband": "InfiniBand", "ethernet": "Ethernet"}.get(low, p.link_layer.strip())


def _firmware(ports: list[IbPort]) -> dict[str, str]:
    fw: dict[str, str] = {}
    for p in ports:
        if p.firmware and p.ca not in fw:
            fw[p.ca] = p.firmware
    return fw


def topo_measurements(
    parsed: NvidiaSmiTopoOutput | None, host: str | None, labels: dict[str, str] | None = None
) -> Result:
    """fabric.gpu_nic_pix: GPUs with a NIC at PIX or PXB distance (same PCIe switch tree).

    0 when the matrix has no NIC column (no GPU has a NIC near it); null when there is no matrix.
    """
    near: int | None = None
    if parsed is not None:
        near = 0
        for gpu in parsed.gpus:
            row = parsed.links.get(gpu, {})
            if any(v in ("PIX", "PXB") for col, v in row.items() if not col.startswith("GPU")):
                near += 1
    pix = Measurement(
        metric="fabric.gpu_nic_pix", value=near, unit=Unit.COUNT, host=host, labels=dict(labels or {})
    )
    return [pix], []


@dataclass(frozen=True)
class GpuDirect:
    """GPUDirect RDMA readiness: True (nvidia_peermem, or dma-buf with nvidia-open on Linux >= 5.12),
    False (an NVIDIA driver without either), None (no NVIDIA driver loaded: not applicable)."""

    ready: bool | None
    via: str
    """nvidia_peermem, dma-buf or none."""


@dataclass(frozen=True)
class FabricEvidence:
    """What :func:`measure` maps: each reading, None (ran, unreadable) or NOT_COLLECTED."""

    ports: Slot[IbstatOutput] = NOT_COLLECTED
    """The IB/RoCE ports (ibstat, ibstatus, ibv_devinfo or sysfs; ``format`` labels fabric.ports)."""
    gpudirect: GpuDirect | NotCollected = NOT_COLLECTED
    topo: Slot[NvidiaSmiTopoOutput] = NOT_COLLECTED


def measure(ev: FabricEvidence, host: str, remediation: Mapping[str, str] | None = None) -> Measured:
    """Every ``fabric.*`` metric and finding the evidence can tell (readings not collected are left out)."""
    measurements: list[Measurement] = []
    findings: list[Finding] = []
    ports = None if isinstance(ev.ports, NotCollected) else ev.ports
    if not isinstance(ev.ports, NotCollected):
        port_ms, port_findings = ibstat_measurements(
            ports, host, {"source": ports.format or "unknown"} if ports is not None else None
        )
        measurements += port_ms
        findings += port_findings
    if isinstance(ev.gpudirect, GpuDirect):
        gdr = ev.gpudirect.ready
        measurements.append(
            Measurement(
                metric="fabric.gpudirect_rdma",
                value=gdr,
                unit=Unit.BOOL,
                host=host,
                labels={"via": ev.gpudirect.via},
            )
        )
        if gdr is False and ports is not None and ports.ports:
            findings.append(
                Finding(
                    code="no-gpudirect",
                    severity=Severity.MEDIUM,
                    host=host,
                    message="GPUDirect RDMA is not ready: nvidia_peermem is not loaded and the driver is not "
                    "nvidia-open on Linux >= 5.12",
                )
            )
    if not isinstance(ev.topo, NotCollected):
        measurements += topo_measurements(ev.topo, host)[0]
    return Measured(measurements, with_remediation(findings, remediation or {}))


# ------------------------------------------------------------------------------------ from_sections


def _read_ibstat(text: str) -> IbstatOutput | None:
    """The ibstat section's ports; None when the text is not a port listing with a port."""
    parsed = parsed_or_none(parse_ibstat, text)
    return parsed if parsed is not None and parsed.ports else None


def _read_topo(section: Section) -> NvidiaSmiTopoOutput | None:
    return parsed_or_none(parse_nvidia_smi_topo, section.text) if section.ok else None


def _ports(s: dict[str, Section]) -> Slot[IbstatOutput]:
    devices = s.get("ib-devices")
    ibstat = s.get("ibstat")
    if devices is None and ibstat is None and "ib-sysfs" not in s:
        return NOT_COLLECTED
    if ibstat is not None and ibstat.ok and ibstat.text.strip():
        return _read_ibstat(ibstat.text)
    if "ib-sysfs" in s and s["ib-sysfs"].ok:
        return parse_ib_sysfs(s["ib-sysfs"].text)
    if devices is not None and devices.ok and not devices.text.strip():
        return IbstatOutput(ports=[], format="sysfs")  # no RDMA device at all
    return None


def _gpudirect(s: dict[str, Section]) -> GpuDirect | NotCollected:
    modules = s.get("modules")
    version = s.get("nvidia-version")
    if modules is None and version is None and "kernel" not in s:
        return NOT_COLLECTED
    kernel = s["kernel"].text.strip() if "kernel" in s else ""
    loaded = loaded_modules(modules.text) if modules and modules.ok else set()
    peermem = bool(loaded & {"nvidia_peermem", "nv_peer_mem"})
    open_module = bool(version and version.ok and "Open Kernel Module" in version.text)
    dmabuf = open_module and bool(kernel_at_least(kernel, 5, 12))
    ready: bool | None
    if peermem or dmabuf:
        ready = True
    elif "nvidia" in loaded or (version and version.ok):
        ready = False
    else:
        ready = None  # no NVIDIA driver loaded: not applicable
    return GpuDirect(ready, "nvidia_peermem" if peermem else "dma-buf" if dmabuf else "none")


def evidence(s: dict[str, Section]) -> FabricEvidence:
    """The sections of one run of ``probes/fabric/run.sh``, read."""
    topo = s.get("nvidia-smi-topo")
    return FabricEvidence(
        ports=_ports(s), gpudirect=_gpudirect(s), topo=NOT_COLLECTED if topo is None else _read_topo(topo)
    )


def from_sections(inp: ProbeInput) -> ProbeOutput:
    ev = evidence(inp.sections)
    measurements, findings = measure(ev, inp.host, inp.spec.remediation)
    ports = None if isinstance(ev.ports, NotCollected) else ev.ports
    if ports is None and "nvidia-smi-topo" not in inp.sections:
        return ProbeOutput(
            status=ProbeStatus.ERROR,
            substatus=SubStatus.COMMAND_FAILED,
            message="neither ibstat nor sysfs could be read",
            measurements=measurements,
        )
    if ports is not None and not ports.ports:
        message = "no InfiniBand/RoCE device on this node"
    elif ports is None:
        message = "IB/RoCE ports unknown (ibstat failed)"
    else:
        active = sum(p.state == "active" for p in ports.ports)
        message = f"{active}/{len(ports.ports)} IB/RoCE ports active"
    status = ProbeStatus.FAILED if any(f.code == "ports-down" for f in findings) else ProbeStatus.OK
    return ProbeOutput(
        status=status,
        message=message,
        measurements=measurements,
        findings=findings,
        remediation=findings[0].remediation if findings else None,
    )


# -------------------------------------------------------------------------------- clustermax import


def _file_evidence(file: ImportedOutput, context: ImportContext) -> FabricEvidence:
    if isinstance(file.parsed, IbstatOutput):
        return FabricEvidence(ports=file.parsed)
    if isinstance(file.parsed, NvidiaSmiTopoOutput):
        return FabricEvidence(topo=file.parsed)
    return FabricEvidence()


FILES = (
    FileKind("nvidia-smi-topo", one_file(_file_evidence, measure), section="nvidia-smi-topo"),
    FileKind("ibstat", one_file(_file_evidence, measure), section="ibstat"),
)

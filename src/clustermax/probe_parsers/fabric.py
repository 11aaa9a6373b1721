"""fabric probe: InfiniBand/RoCE ports (ibstat, or sysfs), GPUDirect RDMA readiness, GPU-NIC affinity.

Sections are described in ``probes/fabric/run.sh``. A node without any RDMA device (no
/sys/class/infiniband) has ``fabric.ports`` = 0: that is a measurement, not an error.

Ports are read by the shared parser (:func:`clustermax.parsers.infiniband.parse_ibstat`, or
``parse_ib_sysfs`` without ibstat) and the topology by ``parse_nvidia_smi_topo``; both are mapped by
:mod:`clustermax.measure` (``fabric.ibstat_measurements``, ``gpu.topo_measurements``), the functions
``clustermax import`` uses, so the same text gives the same ``fabric.*`` values either way.
"""

from __future__ import annotations

import re

from ..measure.fabric import ibstat_measurements
from ..measure.gpu import topo_measurements
from ..models import Finding, Measurement, ProbeStatus, ScalarValue, Severity, SubStatus
from ..parsers.base import ParseError
from ..parsers.infiniband import IbstatOutput, parse_ib_sysfs, parse_ibstat
from ..parsers.nvidia_smi_topo import NvidiaSmiTopoOutput, parse_nvidia_smi_topo
from .base import ProbeParseInput, ProbeParseOutput, Section


def _read_ibstat(text: str) -> IbstatOutput | None:
    """The ibstat section's ports; None when the text is not an ibstat listing with a port."""
    try:
        parsed = parse_ibstat(text)
    except ParseError:
        return None
    return parsed if parsed.format == "ibstat" and parsed.ports else None


def _read_topo(section: Section | None) -> NvidiaSmiTopoOutput | None:
    if section is None or not section.ok:
        return None
    try:
        return parse_nvidia_smi_topo(section.text)
    except ParseError:
        return None


def _kernel_at_least(release: str, major: int, minor: int) -> bool | None:
    m = re.match(r"^(\d+)\.(\d+)", release.strip())
    if not m:
        return None
    return (int(m.group(1)), int(m.group(2))) >= (major, minor)


def parse(inp: ProbeParseInput) -> ProbeParseOutput:
    s = inp.sections
    units = {m.name: m.unit for m in inp.spec.metrics}
    measurements: list[Measurement] = []
    findings: list[Finding] = []

    def metric(name: str, value: ScalarValue, **labels: str) -> None:
        measurements.append(
            Measurement(metric=name, value=value, unit=units[name], host=inp.host, labels=labels)
        )

    def find(code: str, severity: Severity, message: str) -> None:
        findings.append(
            Finding(
                code=code,
                severity=severity,
                host=inp.host,
                message=message,
                remediation=inp.spec.remediation.get(code),
            )
        )

    devices: Section | None = s.get("ib-devices")
    has_devices = bool(devices and devices.ok and devices.text.strip())
    ibstat = s.get("ibstat")
    ports: IbstatOutput | None
    source = "ibstat"
    if ibstat is not None and ibstat.ok and ibstat.text.strip():
        ports = _read_ibstat(ibstat.text)
    elif "ib-sysfs" in s and s["ib-sysfs"].ok:
        ports, source = parse_ib_sysfs(s["ib-sysfs"].text), "sysfs"
    elif devices is not None and devices.ok and not has_devices:
        ports, source = IbstatOutput(ports=[], format="sysfs"), "sysfs"  # no RDMA device at all
    else:
        ports = None
    port_ms, port_findings = ibstat_measurements(
        ports, inp.host, {"source": source} if ports is not None else None
    )
    measurements.extend(port_ms)
    for f in port_findings:
        find(f.code, f.severity, f.message)

    # GPUDirect RDMA readiness
    modules = s.get("modules")
    version = s.get("nvidia-version")
    kernel = s["kernel"].text.strip() if "kernel" in s else ""
    loaded = set(re.findall(r"^(\S+) ", modules.text, re.MULTILINE)) if modules and modules.ok else set()
    peermem = bool(loaded & {"nvidia_peermem", "nv_peer_mem"})
    open_module = bool(version and version.ok and "Open Kernel Module" in version.text)
    dmabuf = open_module and bool(_kernel_at_least(kernel, 5, 12))
    gdr: bool | None
    if peermem or dmabuf:
        gdr = True
    elif "nvidia" in loaded or (version and version.ok):
        gdr = False
    else:
        gdr = None  # no NVIDIA driver loaded: not applicable
    how = "nvidia_peermem" if peermem else "dma-buf" if dmabuf else "none"
    metric("fabric.gpudirect_rdma", gdr, via=how)
    if gdr is False and ports is not None and ports.ports:
        find(
            "no-gpudirect",
            Severity.MEDIUM,
            "GPUDirect RDMA is not ready: nvidia_peermem is not loaded and the driver is not nvidia-open on "
            "Linux >= 5.12",
        )

    topo = s.get("nvidia-smi-topo")
    measurements.extend(topo_measurements(_read_topo(topo), inp.host)[0])

    if ports is None and topo is None:
        return ProbeParseOutput(
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
    return ProbeParseOutput(
        status=status,
        message=message,
        measurements=measurements,
        findings=findings,
        remediation=findings[0].remediation if findings else None,
    )

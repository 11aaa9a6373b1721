"""fabric probe: InfiniBand/RoCE ports (ibstat, or sysfs), GPUDirect RDMA readiness, GPU-NIC affinity.

Sections are described in ``probes/fabric/run.sh``. A node without any RDMA device (no
/sys/class/infiniband) has ``fabric.ports`` = 0: that is a measurement, not an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..models import Finding, Measurement, ProbeStatus, ScalarValue, Severity, SubStatus
from .base import ProbeParseInput, ProbeParseOutput, Section


@dataclass
class IbPort:
    ca: str
    port: str
    state: str | None = None
    physical_state: str | None = None
    rate_gbps: float | None = None
    link_layer: str | None = None
    firmware: str | None = None
    ca_type: str | None = None

    @property
    def active(self) -> bool:
        return (self.state or "").lower() == "active"


_CA = re.compile(r"^CA '([^']+)'")
_PORT = re.compile(r"^\s*Port (\d+):\s*$")
_KV = re.compile(r"^\s*([A-Za-z][A-Za-z ]*?):\s*(.*?)\s*$")


def read_ibstat(text: str) -> list[IbPort]:
    """ibstat's CA blocks -> ports (a CA cut mid-block keeps what it printed)."""
    ports: list[IbPort] = []
    ca: str | None = None
    ca_info: dict[str, str] = {}
    port: IbPort | None = None
    for line in text.splitlines():
        m_ca = _CA.match(line.strip())
        if m_ca:
            ca, ca_info, port = m_ca.group(1), {}, None
            continue
        if ca is None:
            continue
        m_port = _PORT.match(line)
        if m_port:
            port = IbPort(
                ca=ca,
                port=m_port.group(1),
                firmware=ca_info.get("firmware version"),
                ca_type=ca_info.get("ca type"),
            )
            ports.append(port)
            continue
        m = _KV.match(line)
        if not m:
            continue
        key, value = m.group(1).lower(), m.group(2)
        if port is None:
            ca_info[key] = value
        elif key == "state":
            port.state = value
        elif key == "physical state":
            port.physical_state = value
        elif key == "rate":
            num = re.match(r"^(\d+(?:\.\d+)?)", value)
            port.rate_gbps = float(num.group(1)) if num else None
        elif key == "link layer":
            port.link_layer = value
    return ports


_SYSFS = re.compile(
    r"^/sys/class/infiniband/(?P<ca>[^/]+)/(?:ports/(?P<port>\d+)/)?(?P<attr>[a-z_]+):(?P<value>.*)$"
)


def read_ib_sysfs(text: str) -> list[IbPort]:
    """``grep -H . /sys/class/infiniband/*/ports/*/{state,rate,...}`` lines -> ports."""
    ports: dict[tuple[str, str], IbPort] = {}
    fw: dict[str, str] = {}
    hca: dict[str, str] = {}
    for line in text.splitlines():
        m = _SYSFS.match(line.strip())
        if not m:
            continue
        ca, port, attr, value = m.group("ca"), m.group("port"), m.group("attr"), m.group("value").strip()
        if port is None:
            (fw if attr == "fw_ver" else hca)[ca] = value
            continue
        p = ports.setdefault((ca, port), IbPort(ca=ca, port=port))
        text_value = value.split(":", 1)[1].strip() if re.match(r"^\d+:", value) else value
        if attr == "state":
            p.state = text_value.capitalize()
        elif attr == "phys_state":
            p.physical_state = text_value
        elif attr == "rate":
            num = re.match(r"^(\d+(?:\.\d+)?)", value)
            p.rate_gbps = float(num.group(1)) if num else None
        elif attr == "link_layer":
            p.link_layer = value
    for p in ports.values():
        p.firmware = fw.get(p.ca)
        p.ca_type = hca.get(p.ca)
    return sorted(ports.values(), key=lambda p: (p.ca, int(p.port)))


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_DEVICE_COL = re.compile(r"^(GPU\d+|NIC\d+|mlx\S+|ib\S+|bnxt\S+|irdma\S+|rdma\S+|efa\S+)$")


def gpu_nic_near(text: str) -> int | None:
    """GPUs with a NIC at PIX or PXB distance in ``nvidia-smi topo -m`` (None when the matrix is absent)."""
    lines = [_ANSI.sub("", line) for line in text.splitlines()]
    header: list[str] | None = None
    near = 0
    rows = 0
    for line in lines:
        tokens = line.split()
        if not tokens:
            continue
        if header is None:
            if tokens[0].startswith("GPU0") or (tokens[0] == "GPU0" and len(tokens) > 1):
                header = [t for t in tokens if _DEVICE_COL.match(t)]
            continue
        if not re.match(r"^GPU\d+$", tokens[0]):
            if tokens[0] in ("Legend:",):
                break
            continue
        rows += 1
        cells = tokens[1 : 1 + len(header)]
        nic_cells = [c for col, c in zip(header, cells, strict=False) if not col.startswith("GPU")]
        if any(c in ("PIX", "PXB") for c in nic_cells):
            near += 1
    if header is None or rows == 0:
        return None
    return near


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
    ports: list[IbPort] | None
    source = "ibstat"
    if ibstat is not None and ibstat.ok and ibstat.text.strip():
        ports = read_ibstat(ibstat.text) or None  # text without a CA block: not ibstat's output
    elif "ib-sysfs" in s and s["ib-sysfs"].ok:
        ports, source = read_ib_sysfs(s["ib-sysfs"].text), "sysfs"
    elif devices is not None and devices.ok and not has_devices:
        ports, source = [], "sysfs"  # no RDMA device at all
    else:
        ports = None
    if ports is None:
        for name in ("fabric.ports", "fabric.ports_active", "fabric.ports_down", "fabric.nic_count"):
            metric(name, None)
        metric("fabric.nic_rate", None)
        metric("fabric.link_layer", None)
    else:
        active = [p for p in ports if p.active]
        down = [p for p in ports if not p.active]
        metric("fabric.ports", len(ports), source=source)
        metric("fabric.ports_active", len(active))
        metric("fabric.ports_down", len(down))
        for p in ports:
            metric("fabric.port_rate", p.rate_gbps, ca=p.ca, port=p.port)
        for ca in sorted({p.ca for p in ports if p.firmware}):
            fw = next(p.firmware for p in ports if p.ca == ca and p.firmware)
            metric("fabric.firmware", fw, ca=ca)
        rated = [p for p in active if p.rate_gbps is not None]
        top = max((p.rate_gbps for p in rated if p.rate_gbps is not None), default=None)
        nics = [p for p in rated if p.rate_gbps == top]
        metric("fabric.nic_count", len(nics))
        metric("fabric.nic_rate", top)
        layers = sorted({p.link_layer for p in nics if p.link_layer})
        metric("fabric.link_layer", "/".join(layers) if layers else None)
        if down:
            names = ", ".join(f"{p.ca}/{p.port} {p.state or '?'}" for p in down)
            find("ports-down", Severity.HIGH, f"{len(down)} IB/RoCE port(s) not active: {names}")
        slow = [
            p
            for p in rated
            if top is not None
            and p.rate_gbps is not None
            and p.rate_gbps < top
            and p.link_layer == (nics[0].link_layer if nics else None)
        ]
        if slow:
            names = ", ".join(f"{p.ca}/{p.port} {p.rate_gbps:g} Gb/s" for p in slow)
            find("rate-low", Severity.MEDIUM, f"port(s) below the fabric's {top:g} Gb/s: {names}")

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
    if gdr is False and ports:
        find(
            "no-gpudirect",
            Severity.MEDIUM,
            "GPUDirect RDMA is not ready: nvidia_peermem is not loaded and the driver is not nvidia-open on "
            "Linux >= 5.12",
        )

    topo = s.get("nvidia-smi-topo")
    near = gpu_nic_near(topo.text) if topo is not None and topo.ok else None
    metric("fabric.gpu_nic_pix", near)

    if ports is None and topo is None:
        return ProbeParseOutput(
            status=ProbeStatus.ERROR,
            substatus=SubStatus.COMMAND_FAILED,
            message="neither ibstat nor sysfs could be read",
            measurements=measurements,
        )
    if ports == []:
        message = "no InfiniBand/RoCE device on this node"
    elif ports is None:
        message = "IB/RoCE ports unknown (ibstat failed)"
    else:
        message = f"{sum(p.active for p in ports)}/{len(ports)} IB/RoCE ports active"
    status = ProbeStatus.FAILED if any(f.code == "ports-down" for f in findings) else ProbeStatus.OK
    return ProbeParseOutput(
        status=status,
        message=message,
        measurements=measurements,
        findings=findings,
        remediation=findings[0].remediation if findings else None,
    )

"""Parsed ibstat/ibstatus/ibv_devinfo (or sysfs) ports -> fabric measurements (``probes/fabric/probe.yaml``).

The one mapping for these metrics: ``clustermax import`` and the fabric probe parser both call
:func:`ibstat_measurements`, so the same ports give the same ``fabric.*`` values either way.

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

from ..models import Finding, Measurement, Severity, Unit
from ..parsers.infiniband import IbPort, IbstatOutput

__all__ = ["ibstat_measurements"]

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

"""Parser of the ``monitoring`` probe: does a DCGM exporter / node exporter answer, and what does it export.

Steps: ``main`` (sections ``ports``, ``listening``: ``ss -Htln``, and ``pci-gpus``: the node's NVIDIA
display/3D PCI functions, so that a node without a GPU is not said to miss a DCGM exporter) and one step
per endpoint of the spec, ``dcgm-exporter`` and ``node-exporter``, whose stdout is the HTTP body and exit
code the HTTP status (None when nothing answered).

GPU health metrics looked for in the DCGM exporter's body (:data:`GPU_HEALTH_METRICS`); a metric counts
as exported when the body has a sample or a ``# TYPE`` line for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..models import CommandResult, Finding, Measurement, Severity, Unit
from ..parsers.prometheus import exported_names
from ..parsers.system import listening_ports
from .base import FileKind, Measured, ProbeInput, ProbeOutput, Section
from .evidence import measurements_of, with_remediation

GPU_HEALTH_METRICS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("DCGM_FI_DEV_XID_ERRORS",), "last Xid error"),
    (
        ("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "DCGM_FI_DEV_ECC_DBE_AGG_TOTAL"),
        "uncorrectable (double-bit) ECC errors",
    ),
    (
        ("DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", "DCGM_FI_DEV_ECC_SBE_AGG_TOTAL"),
        "correctable (single-bit) ECC errors",
    ),
    (("DCGM_FI_DEV_GPU_TEMP",), "GPU temperature"),
    (("DCGM_FI_DEV_MEMORY_TEMP",), "HBM temperature"),
    (("DCGM_FI_DEV_POWER_USAGE",), "power draw"),
    (("DCGM_FI_DEV_ROW_REMAP_FAILURE",), "row remapping failure"),
    (("DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS",), "rows remapped after uncorrectable errors"),
    (("DCGM_FI_DEV_RETIRED_DBE", "DCGM_FI_DEV_RETIRED_PENDING"), "retired pages (pre-Ampere)"),
    (("DCGM_FI_DEV_PCIE_REPLAY_COUNTER",), "PCIe replays"),
    (("DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL",), "NVLink bandwidth"),
    (
        ("DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL", "DCGM_FI_DEV_NVLINK_CRC_DATA_ERROR_COUNT_TOTAL"),
        "NVLink CRC errors",
    ),
    (("DCGM_FI_DEV_THERMAL_VIOLATION",), "thermal throttling time"),
    (("DCGM_FI_DEV_POWER_VIOLATION",), "power throttling time"),
)
"""(metric names, any of which counts; what it tells) for the GPU health signals a fleet should scrape."""


def _listening_ports(sec: Section | None) -> set[int] | None:
    if sec is None or not sec.ok:
        return None
    return listening_ports(sec.text)


def _port(inp: ProbeInput, param: str) -> int | None:
    value = inp.params.get(param)
    if value is None and param in inp.spec.params:
        value = inp.spec.params[param].default
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _answers(cmd: CommandResult | None, listening: set[int] | None, port: int | None) -> bool | None:
    """True: HTTP 200 on /metrics; False: nothing answers; None: could not tell."""
    if cmd is None:
        return None
    if cmd.exit_code == 200:
        return True
    if cmd.exit_code is not None:
        return False  # something answered, but not with metrics (404, 500 ...)
    err = (cmd.error or "").lower()
    if any(s in err for s in ("refused", "connect", "no route", "reset")):
        return False
    if listening is not None and port is not None and port not in listening:
        return False
    return None


@dataclass(frozen=True)
class Exporters:
    """Does each exporter answer (None: could not tell), and what the DCGM exporter exports."""

    dcgm: bool | None
    node: bool | None
    dcgm_names: set[str]
    """Metric names of the DCGM exporter's body (empty unless it answered)."""
    gpus: int | None = None
    """NVIDIA display/3D PCI functions of the node (None: not listed, an older bundle)."""
    dcgm_port: int | None = None


def measure(ev: Exporters, host: str, remediation: Mapping[str, str] | None = None) -> Measured:
    """``monitoring.*`` and the ``monitoring.no-*-exporter`` / ``dcgm-exporter-empty`` findings."""
    measurements: list[Measurement] = []
    findings: list[Finding] = []

    def find(code: str, severity: Severity, message: str) -> None:
        findings.append(Finding(code=f"monitoring.{code}", severity=severity, host=host, message=message))

    dcgm, node = ev.dcgm, ev.node
    measurements.append(Measurement(metric="monitoring.dcgm_exporter", value=dcgm, unit=Unit.BOOL, host=host))
    measurements.append(Measurement(metric="monitoring.node_exporter", value=node, unit=Unit.BOOL, host=host))
    present, missing = _health_metrics(ev.dcgm_names) if dcgm else ([], [])
    if dcgm and not any(n.startswith("DCGM_") for n in ev.dcgm_names):
        find(
            "dcgm-exporter-empty",
            Severity.MEDIUM,
            "the DCGM exporter port answers but exports no DCGM_ metric",
        )
    measurements += measurements_of(
        {
            "monitoring.gpu_health_metrics": (len(present) if dcgm else None, Unit.COUNT),
            "monitoring.gpu_metrics_missing": (",".join(missing) if dcgm else None, Unit.TEXT),
            "monitoring.gpu_metrics_exported": (",".join(present) if dcgm else None, Unit.TEXT),
        },
        host,
    )
    if dcgm is False and ev.gpus != 0:  # a node without a GPU has no exporter to miss
        port = f":{ev.dcgm_port}" if ev.dcgm_port is not None else ""
        has = f" (this node has {ev.gpus} GPU{'s' if ev.gpus != 1 else ''})" if ev.gpus else ""
        find("no-dcgm-exporter", Severity.MEDIUM, f"no DCGM exporter answered on {host}{port}{has}")
    if node is False:
        find("no-node-exporter", Severity.LOW, "no node exporter answers on this node")
    return Measured(measurements, with_remediation(findings, remediation or {}))


def _health_metrics(names: set[str]) -> tuple[list[str], list[str]]:
    present: list[str] = []
    missing: list[str] = []
    for alternatives, _what in GPU_HEALTH_METRICS:
        hit = next((n for n in alternatives if n in names), None)
        (present if hit else missing).append(hit or alternatives[0])
    return present, missing


def from_sections(inp: ProbeInput) -> ProbeOutput:
    listening = _listening_ports(inp.sections.get("listening"))
    dcgm_cmd, node_cmd = inp.commands.get("dcgm-exporter"), inp.commands.get("node-exporter")
    dcgm = _answers(dcgm_cmd, listening, _port(inp, "dcgm_exporter_port"))
    node = _answers(node_cmd, listening, _port(inp, "node_exporter_port"))
    names = exported_names(dcgm_cmd.stdout) if dcgm and dcgm_cmd is not None else set()
    pci = inp.sections.get("pci-gpus")
    gpus = (
        len([line for line in pci.text.splitlines() if line.strip()]) if pci is not None and pci.ok else None
    )
    out = ProbeOutput()
    ev = Exporters(dcgm, node, names, gpus, _port(inp, "dcgm_exporter_port"))
    out.measurements, out.findings = measure(ev, inp.host, inp.spec.remediation)
    present = len(_health_metrics(names)[0])
    parts = [
        f"DCGM exporter: {'yes' if dcgm else 'no' if dcgm is False else 'unknown'}"
        + (f" ({present}/{len(GPU_HEALTH_METRICS)} health metrics)" if dcgm else ""),
        f"node exporter: {'yes' if node else 'no' if node is False else 'unknown'}",
    ]
    out.message = "; ".join(parts)
    return out


FILES: tuple[FileKind, ...] = ()
"""No parser kind: ``clustermax import`` files no output under this probe."""

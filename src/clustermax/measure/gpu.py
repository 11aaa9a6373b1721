"""Parsed nvidia-smi / dcgmi diag / kernel-log Xid output -> ``gpu.*`` measurements and findings.

Metric names and units are those of ``probes/gpu_health/probe.yaml``; finding codes are the probe's
remediation keys. Pure functions returning ``(measurements, findings)``; a metric the output cannot
tell is reported with value ``None`` (not measured), never 0.

Semantics (shared with the gpu_health probe parser):

* gpu.throttled: GPUs with an active clocks event reason other than Idle, Applications Clocks
  Setting and Display Clock Setting; not measured when the output has no reasons section.
* gpu.pcie_degraded: GPUs whose link width is below its maximum, or whose generation is below its
  maximum while not idle (links train down at idle to save power; that is not a fault).
* gpu.xid_events / gpu.xid_critical / gpu.fallen_off_bus: every event in the given log (an import
  has no clock to apply the probe's age window); critical = class hardware or reset-required.
"""

from __future__ import annotations

from ..models import Finding, Measurement, ScalarValue, Severity, Unit
from ..parsers.dcgmi import DcgmiDiagOutput
from ..parsers.kernel_log import XidOutput
from ..parsers.nvidia_smi import NvidiaSmiGpu, NvidiaSmiOutput
from ..parsers.nvidia_smi_topo import NvidiaSmiTopoOutput
from ..parsers.xid_catalog import CRITICAL_CLASSES

__all__ = [
    "IGNORED_REASONS",
    "dcgmi_measurements",
    "nvidia_smi_measurements",
    "topo_measurements",
    "xid_measurements",
]

Result = tuple[list[Measurement], list[Finding]]

IGNORED_REASONS = frozenset({"idle", "applications clocks setting", "display clock setting", "gpu idle"})

_UNITS: dict[str, Unit] = {
    "gpu.count": Unit.COUNT,
    "gpu.model": Unit.TEXT,
    "gpu.memory_total": Unit.MIB,
    "gpu.driver_version": Unit.VERSION,
    "gpu.cuda_version": Unit.VERSION,
    "gpu.persistence_mode": Unit.BOOL,
    "gpu.temperature_max": Unit.CELSIUS,
    "gpu.power_draw_max": Unit.WATTS,
    "gpu.power_limit": Unit.WATTS,
    "gpu.throttled": Unit.COUNT,
    "gpu.ecc_uncorrected": Unit.COUNT,
    "gpu.retired_pages_pending": Unit.COUNT,
    "gpu.remapped_rows_pending": Unit.COUNT,
    "gpu.remapped_rows_failed": Unit.COUNT,
    "gpu.pcie_degraded": Unit.COUNT,
    "gpu.xid_events": Unit.COUNT,
    "gpu.xid_critical": Unit.COUNT,
    "gpu.fallen_off_bus": Unit.BOOL,
    "gpu.dcgm_diag": Unit.TEXT,
    "gpu.dcgm_failed_tests": Unit.COUNT,
}


class _Out:
    def __init__(self, host: str | None, labels: dict[str, str] | None) -> None:
        self.host = host
        self.labels = dict(labels or {})
        self.measurements: list[Measurement] = []
        self.findings: list[Finding] = []

    def m(self, metric: str, value: ScalarValue, **labels: str) -> None:
        self.measurements.append(
            Measurement(
                metric=metric,
                value=value,
                unit=_UNITS[metric],
                host=self.host,
                labels={**self.labels, **labels},
            )
        )

    def f(self, code: str, severity: Severity, message: str) -> None:
        self.findings.append(Finding(code=code, severity=severity, host=self.host, message=message))

    def result(self) -> Result:
        return self.measurements, self.findings


def _gpu_id(g: NvidiaSmiGpu) -> str:
    return g.bus_id or (f"GPU{g.index}" if g.index is not None else "GPU?")


def _count(gpus: list[NvidiaSmiGpu], attr: str) -> tuple[int | None, list[str]]:
    known = [g for g in gpus if getattr(g, attr) is not None]
    hits = [_gpu_id(g) for g in known if getattr(g, attr)]
    return (len(hits) if known else None), hits


def nvidia_smi_measurements(
    parsed: NvidiaSmiOutput, host: str | None, labels: dict[str, str] | None = None
) -> Result:
    out = _Out(host, labels)
    gpus = parsed.gpus
    out.m("gpu.count", len(gpus) if gpus or parsed.driver_version else None)
    names = sorted({g.name for g in gpus if g.name})
    out.m("gpu.model", " / ".join(names) if names else None)
    mems = [g.memory_total_mib for g in gpus if g.memory_total_mib is not None]
    out.m("gpu.memory_total", min(mems) if mems else None)
    out.m("gpu.driver_version", parsed.driver_version)
    out.m("gpu.cuda_version", parsed.cuda_version)
    pm = [g.persistence_mode for g in gpus if g.persistence_mode is not None]
    persistence = all(pm) if pm else None
    out.m("gpu.persistence_mode", persistence)
    if persistence is False:
        out.f("persistence-off", Severity.LOW, f"persistence mode is off on {pm.count(False)} GPU(s)")
    temps = [g.temperature_c for g in gpus if g.temperature_c is not None]
    out.m("gpu.temperature_max", max(temps) if temps else None)
    draws = [g.power_draw_w for g in gpus if g.power_draw_w is not None]
    out.m("gpu.power_draw_max", max(draws) if draws else None)
    limits = [g.power_limit_w for g in gpus if g.power_limit_w is not None]
    out.m("gpu.power_limit", min(limits) if limits else None)

    throttled: list[str] = []
    seen = False
    for g in gpus:
        if g.clocks_event_reasons_active is None:
            continue
        seen = True
        active = [r for r in g.clocks_event_reasons_active if r.lower() not in IGNORED_REASONS]
        if active:
            throttled.append(f"{_gpu_id(g)} ({', '.join(active)})")
    out.m("gpu.throttled", len(throttled) if seen else None)
    if throttled:
        out.f("throttled", Severity.MEDIUM, "clocks held down: " + "; ".join(throttled))

    ecc = [g.ecc_uncorrected_volatile for g in gpus if g.ecc_uncorrected_volatile is not None]
    volatile = sum(ecc) if ecc else None
    out.m("gpu.ecc_uncorrected", volatile)
    if volatile:
        out.f("ecc-uncorrected", Severity.CRITICAL, f"{volatile} volatile uncorrectable ECC error(s)")

    retired, retired_ids = _count(gpus, "retired_pages_pending")
    pending, pending_ids = _count(gpus, "remapped_rows_pending")
    failed, failed_ids = _count(gpus, "remapped_rows_failure")
    out.m("gpu.retired_pages_pending", retired)
    out.m("gpu.remapped_rows_pending", pending)
    out.m("gpu.remapped_rows_failed", failed)
    if retired_ids:
        out.f("retired-pages-pending", Severity.HIGH, "page retirement pending on " + ", ".join(retired_ids))
    if pending_ids:
        out.f("remapped-rows-pending", Severity.HIGH, "row remapping pending on " + ", ".join(pending_ids))
    if failed_ids:
        out.f("remapped-rows-failed", Severity.CRITICAL, "row remapping failed on " + ", ".join(failed_ids))

    degraded: list[str] = []
    known = False
    for g in gpus:
        if g.pcie_width_current is not None and g.pcie_width_max is not None:
            known = True
            if g.pcie_width_current < g.pcie_width_max:
                degraded.append(f"{_gpu_id(g)} x{g.pcie_width_current} of x{g.pcie_width_max}")
                continue
        if (
            g.pcie_gen_current is not None
            and g.pcie_gen_max is not None
            and g.pcie_gen_current < g.pcie_gen_max
        ):
            reasons = [r.lower() for r in g.clocks_event_reasons_active or []]
            idle = "idle" in reasons or "gpu idle" in reasons or (g.pstate or "P0") not in ("P0", "P1", "P2")
            if not idle:
                degraded.append(f"{_gpu_id(g)} Gen{g.pcie_gen_current} of Gen{g.pcie_gen_max} under load")
    out.m("gpu.pcie_degraded", len(degraded) if known else None)
    if degraded:
        out.f("pcie-degraded", Severity.HIGH, "PCIe link below its maximum: " + "; ".join(degraded))
    return out.result()


def dcgmi_measurements(
    parsed: DcgmiDiagOutput, host: str | None, labels: dict[str, str] | None = None
) -> Result:
    """gpu.dcgm_diag (pass/warn/fail) and gpu.dcgm_failed_tests, labelled with the run ``level``."""
    lab = {"level": "unknown", **(labels or {})}
    out = _Out(host, lab)
    out.m("gpu.dcgm_diag", parsed.overall)
    out.m("gpu.dcgm_failed_tests", parsed.failed_tests)
    failed = [t for t in parsed.tests if t.result == "fail"]
    if failed:
        parts = [
            f"{t.name}" + (f" (GPU {', '.join(map(str, t.failed_gpus))})" if t.failed_gpus else "")
            for t in failed
        ]
        out.f("dcgm-failed", Severity.HIGH, "dcgmi diag failed: " + "; ".join(parts))
    return out.result()


def xid_measurements(parsed: XidOutput, host: str | None, labels: dict[str, str] | None = None) -> Result:
    """gpu.xid_events, gpu.xid_critical and gpu.fallen_off_bus over every event of the log."""
    out = _Out(host, labels)
    events = parsed.events
    critical = [e for e in events if e.category in CRITICAL_CLASSES]
    out.m("gpu.xid_events", len(events))
    out.m("gpu.xid_critical", len(critical))
    out.m("gpu.fallen_off_bus", parsed.fallen_off_bus)
    if critical:
        codes = sorted({e.xid for e in critical})
        out.f(
            "xid-critical",
            Severity.CRITICAL,
            f"{len(critical)} hardware or reset-required Xid event(s): Xid {', '.join(map(str, codes))}",
        )
    if parsed.fallen_off_bus:
        pcis = sorted({e.pci for e in events if e.xid == 79 and e.pci})
        where = f" ({', '.join(pcis)})" if pcis else ""
        out.f("fallen-off-bus", Severity.CRITICAL, f"a GPU has fallen off the bus{where}")
    return out.result()


def topo_measurements(
    parsed: NvidiaSmiTopoOutput, host: str | None, labels: dict[str, str] | None = None
) -> Result:
    """fabric.gpu_nic_pix: GPUs with a NIC at PIX or PXB distance (same PCIe switch tree).

    Not measured when the matrix has no NIC columns (nothing to be near to).
    """
    nic_labels = [c for c in (next(iter(parsed.links.values()), {}) or {}) if not c.startswith("GPU")]
    near: int | None = None
    if nic_labels:
        near = 0
        for gpu in parsed.gpus:
            row = parsed.links.get(gpu, {})
            if any(row.get(nic) in ("PIX", "PXB") for nic in nic_labels):
                near += 1
    m = Measurement(
        metric="fabric.gpu_nic_pix", value=near, unit=Unit.COUNT, host=host, labels=dict(labels or {})
    )
    return [m], []

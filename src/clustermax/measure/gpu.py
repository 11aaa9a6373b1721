"""Parsed nvidia-smi / dcgmi diag / kernel-log Xid / topo -m output -> ``gpu.*`` measurements and findings.

The one mapping from these tools' parsed output to metrics: ``clustermax import`` (files gathered by hand)
and the gpu_health and fabric probe parsers (:mod:`clustermax.probe_parsers.gpu_health`, ``.fabric``)
both call these functions, so the same text gives the same ``gpu.*`` values whichever way it came in.

Metric names and units are those of ``probes/gpu_health/probe.yaml``; finding codes are the probe's
remediation keys (the probe parser attaches the remediation text; an import leaves it to the rubric).
Pure functions returning ``(measurements, findings)``; a metric the output cannot tell is reported with
value ``None`` (not measured), never 0.

Semantics (documented for users in docs/probes-gpu.md and docs/parsers-gpu.md):

* gpu.count: GPUs in the output; 0 when the tool failed (``tool_failed``) or the output names a driver
  but no GPU; null when nothing could be read. gpu.expected_count / gpu.count_ok: only when the caller
  knows how many GPUs to expect (the probe: parameter or Slurm GRES; an import: ``--profile
  gpus_per_node`` or the GRES of an imported ``scontrol show node``, labelled ``expected_source``; else null).
* gpu.throttled: GPUs with an active clocks event reason other than Idle, Applications Clocks
  Setting and Display Clock Setting; not measured when the output has no reasons section.
* gpu.pcie_degraded: GPUs whose link width is below its maximum, or whose generation is below its
  maximum while not idle (links train down at idle to save power; that is not a fault).
* gpu.ecc_uncorrected (volatile, fails the node) and gpu.ecc_uncorrected_aggregate (lifetime, a
  medium ``ecc-aggregate`` finding only when the volatile count is zero).
* gpu.xid_events / gpu.xid_critical / gpu.fallen_off_bus / gpu.xid_event: the events of the log,
  classed by :mod:`clustermax.parsers.xid_catalog` (critical = class hardware or reset-required).
  With a :class:`HostClock` and a window (the probe) only events younger than the window count; an
  event whose age cannot be told is counted. An import has no clock: every event of the file counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from ..models import Finding, Measurement, ScalarValue, Severity, Unit
from ..parsers.dcgmi import DcgmiDiagOutput
from ..parsers.kernel_log import XidEvent, XidOutput
from ..parsers.nvidia_smi import NvidiaSmiGpu, NvidiaSmiOutput
from ..parsers.nvidia_smi_topo import NvidiaSmiTopoOutput
from ..parsers.xid_catalog import CRITICAL_CLASSES

__all__ = [
    "IGNORED_REASONS",
    "HostClock",
    "dcgmi_measurements",
    "event_age_s",
    "nvidia_smi_measurements",
    "topo_measurements",
    "utc_offset",
    "xid_measurements",
]

Result = tuple[list[Measurement], list[Finding]]

IGNORED_REASONS = frozenset({"idle", "applications clocks setting", "display clock setting", "gpu idle"})

_UNITS: dict[str, Unit] = {
    "gpu.count": Unit.COUNT,
    "gpu.expected_count": Unit.COUNT,
    "gpu.count_ok": Unit.BOOL,
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
    "gpu.ecc_uncorrected_aggregate": Unit.COUNT,
    "gpu.retired_pages_pending": Unit.COUNT,
    "gpu.remapped_rows_pending": Unit.COUNT,
    "gpu.remapped_rows_failed": Unit.COUNT,
    "gpu.pcie_degraded": Unit.COUNT,
    "gpu.xid_events": Unit.COUNT,
    "gpu.xid_critical": Unit.COUNT,
    "gpu.xid_event": Unit.COUNT,
    "gpu.fallen_off_bus": Unit.BOOL,
    "gpu.dcgm_diag": Unit.TEXT,
    "gpu.dcgm_failed_tests": Unit.COUNT,
    "gpu.dcgm_test": Unit.TEXT,
    "fabric.gpu_nic_pix": Unit.COUNT,
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
    parsed: NvidiaSmiOutput | None,
    host: str | None,
    labels: dict[str, str] | None = None,
    *,
    expected: int | None = None,
    tool_failed: bool = False,
    expected_source: str | None = None,
) -> Result:
    """Every nvidia-smi-derived ``gpu.*`` metric. ``parsed`` None: the output could not be read.

    ``expected``: GPUs the node should have (None: unknown, so gpu.count_ok is not measured).
    ``expected_source``: where ``expected`` came from (an import: ``profile`` or ``gres``); given with an
    expected count, it labels gpu.expected_count and gpu.count_ok ``expected_source=<it>``.
    ``tool_failed``: nvidia-smi exited non-zero; with no GPU read, gpu.count is then 0.
    """
    out = _Out(host, labels)
    gpus = parsed.gpus if parsed is not None else []
    count: int | None
    if gpus or (parsed is not None and parsed.driver_version):
        count = len(gpus)
    else:
        count = 0 if tool_failed else None
    out.m("gpu.count", count)
    origin = {"expected_source": expected_source} if expected_source and expected is not None else {}
    out.m("gpu.expected_count", expected, **origin)
    count_ok = None if count is None or expected is None else count >= expected
    out.m("gpu.count_ok", count_ok, **origin)
    if count_ok is False:
        out.f("gpu-missing", Severity.CRITICAL, f"{count} of {expected} expected GPUs are visible")
    attached = parsed.attached_gpus if parsed is not None else None
    if attached is not None and gpus and attached != len(gpus):
        out.f(
            "gpu-missing",
            Severity.HIGH,
            f"nvidia-smi says {attached} GPUs are attached but reports on {len(gpus)}",
        )
    names = sorted({g.name for g in gpus if g.name})
    out.m("gpu.model", " / ".join(names) if names else None)
    mems = [g.memory_total_mib for g in gpus if g.memory_total_mib is not None]
    out.m("gpu.memory_total", min(mems) if mems else None)
    out.m("gpu.driver_version", parsed.driver_version if parsed is not None else None)
    out.m("gpu.cuda_version", parsed.cuda_version if parsed is not None else None)
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
    lifetime = [g.ecc_uncorrected_aggregate for g in gpus if g.ecc_uncorrected_aggregate is not None]
    aggregate = sum(lifetime) if lifetime else None
    out.m("gpu.ecc_uncorrected", volatile)
    out.m("gpu.ecc_uncorrected_aggregate", aggregate)
    if volatile:
        out.f("ecc-uncorrected", Severity.CRITICAL, f"{volatile} volatile uncorrectable ECC error(s)")
    elif aggregate:
        out.f(
            "ecc-aggregate",
            Severity.MEDIUM,
            f"{aggregate} uncorrectable ECC error(s) over the GPUs' lifetime"
            " (none since the last driver load)",
        )

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
    parsed: DcgmiDiagOutput | None, host: str | None, labels: dict[str, str] | None = None
) -> Result:
    """gpu.dcgm_diag (pass/warn/fail), gpu.dcgm_failed_tests and one gpu.dcgm_test per test, labelled
    with the run ``level`` (``unknown`` for an import). ``parsed`` None: not measured."""
    lab = {"level": "unknown", **(labels or {})}
    out = _Out(host, lab)
    if parsed is None:
        out.m("gpu.dcgm_diag", None)
        out.m("gpu.dcgm_failed_tests", None)
        return out.result()
    out.m("gpu.dcgm_diag", parsed.overall)
    out.m("gpu.dcgm_failed_tests", parsed.failed_tests)
    for t in sorted(parsed.tests, key=lambda t: t.name):
        out.m("gpu.dcgm_test", t.result, test=t.name, failed_gpus=",".join(map(str, t.failed_gpus)))
    failed = [t for t in parsed.tests if t.result == "fail"]
    if failed:
        parts = [
            f"{t.name}" + (f" (GPU {', '.join(map(str, t.failed_gpus))})" if t.failed_gpus else "")
            for t in failed
        ]
        run = "dcgmi diag" + (f" -r {lab['level']}" if lab["level"] != "unknown" else "")
        out.f("dcgm-failed", Severity.HIGH, f"{run} failed: " + "; ".join(parts))
    return out.result()


@dataclass(frozen=True)
class HostClock:
    """The audited host's clock when it printed its kernel log (the probe's now/uptime/tz sections)."""

    now: float | None = None
    """Epoch seconds."""
    uptime: float | None = None
    """Seconds since boot (for dmesg's ``[ 1234.5678]`` stamps)."""
    tz: timezone = timezone.utc
    """UTC offset of the host (``dmesg -T`` prints local time without one)."""


_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


def utc_offset(text: str | None) -> timezone:
    """``date +%z`` text ('+0100', '-05:30') -> timezone; UTC when it is not one."""
    m = _OFFSET.match((text or "").strip())
    if not m:
        return timezone.utc
    delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
    return timezone(delta if m.group(1) == "+" else -delta)


def event_age_s(event: XidEvent, clock: HostClock) -> float | None:
    """Seconds between the event and the host's clock; None when the log line or the clock cannot tell."""
    ts = event.timestamp
    if isinstance(ts, float | int):
        return None if clock.uptime is None else max(0.0, clock.uptime - float(ts))
    if isinstance(ts, str) and clock.now is not None:
        try:
            when = datetime.fromisoformat(ts.replace("Z", "+00:00"))
        except ValueError:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=clock.tz)
        return max(0.0, clock.now - when.timestamp())
    return None


def xid_measurements(
    parsed: XidOutput | None,
    host: str | None,
    labels: dict[str, str] | None = None,
    *,
    clock: HostClock | None = None,
    window_days: int | None = None,
) -> Result:
    """gpu.xid_events, gpu.xid_critical, gpu.fallen_off_bus and one gpu.xid_event per event.

    ``parsed`` None: the kernel log could not be read (all null). With ``clock`` and ``window_days``
    only events younger than the window count (an event of unknown age counts).
    """
    out = _Out(host, labels)
    if parsed is None:
        for name in ("gpu.xid_events", "gpu.xid_critical", "gpu.fallen_off_bus"):
            out.m(name, None)
        return out.result()
    aged = [(e, event_age_s(e, clock) if clock is not None else None) for e in parsed.events]
    windowed = clock is not None and window_days is not None
    if windowed:
        limit = float(window_days or 0) * 86400.0
        aged = [(e, age) for e, age in aged if age is None or age <= limit]
    events = [e for e, _ in aged]
    critical = [e for e in events if e.category in CRITICAL_CLASSES]
    fallen = (
        any(e.xid == 79 or "fallen off the bus" in e.message for e in events)
        if windowed
        else parsed.fallen_off_bus
    )
    out.m("gpu.xid_events", len(events))
    out.m("gpu.xid_critical", len(critical))
    out.m("gpu.fallen_off_bus", fallen)
    for e, age in aged:
        out.m("gpu.xid_event", e.xid, pci=e.pci or "", **{"class": e.category}, age_s=_age(age))
    span = f" in {window_days} days" if windowed else ""
    if events:
        codes = ", ".join(map(str, sorted({e.xid for e in critical or events})))
        if critical:
            text = f"{len(critical)} hardware or reset-required Xid event(s){span}: Xid {codes}"
            out.f("xid-critical", Severity.CRITICAL, text)
        else:
            text = f"{len(events)} Xid event(s){span} (Xid {codes}), none hardware or reset-required"
            out.f("xid-events", Severity.LOW, text)
    if fallen:
        pcis = sorted({e.pci for e in events if e.xid == 79 and e.pci})
        where = f" ({', '.join(pcis)})" if pcis else ""
        out.f("fallen-off-bus", Severity.CRITICAL, f"a GPU has fallen off the bus{where}")
    return out.result()


def _age(age: float | None) -> str:
    return "" if age is None else f"{age:.0f}"


def topo_measurements(
    parsed: NvidiaSmiTopoOutput | None, host: str | None, labels: dict[str, str] | None = None
) -> Result:
    """fabric.gpu_nic_pix: GPUs with a NIC at PIX or PXB distance (same PCIe switch tree).

    0 when the matrix has no NIC column (no GPU has a NIC near it); null when there is no matrix.
    """
    out = _Out(host, labels)
    near: int | None = None
    if parsed is not None:
        near = 0
        for gpu in parsed.gpus:
            row = parsed.links.get(gpu, {})
            if any(v in ("PIX", "PXB") for col, v in row.items() if not col.startswith("GPU")):
                near += 1
    out.m("fabric.gpu_nic_pix", near)
    return out.result()

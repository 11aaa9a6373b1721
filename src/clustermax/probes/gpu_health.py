"""gpu_health probe: ``nvidia-smi -q``, ``nvidia-smi nvlink -s``, the kernel log (Xid) and ``dcgmi diag``.

Sections are described in ``probes/gpu_health/run.sh``. Everything here is pure: the same sections
always give the same measurements, so a saved bundle re-parses identically (the age of a kernel-log
event is computed against the ``now`` section the host printed, never against this machine's clock).

The tool outputs are read by the shared parsers (:mod:`clustermax.parsers.nvidia_smi`, ``.kernel_log``,
``.dcgmi``) and mapped to metrics by the functions below (``measure``), the same functions
``clustermax import`` uses: the same text gives the same ``gpu.*`` values either way. What is left here
is what only the probe knows: the expected GPU count (parameter or Slurm GRES), nvidia-smi's exit
status, the host's clock and the Xid window, ``nvidia-smi nvlink -s``, the remediation texts of
``probe.yaml`` and the node's verdict (``gpu.healthy``).

:func:`cluster_measurements` derives the cluster-scope ``gpu.versions_consistent`` from the per-node
results; the engine calls it once after the node phase.

Mapping (``measure``): parsed nvidia-smi / dcgmi diag / kernel-log Xid output -> ``gpu.*`` measurements
and findings. The one mapping from these tools' parsed output to metrics: ``clustermax import`` (files
gathered by hand) and ``from_sections`` below both call these functions, so the same text gives the same
``gpu.*`` values whichever way it came in.

Metric names and units are those of ``probes/gpu_health/probe.yaml``; finding codes are the probe's
remediation keys (``from_sections`` attaches the remediation text; an import leaves it to the rubric).
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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from ..models import (
    Finding,
    JSONValue,
    Measurement,
    ProbeResult,
    ProbeStatus,
    ScalarValue,
    Severity,
    SubStatus,
    Unit,
)
from ..parsers.base import ParseError
from ..parsers.dcgmi import DcgmiDiagOutput, parse_dcgmi_diag
from ..parsers.kernel_log import XidEvent, XidOutput, journal_refused, parse_xid
from ..parsers.nvidia_smi import NvidiaSmiGpu, NvidiaSmiOutput, nvlink_inactive, parse_nvidia_smi
from ..parsers.slurm import ScontrolNodeOutput, SlurmNode, parse_scontrol_node
from ..parsers.xid_catalog import CRITICAL_CLASSES
from .base import FileKind, ImportContext, ImportedOutput, Measured, ProbeInput, ProbeOutput, Section
from .evidence import NOT_COLLECTED, NotCollected, Slot, one_file, parsed_or_none, readable, with_remediation

# ------------------------------------------------------------------------------------------ measure

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
    if parsed is None or parsed.error is not None:  # unreadable, or the diagnostic did not run
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

    ``parsed`` None: the kernel log could not be read (all null). With ``window_days`` and a ``clock``
    that knows the host's time (``now`` or ``uptime``) only events younger than the window count (an
    event of unknown age counts); otherwise every event of the log counts, as in an import.
    """
    out = _Out(host, labels)
    if parsed is None:
        for name in ("gpu.xid_events", "gpu.xid_critical", "gpu.fallen_off_bus"):
            out.m(name, None)
        return out.result()
    aged = [(e, event_age_s(e, clock) if clock is not None else None) for e in parsed.events]
    # the window needs the host's clock (a probe run prints it); without one every event counts
    windowed = (
        clock is not None and window_days is not None and (clock.now is not None or clock.uptime is not None)
    )
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


# ------------------------------------------------------------------------------------------ evidence


@dataclass(frozen=True)
class GpuEvidence:
    """What :func:`measure` maps: each tool's typed reading, None (ran, unreadable) or NOT_COLLECTED,
    and what the caller knows about the node (its expected GPU count, the host's clock)."""

    smi: Slot[NvidiaSmiOutput] = NOT_COLLECTED
    """``nvidia-smi -q`` (an import: any nvidia-smi format)."""
    smi_failed: bool = False
    """nvidia-smi exited non-zero (a probe run only)."""
    smi_error: str = ""
    """nvidia-smi's error text (its stderr, or its output when it read no GPU)."""
    expected: int | None = None
    expected_source: str | None = None
    """Where ``expected`` came from, as a label (an import: profile or gres); None: not labelled."""
    nvlink_inactive: Slot[int] = NOT_COLLECTED
    xid: Slot[XidOutput] = NOT_COLLECTED
    clock: HostClock | None = None
    window_days: int | None = None
    dcgmi: Slot[DcgmiDiagOutput] = NOT_COLLECTED
    dcgm_level: str = "unknown"


def measure(ev: GpuEvidence, host: str | None, remediation: Mapping[str, str] | None = None) -> Measured:
    """Every ``gpu.*`` metric and finding the evidence can tell (tools not collected are left out)."""
    measurements: list[Measurement] = []
    findings: list[Finding] = []

    def add(result: tuple[list[Measurement], list[Finding]]) -> None:
        measurements.extend(result[0])
        findings.extend(result[1])

    def find(code: str, severity: Severity, message: str) -> None:
        findings.append(Finding(code=code, severity=severity, host=host, message=message))

    smi = readable(ev.smi)
    if not isinstance(ev.smi, NotCollected):
        gpus = smi.gpus if smi is not None else []
        if ev.smi_failed and not gpus:
            first = ev.smi_error.splitlines()[0] if ev.smi_error else "non-zero exit status"
            find("nvidia-smi-failed", Severity.CRITICAL, f"nvidia-smi -q failed: {first}")
        add(
            nvidia_smi_measurements(
                smi, host, expected=ev.expected, tool_failed=ev.smi_failed, expected_source=ev.expected_source
            )
        )
    if not isinstance(ev.nvlink_inactive, NotCollected):
        inactive = ev.nvlink_inactive
        measurements.append(
            Measurement(metric="gpu.nvlink_inactive", value=inactive, unit=Unit.COUNT, host=host)
        )
        if inactive:
            find("nvlink-inactive", Severity.HIGH, f"{inactive} NVLink link(s) inactive")
    if not isinstance(ev.xid, NotCollected):
        if ev.xid is None:
            find(
                "kernel-log-unreadable",
                Severity.INFO,
                "the kernel log could not be read (journalctl/dmesg missing or not permitted):"
                " Xid events not checked",
            )
        add(xid_measurements(ev.xid, host, clock=ev.clock, window_days=ev.window_days))
    lost = ev.smi_error.lower()
    if "fallen off the bus" in lost or "gpu is lost" in lost:
        find("fallen-off-bus", Severity.CRITICAL, f"nvidia-smi: {ev.smi_error.splitlines()[0]}")
    if not isinstance(ev.dcgmi, NotCollected):
        add(dcgmi_measurements(ev.dcgmi, host, {"level": ev.dcgm_level}))
    return Measured(measurements, with_remediation(findings, remediation or {}))


# ------------------------------------------------------------------------------------ from_sections


ADVISORY = frozenset({"persistence-off", "throttled", "ecc-aggregate", "xid-events", "kernel-log-unreadable"})
"""Finding codes that are reported but do not make the node unhealthy."""

RUN_METRICS = frozenset({"gpu.healthy"})
"""Metrics only a probe run reports: the node's verdict over everything the run read, not a mapping of
one tool's output (an import of one file has no such verdict)."""


def _param_int(params: dict[str, JSONValue], name: str) -> int | None:
    value = params.get(name)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _section_float(sections: dict[str, Section], name: str) -> float | None:
    sec = sections.get(name)
    if sec is None or not sec.text.strip():
        return None
    m = _LEADING_NUMBER.match(sec.text)
    return float(m.group(1)) if m else None


_LEADING_NUMBER = re.compile(r"^\s*(-?\d+(?:\.\d+)?)")


def _read_smi(text: str) -> NvidiaSmiOutput | None:
    return parsed_or_none(parse_nvidia_smi, text) if text.strip() else None


def _expected_from_gres(section: Section | None) -> int | None:
    """The GPU count of the node's ``scontrol show node`` GRES (the probe prints it on Slurm)."""
    if section is None or not section.ok or not section.text.strip():
        return None
    try:
        nodes = parse_scontrol_node(section.text).nodes
    except ParseError:
        return None
    expected = expected_gpus("", None, nodes) if len(nodes) == 1 else None
    return expected.count if expected is not None else None


def _kernel_log(sections: dict[str, Section]) -> Slot[Section]:
    """The kernel-log section to read: journalctl -k unless it was refused, else dmesg; None when
    neither could be read; NOT_COLLECTED when the script printed neither."""
    if "journalctl-k" not in sections and "dmesg" not in sections:
        return NOT_COLLECTED
    klog = None
    for name in ("journalctl-k", "dmesg"):
        sec = sections.get(name)
        err = sections.get(f"{name}!stderr")
        if sec is None or not sec.ok:
            continue
        if err and journal_refused(err.text):
            continue
        klog = sec
    return klog


def _read_xid(section: Section) -> XidOutput | None:
    if not section.text.strip():
        return XidOutput()  # the filtered log has no NVRM line: no event
    return parsed_or_none(parse_xid, section.text)


def _read_dcgm(section: Section) -> DcgmiDiagOutput | None:
    if section.missing or not section.text.strip():
        return None
    return parsed_or_none(parse_dcgmi_diag, section.text)


def evidence(inp: ProbeInput) -> GpuEvidence:
    """The sections of one run of ``probes/gpu_health/run.sh`` (nvidia-smi -q present), read."""
    sections = inp.sections
    smi = sections["nvidia-smi-q"]
    parsed = _read_smi(smi.text)
    gpus = parsed.gpus if parsed is not None else []
    stderr = sections.get("nvidia-smi-q!stderr")
    smi_error = (stderr.text.strip() if stderr else "") or (smi.text.strip() if not gpus else "")
    smi_failed = smi.rc not in (0, None)
    if smi_failed and not smi_error:
        smi_error = f"exit status {smi.rc}"
    nvl = sections.get("nvidia-smi-nvlink")
    nvlink: Slot[int] = NOT_COLLECTED if nvl is None else (nvlink_inactive(nvl.text) if nvl.ok else None)
    klog = _kernel_log(sections)
    xid: Slot[XidOutput] = klog if not isinstance(klog, Section) else _read_xid(klog)
    clock = HostClock(
        now=_section_float(sections, "now"),
        uptime=_section_float(sections, "uptime"),
        tz=utc_offset(sections["tz"].text if "tz" in sections else None),
    )
    dcgm = sections.get("dcgmi-diag")
    level = sections["dcgmi-level"].text.strip() if "dcgmi-level" in sections else ""
    param_level = _param_int(inp.params, "dcgm_level")
    return GpuEvidence(
        smi=parsed,
        smi_failed=smi_failed,
        smi_error=smi_error,
        expected=_param_int(inp.params, "expected_gpus")
        or _expected_from_gres(sections.get("scontrol-node")),
        nvlink_inactive=nvlink,
        xid=xid,
        clock=clock,
        window_days=_param_int(inp.params, "xid_window_days") or 30,
        dcgmi=NOT_COLLECTED if dcgm is None else _read_dcgm(dcgm),
        dcgm_level=level or (str(param_level) if param_level is not None else "unknown"),
    )


def from_sections(inp: ProbeInput) -> ProbeOutput:
    host = inp.host
    smi = inp.sections.get("nvidia-smi-q")
    if smi is None or smi.missing:
        return ProbeOutput(
            status=ProbeStatus.SKIPPED,
            substatus=SubStatus.NOT_INSTALLED,
            message="nvidia-smi is not installed on this host (no NVIDIA driver)",
        )
    ev = evidence(inp)
    measurements, findings = measure(ev, host, inp.spec.remediation)
    parsed = readable(ev.smi)
    gpus = parsed.gpus if parsed is not None else []

    # --- the node's verdict --------------------------------------------------------------------------
    problems = [f.message for f in findings if f.code not in ADVISORY]
    values = {m.metric: m.value for m in measurements if not m.labels}
    count = values.get("gpu.count")
    essential = [count, values.get("gpu.ecc_uncorrected"), values.get("gpu.remapped_rows_pending")]
    healthy: bool | None
    if problems:
        healthy = False
    elif count is None or all(v is None for v in essential):
        healthy = None
    else:
        healthy = True
    measurements.append(Measurement(metric="gpu.healthy", value=healthy, unit=Unit.BOOL, host=host))
    facts: dict[str, JSONValue] = {"bus_ids": [g.bus_id for g in gpus if g.bus_id]}
    if parsed is not None and parsed.warnings:
        facts["parser_warnings"] = list(parsed.warnings)
    if healthy is False:
        unhealthy = [f for f in findings if f.code not in ADVISORY]
        return ProbeOutput(
            status=ProbeStatus.FAILED,
            message=f"{host}: " + "; ".join(problems),
            remediation=unhealthy[0].remediation if unhealthy else None,
            measurements=measurements,
            findings=findings,
            facts=facts,
        )
    msg = f"{count} GPU(s) healthy" if healthy else "GPU health only partly measured"
    return ProbeOutput(measurements=measurements, findings=findings, message=msg, facts=facts)


# ------------------------------------------------------------------------------------------------


def _versions(results: Iterable[ProbeResult]) -> list[tuple[str, tuple[str, str, str]]]:
    """(host, (GPU model, driver, CUDA)) of every gpu_health result that measured all three, in order."""
    out: list[tuple[str, tuple[str, str, str]]] = []
    for result in results:
        if result.probe_id != "gpu_health":
            continue
        values = {m.metric: m.value for m in result.measurements if m.host == result.host}
        trio = (values.get("gpu.model"), values.get("gpu.driver_version"), values.get("gpu.cuda_version"))
        if all(isinstance(v, str) for v in trio):
            out.append((result.host, (str(trio[0]), str(trio[1]), str(trio[2]))))
    return out


def cluster_measurements(results: Iterable[ProbeResult]) -> list[Measurement]:
    """Cluster-scope ``gpu.versions_consistent``: every GPU node reports the same model, driver and CUDA.

    Pure: reads the gpu_health results of the node phase. Null when fewer than one node measured all three.
    """
    seen = dict(_versions(results))  # one entry per host
    if not seen:
        value: bool | None = None
        labels: dict[str, str] = {"nodes": "0"}
    else:
        distinct = sorted(set(seen.values()))
        value = len(distinct) == 1
        labels = {"nodes": str(len(seen)), "variants": str(len(distinct))}
    return [
        Measurement(metric="gpu.versions_consistent", value=value, unit=Unit.BOOL, host=None, labels=labels)
    ]


def cluster_findings(results: Iterable[ProbeResult]) -> list[Finding]:
    """The 'versions-mixed' finding naming which nodes run which model/driver/CUDA (empty when consistent)."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for host, trio in _versions(results):  # every result (two imported files may share a host)
        groups.setdefault(trio, []).append(host)
    if len(groups) <= 1:
        return []
    parts = [f"{m} driver {d} CUDA {c} on {', '.join(sorted(h))}" for (m, d, c), h in sorted(groups.items())]
    return [
        Finding(
            code="versions-mixed",
            severity=Severity.MEDIUM,
            host=None,
            message="GPU nodes disagree: " + "; ".join(parts),
            remediation="Nodes run different GPU drivers or CUDA: roll one driver version out to every node.",
        )
    ]


# -------------------------------------------------------------------------------- clustermax import


@dataclass(frozen=True)
class ExpectedGpus:
    """How many GPUs a node should have, and where that came from (``profile`` or ``gres``)."""

    count: int
    source: str


def expected_gpus(
    host: str, profile: Mapping[str, JSONValue] | None, nodes: Sequence[SlurmNode]
) -> ExpectedGpus | None:
    """The expected GPU count of ``host``'s nvidia-smi output in an import; None when unknown.

    ``profile``: the bundle's profile override (its ``gpus_per_node`` wins). ``nodes``: the nodes of
    every ``scontrol show node`` output of the import: the GRES GPU count of the node named ``host``,
    else the GPU count and type shared by every listed node. A count below 1 tells nothing.
    """
    per_node = (profile or {}).get("gpus_per_node")
    if isinstance(per_node, int) and not isinstance(per_node, bool) and per_node >= 1:
        return ExpectedGpus(per_node, "profile")
    named = {n.gpu_count for n in nodes if n.name == host}
    if named:
        count = named.pop() if len(named) == 1 else None
        return ExpectedGpus(count, "gres") if count is not None and count >= 1 else None
    shared = {(n.gpu_count, n.gpu_type) for n in nodes}
    if len(shared) == 1:
        count, _ = shared.pop()
        if count is not None and count >= 1:
            return ExpectedGpus(count, "gres")
    return None


def _file_evidence(file: ImportedOutput, context: ImportContext) -> GpuEvidence:
    """One imported file as the evidence the probe has when that is all it could read."""
    parsed = file.parsed
    if isinstance(parsed, NvidiaSmiOutput):
        nodes = [
            n for o in context.others if isinstance(o.parsed, ScontrolNodeOutput) for n in o.parsed.nodes
        ]
        expected = expected_gpus(file.host, context.profile, nodes)
        return GpuEvidence(
            smi=parsed,
            expected=expected.count if expected else None,
            expected_source=expected.source if expected else None,
        )
    if isinstance(parsed, XidOutput):
        return GpuEvidence(xid=parsed)  # no host clock: every event of the file counts
    if isinstance(parsed, DcgmiDiagOutput):
        return GpuEvidence(dcgmi=parsed)
    return GpuEvidence()


FILES = (
    FileKind(
        "nvidia-smi",
        one_file(_file_evidence, measure),
        context_kinds=frozenset({"scontrol-node"}),
        section="nvidia-smi-q",
    ),
    FileKind("dcgmi-diag", one_file(_file_evidence, measure), section="dcgmi-diag"),
    FileKind("xid", one_file(_file_evidence, measure), section="dmesg"),
)

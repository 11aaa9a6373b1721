"""gpu_health probe: ``nvidia-smi -q``, ``nvidia-smi nvlink -s``, the kernel log (Xid) and ``dcgmi diag``.

Sections are described in ``probes/gpu_health/run.sh``. Everything here is pure: the same sections
always give the same measurements, so a saved bundle re-parses identically (the age of a kernel-log
event is computed against the ``now`` section the host printed, never against this machine's clock).

:func:`cluster_measurements` derives the cluster-scope ``gpu.versions_consistent`` from the per-node
results; the engine calls it once after the node phase.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
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
from .base import ProbeParseInput, ProbeParseOutput, Section

# ------------------------------------------------------------------------------------------------
# nvidia-smi -q: an indented "key : value" report, one block per GPU ("GPU 00000000:18:00.0").


@dataclass
class GpuReport:
    bus_id: str
    fields: dict[str, str] = field(default_factory=dict)
    """Values by path, e.g. 'PCI/GPU Link Info/Link Width/Current' -> '16x'."""

    def get(self, *paths: str) -> str | None:
        for path in paths:
            value = self.fields.get(path)
            if value is not None:
                return value
        return None

    def under(self, prefix: str) -> dict[str, str]:
        """Fields below ``prefix`` (path relative to it)."""
        cut = len(prefix) + 1
        return {k[cut:]: v for k, v in self.fields.items() if k.startswith(prefix + "/")}


@dataclass
class SmiReport:
    driver_version: str | None = None
    cuda_version: str | None = None
    attached: int | None = None
    gpus: list[GpuReport] = field(default_factory=list)


_GPU_HEADER = re.compile(r"^GPU ([0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-9A-Fa-f])\s*$")
_KV = re.compile(r"^(?P<indent>\s*)(?P<key>[^:]+?)\s*:\s?(?P<value>.*)$")


def read_smi_q(text: str) -> SmiReport:
    """Read ``nvidia-smi -q`` text into per-GPU field paths (tolerant: unknown lines are skipped)."""
    report = SmiReport()
    gpu: GpuReport | None = None
    stack: list[tuple[int, str]] = []  # (indent, name) of the open groups inside the current GPU
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip() or line.startswith("="):
            continue
        m_gpu = _GPU_HEADER.match(line)
        if m_gpu:
            gpu = GpuReport(bus_id=m_gpu.group(1))
            report.gpus.append(gpu)
            stack = []
            continue
        indent = len(line) - len(line.lstrip())
        m = _KV.match(line)
        key = (m.group("key") if m else line).strip()
        value = m.group("value").strip() if m else None
        if gpu is None:
            if value is None:
                continue
            if key == "Driver Version":
                report.driver_version = value
            elif key == "CUDA Version":
                report.cuda_version = value
            elif key == "Attached GPUs" and value.isdigit():
                report.attached = int(value)
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = "/".join([name for _, name in stack] + [key])
        if value is None or value == "":
            stack.append((indent, key))
        else:
            gpu.fields.setdefault(path, value)
    return report


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    m = re.match(r"^\s*(-?\d+)", value)
    return int(m.group(1)) if m else None


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    m = re.match(r"^\s*(-?\d+(?:\.\d+)?)", value)
    return float(m.group(1)) if m else None


# ------------------------------------------------------------------------------------------------
# Kernel log: Xid events and "fallen off the bus".

XID_CRITICAL: frozenset[int] = frozenset({48, 56, 57, 58, 62, 64, 65, 74, 79, 80, 81, 95, 119, 120, 140})
"""Hardware or reset-required Xids (NVIDIA Xid catalog; AzNHC's failing list minus the app-caused ones)."""
XID_APPLICATION: frozenset[int] = frozenset({13, 31, 43, 45, 68, 69, 73, 109})
"""Usually caused by the application: counted, never failing the node."""
XID_SEVERITY_NAMES = {"critical": "hardware or reset required", "application": "usually application-caused"}


def xid_class(code: int) -> str:
    if code in XID_CRITICAL:
        return "critical"
    if code in XID_APPLICATION:
        return "application"
    return "warning"


@dataclass(frozen=True)
class KernelEvent:
    kind: str  # "xid" or "fallen-off-bus"
    code: int | None
    pci: str | None
    age_s: float | None
    """Seconds between the event and the host's clock at collection; None when the line has no time."""
    line: str


_XID = re.compile(r"NVRM: Xid \((?:PCI:)?(?P<pci>[0-9A-Fa-f:.]+)\):? (?P<code>\d+)")
_FALLEN = re.compile(r"fallen off the bus", re.IGNORECASE)
_TS_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:[.,]\d+)?([+-]\d{2}:?\d{2}|Z)?")
_TS_CTIME = re.compile(r"^\[(\w{3} \w{3}\s+\d{1,2} \d{2}:\d{2}:\d{2} \d{4})\]")
_TS_BOOT = re.compile(r"^\[\s*(\d+\.\d+)\]")


def _tzinfo(text: str | None) -> timezone:
    m = re.match(r"^([+-])(\d{2}):?(\d{2})$", (text or "").strip())
    if not m:
        return timezone.utc
    delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
    return timezone(delta if m.group(1) == "+" else -delta)


def _line_age(line: str, now: float | None, uptime: float | None, tz: timezone) -> float | None:
    m = _TS_ISO.match(line)
    if m and now is not None:
        offset = _tzinfo(m.group(2).replace("Z", "+0000")) if m.group(2) else tz
        when = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=offset)
        return max(0.0, now - when.timestamp())
    m = _TS_CTIME.match(line)
    if m and now is not None:
        try:
            when = datetime.strptime(" ".join(m.group(1).split()), "%a %b %d %H:%M:%S %Y").replace(tzinfo=tz)
        except ValueError:
            return None
        return max(0.0, now - when.timestamp())
    m = _TS_BOOT.match(line)
    if m and uptime is not None:
        return max(0.0, uptime - float(m.group(1)))
    return None


def kernel_events(text: str, now: float | None, uptime: float | None, tz: timezone) -> list[KernelEvent]:
    """Xid and fallen-off-the-bus events of a kernel log (journalctl -o short-iso, dmesg -T, dmesg)."""
    events: list[KernelEvent] = []
    last_age: float | None = None
    for line in text.splitlines():
        age = _line_age(line, now, uptime, tz)
        if age is not None:
            last_age = age
        elif line[:1].isspace():
            age = last_age  # continuation line of a multi-line NVRM message
        m = _XID.search(line)
        if m:
            events.append(KernelEvent("xid", int(m.group("code")), m.group("pci"), age, line.strip()))
        elif _FALLEN.search(line):
            events.append(KernelEvent("fallen-off-bus", None, None, age, line.strip()))
    return events


# ------------------------------------------------------------------------------------------------
# dcgmi diag (text table, DCGM 3.x and 4.x layouts).

_DCGM_ROW = re.compile(r"^[|+]\s*(?P<name>[^|]*?)\s*\|\s*(?P<result>[^|]*?)\s*\|\s*$")


@dataclass
class DcgmResult:
    tests: dict[str, str] = field(default_factory=dict)
    """Test name -> 'pass' | 'fail' | 'warn' | 'skip' (the worst seen for the test)."""
    failed_gpus: dict[str, list[str]] = field(default_factory=dict)


_RANK = {"pass": 0, "skip": 0, "info": 0, "warn": 1, "fail": 2}


def read_dcgmi_diag(text: str) -> DcgmResult:
    out = DcgmResult()
    current: str | None = None
    for line in text.splitlines():
        m = _DCGM_ROW.match(line.strip())
        if not m or line.strip().startswith("+=") or "-----" in line:
            continue
        name, result = m.group("name"), m.group("result")
        if name in ("Diagnostic",):
            continue
        if name and name not in ("Warning", "Info"):
            current = name
        elif name == "Warning" and current:
            _set(out, current, "warn")
            continue
        if current is None:
            continue
        word = result.split()[0].lower() if result.split() else ""
        per_gpu = re.match(r"^GPU(\d+):\s*(\w+)", result)
        if per_gpu:
            word = per_gpu.group(2).lower()
            if word == "fail":
                out.failed_gpus.setdefault(current, []).append(per_gpu.group(1))
        elif word == "fail":
            m_gpus = re.search(r"GPUs?:\s*([\d,\s]+|All)", result)
            if m_gpus:
                out.failed_gpus.setdefault(current, []).extend(
                    g.strip() for g in m_gpus.group(1).split(",") if g.strip()
                )
        if word in _RANK:
            _set(out, current, word)
    return out


def _set(out: DcgmResult, test: str, word: str) -> None:
    old = out.tests.get(test)
    if old is None or _RANK[word] > _RANK.get(old, 0):
        out.tests[test] = word


# ------------------------------------------------------------------------------------------------


_GRES = re.compile(r"\bGres=(?:\S*?,)?gpu(?::[A-Za-z0-9_.-]+)?:(\d+)")
_IGNORED_REASONS = ("idle", "applications clocks setting", "display clock setting")


def _expected_from_gres(section: Section | None) -> int | None:
    if section is None or not section.ok:
        return None
    m = _GRES.search(section.text)
    return int(m.group(1)) if m else None


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
    return _float(sec.text.split()[0])


class _Out:
    def __init__(self, inp: ProbeParseInput) -> None:
        self.inp = inp
        self.host = inp.host
        self.units = {m.name: m.unit for m in inp.spec.metrics}
        self.measurements: list[Measurement] = []
        self.findings: list[Finding] = []
        self.problems: list[str] = []

    def metric(self, name: str, value: ScalarValue, **labels: str) -> None:
        self.measurements.append(
            Measurement(metric=name, value=value, unit=self.units[name], host=self.host, labels=labels)
        )

    def find(self, code: str, severity: Severity, message: str, unhealthy: bool = True) -> None:
        self.findings.append(
            Finding(
                code=code,
                severity=severity,
                host=self.host,
                message=message,
                remediation=self.inp.spec.remediation.get(code),
            )
        )
        if unhealthy:
            self.problems.append(message)


def parse(inp: ProbeParseInput) -> ProbeParseOutput:
    sections = inp.sections
    out = _Out(inp)
    smi = sections.get("nvidia-smi-q")
    if smi is None or smi.missing:
        return ProbeParseOutput(
            status=ProbeStatus.SKIPPED,
            substatus=SubStatus.NOT_INSTALLED,
            message="nvidia-smi is not installed on this host (no NVIDIA driver)",
        )
    report = read_smi_q(smi.text) if smi.text.strip() else SmiReport()
    stderr = sections.get("nvidia-smi-q!stderr")
    smi_error = (stderr.text.strip() if stderr else "") or (smi.text.strip() if not report.gpus else "")

    # --- count ------------------------------------------------------------------------------
    count = len(report.gpus) if report.gpus else (0 if smi.rc not in (0, None) else None)
    expected = _param_int(inp.params, "expected_gpus") or _expected_from_gres(sections.get("scontrol-node"))
    out.metric("gpu.count", count)
    out.metric("gpu.expected_count", expected)
    count_ok = None if count is None or expected is None else count >= expected
    out.metric("gpu.count_ok", count_ok)
    if smi.rc not in (0, None) and not report.gpus:
        first = smi_error.splitlines()[0] if smi_error else f"exit status {smi.rc}"
        out.find("nvidia-smi-failed", Severity.CRITICAL, f"nvidia-smi -q failed: {first}")
    if count_ok is False:
        out.find("gpu-missing", Severity.CRITICAL, f"{count} of {expected} expected GPUs are visible")
    if report.attached is not None and report.gpus and report.attached != len(report.gpus):
        out.find(
            "gpu-missing",
            Severity.HIGH,
            f"nvidia-smi says {report.attached} GPUs are attached but reports on {len(report.gpus)}",
        )
    gpus = report.gpus

    # --- identity -----------------------------------------------------------------------------
    models = sorted({g.get("Product Name") or "" for g in gpus} - {""})
    out.metric("gpu.model", " / ".join(models) if models else None)
    mems = [_int(g.get("FB Memory Usage/Total")) for g in gpus]
    mem_values = [m for m in mems if m is not None]
    out.metric("gpu.memory_total", min(mem_values) if mem_values else None)
    out.metric("gpu.driver_version", report.driver_version)
    out.metric("gpu.cuda_version", report.cuda_version)

    # --- persistence, thermals, power ---------------------------------------------------------------
    pm = [g.get("Persistence Mode") for g in gpus]
    pm_known = [p for p in pm if p in ("Enabled", "Disabled")]
    persistence = None if not pm_known else all(p == "Enabled" for p in pm_known)
    out.metric("gpu.persistence_mode", persistence)
    if persistence is False:
        off = sum(1 for p in pm_known if p == "Disabled")
        out.find("persistence-off", Severity.LOW, f"persistence mode is off on {off} GPU(s)", unhealthy=False)
    temps = [t for t in (_float(g.get("Temperature/GPU Current Temp")) for g in gpus) if t is not None]
    out.metric("gpu.temperature_max", max(temps) if temps else None)
    draws = [
        d
        for d in (
            _float(
                g.get(
                    "GPU Power Readings/Instantaneous Power Draw",
                    "GPU Power Readings/Power Draw",
                    "GPU Power Readings/Average Power Draw",
                    "Power Readings/Power Draw",
                )
            )
            for g in gpus
        )
        if d is not None
    ]
    out.metric("gpu.power_draw_max", max(draws) if draws else None)
    limits = [
        v
        for v in (
            _float(g.get("GPU Power Readings/Current Power Limit", "Power Readings/Power Limit"))
            for g in gpus
        )
        if v is not None
    ]
    out.metric("gpu.power_limit", min(limits) if limits else None)

    # --- clocks event (throttle) reasons ------------------------------------------------------------
    throttled: list[str] = []
    seen_reasons = False
    for g in gpus:
        reasons = g.under("Clocks Event Reasons") or g.under("Clocks Throttle Reasons")
        if reasons:
            seen_reasons = True
        active = [
            k.split("/")[-1]
            for k, v in reasons.items()
            if v == "Active" and k.split("/")[-1].lower() not in _IGNORED_REASONS
        ]
        if active:
            throttled.append(f"{g.bus_id} ({', '.join(active)})")
    out.metric("gpu.throttled", len(throttled) if seen_reasons else None)
    if throttled:
        out.find(
            "throttled", Severity.MEDIUM, "clocks held down at idle: " + "; ".join(throttled), unhealthy=False
        )

    # --- ECC, retired pages, remapped rows ---------------------------------------------------------
    def ecc_sum(scope: str) -> int | None:
        total: int | None = None
        for g in gpus:
            for key, value in g.under(f"ECC Errors/{scope}").items():
                leaf = key.lower()
                if "uncorr" in leaf or leaf.startswith("double bit"):
                    n = _int(value)
                    if n is not None and not leaf.endswith("threshold exceeded"):
                        total = (total or 0) + n
        return total

    volatile = ecc_sum("Volatile")
    aggregate = ecc_sum("Aggregate")
    out.metric("gpu.ecc_uncorrected", volatile)
    out.metric("gpu.ecc_uncorrected_aggregate", aggregate)
    if volatile:
        out.find("ecc-uncorrected", Severity.CRITICAL, f"{volatile} volatile uncorrectable ECC error(s)")
    elif aggregate:
        out.find(
            "ecc-aggregate",
            Severity.MEDIUM,
            f"{aggregate} uncorrectable ECC error(s) over the GPUs' lifetime"
            " (none since the last driver load)",
            unhealthy=False,
        )

    def yes_count(*paths: str) -> tuple[int | None, list[str]]:
        known = False
        hits: list[str] = []
        for g in gpus:
            value = g.get(*paths)
            if value in ("Yes", "No"):
                known = True
                if value == "Yes":
                    hits.append(g.bus_id)
        return (len(hits) if known else None), hits

    retired, retired_ids = yes_count(
        "Retired Pages/Pending Page Blacklist", "Retired Pages/Pending Page Retirement"
    )
    pending, pending_ids = yes_count("Remapped Rows/Pending")
    failed, failed_ids = yes_count("Remapped Rows/Remapping Failure Occurred")
    out.metric("gpu.retired_pages_pending", retired)
    out.metric("gpu.remapped_rows_pending", pending)
    out.metric("gpu.remapped_rows_failed", failed)
    if retired_ids:
        out.find(
            "retired-pages-pending", Severity.HIGH, "page retirement pending on " + ", ".join(retired_ids)
        )
    if pending_ids:
        out.find("remapped-rows-pending", Severity.HIGH, "row remapping pending on " + ", ".join(pending_ids))
    if failed_ids:
        out.find(
            "remapped-rows-failed", Severity.CRITICAL, "row remapping failed on " + ", ".join(failed_ids)
        )

    # --- PCIe link ---------------------------------------------------------------------------------
    degraded: list[str] = []
    gen_low = 0
    pcie_known = False
    for g in gpus:
        link = "PCI/GPU Link Info"
        w_max, w_cur = _int(g.get(f"{link}/Link Width/Max")), _int(g.get(f"{link}/Link Width/Current"))
        gen_max, gen_cur = (
            _int(g.get(f"{link}/PCIe Generation/Max")),
            _int(g.get(f"{link}/PCIe Generation/Current")),
        )
        idle = (g.get("Clocks Event Reasons/Idle", "Clocks Throttle Reasons/Idle") or "") == "Active" or (
            g.get("Performance State") or "P0"
        ) not in ("P0", "P1", "P2")
        if w_max is not None and w_cur is not None:
            pcie_known = True
            if w_cur < w_max:
                degraded.append(f"{g.bus_id} x{w_cur} of x{w_max}")
                continue
        if gen_max is not None and gen_cur is not None and gen_cur < gen_max:
            if idle:
                gen_low += 1  # links train down at idle to save power: not a fault
            else:
                degraded.append(f"{g.bus_id} Gen{gen_cur} of Gen{gen_max} under load")
    out.metric("gpu.pcie_degraded", len(degraded) if pcie_known else None)
    if degraded:
        out.find("pcie-degraded", Severity.HIGH, "PCIe link below its maximum: " + "; ".join(degraded))

    # --- NVLink ----------------------------------------------------------------------------------
    nvl = sections.get("nvidia-smi-nvlink")
    inactive: int | None = None
    if nvl is not None and nvl.ok:
        links = re.findall(r"^\s*Link \d+:\s*(.*)$", nvl.text, re.MULTILINE)
        inactive = sum(1 for v in links if "inactive" in v.lower())
    out.metric("gpu.nvlink_inactive", inactive)
    if inactive:
        out.find("nvlink-inactive", Severity.HIGH, f"{inactive} NVLink link(s) inactive")

    # --- kernel log ----------------------------------------------------------------------------------
    window_days = _param_int(inp.params, "xid_window_days") or 30
    now = _section_float(sections, "now")
    uptime = _section_float(sections, "uptime")
    tz = _tzinfo(sections["tz"].text if "tz" in sections else None)
    klog = None
    for name in ("journalctl-k", "dmesg"):
        sec = sections.get(name)
        err = sections.get(f"{name}!stderr")
        if sec is None or not sec.ok:
            continue
        if err and re.search(r"permission|not seeing messages|no journal files", err.text, re.IGNORECASE):
            continue
        klog = sec
    events: list[KernelEvent] | None = None
    if klog is not None:
        window_s = window_days * 86400.0
        events = [
            e for e in kernel_events(klog.text, now, uptime, tz) if e.age_s is None or e.age_s <= window_s
        ]
    else:
        out.find(
            "kernel-log-unreadable",
            Severity.INFO,
            "the kernel log could not be read (journalctl/dmesg missing or not permitted):"
            " Xid events not checked",
            unhealthy=False,
        )
    xids = [e for e in events or [] if e.kind == "xid"]
    critical = [e for e in xids if e.code is not None and xid_class(e.code) == "critical"]
    fallen = any(e.kind == "fallen-off-bus" or e.code == 79 for e in events or [])
    out.metric("gpu.xid_events", None if events is None else len(xids))
    out.metric("gpu.xid_critical", None if events is None else len(critical))
    out.metric("gpu.fallen_off_bus", None if events is None else fallen)
    for e in xids:
        cls = xid_class(e.code or 0)
        out.measurements.append(
            Measurement(
                metric="gpu.xid_event",
                value=e.code,
                unit=Unit.COUNT,
                host=inp.host,
                labels={
                    "pci": e.pci or "",
                    "class": cls,
                    "age_s": "" if e.age_s is None else f"{e.age_s:.0f}",
                },
            )
        )
    if critical:
        codes = sorted({e.code for e in critical if e.code is not None})
        out.find(
            "xid-critical",
            Severity.CRITICAL,
            f"{len(critical)} hardware/reset-required Xid event(s) in {window_days} days: Xid "
            + ", ".join(map(str, codes)),
        )
    elif xids:
        codes = sorted({e.code for e in xids if e.code is not None})
        out.find(
            "xid-events",
            Severity.LOW,
            f"{len(xids)} Xid event(s) in {window_days} days (Xid {', '.join(map(str, codes))})",
            unhealthy=False,
        )
    if fallen:
        out.find("fallen-off-bus", Severity.CRITICAL, "a GPU has fallen off the bus (kernel log)")
    if "fallen off the bus" in smi_error.lower() or "gpu is lost" in smi_error.lower():
        out.find("fallen-off-bus", Severity.CRITICAL, f"nvidia-smi: {smi_error.splitlines()[0]}")

    # --- DCGM --------------------------------------------------------------------------------------
    level = (sections["dcgmi-level"].text.strip() if "dcgmi-level" in sections else "") or str(
        _param_int(inp.params, "dcgm_level") or 1
    )
    dcgm = sections.get("dcgmi-diag")
    if dcgm is not None and not dcgm.missing and dcgm.text.strip():
        diag = read_dcgmi_diag(dcgm.text)
        if diag.tests:
            results = set(diag.tests.values())
            overall = "fail" if "fail" in results else "warn" if "warn" in results else "pass"
            failed_tests = sorted(t for t, r in diag.tests.items() if r == "fail")
            out.metric("gpu.dcgm_diag", overall, level=level)
            out.metric("gpu.dcgm_failed_tests", len(failed_tests), level=level)
            for test, result in sorted(diag.tests.items()):
                out.measurements.append(
                    Measurement(
                        metric="gpu.dcgm_test",
                        value=result,
                        unit=Unit.TEXT,
                        host=inp.host,
                        labels={
                            "level": level,
                            "test": test,
                            "failed_gpus": ",".join(diag.failed_gpus.get(test, [])),
                        },
                    )
                )
            if failed_tests:
                detail = "; ".join(
                    t + (f" (GPU {','.join(diag.failed_gpus[t])})" if diag.failed_gpus.get(t) else "")
                    for t in failed_tests
                )
                out.find("dcgm-failed", Severity.HIGH, f"dcgmi diag -r {level} failed: {detail}")
        else:
            out.metric("gpu.dcgm_diag", None, level=level)
            out.metric("gpu.dcgm_failed_tests", None, level=level)
    else:
        out.metric("gpu.dcgm_diag", None, level=level)
        out.metric("gpu.dcgm_failed_tests", None, level=level)

    # --- verdict -------------------------------------------------------------------------------------
    essential = [count, volatile, pending]
    healthy: bool | None
    if out.problems:
        healthy = False
    elif count is None or all(v is None for v in essential):
        healthy = None
    else:
        healthy = True
    out.metric("gpu.healthy", healthy)
    facts: dict[str, JSONValue] = {"bus_ids": [g.bus_id for g in gpus]}
    if healthy is False:
        return ProbeParseOutput(
            status=ProbeStatus.FAILED,
            message=f"{inp.host}: " + "; ".join(out.problems),
            remediation=out.findings[0].remediation if out.findings else None,
            measurements=out.measurements,
            findings=out.findings,
            facts=facts,
        )
    msg = f"{count} GPU(s) healthy" if healthy else "GPU health only partly measured"
    return ProbeParseOutput(measurements=out.measurements, findings=out.findings, message=msg, facts=facts)


# ------------------------------------------------------------------------------------------------


def cluster_measurements(results: Iterable[ProbeResult]) -> list[Measurement]:
    """Cluster-scope ``gpu.versions_consistent``: every GPU node reports the same model, driver and CUDA.

    Pure: reads the gpu_health results of the node phase. Null when fewer than one node measured all three.
    """
    seen: dict[str, tuple[str, str, str]] = {}
    for result in results:
        if result.probe_id != "gpu_health":
            continue
        values = {m.metric: m.value for m in result.measurements if m.host == result.host}
        trio = (values.get("gpu.model"), values.get("gpu.driver_version"), values.get("gpu.cuda_version"))
        if all(isinstance(v, str) for v in trio):
            seen[result.host] = (str(trio[0]), str(trio[1]), str(trio[2]))
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
    for result in results:
        if result.probe_id != "gpu_health":
            continue
        values = {m.metric: m.value for m in result.measurements if m.host == result.host}
        trio = (values.get("gpu.model"), values.get("gpu.driver_version"), values.get("gpu.cuda_version"))
        if all(isinstance(v, str) for v in trio):
            groups.setdefault((str(trio[0]), str(trio[1]), str(trio[2])), []).append(result.host)
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

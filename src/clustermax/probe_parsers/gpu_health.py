"""gpu_health probe: ``nvidia-smi -q``, ``nvidia-smi nvlink -s``, the kernel log (Xid) and ``dcgmi diag``.

Sections are described in ``probes/gpu_health/run.sh``. Everything here is pure: the same sections
always give the same measurements, so a saved bundle re-parses identically (the age of a kernel-log
event is computed against the ``now`` section the host printed, never against this machine's clock).

The tool outputs are read by the shared parsers (:mod:`clustermax.parsers.nvidia_smi`, ``.kernel_log``,
``.dcgmi``) and mapped to metrics by :mod:`clustermax.measure.gpu`, the same functions
``clustermax import`` uses: the same text gives the same ``gpu.*`` values either way. What is left here
is what only the probe knows: the expected GPU count (parameter or Slurm GRES), nvidia-smi's exit
status, the host's clock and the Xid window, ``nvidia-smi nvlink -s``, the remediation texts of
``probe.yaml`` and the node's verdict (``gpu.healthy``).

:func:`cluster_measurements` derives the cluster-scope ``gpu.versions_consistent`` from the per-node
results; the engine calls it once after the node phase.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..measure.gpu import (
    HostClock,
    dcgmi_measurements,
    nvidia_smi_measurements,
    utc_offset,
    xid_measurements,
)
from ..models import (
    Finding,
    JSONValue,
    Measurement,
    ProbeResult,
    ProbeStatus,
    Severity,
    SubStatus,
    Unit,
)
from ..parsers.base import ParseError
from ..parsers.dcgmi import DcgmiDiagOutput, parse_dcgmi_diag
from ..parsers.kernel_log import XidOutput, parse_xid
from ..parsers.nvidia_smi import NvidiaSmiOutput, parse_nvidia_smi
from .base import ProbeParseInput, ProbeParseOutput, Section

ADVISORY = frozenset({"persistence-off", "throttled", "ecc-aggregate", "xid-events", "kernel-log-unreadable"})
"""Finding codes that are reported but do not make the node unhealthy."""

_GRES = re.compile(r"\bGres=(?:\S*?,)?gpu(?::[A-Za-z0-9_.-]+)?:(\d+)")
_LINK = re.compile(r"^\s*Link \d+:\s*(.*)$", re.MULTILINE)
_JOURNAL_DENIED = re.compile(r"permission|not seeing messages|no journal files", re.IGNORECASE)


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
    m = re.match(r"^\s*(-?\d+(?:\.\d+)?)", sec.text)
    return float(m.group(1)) if m else None


def _read_smi(text: str) -> NvidiaSmiOutput | None:
    if not text.strip():
        return None
    try:
        return parse_nvidia_smi(text)
    except ParseError:
        return None


def _kernel_log(sections: dict[str, Section]) -> Section | None:
    """The kernel-log section to read: journalctl -k unless it was refused, else dmesg."""
    klog = None
    for name in ("journalctl-k", "dmesg"):
        sec = sections.get(name)
        err = sections.get(f"{name}!stderr")
        if sec is None or not sec.ok:
            continue
        if err and _JOURNAL_DENIED.search(err.text):
            continue
        klog = sec
    return klog


def _read_xid(section: Section) -> XidOutput | None:
    if not section.text.strip():
        return XidOutput()  # the filtered log has no NVRM line: no event
    try:
        return parse_xid(section.text)
    except ParseError:
        return None


def _read_dcgm(section: Section | None) -> DcgmiDiagOutput | None:
    if section is None or section.missing or not section.text.strip():
        return None
    try:
        return parse_dcgmi_diag(section.text)
    except ParseError:
        return None


def parse(inp: ProbeParseInput) -> ProbeParseOutput:
    sections = inp.sections
    host = inp.host
    smi = sections.get("nvidia-smi-q")
    if smi is None or smi.missing:
        return ProbeParseOutput(
            status=ProbeStatus.SKIPPED,
            substatus=SubStatus.NOT_INSTALLED,
            message="nvidia-smi is not installed on this host (no NVIDIA driver)",
        )
    parsed = _read_smi(smi.text)
    gpus = parsed.gpus if parsed is not None else []
    stderr = sections.get("nvidia-smi-q!stderr")
    smi_error = (stderr.text.strip() if stderr else "") or (smi.text.strip() if not gpus else "")
    smi_failed = smi.rc not in (0, None)
    measurements: list[Measurement] = []
    findings: list[Finding] = []
    problems: list[str] = []

    def add(result: tuple[list[Measurement], list[Finding]]) -> None:
        measurements.extend(result[0])
        findings.extend(result[1])

    def find(code: str, severity: Severity, message: str) -> None:
        findings.append(Finding(code=code, severity=severity, host=host, message=message))

    if smi_failed and not gpus:
        first = smi_error.splitlines()[0] if smi_error else f"exit status {smi.rc}"
        find("nvidia-smi-failed", Severity.CRITICAL, f"nvidia-smi -q failed: {first}")
    expected = _param_int(inp.params, "expected_gpus") or _expected_from_gres(sections.get("scontrol-node"))
    add(nvidia_smi_measurements(parsed, host, expected=expected, tool_failed=smi_failed))

    # --- NVLink (nvidia-smi nvlink -s: one "Link N: <speed>|<inactive>" line per link) ---------------
    nvl = sections.get("nvidia-smi-nvlink")
    inactive: int | None = None
    if nvl is not None and nvl.ok:
        inactive = sum(1 for v in _LINK.findall(nvl.text) if "inactive" in v.lower())
    measurements.append(Measurement(metric="gpu.nvlink_inactive", value=inactive, unit=Unit.COUNT, host=host))
    if inactive:
        find("nvlink-inactive", Severity.HIGH, f"{inactive} NVLink link(s) inactive")

    # --- kernel log: Xid events in the window, aged against the host's clock -------------------------
    window_days = _param_int(inp.params, "xid_window_days") or 30
    clock = HostClock(
        now=_section_float(sections, "now"),
        uptime=_section_float(sections, "uptime"),
        tz=utc_offset(sections["tz"].text if "tz" in sections else None),
    )
    klog = _kernel_log(sections)
    xids = _read_xid(klog) if klog is not None else None
    if xids is None:
        find(
            "kernel-log-unreadable",
            Severity.INFO,
            "the kernel log could not be read (journalctl/dmesg missing or not permitted):"
            " Xid events not checked",
        )
    add(xid_measurements(xids, host, clock=clock, window_days=window_days))
    lost = smi_error.lower()
    if "fallen off the bus" in lost or "gpu is lost" in lost:
        find("fallen-off-bus", Severity.CRITICAL, f"nvidia-smi: {smi_error.splitlines()[0]}")

    # --- DCGM ----------------------------------------------------------------------------------------
    level = (sections["dcgmi-level"].text.strip() if "dcgmi-level" in sections else "") or str(
        _param_int(inp.params, "dcgm_level") or 1
    )
    add(dcgmi_measurements(_read_dcgm(sections.get("dcgmi-diag")), host, {"level": level}))

    # --- remediation texts, verdict ------------------------------------------------------------------
    findings = [f.model_copy(update={"remediation": inp.spec.remediation.get(f.code)}) for f in findings]
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
        return ProbeParseOutput(
            status=ProbeStatus.FAILED,
            message=f"{host}: " + "; ".join(problems),
            remediation=unhealthy[0].remediation if unhealthy else None,
            measurements=measurements,
            findings=findings,
            facts=facts,
        )
    msg = f"{count} GPU(s) healthy" if healthy else "GPU health only partly measured"
    return ProbeParseOutput(measurements=measurements, findings=findings, message=msg, facts=facts)


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

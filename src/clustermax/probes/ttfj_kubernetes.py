"""Parser of the ``ttfj_kubernetes`` probe: time from ``kubectl create`` to scheduled, running, succeeded.

Sections (see ``probes/ttfj_kubernetes/run.sh``): ``kubectl-version``, ``run-id``, per run ``create-<i>``
(``kubectl create -o name``), ``run-<i>`` (one line ``run=<i> name=... created=<t> scheduled=<t>
running=<t> finished=<t> phase=... node=... outcome=succeeded|failed|timeout|create-failed``, times in
seconds on the login node's clock, empty when not seen), ``pod-<i>`` (the final Pod object), and
``leftover`` (pods of this run still listed at the end; empty means clean).

Run 0 is the warm-up and is not counted in the medians. A state the poller never saw is not measured
(None); a pod that finished between two polls without being seen Running gets ``running`` None.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Mapping
from dataclasses import dataclass

from ..models import Finding, Measurement, ProbeStatus, Severity, SubStatus, Unit
from ..parsers.base import ParseError
from ..parsers.kubectl import parse_kubectl_version
from .base import FileKind, Measured, ProbeInput, ProbeOutput, Section
from .evidence import with_remediation
from .kubernetes import classify_failure

_RUN = re.compile(r"^run-(\d+)$")
_KV = re.compile(r"(\w+)=(\S*)")


def parse_run_line(text: str) -> dict[str, str]:
    """``key=value`` pairs of a ``run-<i>`` section (empty values kept as '')."""
    return {k: v for k, v in _KV.findall(text)}


def pod_reason(sec: Section | None) -> str:
    """Why a pod is stuck or failed, from its final object: unschedulable condition or container state."""
    if sec is None or not sec.ok:
        return ""
    try:
        pod = json.loads(sec.text)
    except ValueError:
        return ""
    status = pod.get("status", {}) if isinstance(pod, dict) else {}
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            return str(cond.get("message") or cond.get("reason") or "not scheduled")
    for cs in status.get("containerStatuses") or []:
        for state in ("waiting", "terminated"):
            info = (cs.get("state") or {}).get(state)
            if info and info.get("reason") not in (None, "Completed", "ContainerCreating"):
                return f"{info.get('reason')}: {info.get('message', '')}".strip(": ")
    return str(status.get("reason") or "")


def _t(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _dt(a: float | None, b: float | None) -> float | None:
    return round(b - a, 3) if a is not None and b is not None and b >= a else None


@dataclass(frozen=True)
class PodRun:
    """One test pod: its run number (0 is the warm-up), its timing line and why it did not succeed."""

    index: int
    fields: dict[str, str]
    reason: str = ""


@dataclass(frozen=True)
class PodEvidence:
    runs: list[PodRun]
    left: list[str] | None = None
    """Test pods still there after cleanup; None when the listing did not run or failed."""


def measure(
    ev: PodEvidence, host: str | None = None, remediation: Mapping[str, str] | None = None
) -> Measured:
    """``ttfj.pod_*`` of the test pods (per run, median, spread, failures, cleanup) and the
    ``ttfj.pod-failed`` / ``ttfj.leftover`` findings. Cluster scope: no host."""
    measurements: list[Measurement] = []
    findings: list[Finding] = []
    failed = 0
    totals: list[float] = []
    scheduled: list[float] = []
    for pod in ev.runs:
        run = pod.fields
        if run.get("outcome") == "create-failed":
            continue
        created = _t(run.get("created"))
        t_sched = _dt(created, _t(run.get("scheduled")))
        t_run = _dt(created, _t(run.get("running")))
        t_total = _dt(created, _t(run.get("finished"))) if run.get("outcome") == "succeeded" else None
        if run.get("outcome") != "succeeded":
            failed += 1
            phase = run.get("phase") or "unknown"
            why = "timed out" if run.get("outcome") == "timeout" else "failed"
            if pod.reason:
                why += f": {pod.reason}"
            findings.append(
                Finding(
                    code="ttfj.pod-failed",
                    severity=Severity.HIGH,
                    message=f"test pod {run.get('name', pod.index)} {why} (last phase {phase})",
                )
            )
        if pod.index == 0:
            continue  # warm-up
        labels = {"run": str(pod.index)}
        measurements += [
            Measurement(metric="ttfj.pod_scheduled", value=t_sched, unit=Unit.SECONDS, labels=labels),
            Measurement(metric="ttfj.pod_running", value=t_run, unit=Unit.SECONDS, labels=labels),
            Measurement(metric="ttfj.pod_total", value=t_total, unit=Unit.SECONDS, labels=labels),
        ]
        if t_total is not None:
            totals.append(t_total)
        if t_sched is not None:
            scheduled.append(t_sched)
    measurements += [
        Measurement(
            metric="ttfj.pod_total_median",
            value=round(statistics.median(totals), 3) if totals else None,
            unit=Unit.SECONDS,
        ),
        Measurement(
            metric="ttfj.pod_total_spread",
            value=round(max(totals) - min(totals), 3) if totals else None,
            unit=Unit.SECONDS,
        ),
        Measurement(
            metric="ttfj.pod_scheduled_median",
            value=round(statistics.median(scheduled), 3) if scheduled else None,
            unit=Unit.SECONDS,
        ),
        Measurement(metric="ttfj.pod_failed", value=failed if ev.runs else None, unit=Unit.COUNT),
    ]
    if ev.left:
        findings.append(
            Finding(
                code="ttfj.leftover",
                severity=Severity.MEDIUM,
                message=f"{len(ev.left)} test pod(s) left behind: {', '.join(ev.left[:10])}",
            )
        )
    clean = None if ev.left is None else not ev.left
    measurements.append(Measurement(metric="ttfj.pods_clean", value=clean, unit=Unit.BOOL))
    return Measured(measurements, with_remediation(findings, remediation or {}))


def _create_failure(inp: ProbeInput, first: PodRun) -> tuple[ProbeStatus, SubStatus | None, str]:
    stderr = inp.sections.get(f"create-{first.index}!stderr")
    text = stderr.text if stderr else ""
    status, sub, msg = classify_failure(text) if text else (ProbeStatus.ERROR, SubStatus.COMMAND_FAILED, "")
    if "forbidden" in text.lower():
        status, sub = ProbeStatus.ERROR, SubStatus.NO_PERMISSION
    return (
        status,
        sub,
        "could not create the test pod: " + (msg or text.strip()[:300] or "kubectl create failed"),
    )


def from_sections(inp: ProbeInput) -> ProbeOutput:
    out = ProbeOutput()
    ver = inp.sections.get("kubectl-version")
    if ver is None:
        out.status, out.substatus, out.message = (
            ProbeStatus.ERROR,
            SubStatus.PARSE_ERROR,
            "no kubectl-version section",
        )
        return out
    if ver.missing:
        out.status, out.substatus = ProbeStatus.SKIPPED, SubStatus.NOT_INSTALLED
        out.message = f"{ver.missing} is not installed on {inp.host}"
        return out
    try:
        server = parse_kubectl_version(ver.text).server_version
    except ParseError:
        server = None
    if not ver.ok or server is None:
        err = inp.sections.get("kubectl-version!stderr")
        out.status, out.substatus, out.message = classify_failure(err.text if err else ver.text)
        return out

    runs: list[PodRun] = []
    for name, sec in inp.sections.items():
        m = _RUN.match(name)
        if m:
            i = int(m.group(1))
            runs.append(PodRun(i, parse_run_line(sec.text), pod_reason(inp.sections.get(f"pod-{i}"))))
    runs.sort(key=lambda r: r.index)
    if runs and runs[0].fields.get("outcome") == "create-failed":
        out.status, out.substatus, out.message = _create_failure(inp, runs[0])
    left_sec = inp.sections.get("leftover")
    left = None
    if left_sec is not None and left_sec.ok:
        left = [line.strip() for line in left_sec.text.splitlines() if line.strip()]
    out.measurements, out.findings = measure(PodEvidence(runs, left), None, inp.spec.remediation)
    rid = inp.sections.get("run-id")
    if rid is not None:
        out.facts["ttfj_kubernetes_run"] = parse_run_line(rid.text)
    if out.status == ProbeStatus.OK:
        totals = [m.value for m in out.measurements if m.metric == "ttfj.pod_total" and m.value is not None]
        failed = sum(1 for f in out.findings if f.code == "ttfj.pod-failed")
        if not runs:
            out.status, out.substatus = ProbeStatus.ERROR, SubStatus.COMMAND_FAILED
            out.message = "no test pod was run"
        elif failed and not totals:
            out.status = ProbeStatus.FAILED
            out.message = f"{failed} test pod(s) did not succeed"
            out.remediation = inp.spec.remediation.get("pod-failed")
        else:
            median = (
                statistics.median(float(v) for v in totals if isinstance(v, (int, float))) if totals else None
            )
            out.message = (
                f"median {median:.1f} s from create to succeeded over {len(totals)} pod(s)"
                if median is not None
                else "no timed run completed"
            )
    return out


FILES: tuple[FileKind, ...] = ()
"""No parser kind: ``clustermax import`` files no output under this probe."""

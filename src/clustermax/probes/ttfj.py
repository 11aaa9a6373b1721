"""ttfj: time to first job on Slurm (pure), from the sections of ``probes/ttfj/run.sh``.

Which clock gives which number (see docs/probes.md):

* ``ttfj.batch_total``: login node clock, from just before ``sbatch`` to the first poll that saw the job
  finished (``t_done - t_submit``); resolution is the poll interval (0.2 s by default).
* ``ttfj.batch_queue_wait``: the job's own start stamp (compute node clock, ns) minus ``t_submit``
  (label ``source=job``), used when it is consistent with the rest (0 <= wait <= total, and within
  2 s of slurmctld's figure); otherwise slurmctld's ``StartTime - SubmitTime`` (``source=slurmctld``,
  1 s resolution: it can exceed the true wait by up to 1 s).
* ``ttfj.batch_run``: the job's end stamp minus its start stamp (one clock, ``source=job``), else
  slurmctld's ``EndTime - StartTime``.
* ``ttfj.interactive_total``: login clock around ``srun`` (call to return). ``ttfj.interactive_queue_wait``
  and ``ttfj.interactive_run`` come from the job's stamps like the batch ones.

Run 0 is the warm-up: it is reported only as ``ttfj.*_warmup_total`` and counted in ``ttfj.failed_jobs``;
per-run metrics, medians and spreads use runs 1..R.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ..models import Finding, JSONValue, Measurement, ProbeStatus, ScalarValue, Severity, SubStatus, Unit
from ..parsers.slurm.scontrol_job import job_fields, slurm_time
from .base import FileKind, Measured, ProbeInput, ProbeOutput, Section
from .evidence import with_remediation

_SECTION = re.compile(r"^(?P<kind>batch|interactive)-(?P<run>\d+)$")
_STAMP = re.compile(r"^cmx-(?P<what>start|end)\s+(?P<t>\d+(?:\.\d+)?)\s*$", re.MULTILINE)
_NODE = re.compile(r"^cmx-node\s+(?P<host>\S+)\s+jobid=(?P<job>\S*)\s+cuda=(?P<cuda>.*)$", re.MULTILINE)
_SMI_RC = re.compile(r"^cmx-smi-rc\s+(?P<rc>-?\d+)\s*$", re.MULTILINE)
_GPU_LINE = re.compile(r"^GPU \d+: ", re.MULTILINE)
CONSISTENCY_S = 2.0
"""How far the job-clock queue wait may be from slurmctld's (1 s resolution + clock skew) to be trusted."""


def key_values(text: str) -> dict[str, str]:
    """``key=value`` lines (the probe's own timing sections)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and re.fullmatch(r"[a-z_]+", key.strip()):
            out[key.strip()] = value.strip()
    return out


def _float(value: str | None) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        return float(value)
    except ValueError:
        return None


@dataclass
class JobOutput:
    """What the job printed about itself."""

    start: float | None = None
    end: float | None = None
    host: str | None = None
    job_id: str | None = None
    cuda: str | None = None
    smi_rc: int | None = None
    gpus_listed: int = 0


def job_output(text: str) -> JobOutput:
    out = JobOutput()
    for m in _STAMP.finditer(text):
        setattr(out, m.group("what"), float(m.group("t")))
    m_node = _NODE.search(text)
    if m_node:
        out.host, out.job_id, out.cuda = (
            m_node.group("host"),
            m_node.group("job") or None,
            m_node.group("cuda"),
        )
    m_rc = _SMI_RC.search(text)
    if m_rc:
        out.smi_rc = int(m_rc.group("rc"))
    out.gpus_listed = len(_GPU_LINE.findall(text))
    return out


@dataclass
class Run:
    kind: str
    index: int
    ok: bool
    state: str
    total: float | None = None
    queue_wait: float | None = None
    queue_source: str | None = None
    run: float | None = None
    run_source: str | None = None
    job_id: str | None = None
    node: str | None = None
    gpu_visible: bool | None = None
    error: str = ""
    extra: dict[str, JSONValue] = field(default_factory=dict)


def _ordered(value: float | None, total: float | None) -> bool:
    return value is not None and value >= 0 and (total is None or value <= total)


def _diff(a: datetime | None, b: datetime | None) -> float | None:
    return None if a is None or b is None else (a - b).total_seconds()


def batch_run(index: int, timing: Section, job: Section | None, output: Section | None) -> Run:
    kv = key_values(timing.text)
    state = kv.get("state", "") or "UNKNOWN"
    t_submit, t_done = _float(kv.get("t_submit")), _float(kv.get("t_done"))
    total = t_done - t_submit if t_submit is not None and t_done is not None else None
    fields = job_fields(job.text) if job is not None else {}
    out = job_output(output.text) if output is not None else JobOutput()
    ctld_wait = _diff(slurm_time(fields.get("StartTime")), slurm_time(fields.get("SubmitTime")))
    ctld_run = _diff(slurm_time(fields.get("EndTime")), slurm_time(fields.get("StartTime")))
    ok = state == "COMPLETED"
    r = Run("batch", index, ok, state, total=total, job_id=kv.get("jobid") or None, node=out.host)
    if ok:
        wait = out.start - t_submit if out.start is not None and t_submit is not None else None
        consistent = ctld_wait is None or (wait is not None and abs(wait - ctld_wait) <= CONSISTENCY_S)
        if _ordered(wait, total) and consistent:
            r.queue_wait, r.queue_source = wait, "job"
        elif ctld_wait is not None and ctld_wait >= 0:
            r.queue_wait, r.queue_source = ctld_wait, "slurmctld"
        if out.start is not None and out.end is not None and _ordered(out.end - out.start, total):
            r.run, r.run_source = out.end - out.start, "job"
        elif ctld_run is not None and ctld_run >= 0:
            r.run, r.run_source = ctld_run, "slurmctld"
        r.gpu_visible = out.cuda is not None and out.cuda.strip() not in ("", "unset", "NoDevFiles")
    else:
        total = None
        r.total = None
        if state == "SUBMIT_FAILED":
            r.error = kv.get("sbatch_err") or f"sbatch exited with {kv.get('sbatch_rc', '?')}"
        elif state == "PROBE_TIMEOUT":
            r.error = "did not finish within job_timeout_s; cancelled"
        else:
            reason = fields.get("Reason")
            r.error = f"ended {state}" + (f" (exit {fields['ExitCode']})" if fields.get("ExitCode") else "")
            if reason and reason != "None":
                r.error += f", reason {reason}"
    r.extra = {"polls": kv.get("polls"), "slurmctld_queue_wait": ctld_wait, "slurmctld_run": ctld_run}
    return r


def interactive_run(index: int, timing: Section, output: Section | None) -> Run:
    kv = key_values(timing.text)
    t0, t1 = _float(kv.get("t_start_call")), _float(kv.get("t_return"))
    rc = kv.get("srun_rc", "")
    ok = rc == "0"
    total = t1 - t0 if t0 is not None and t1 is not None else None
    state = (
        "COMPLETED" if ok else ("PROBE_TIMEOUT" if rc in ("124", "137") else f"FAILED (srun rc={rc or '?'})")
    )
    out = job_output(output.text) if output is not None else JobOutput()
    r = Run("interactive", index, ok, state, job_id=out.job_id, node=out.host)
    if ok:
        r.total = total
        wait = out.start - t0 if out.start is not None and t0 is not None else None
        if _ordered(wait, total):
            r.queue_wait, r.queue_source = wait, "job"
        if out.start is not None and out.end is not None and _ordered(out.end - out.start, total):
            r.run, r.run_source = out.end - out.start, "job"
        r.gpu_visible = out.cuda is not None and out.cuda.strip() not in ("", "unset", "NoDevFiles")
    elif state == "PROBE_TIMEOUT":
        r.error = "srun did not return within job_timeout_s; killed"
    else:
        r.error = kv.get("srun_err") or state
    return r


def spread(values: list[float]) -> float | None:
    """(max - min) / median; None with fewer than two values or a zero median."""
    if len(values) < 2:
        return None
    med = statistics.median(values)
    return round((max(values) - min(values)) / med, 6) if med > 0 else None


def queue_clean(sections: dict[str, Section]) -> tuple[bool | None, str]:
    """Nothing the probe submitted is queued: the exit hook's check, else the end-of-run squeue."""
    cleanup = sections.get("cleanup")
    if cleanup is not None:
        kv = key_values(cleanup.text)
        left = kv.get("left", "").strip(", ")
        if kv.get("squeue_rc", "") != "0":
            return None, f"squeue failed after cleanup (rc={kv.get('squeue_rc', '?')})"
        return (not left), left.replace(",", "; ")
    after = sections.get("queue-after")
    if after is not None and after.rc == 0:
        return (not after.text.strip()), after.text.strip().replace("\n", "; ")
    return None, "the queue was not checked (output cut before the end)"


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


@dataclass(frozen=True)
class TtfjEvidence:
    """One run of the probe: its timed jobs (warm-up included) and what the run says about them."""

    runs: list[Run]
    gpus: str = ""
    """GPUs each job asked for (``gpus`` of the context section); "" or "0": none, so no GPU check."""
    job_timeout_s: str = "?"
    queue_clean: bool | None = None
    left_in_queue: str = ""
    error: str | None = None
    """The probe's own error section, when it printed one."""


def measure(ev: TtfjEvidence, host: str, remediation: Mapping[str, str] | None = None) -> Measured:
    """``ttfj.*`` of the jobs: per run, per kind (median, spread, warm-up), failures, GPU visibility and
    what was left in the queue; findings ``ttfj.slow-start``, ``job-failed``, ``leftover``,
    ``probe-error``."""
    runs = ev.runs
    measurements: list[Measurement] = []
    findings: list[Finding] = []

    def add(metric: str, value: ScalarValue, unit: Unit, **labels: str) -> None:
        measurements.append(Measurement(metric=metric, value=value, unit=unit, host=host, labels=labels))

    for kind in ("batch", "interactive"):
        timed = [r for r in runs if r.kind == kind and r.index > 0]
        warm = next((r for r in runs if r.kind == kind and r.index == 0), None)
        for r in timed:
            label = str(r.index)
            add(f"ttfj.{kind}_total", _r(r.total), Unit.SECONDS, run=label, source="login")
            add(
                f"ttfj.{kind}_queue_wait",
                _r(r.queue_wait),
                Unit.SECONDS,
                run=label,
                source=r.queue_source or "",
            )
            add(f"ttfj.{kind}_run", _r(r.run), Unit.SECONDS, run=label, source=r.run_source or "")
        totals = [r.total for r in timed if r.total is not None]
        waits = [r.queue_wait for r in timed if r.queue_wait is not None]
        median = statistics.median(totals) if totals else None
        if warm is not None or timed:
            add(f"ttfj.{kind}_warmup_total", _r(warm.total) if warm else None, Unit.SECONDS)
            add(f"ttfj.{kind}_total_median", _r(median), Unit.SECONDS)
            add(
                f"ttfj.{kind}_queue_wait_median",
                _r(statistics.median(waits)) if waits else None,
                Unit.SECONDS,
            )
            add("ttfj.spread", spread(totals), Unit.RATIO, kind=kind)

    failed = [r for r in runs if not r.ok]
    add("ttfj.failed_jobs", len(failed) if runs else None, Unit.COUNT)
    visible = [r.gpu_visible for r in runs if r.ok and r.gpu_visible is not None]
    gpu_visible = (all(visible) if visible else None) if ev.gpus not in ("", "0") else None
    add("ttfj.gpu_visible", gpu_visible, Unit.BOOL)
    add("ttfj.queue_clean", ev.queue_clean, Unit.BOOL)

    def find(code: str, severity: Severity, message: str) -> None:
        findings.append(Finding(code=f"ttfj.{code}", severity=severity, host=host, message=message))

    timeouts = [r for r in failed if r.state == "PROBE_TIMEOUT"]
    broken = [r for r in failed if r.state != "PROBE_TIMEOUT"]
    if timeouts:
        which = ", ".join(f"{r.kind} run {r.index}" for r in timeouts)
        find(
            "slow-start",
            Severity.HIGH,
            f"{len(timeouts)} job(s) did not finish within {ev.job_timeout_s} s: {which}",
        )
    if broken:
        first = broken[0]
        find(
            "job-failed",
            Severity.HIGH,
            f"{len(broken)} job(s) failed; {first.kind} run {first.index}: {first.error}",
        )
    if ev.queue_clean is False:
        find("leftover", Severity.CRITICAL, f"still in the queue after cleanup: {ev.left_in_queue}")
    if ev.error is not None:
        find("probe-error", Severity.LOW, ev.error)
    return Measured(measurements, with_remediation(findings, remediation or {}))


def _runs(s: dict[str, Section]) -> list[Run]:
    runs: list[Run] = []
    for name, sec in s.items():
        m = _SECTION.match(name)
        if not m or sec.rc is None:
            continue
        index = int(m.group("run"))
        if m.group("kind") == "batch":
            runs.append(batch_run(index, sec, s.get(f"{name}-job"), s.get(f"{name}-out")))
        else:
            runs.append(interactive_run(index, sec, s.get(f"{name}-out")))
    runs.sort(key=lambda r: (r.kind != "batch", r.index))
    return runs


def _facts(
    runs: list[Run], context: dict[str, str], s: dict[str, Section], left: str
) -> dict[str, JSONValue]:
    facts: dict[str, JSONValue] = {
        "tag": context.get("tag"),
        "runs": [
            {
                "kind": r.kind,
                "run": r.index,
                "state": r.state,
                "job_id": r.job_id,
                "node": r.node,
                "total_s": _r(r.total),
                "queue_wait_s": _r(r.queue_wait),
                "queue_wait_source": r.queue_source,
                "run_s": _r(r.run),
                "run_source": r.run_source,
                "gpu_visible": r.gpu_visible,
                "error": r.error or None,
                **r.extra,
            }
            for r in runs
        ],
        "params": {
            k: context[k]
            for k in ("repetitions", "gpus", "job_timeout_s", "poll_s", "partition", "kinds")
            if k in context
        },
    }
    if left:
        facts["left_in_queue"] = left
    if "cleanup" in s:
        facts["submitted_batch_jobs"] = key_values(s["cleanup"].text).get("jobs", "").split()
    return facts


def from_sections(inp: ProbeInput) -> ProbeOutput:
    s = inp.sections
    out = ProbeOutput()
    rem = inp.spec.remediation
    if "unavailable" in s:
        out.status, out.substatus = ProbeStatus.SKIPPED, SubStatus.NOT_INSTALLED
        out.message = s["unavailable"].text.strip() or "Slurm submission commands not found"
        return out
    if "error" in s and "context" not in s:
        out.status, out.substatus = ProbeStatus.ERROR, SubStatus.UNSUPPORTED
        out.message = s["error"].text.strip()
        return out
    context = key_values(s["context"].text) if "context" in s else {}
    runs = _runs(s)
    clean, left = queue_clean(s)
    ev = TtfjEvidence(
        runs=runs,
        gpus=context.get("gpus", ""),
        job_timeout_s=context.get("job_timeout_s", "?"),
        queue_clean=clean,
        left_in_queue=left,
        error=s["error"].text.strip() if "error" in s else None,
    )
    out.measurements, out.findings = measure(ev, inp.host, rem)
    out.facts = _facts(runs, context, s, left)

    if not runs:
        out.status, out.substatus = ProbeStatus.ERROR, SubStatus.COMMAND_FAILED
        submitted = key_values(s["cleanup"].text).get("jobs", "").split() if "cleanup" in s else []
        if submitted:
            out.message = f"the probe ended before job {submitted[0]} finished; cancelled"
            out.message += ", nothing left in the queue" if clean else ""
        else:
            out.message = "no job was submitted" + (f": {s['error'].text.strip()}" if "error" in s else "")
        return out
    failed = [r for r in runs if not r.ok]
    timeouts = [r for r in failed if r.state == "PROBE_TIMEOUT"]
    broken = [r for r in failed if r.state != "PROBE_TIMEOUT"]
    parts = []
    for kind in ("batch", "interactive"):
        totals = [r.total for r in runs if r.kind == kind and r.index > 0 and r.total is not None]
        n = len([r for r in runs if r.kind == kind and r.index > 0 and r.ok])
        if totals:
            parts.append(f"{kind} median {statistics.median(totals):.2f} s over {n} run(s)")
    failed_kinds = []
    for kind in sorted({r.kind for r in runs}):
        of_kind = [r for r in runs if r.kind == kind]
        timed = [r for r in of_kind if r.index > 0] or of_kind
        if not any(r.ok for r in timed):
            failed_kinds.append(kind)
    if failed_kinds:
        out.status = ProbeStatus.FAILED
        out.substatus = SubStatus.TIMEOUT if timeouts and not broken else None
        first = next(r for r in failed if r.kind == failed_kinds[0])
        out.message = f"no {first.kind} job completed ({first.error})"
        if parts:
            out.message += "; " + "; ".join(parts)
        out.remediation = rem.get("slow-start" if timeouts and not broken else "job-failed")
    else:
        out.message = "; ".join(parts) or "jobs ran"
        if failed:
            out.message += f"; {len(failed)} failed"
    if clean is False:
        out.message += f"; LEFT IN QUEUE: {left}"
    return out


FILES: tuple[FileKind, ...] = ()
"""No parser kind: ``clustermax import`` files no output under this probe."""

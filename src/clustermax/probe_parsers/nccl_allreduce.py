"""nccl_allreduce probe: nccl-tests (or the torch fallback) runs launched through the scheduler.

Sections are described in ``probes/nccl_allreduce/run.sh``. nccl-tests logs are read with
:func:`clustermax.parsers.nccl_tests.parse_nccl_tests`; the torch fallback prints ``#cmx-torch {json}``
lines (format documented in ``probes/nccl_allreduce/torch_allreduce.py``).

Every run is kept (label ``run``); per configuration (node count) the median and the spread of the
peak busbw over runs are derived. A run cut by ``run_timeout_s`` (exit 124/137) is a 'hung' finding;
the other runs still count.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ..measure.nccl import (
    SizeRow,
    env_measurements,
    peak_aggregates,
    rows_of,
    run_labels,
    run_measurements,
    version_measurement,
    wrong_finding,
)
from ..models import Finding, JSONValue, Measurement, ProbeStatus, ScalarValue, Severity, SubStatus
from .base import ProbeParseInput, ProbeParseOutput, Section

_RUN = re.compile(r"^run-n(?P<n>\d+)-r(?P<r>\d+)$")
Row = SizeRow


@dataclass
class RunData:
    nodes: int
    rep: int
    impl: str
    ranks_planned: int | None
    ranks_seen: int | None = None
    rows: list[Row] = field(default_factory=list)
    wrong_total: int | None = None
    nccl_version: str | None = None
    hung: bool = False
    failed: str | None = None
    runs_in_log: int = 1


def _kv(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and key.strip() not in out:
            out[key.strip()] = value.strip()
    return out


def _torch_rows(text: str) -> tuple[dict[str, object], list[Row]]:
    header: dict[str, object] = {}
    rows: list[Row] = []
    for line in text.splitlines():
        idx = line.find("#cmx-torch ")
        if idx < 0:
            continue
        try:
            rec = json.loads(line[idx + len("#cmx-torch ") :])
        except json.JSONDecodeError:
            continue
        if not isinstance(rec, dict):
            continue
        if rec.get("kind") == "header":
            header = rec
        elif rec.get("kind") == "row":
            try:
                rows.append(
                    Row(
                        int(rec["size_bytes"]),
                        _f(rec.get("algbw_gbps")),
                        _f(rec.get("busbw_gbps")),
                        int(rec["wrong"]) if rec.get("wrong") is not None else None,
                    )
                )
            except (KeyError, TypeError, ValueError):
                continue
    return header, rows


def _f(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _read_run(
    meta: dict[str, str], sec: Section, nodes: int, rep: int, stderr: Section | None = None
) -> RunData:
    impl = meta.get("impl", "nccl-tests")
    planned = int(meta["ranks"]) if meta.get("ranks", "").isdigit() else None
    run = RunData(nodes=nodes, rep=rep, impl=impl, ranks_planned=planned)
    if sec.rc in (124, 137):
        run.hung = True
    if impl == "torch":
        header, rows = _torch_rows(sec.text)
        run.rows = rows
        ws = header.get("world_size")
        run.ranks_seen = ws if isinstance(ws, int) else None
        nv = header.get("nccl")
        run.nccl_version = nv if isinstance(nv, str) else None
        if run.ranks_seen == 1:
            # one rank: the in-place all-reduce moves no data; a time was measured but no bandwidth
            run.rows = [Row(r.size_bytes, None, r.busbw, r.wrong) for r in rows]
        wrongs = [r.wrong for r in rows if r.wrong is not None]
        run.wrong_total = sum(wrongs) if wrongs else None
    else:
        from ..parsers.base import ParseError
        from ..parsers.nccl_tests import parse_nccl_tests

        try:
            parsed = parse_nccl_tests(sec.text)
        except ParseError:
            parsed = None
        if parsed is not None:
            runs = parsed.runs or []
            run.runs_in_log = max(1, len(runs))
            run.ranks_seen = parsed.ranks
            run.nccl_version = parsed.nccl_version
            run.wrong_total = parsed.wrong_total
            run.rows = rows_of(parsed)
    if not run.rows and not run.hung:
        tail = (stderr.text.strip() if stderr else "") or sec.text.strip()
        err = tail.splitlines()[-1] if tail else f"exit status {sec.rc}"
        run.failed = err[:300]
    return run


def _no_summary(usable: list[RunData]) -> str:
    """Why there is no bandwidth to summarise."""
    if usable and all((r.ranks_seen or r.ranks_planned or 0) == 1 for r in usable):
        return f"{len(usable)} one-rank run(s): one GPU moves no data, so no bus bandwidth (see nccl.algbw)"
    return "no run produced results"


def parse(inp: ProbeParseInput) -> ProbeParseOutput:
    s = inp.sections
    units = {m.name: m.unit for m in inp.spec.metrics}
    measurements: list[Measurement] = []
    findings: list[Finding] = []
    rem = inp.spec.remediation

    def metric(name: str, value: ScalarValue, **labels: str) -> None:
        measurements.append(Measurement(metric=name, value=value, unit=units[name], host=None, labels=labels))

    def find(code: str, severity: Severity, message: str, host: str | None = None) -> None:
        findings.append(
            Finding(code=code, severity=severity, host=host, message=message, remediation=rem.get(code))
        )

    if "error" in s:
        return ProbeParseOutput(
            status=ProbeStatus.ERROR, substatus=SubStatus.UNSUPPORTED, message=s["error"].text.strip()
        )
    plan = _kv(s["plan"].text) if "plan" in s else {}
    collective = plan.get("collective") or str(inp.params.get("collective") or "all_reduce")

    # NCCL environment: launching host, nccl.conf files, and what a compute node reports
    env: dict[str, str] = {}
    for line in (s["nccl-env"].text if "nccl-env" in s else "").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.startswith("NCCL_"):
            env.setdefault(key, value)
    for name in ("nccl-conf", "discover"):
        for line in (s[name].text if name in s else "").splitlines():
            body = line.removeprefix("env:").removeprefix("conf:").strip()
            key, sep, value = body.partition("=")
            if sep and key.startswith("NCCL_") and not body.startswith("#"):
                env.setdefault(key.strip(), value.strip())
    if "nccl-env" in s or "nccl-conf" in s:
        env_out, env_findings = env_measurements(env)
        measurements.extend(env_out)
        findings.extend(f.model_copy(update={"remediation": rem.get(f.code)}) for f in env_findings)

    skipped = plan.get("skipped")
    if skipped:
        # skip_code names the missing component's remediation (no-mpi-operator on Kubernetes)
        skip_code = plan.get("skip_code", "")
        not_installed = "not found" in skipped or bool(skip_code)
        return ProbeParseOutput(
            status=ProbeStatus.SKIPPED,
            substatus=SubStatus.NOT_INSTALLED if not_installed else SubStatus.NOT_APPLICABLE,
            message=skipped,
            remediation=rem.get(skip_code or "nccl-tests-missing") if not_installed else None,
            measurements=measurements,
            findings=findings,
            facts={"plan": dict(plan)},
        )

    facts: dict[str, JSONValue] = {"plan": dict(plan)}
    if "leftover" in s:
        # Kubernetes (launcher=mpijob): what the probe created and could not delete; unknown (null) when
        # the listing itself failed or never ran
        left = s["leftover"]
        clean = None if left.rc != 0 else not left.text.strip()
        facts["k8s_clean"] = clean
        if clean is False:
            find(
                "leftover",
                Severity.MEDIUM,
                "objects created by the probe are still there: " + " ".join(left.text.split()),
            )

    runs: list[RunData] = []
    for name, sec in s.items():
        m = _RUN.match(name)
        if not m:
            continue
        meta = _kv(s[f"{name}-meta"].text) if f"{name}-meta" in s else {}
        runs.append(_read_run(meta, sec, int(m.group("n")), int(m.group("r")), s.get(f"{name}!stderr")))
    runs.sort(key=lambda r: (r.nodes, r.rep))
    if not runs:
        skips = "; ".join(f"{n}: {sec.text.strip()}" for n, sec in s.items() if n.startswith("skip-"))
        return ProbeParseOutput(
            status=ProbeStatus.ERROR,
            substatus=SubStatus.COMMAND_FAILED,
            message="no NCCL run was made" + (f" ({skips})" if skips else ""),
            measurements=measurements,
            findings=findings,
        )

    version = version_measurement(r.nccl_version for r in runs)
    metric("nccl.version", version.value if version is not None else None)
    peaks: list[tuple[dict[str, str], float]] = []
    hung = 0
    for run in runs:
        base = run_labels(collective, run.impl, run.nodes, run.ranks_seen or run.ranks_planned, run.rep)
        if run.hung:
            hung += 1
            find(
                "hung",
                Severity.HIGH,
                f"{run.impl} on {run.nodes} node(s), run {run.rep}, did not finish within its timeout"
                + (f" ({len(run.rows)} sizes done)" if run.rows else ""),
            )
        if run.failed:
            find(
                "run-failed",
                Severity.HIGH,
                f"{run.impl} on {run.nodes} node(s), run {run.rep}, failed: {run.failed}",
            )
        if run.runs_in_log > 1 and (run.ranks_seen or 0) <= 1 < (run.ranks_planned or 0):
            find(
                "not-mpi",
                Severity.MEDIUM,
                f"{run.runs_in_log} independent single-rank runs instead of one"
                f" {run.ranks_planned}-rank run: "
                "nccl-tests was not built with MPI (make MPI=1) or srun lacks the cluster's PMI",
            )
        elif run.ranks_seen and run.ranks_planned and run.ranks_seen != run.ranks_planned:
            find(
                "rank-mismatch",
                Severity.LOW,
                f"run on {run.nodes} node(s) reports {run.ranks_seen} ranks,"
                f" {run.ranks_planned} were launched",
            )
        run_out, peak = run_measurements(run.rows, base, None)
        measurements.extend(run_out)
        if peak is not None and not run.hung:
            peaks.append((base, peak))
        metric("nccl.wrong", run.wrong_total, **base)
        if run.wrong_total:
            where = f"on {run.nodes} node(s), run {run.rep}"
            wrong = wrong_finding(run.impl, where, run.wrong_total, None, None)
            findings.append(wrong.model_copy(update={"remediation": rem.get(wrong.code)}))
    aggregates = peak_aggregates(peaks)
    measurements.extend(aggregates)
    metric("nccl.runs_hung", hung, collective=collective)
    if any(r.impl == "torch" for r in runs):
        find(
            "torch-fallback",
            Severity.INFO,
            "nccl-tests is not installed: bandwidth measured with the PyTorch torch.distributed fallback "
            "(impl=torch)",
        )
    if any((r.ranks_seen or r.ranks_planned or 0) == 1 for r in runs):
        find(
            "single-rank",
            Severity.INFO,
            "a run had one rank: busbw = algbw x 2(n-1)/n is 0 by definition (as nccl-tests prints), so"
            " its bus bandwidth is not measured (null); see nccl.algbw",
        )

    usable = [r for r in runs if r.rows]
    bad = hung or any(r.wrong_total for r in runs)
    if not usable:
        status, sub = (ProbeStatus.FAILED, None) if hung else (ProbeStatus.ERROR, SubStatus.COMMAND_FAILED)
    elif bad:
        status, sub = ProbeStatus.FAILED, None
    else:
        status, sub = ProbeStatus.OK, None
    summary = ", ".join(
        f"{m.labels['nodes']} node(s): peak {m.value:.1f} GB/s median of {m.labels['runs']}"
        for m in aggregates
        if m.metric == "nccl.busbw_peak_median" and isinstance(m.value, float)
    )
    return ProbeParseOutput(
        status=status,
        substatus=sub,
        message=summary or _no_summary(usable),
        remediation=next(
            (f.remediation for f in findings if f.severity in (Severity.CRITICAL, Severity.HIGH)), None
        ),
        measurements=measurements,
        findings=findings,
        facts=facts,
    )

"""Build the report model from (bundle, score) pairs. Pure: no clock, no file, no network.

Scoring is the only judge: every verdict here (tier, bounds, reasons, advice, criterion verdicts, the cell
of the node-health matrix, the hardware reference drawn on a chart) is read from the scored model, never
worked out again. What this module adds is presentation: grouping, ordering, values as text.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import __version__
from ..hostnames import hostlist
from ..models.bundle import Bundle, HostRecord
from ..models.common import ScalarValue
from ..models.results import NCCL_BAND_MAX_BYTES as BAND_MAX_BYTES
from ..models.results import NCCL_BAND_MIN_BYTES as BAND_MIN_BYTES
from ..models.results import Measurement, ProbeResult, ProbeStatus, Severity, SubStatus
from ..models.score import TIER_ORDER, CriterionResult, ScoreResult, Verdict
from .model import (
    BusbwCurve,
    ClusterReport,
    CoverageItem,
    CoverageReason,
    CurvePoint,
    FindingItem,
    HealthCell,
    HealthCheck,
    HealthMatrix,
    HealthRow,
    HealthStatus,
    KeyMetric,
    ProbeParams,
    ReferenceLine,
    Report,
    RunMeta,
    TtfjSample,
)
from .text import clean_tree, fmt_value, needs_clean_json

SEVERITY_ORDER: tuple[Severity, ...] = (
    Severity.CRITICAL,
    Severity.HIGH,
    Severity.MEDIUM,
    Severity.LOW,
    Severity.INFO,
)

BAND_LOW = BAND_MIN_BYTES
BAND_HIGH = BAND_MAX_BYTES
"""The message-size band of nccl.busbw_band_mean (16 MiB - 512 MiB, ClusterMAX 1.0), as the measurement
stage defines it: the charts shade the band the figure was computed over."""


# ----------------------------------------------------------------------------------------------- public


def build_report(
    items: Sequence[tuple[Bundle, ScoreResult]],
    *,
    compare: bool = False,
    redact: bool = False,
    redact_secret: str | None = None,
) -> Report:
    """The report model of one cluster, or of several in leaderboard order when ``compare``.

    Every string is cleaned of control sequences; with ``redact``, host names, IP addresses and user
    names are replaced by stable pseudonyms (see :mod:`clustermax.redact`).
    """
    if not items:
        raise ValueError("build_report needs at least one (bundle, score) pair")
    clusters = [build_cluster_report(bundle, score) for bundle, score in items]
    if compare:
        clusters.sort(key=leaderboard_key)
    report = Report(
        mode="compare" if compare or len(clusters) > 1 else "single",
        generated_by=f"clustermax {__version__}",
        redacted=redact,
        clusters=clusters,
    )
    dumped = report.model_dump_json()
    if not redact and not needs_clean_json(dumped):
        return report
    tree = clean_tree(json.loads(dumped))
    if redact:
        from ..redact import Redactor

        redactor = Redactor.for_bundles([bundle for bundle, _ in items], secret=redact_secret)
        tree = redactor.tree(tree)
        tree["redacted"] = True
    return Report.model_validate(tree)


LEADERBOARD_ORDER = (
    "Rated clusters first, by tier, then score; then clusters not rated, by ceiling (the best tier their "
    "evidence allows), then score."
)


def leaderboard_key(cluster: ClusterReport) -> tuple[int, int, float, str, str]:
    """Best first: rated clusters by tier, then score; then not-rated ones by ceiling, then score; then
    names (a stable order for equal scores). See LEADERBOARD_ORDER."""
    if cluster.rated and cluster.tier is not None:
        return (0, -TIER_ORDER.index(cluster.tier), -cluster.score, cluster.provider or "", cluster.cluster)
    return (
        1,
        -TIER_ORDER.index(cluster.tier_ceiling),
        -cluster.score,
        cluster.provider or "",
        cluster.cluster,
    )


_BUSBW_METRICS = ("nccl.busbw_peak_median", "nccl.busbw_peak", "nccl.busbw_band_mean", "nccl.busbw")


def reference_lines(score: ScoreResult) -> list[ReferenceLine]:
    """The hardware reference of each all-reduce scope, as the rubric resolved it for this profile.

    A line per scope (intra, inter): the reference figure of the first criterion (rubric order) that judges
    an all-reduce busbw metric of that scope, at 100% of the reference (the thresholds are fractions of it).
    """
    lines: dict[str, ReferenceLine] = {}
    for criterion in score.criteria:
        ref = criterion.reference
        if ref is None or not any(m in _BUSBW_METRICS for m in criterion.metrics):
            continue
        scope = criterion.labels.get("scope")
        collective = criterion.labels.get("collective", "all_reduce")
        if not isinstance(scope, str) or scope in lines or collective != "all_reduce":
            continue
        scaled = f" x {ref.scale}" if ref.scale else ""
        lines[scope] = ReferenceLine(
            scope=scope,
            busbw_gbps=ref.value,
            label=f"{ref.ref_id} {ref.figure}{scaled}: {ref.conditions}",
            source=ref.source,
        )
    return [lines[s] for s in ("intra", "inter") if s in lines] + [
        line for s, line in lines.items() if s not in ("intra", "inter")
    ]


def build_cluster_report(bundle: Bundle, score: ScoreResult) -> ClusterReport:
    refs = reference_lines(score)
    curves = nccl_curves(bundle.measurements())
    return ClusterReport(
        cluster=score.cluster,
        provider=score.provider,
        platform=bundle.target.platform,
        tier=score.tier,
        rated=score.rated,
        not_rated_reason=score.not_rated_reason,
        tier_floor=score.tier_floor,
        tier_ceiling=score.tier_ceiling,
        summary=score.summary,
        score=score.score,
        score_floor=score.score_floor,
        score_ceiling=score.score_ceiling,
        coverage=score.coverage,
        held_down_by=list(score.held_down_by),
        advice=score.advice,
        profile=score.profile,
        categories=list(score.categories),
        criteria=list(score.criteria),
        findings=findings(bundle, score),
        health=health_matrix(bundle, score),
        curves=curves,
        references=refs,
        ttfj=ttfj_samples(bundle.measurements()),
        coverage_items=coverage_items(bundle, score),
        key_metrics=key_metrics(bundle, score, refs),
        meta=run_meta(bundle, score),
    )


# ------------------------------------------------------------------------------------------- findings

_CRITERION_SEVERITY = {Verdict.FAIL: Severity.HIGH, Verdict.WARN: Severity.MEDIUM}


def findings(bundle: Bundle, score: ScoreResult) -> list[FindingItem]:
    """Probe findings (grouped over hosts) and failing/warning criteria, most severe first."""
    grouped: dict[tuple[str, str, Severity, str | None], list[tuple[str | None, str]]] = defaultdict(list)
    for result in bundle.results:
        for finding in result.findings:
            key = (result.probe_id, finding.code, finding.severity, finding.remediation)
            grouped[key].append(
                (finding.host or (None if result.host == "cluster" else result.host), finding.message)
            )
        if result.status is ProbeStatus.FAILED and not result.findings:
            key = (result.probe_id, f"{result.probe_id}.failed", Severity.HIGH, result.remediation)
            host = None if result.host == "cluster" else result.host
            grouped[key].append((host, result.message or f"{result.probe_id} failed"))
    items: list[FindingItem] = []
    for (probe_id, code, severity, remediation), occurrences in grouped.items():
        hosts = sorted({h for h, _ in occurrences if h}, key=natural_key)
        messages = list(dict.fromkeys(m for _, m in occurrences))
        message = messages[0]
        if len(messages) > 1:
            message += f" (and {len(messages) - 1} similar on other hosts)"
        items.append(
            FindingItem(
                severity=severity,
                code=code,
                message=message,
                remediation=remediation,
                hosts=hosts,
                source="probe",
                source_id=probe_id,
            )
        )
    # a failed criterion is critical when scoring says it rules a tier out (a gate measured evidence fails)
    ruling_out = {
        name
        for shortfall in score.held_down_by
        if shortfall.kind == "gate" and shortfall.bound == "ceiling"
        for name in shortfall.criteria
    }
    for criterion in score.criteria:
        if criterion.verdict not in _CRITERION_SEVERITY:
            continue
        severity = _CRITERION_SEVERITY[criterion.verdict]
        if criterion.verdict is Verdict.FAIL and criterion.id in ruling_out:
            severity = Severity.CRITICAL
        items.append(
            FindingItem(
                severity=severity,
                code=f"criterion:{criterion.id}",
                message=f"{criterion.title}: {criterion.explanation}",
                remediation=criterion.remediation,
                hosts=sorted(criterion.hosts, key=natural_key),
                source="criterion",
                source_id=criterion.id,
            )
        )
    items.sort(key=lambda f: (SEVERITY_ORDER.index(f.severity), f.source != "criterion", f.code, f.hosts))
    return items


# --------------------------------------------------------------------------------------- health matrix


@dataclass(frozen=True)
class _HealthSpec:
    """A column of the node-health matrix: the criteria that read these metrics decide its cells."""

    id: str
    title: str
    probe: str
    metrics: tuple[str, ...]
    codes: tuple[str, ...]
    """Finding codes (normalised substrings) whose message explains a cell that is not a pass."""
    show: tuple[str, ...] = ()
    """Metrics whose values the cell shows, joined by '/' (default: those of the deciding criterion)."""


def _num(value: ScalarValue) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


HEALTH_CHECKS: tuple[_HealthSpec, ...] = (
    _HealthSpec(
        "gpus",
        "GPUs visible",
        "gpu_health",
        ("gpu.count_ok", "gpu.count"),
        ("gpu-missing",),
        show=("gpu.count", "gpu.expected_count"),
    ),
    _HealthSpec(
        "ecc", "ECC", "gpu_health", ("gpu.ecc_uncorrected", "gpu.ecc_uncorrected_aggregate"), ("ecc",)
    ),
    _HealthSpec(
        "memory",
        "Row remap / retired pages",
        "gpu_health",
        ("gpu.remapped_rows_failed", "gpu.remapped_rows_pending", "gpu.retired_pages_pending"),
        ("remapped", "retired"),
    ),
    _HealthSpec(
        "xid",
        "Xid / bus",
        "gpu_health",
        ("gpu.xid_critical", "gpu.xid_events", "gpu.fallen_off_bus"),
        ("xid", "fallen-off-bus"),
        show=("gpu.xid_events",),
    ),
    _HealthSpec("nvlink", "NVLink", "gpu_health", ("gpu.nvlink_inactive",), ("nvlink",)),
    _HealthSpec("pcie", "PCIe link", "gpu_health", ("gpu.pcie_degraded",), ("pcie",)),
    _HealthSpec("throttle", "Throttling", "gpu_health", ("gpu.throttled",), ("throttl",)),
    _HealthSpec("persistence", "Persistence mode", "gpu_health", ("gpu.persistence_mode",), ("persistence",)),
    _HealthSpec("dcgm", "DCGM diag", "gpu_health", ("gpu.dcgm_diag",), ("dcgm",)),
    _HealthSpec("ib", "IB/RoCE ports", "fabric", ("fabric.ports_down",), ("ports-down", "rate")),
    _HealthSpec("gdr", "GPUDirect RDMA", "fabric", ("fabric.gpudirect_rdma",), ("gpudirect",)),
    _HealthSpec(
        "exporter",
        "DCGM exporter",
        "monitoring",
        ("monitoring.dcgm_exporter",),
        ("dcgm-exporter",),
    ),
)

_HEALTH_PROBES = frozenset(spec.probe for spec in HEALTH_CHECKS)
_UNREACHABLE_STATES = frozenset({"unreachable", "auth", "host-key", "timeout", "interrupted"})
_CELL_STATUS: dict[Verdict, HealthStatus] = {
    Verdict.PASS: "pass",
    Verdict.WARN: "warn",
    Verdict.FAIL: "fail",
    Verdict.NOT_MEASURED: "unknown",
    Verdict.NOT_APPLICABLE: "n/a",
}
_CELL_RANK = {"fail": 0, "warn": 1, "pass": 2, "unknown": 3, "n/a": 4}


def _norm(code: str) -> str:
    return re.sub(r"[._\s]+", "-", code.lower())


def _column_criteria(score: ScoreResult) -> dict[str, list[CriterionResult]]:
    """check id -> the criteria of the rubric that read one of its metrics and judged some host."""
    out: dict[str, list[CriterionResult]] = {}
    for spec in HEALTH_CHECKS:
        wanted = set(spec.metrics)
        mine = [c for c in score.criteria if c.host_verdicts and wanted & set(c.metrics)]
        if mine:
            out[spec.id] = mine
    return out


def health_matrix(bundle: Bundle, score: ScoreResult) -> HealthMatrix:
    """Node x check: each cell is the verdict of the rubric's criteria that read the check's metrics on
    that node (their worst), with the failing reason; nothing here is judged again."""
    values: dict[str, dict[str, tuple[ScalarValue, str]]] = defaultdict(dict)
    for m in bundle.measurements():
        if m.host and m.value is not None:
            values[m.host].setdefault(m.metric, (m.value, m.unit.value))
    results: dict[tuple[str, str], ProbeResult] = {}
    host_findings: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for result in bundle.results:
        if result.probe_id in _HEALTH_PROBES:
            results[(result.host, result.probe_id)] = result
        for finding in result.findings:
            host = finding.host or result.host
            host_findings[host].append((_norm(finding.code), finding.message))
    records = {record.name: record for record in bundle.hosts}
    columns = _column_criteria(score)
    used = [spec for spec in HEALTH_CHECKS if spec.id in columns]
    hosts = {h for crits in columns.values() for c in crits for h in c.host_verdicts}
    hosts |= {host for host, _ in results if host != "cluster"}
    hosts |= {r.name for r in bundle.hosts if r.role in ("compute", "local")}
    if not hosts:
        return HealthMatrix()
    show_reach = bundle.kind == "audit"
    checks = ([HealthCheck(id="reach", title="Reachable")] if show_reach else []) + [
        HealthCheck(id=spec.id, title=spec.title) for spec in used
    ]
    rows: list[HealthRow] = []
    for host in sorted(hosts, key=natural_key):
        record: HostRecord | None = records.get(host)
        state = record.state if record else ("imported" if bundle.kind == "import" else "ok")
        cells: list[HealthCell] = []
        if show_reach:
            if state in _UNREACHABLE_STATES:
                reason = f"{state}: {record.error}" if record and record.error else state
                cells.append(HealthCell(check="reach", status="fail", value=state, reason=reason))
            elif state == "ok":
                cells.append(HealthCell(check="reach", status="pass", value="ok"))
            else:
                why = (
                    f"{state}: {record.error}" if record and record.error else state
                )  # e.g. not run: node busy
                cells.append(HealthCell(check="reach", status="unknown", value=state, reason=why))
        for spec in used:
            cells.append(
                _health_cell(
                    spec,
                    host,
                    columns[spec.id],
                    values.get(host, {}),
                    results.get((host, spec.probe)),
                    host_findings[host],
                )
            )
        rows.append(HealthRow(host=host, role=record.role if record else "node", state=state, cells=cells))
    return summarised(HealthMatrix(checks=checks, rows=rows))


HEALTH_ROWS_MAX = 32
"""A matrix of more nodes than this shows the nodes with a failing, warning or unknown cell, one row
each, and one line for all the healthy ones (every cell passed or did not apply)."""


def summarised(matrix: HealthMatrix, limit: int = HEALTH_ROWS_MAX) -> HealthMatrix:
    """``matrix`` with its healthy rows folded into one line when it has more than ``limit`` rows."""
    if len(matrix.rows) <= limit:
        return matrix
    healthy = [r.host for r in matrix.rows if all(c.status in ("pass", "n/a") for c in r.cells)]
    if not healthy:
        return matrix
    keep = set(healthy)
    count = f"{len(healthy)} node{'s' if len(healthy) != 1 else ''}"
    return matrix.model_copy(
        update={
            "rows": [r for r in matrix.rows if r.host not in keep],
            "healthy": healthy,
            "healthy_summary": f"{count} healthy: {hostlist(healthy)}",
        }
    )


def _health_cell(
    spec: _HealthSpec,
    host: str,
    criteria: list[CriterionResult],
    values: Mapping[str, tuple[ScalarValue, str]],
    result: ProbeResult | None,
    host_findings: list[tuple[str, str]],
) -> HealthCell:
    judged = [(c, _CELL_STATUS[c.host_verdicts[host]]) for c in criteria if host in c.host_verdicts]
    if not judged:
        if result is not None and result.status in (ProbeStatus.ERROR, ProbeStatus.SKIPPED):
            why = _coverage_reason(result)
            status: HealthStatus = "n/a" if why == "not applicable" else "unknown"
            detail = f"{spec.probe}: {result.substatus.value if result.substatus else result.status.value}"
            if result.message:
                detail += f": {result.message}"
            return HealthCell(check=spec.id, status=status, reason=detail)
        return HealthCell(check=spec.id, status="unknown", reason="not measured")
    judged.sort(key=lambda item: _CELL_RANK[item[1]])
    worst, status = judged[0]
    shown_metrics = [m for m in spec.show if m in values] or [
        next((m for m in worst.metrics if m in values), "")
    ]
    value = "/".join(fmt_value(*values[m]) for m in shown_metrics if m in values) or None
    if status == "pass":
        return HealthCell(check=spec.id, status=status, value=value)
    shown = [c for c, s in judged if s == status]
    reason = "; ".join(
        f"{c.title}: {_host_value(c, values)}" + (f" ({c.threshold})" if c.threshold else "") for c in shown
    )
    for code, message in host_findings:
        if any(part in code for part in spec.codes):
            reason = f"{reason}: {message}"  # what the probe saw, in its words
            break
    return HealthCell(check=spec.id, status=status, value=value, reason=reason)


def _host_value(criterion: CriterionResult, values: Mapping[str, tuple[ScalarValue, str]]) -> str:
    shown = [fmt_value(values[m][0], values[m][1]) for m in criterion.metrics if m in values]
    return ", ".join(shown) if shown else "no value on this host"


# ------------------------------------------------------------------------------------------ NCCL curves


def _int_label(labels: Mapping[str, str], key: str) -> int | None:
    try:
        return int(labels[key])
    except (KeyError, ValueError):
        return None


def nccl_curves(measurements: Iterable[Measurement]) -> list[BusbwCurve]:
    """One curve (busbw against message size) per run of each collective/scope/node-count configuration."""
    points: dict[tuple[str, str, str, int | None, int | None, str | None], dict[int, float]] = defaultdict(
        dict
    )
    for m in measurements:
        if m.metric != "nccl.busbw":
            continue
        value = _num(m.value)
        size = _int_label(m.labels, "size_bytes")
        if value is None or size is None:
            continue
        key = (
            m.labels.get("collective", "all_reduce"),
            m.labels.get("impl", "nccl"),
            m.labels.get("scope", "intra"),
            _int_label(m.labels, "nodes"),
            _int_label(m.labels, "ranks"),
            m.labels.get("run"),
        )
        points[key][size] = value
    curves = [
        BusbwCurve(
            collective=collective,
            impl=impl,
            scope=scope,
            nodes=nodes,
            ranks=ranks,
            run=run,
            points=[CurvePoint(size_bytes=s, busbw_gbps=v) for s, v in sorted(by_size.items())],
        )
        for (collective, impl, scope, nodes, ranks, run), by_size in points.items()
    ]
    curves.sort(
        key=lambda c: (
            c.collective,
            c.scope != "intra",
            c.nodes or 0,
            c.impl,
            c.ranks or 0,
            natural_key(c.run or ""),
        )
    )
    return curves


def median_curve(curves: Sequence[BusbwCurve]) -> list[CurvePoint]:
    """Per message size, the median busbw over the given runs."""
    by_size: dict[int, list[float]] = defaultdict(list)
    for curve in curves:
        for point in curve.points:
            by_size[point.size_bytes].append(point.busbw_gbps)
    return [CurvePoint(size_bytes=s, busbw_gbps=statistics.median(v)) for s, v in sorted(by_size.items())]


# ------------------------------------------------------------------------------------------------ TTFJ

_TTFJ_KINDS = {"ttfj.batch_total": "batch", "ttfj.interactive_total": "interactive", "ttfj.pod_total": "pod"}


def ttfj_samples(measurements: Iterable[Measurement]) -> list[TtfjSample]:
    samples = []
    for m in measurements:
        kind = _TTFJ_KINDS.get(m.metric)
        value = _num(m.value)
        if kind is None or value is None:
            continue
        seconds = value / 1000 if m.unit.value == "ms" else value
        samples.append(TtfjSample(kind=kind, run=m.labels.get("run"), seconds=seconds))
    samples.sort(key=lambda s: (list(_TTFJ_KINDS.values()).index(s.kind), natural_key(s.run or "")))
    return samples


# -------------------------------------------------------------------------------------------- coverage

_SUBSTATUS_REASON: dict[SubStatus, CoverageReason] = {
    SubStatus.NOT_INSTALLED: "not installed",
    SubStatus.UNREACHABLE: "unreachable",
    SubStatus.AUTH: "unreachable",
    SubStatus.HOST_KEY: "unreachable",
    SubStatus.TIMEOUT: "unreachable",
    SubStatus.INTERRUPTED: "unreachable",
    SubStatus.NOT_APPLICABLE: "not applicable",
    SubStatus.UNSUPPORTED: "not applicable",
    SubStatus.NO_PERMISSION: "could not measure",
    SubStatus.PARSE_ERROR: "could not measure",
    SubStatus.COMMAND_FAILED: "could not measure",
}


def _coverage_reason(result: ProbeResult) -> CoverageReason:
    if result.substatus is not None:
        return _SUBSTATUS_REASON.get(result.substatus, "could not measure")
    return "not applicable" if result.status is ProbeStatus.SKIPPED else "could not measure"


def coverage_items(bundle: Bundle, score: ScoreResult) -> list[CoverageItem]:
    """What was not measured, and why: hosts, probes, criteria, imported files."""
    items: list[CoverageItem] = []
    for record in bundle.hosts:
        if record.state in _UNREACHABLE_STATES:
            items.append(
                CoverageItem(
                    subject=record.name,
                    kind="host",
                    hosts=[record.name],
                    reason="unreachable",
                    detail=f"{record.state}: {record.error}" if record.error else record.state,
                )
            )
    grouped: dict[tuple[str, CoverageReason, str], list[str]] = defaultdict(list)
    for result in bundle.results:
        if result.status not in (ProbeStatus.ERROR, ProbeStatus.SKIPPED):
            continue
        sub = result.substatus.value if result.substatus else result.status.value
        detail = f"{sub}: {result.message}" if result.message else sub
        grouped[(result.probe_id, _coverage_reason(result), detail)].append(result.host)
    for (probe_id, reason, detail), hosts in grouped.items():
        items.append(
            CoverageItem(
                subject=probe_id,
                kind="probe",
                hosts=sorted({h for h in hosts if h != "cluster"}, key=natural_key),
                reason=reason,
                detail=detail,
            )
        )
    for imported in bundle.imports:
        if imported.status != "imported":
            items.append(
                CoverageItem(
                    subject=imported.path,
                    kind="import",
                    hosts=[imported.host] if imported.host else [],
                    reason="could not measure",
                    detail=f"{imported.status}: {imported.reason}" if imported.reason else imported.status,
                )
            )
    for criterion in score.criteria:
        if criterion.verdict is Verdict.NOT_MEASURED:
            items.append(
                CoverageItem(
                    subject=criterion.id,
                    kind="criterion",
                    reason="not measured",
                    detail=criterion.explanation,
                )
            )
        elif criterion.verdict is Verdict.NOT_APPLICABLE:
            items.append(
                CoverageItem(
                    subject=criterion.id,
                    kind="criterion",
                    reason="not applicable",
                    detail=criterion.explanation,
                )
            )
    order = ("host", "probe", "import", "criterion")
    items.sort(key=lambda i: (order.index(i.kind), i.reason, natural_key(i.subject)))
    return items


# ----------------------------------------------------------------------------------------- key metrics


def _nccl_pick(
    measurements: Sequence[Measurement], scope: str, collective: str = "all_reduce"
) -> tuple[list[Measurement], str | None]:
    """The measurements of the preferred configuration for a scope: nccl over torch, most nodes."""
    relevant = [
        m
        for m in measurements
        if m.metric.startswith("nccl.")
        and m.labels.get("scope") == scope
        and m.labels.get("collective", "all_reduce") == collective
    ]
    if not relevant:
        return [], None

    def config_key(m: Measurement) -> tuple[int, int, int]:
        return (
            1 if m.labels.get("impl", "nccl") == "nccl" else 0,
            _int_label(m.labels, "nodes") or 0,
            _int_label(m.labels, "ranks") or 0,
        )

    best = max(config_key(m) for m in relevant)
    chosen = [m for m in relevant if config_key(m) == best]
    sample = chosen[0].labels
    nodes, ranks = sample.get("nodes", "?"), sample.get("ranks")
    detail = f"{collective}, {nodes} node{'s' if nodes != '1' else ''}"
    if ranks:
        detail += f", {ranks} ranks"
    detail += f" ({sample.get('impl', 'nccl')})"
    return chosen, detail


def _median_of(measurements: Sequence[Measurement], metric: str) -> tuple[float | None, int]:
    values = [v for m in measurements if m.metric == metric and (v := _num(m.value)) is not None]
    return (statistics.median(values), len(values)) if values else (None, 0)


def key_metrics(bundle: Bundle, score: ScoreResult, references: Sequence[ReferenceLine]) -> list[KeyMetric]:
    all_m = list(bundle.measurements())
    ref_by_scope = {r.scope: r.busbw_gbps for r in references}
    metrics: list[KeyMetric] = []
    for scope, scope_title in (("intra", "intra-node"), ("inter", "inter-node")):
        chosen, detail = _nccl_pick(all_m, scope)
        peak, _ = _median_of(chosen, "nccl.busbw_peak_median")
        runs_detail = ""
        if peak is None:
            peak, n = _median_of(chosen, "nccl.busbw_peak")
            runs_detail = f", median of {n} run(s)" if n else ""
        band, n_band = _median_of(chosen, "nccl.busbw_band_mean")
        ref = ref_by_scope.get(scope)
        for metric_id, title, value, extra in (
            (f"nccl_{scope}_peak", f"All-reduce peak busbw, {scope_title}", peak, runs_detail),
            (
                f"nccl_{scope}_band",
                f"All-reduce busbw 16-512 MiB, {scope_title}",
                band,
                f", median of {n_band} run(s)" if n_band else "",
            ),
        ):
            metrics.append(
                KeyMetric(
                    id=metric_id,
                    title=title,
                    value=value,
                    unit="GB/s",
                    reference=ref,
                    fraction_of_reference=(value / ref) if value is not None and ref else None,
                    detail=(detail + extra) if detail else None,
                )
            )
    ttfj, ttfj_detail = None, None
    for metric, label in (("ttfj.batch_total_median", "batch job"), ("ttfj.pod_total_median", "pod")):
        ttfj, _ = _median_of(all_m, metric)
        if ttfj is not None:
            ttfj_detail = f"median, one-GPU {label}, submit to end"
            break
    if ttfj is None:
        samples = ttfj_samples(all_m)
        if samples:
            ttfj = statistics.median(s.seconds for s in samples)
            ttfj_detail = f"median of {len(samples)} sample(s)"
    metrics.append(
        KeyMetric(id="ttfj_median", title="Time to first job", value=ttfj, unit="s", detail=ttfj_detail)
    )
    healthy = {m.host: m.value for m in all_m if m.metric == "gpu.healthy" and m.host and m.value is not None}
    failures = sum(1 for v in healthy.values() if v is False) if healthy else None
    metrics.append(
        KeyMetric(
            id="gpu_health_failures",
            title="Nodes failing GPU health",
            value=failures,
            unit="count",
            detail=f"of {len(healthy)} node(s) checked" if healthy else None,
        )
    )
    metrics.append(
        KeyMetric(
            id="coverage",
            title="Coverage",
            value=score.coverage,
            unit="ratio",
            detail="fraction of the rubric's weight measured or attested",
        )
    )
    return metrics


# ------------------------------------------------------------------------------------------- metadata


def run_meta(bundle: Bundle, score: ScoreResult) -> RunMeta:
    duration = (bundle.ended_at - bundle.started_at).total_seconds() if bundle.ended_at else None
    return RunMeta(
        kind=bundle.kind,
        tool_version=bundle.origin.tool_version,
        python=bundle.origin.python,
        platform=bundle.origin.platform,
        run_from=bundle.origin.run_from,
        command=bundle.origin.command,
        rubric_id=score.rubric.id,
        rubric_version=score.rubric.version,
        rubric_sha256=score.rubric.sha256,
        bundle_sha256=score.bundle_sha256,
        started_at=bundle.started_at,
        ended_at=bundle.ended_at,
        duration_s=duration,
        complete=bundle.complete,
        hosts=sorted((r.name for r in bundle.hosts), key=natural_key),
        hosts_ok=sum(1 for r in bundle.hosts if r.state == "ok"),
        commands=len(bundle.commands),
        imported_files=len(bundle.imports),
        probe_params=probe_params(bundle),
    )


def probe_params(bundle: Bundle) -> list[ProbeParams]:
    """Each probe's parameters as the bundle recorded them, hosts with the same parameters together
    (probes that recorded none are left out)."""
    grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
    values: dict[tuple[str, str], dict[str, Any]] = {}
    for result in bundle.results:
        if not result.params:
            continue
        key = (result.probe_id, json.dumps(result.params, sort_keys=True))
        values[key] = dict(result.params)
        grouped[key].append(result.host)
    out = [
        ProbeParams(
            probe=probe,
            hosts=sorted({h for h in grouped[(probe, text)] if h != "cluster"}, key=natural_key),
            params=values[(probe, text)],
        )
        for probe, text in grouped
    ]
    out.sort(key=lambda p: (p.probe, natural_key(p.hosts[0]) if p.hosts else ()))
    return out


# ------------------------------------------------------------------------------------------------ misc


def natural_key(text: str) -> tuple[Any, ...]:
    """Sort node2 before node10."""
    return tuple(int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text))


def criterion_sort_key(criterion: CriterionResult) -> tuple[str, str]:
    return (criterion.category, criterion.id)

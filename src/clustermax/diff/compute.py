"""Compare two audits: what scoring decided (tier range, verdicts) and what was measured (metrics beyond
their run-to-run spread, findings, probe outcomes, nodes). Pure: a function of the two bundles, their
scores and the rubric they were scored with.

Which metrics are compared, and how far one may move before it counts (docs/history.md has the table):

* Per-run and per-size samples (a ``run`` or ``size_bytes`` label) are not compared one by one: their
  aggregates are (nccl.busbw_peak_median, ttfj.*_median). ``*_spread`` metrics are used as tolerances,
  not compared. system.uptime and ssh.connect_time (single readings that always move) are not compared;
  gpu.xid_event is compared as the Xid codes each node logged ("new Xid 79").
* A median with a measured run-to-run spread (:data:`SPREADS`) moves when it changes by more than the
  larger of the two audits' spreads (each relative to its own median, or absolute seconds for pods).
  Without a spread (fewer than two runs) the documented default of :data:`DEFAULT_TOLERANCE` applies.
* Idle sensor readings (:data:`DEFAULT_TOLERANCE` too): beyond a fixed band.
* Everything else (counts, flags, versions, text, configuration numbers) is exact: any change counts.

Direction: the rubric's criteria that read the metric say which way is better (``>=``: higher, ``<=``:
lower, ``true``/``false``: that flag); when none does, or they disagree, the documented rule of
:data:`DIRECTION`; otherwise the change has no direction ("changed"). A value measured on one side only is
"changed" (unknown is not fail). :data:`KEY_METRICS` regressing beyond their tolerance, and criteria whose
verdict got worse (pass > warn > fail; not measured / not applicable are not ranked), and critical or high
findings that appeared (a benchmark that aborted measures nothing, but its abort is seen), are the regressions
the baseline gate (``score --baseline``) fails on.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeGuard

from ..models.bundle import Bundle
from ..models.results import Measurement, ProbeResult
from ..models.score import TIER_ORDER, ScoreResult, Verdict
from .model import (
    CriterionChange,
    DiffResult,
    Direction,
    FindingChange,
    MetricChange,
    NodeChange,
    ProbeChange,
    Side,
)

CLUSTER = "cluster"
"""The reserved host name of cluster-wide results."""

SKIP_METRICS = frozenset(
    {
        "system.uptime",
        "ssh.connect_time",
        "gpu.xid_event",
        "nccl.env_tuned",
        "gpu.dcgm_test",
        "fabric.port_rate",
    }
)
"""Not compared: readings that always move, and per-item details whose aggregates are compared (gpu.xid_event
as Xid codes per node, gpu.dcgm_test as gpu.dcgm_diag / gpu.dcgm_failed_tests, fabric.port_rate as
fabric.nic_rate / fabric.ports_active)."""
SKIP_LABELS = frozenset({"run", "size_bytes"})
DROP_LABELS = frozenset({"runs"})
"""Labels left out of a metric's identity (a 3-run median and a 5-run median of one configuration compare)."""


@dataclass(frozen=True)
class Spread:
    """Where a median's run-to-run spread is: ``metric`` with the same labels (plus ``labels``)."""

    metric: str
    relative: bool
    labels: tuple[tuple[str, str], ...] = ()


SPREADS: dict[str, Spread] = {
    "nccl.busbw_peak_median": Spread("nccl.busbw_peak_spread", relative=True),
    "ttfj.batch_total_median": Spread("ttfj.spread", relative=True, labels=(("kind", "batch"),)),
    "ttfj.interactive_total_median": Spread("ttfj.spread", relative=True, labels=(("kind", "interactive"),)),
    "ttfj.pod_total_median": Spread("ttfj.pod_total_spread", relative=False),
}


@dataclass(frozen=True)
class Tolerance:
    relative: float = 0.0
    absolute: float = 0.0

    def band(self, before: float, after: float) -> float:
        return max(self.relative * max(abs(before), abs(after)), self.absolute)

    def describe(self, unit: str) -> str:
        parts = []
        if self.relative:
            parts.append(f"{self.relative * 100:g}%")
        if self.absolute:
            parts.append(f"{self.absolute:g} {unit}")
        return "default " + " or ".join(parts)


DEFAULT_TOLERANCE: dict[str, Tolerance] = {
    # nccl-tests busbw repeats within a few per cent on a healthy fabric; below 5% a single run says nothing
    "nccl.busbw_peak_median": Tolerance(relative=0.05),
    "nccl.busbw_peak": Tolerance(relative=0.05),
    "nccl.busbw_band_mean": Tolerance(relative=0.05),
    "nccl.busbw_max_size": Tolerance(relative=0.05),
    "nccl.algbw_peak": Tolerance(relative=0.05),
    # time to first job: the scheduler's tick is about 1 s (slurmctld stamps have 1 s resolution)
    "ttfj.batch_total_median": Tolerance(relative=0.10, absolute=1.0),
    "ttfj.interactive_total_median": Tolerance(relative=0.10, absolute=1.0),
    "ttfj.batch_queue_wait_median": Tolerance(relative=0.10, absolute=1.0),
    "ttfj.interactive_queue_wait_median": Tolerance(relative=0.10, absolute=1.0),
    "ttfj.batch_warmup_total": Tolerance(relative=0.25, absolute=1.0),
    "ttfj.interactive_warmup_total": Tolerance(relative=0.25, absolute=1.0),
    "ttfj.pod_total_median": Tolerance(relative=0.10, absolute=1.0),
    "ttfj.pod_scheduled_median": Tolerance(relative=0.10, absolute=1.0),
    # idle sensor readings move with the room and the fans
    "gpu.temperature_max": Tolerance(absolute=5.0),
    "gpu.power_draw_max": Tolerance(relative=0.25, absolute=10.0),
}

Better = Literal["higher", "lower", "true", "false"]

DIRECTION: dict[str, Better] = {
    "gpu.count": "higher",
    "gpu.count_ok": "true",
    "gpu.healthy": "true",
    "gpu.ecc_uncorrected": "lower",
    "gpu.ecc_uncorrected_aggregate": "lower",
    "gpu.xid_events": "lower",
    "gpu.xid_critical": "lower",
    "gpu.fallen_off_bus": "false",
    "gpu.nvlink_inactive": "lower",
    "gpu.remapped_rows_pending": "lower",
    "gpu.remapped_rows_failed": "lower",
    "gpu.retired_pages_pending": "lower",
    "gpu.pcie_degraded": "lower",
    "gpu.throttled": "lower",
    "gpu.dcgm_failed_tests": "lower",
    "gpu.temperature_max": "lower",
    "gpu.persistence_mode": "true",
    "gpu.versions_consistent": "true",
    "nccl.busbw_peak_median": "higher",
    "nccl.busbw_band_mean": "higher",
    "nccl.wrong": "lower",
    "nccl.runs_hung": "lower",
    "ttfj.batch_total_median": "lower",
    "ttfj.interactive_total_median": "lower",
    "ttfj.batch_queue_wait_median": "lower",
    "ttfj.interactive_queue_wait_median": "lower",
    "ttfj.pod_total_median": "lower",
    "ttfj.pod_scheduled_median": "lower",
    "ttfj.failed_jobs": "lower",
    "ttfj.pod_failed": "lower",
    "fabric.ports_active": "higher",
    "fabric.ports_down": "lower",
    "fabric.nic_count": "higher",
    "fabric.nic_rate": "higher",
    "slurm.nodes_usable": "higher",
    "slurm.nodes_unavailable": "lower",
    "slurm.nodes_unavailable_fraction": "lower",
    "slurm.gpus_total": "higher",
    "k8s.nodes_ready": "higher",
    "k8s.gpus_allocatable": "higher",
}
"""The documented rule for metrics no criterion gives a direction (or whose criteria disagree)."""

KEY_METRICS: frozenset[str] = frozenset(
    {
        "nccl.busbw_peak_median",
        "ttfj.batch_total_median",
        "ttfj.interactive_total_median",
        "ttfj.pod_total_median",
        "gpu.count",
        "gpu.ecc_uncorrected",
        "gpu.ecc_uncorrected_aggregate",
        "gpu.xid_critical",
        "gpu.xid_events",
        "gpu.remapped_rows_failed",
        "gpu.nvlink_inactive",
        "fabric.ports_active",
        "fabric.ports_down",
        "slurm.nodes_usable",
        "k8s.nodes_ready",
    }
)
"""Metrics a regression of which fails the baseline gate (and that the history database keeps)."""

_RANK = {Verdict.FAIL: 0, Verdict.WARN: 1, Verdict.PASS: 2}
_VERDICT_WORDS = {
    Verdict.PASS: "pass",
    Verdict.WARN: "warn",
    Verdict.FAIL: "fail",
    Verdict.NOT_MEASURED: "not measured",
    Verdict.NOT_APPLICABLE: "not applicable",
}
_SHORT = {
    "gpu.driver_version": "driver",
    "gpu.cuda_version": "CUDA",
    "gpu.count": "GPUs",
    "gpu.model": "GPU model",
    "system.kernel": "kernel",
    "system.os": "OS",
    "fabric.firmware": "HCA firmware",
    "nccl.version": "NCCL",
    "slurm.version": "Slurm",
}


def verdict_word(v: Verdict) -> str:
    return _VERDICT_WORDS[v]


def value_text(value: Any, unit: str | None = None) -> str:
    """A value as a person reads it: 'not measured' for null, true/false, numbers to 6 digits."""
    if value is None:
        return "not measured"
    if isinstance(value, list):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = f"{value:.6g}"
    else:
        text = str(value)
    if unit and unit not in ("count", "text", "version", "bool", "ratio") and isinstance(value, (int, float)):
        return f"{text} {unit}"
    return text


def _version_key(text: str) -> tuple[int, ...] | None:
    parts = re.findall(r"\d+", text)
    return tuple(int(p) for p in parts) if parts else None


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# --------------------------------------------------------------------------------------------- metrics

MetricKey = tuple[str, str | None, tuple[tuple[str, str], ...]]


def _host_of(m: Measurement) -> str | None:
    return None if m.host in (None, CLUSTER) else m.host


def _index(bundle: Bundle) -> tuple[dict[MetricKey, list[Any]], dict[MetricKey, str]]:
    """Compared metrics of a bundle: key -> values (in order), key -> unit."""
    values: dict[MetricKey, list[Any]] = defaultdict(list)
    units: dict[MetricKey, str] = {}
    for m in bundle.measurements():
        if m.metric in SKIP_METRICS or m.metric.endswith("_spread") or SKIP_LABELS & m.labels.keys():
            continue
        key = (
            m.metric,
            _host_of(m),
            tuple(sorted((k, v) for k, v in m.labels.items() if k not in DROP_LABELS)),
        )
        values[key].append(m.value)
        units[key] = m.unit.value
    return values, units


def _spreads(bundle: Bundle) -> dict[MetricKey, float]:
    """Measured run-to-run spreads: (spread metric, host, labels) -> value, for configurations of 2+ runs."""
    out: dict[MetricKey, float] = {}
    for m in bundle.measurements():
        if not m.metric.endswith("_spread") or not _is_number(m.value):
            continue
        runs = m.labels.get("runs")
        if runs is not None and (not runs.isdigit() or int(runs) < 2):
            continue  # one run: the spread is not measured (the probe writes 0)
        labels = tuple(sorted((k, v) for k, v in m.labels.items() if k not in DROP_LABELS))
        out[(m.metric, _host_of(m), labels)] = float(m.value)
    return out


def _median_runs(bundle: Bundle) -> dict[MetricKey, int]:
    out: dict[MetricKey, int] = {}
    for m in bundle.measurements():
        runs = m.labels.get("runs")
        if runs is not None and runs.isdigit():
            labels = tuple(sorted((k, v) for k, v in m.labels.items() if k not in DROP_LABELS))
            out[(m.metric, _host_of(m), labels)] = int(runs)
    return out


def _spread_band(
    key: MetricKey, before: float, after: float, spreads: Sequence[dict[MetricKey, float]]
) -> float | None:
    """The measured tolerance of a median (the larger of the two audits' spreads), None when not measured."""
    rule = SPREADS.get(key[0])
    if rule is None:
        return None
    labels = key[2] if not rule.labels else tuple(sorted(set(key[2]) | set(rule.labels)))
    bands = []
    for side, value in zip(spreads, (before, after), strict=True):
        s = side.get((rule.metric, key[1], labels))
        if s is not None:
            bands.append(s * abs(value) if rule.relative else s)
    return max(bands) if bands else None


def directions(criteria: Iterable[Any]) -> dict[str, Better]:
    """Metric -> which way is better, from the criteria's comparisons, then the documented rule."""
    seen: dict[str, set[Better]] = defaultdict(set)
    for crit in criteria:
        compare = getattr(crit, "compare", None)
        better: Better | None = {">=": "higher", "<=": "lower", "true": "true", "false": "false"}.get(
            compare or ""
        )  # type: ignore[assignment]
        if better is None:
            continue
        for metric in getattr(crit, "metric", []) or []:
            seen[metric].add(better)
    out: dict[str, Better] = dict(DIRECTION)
    for metric, ways in seen.items():
        if len(ways) == 1:
            out[metric] = next(iter(ways))
    return out


def _direction(before: Any, after: Any, better: Better | None) -> Direction:
    if (
        before is None
        or after is None
        or better is None
        or isinstance(before, list)
        or isinstance(after, list)
    ):
        return "changed"
    if better in ("true", "false"):
        if isinstance(before, bool) and isinstance(after, bool):
            good = better == "true"
            return "better" if after == good else "worse"
        return "changed"
    if _is_number(before) and _is_number(after):
        up = after > before
    elif isinstance(before, str) and isinstance(after, str):
        kb, ka = _version_key(before), _version_key(after)
        if kb is None or ka is None or kb == ka:
            return "changed"
        up = ka > kb
    else:
        return "changed"
    return "better" if up == (better == "higher") else "worse"


def _labels_text(labels: dict[str, str]) -> str:
    shown = {k: v for k, v in labels.items() if k not in ("expected_source",)}
    return "{" + " ".join(f"{k}={v}" for k, v in sorted(shown.items())) + "}" if shown else ""


def _scalar(values: list[Any]) -> Any:
    """One value, or the sorted list when several results share the key (null when none is measured)."""
    if all(v is None for v in values):
        return None
    return values[0] if len(values) == 1 else sorted(values, key=lambda v: (str(type(v)), str(v)))


def _metric_changes(old: Bundle, new: Bundle, better: dict[str, Better]) -> list[MetricChange]:
    (ov, ou), (nv, nu) = _index(old), _index(new)
    spreads = (_spreads(old), _spreads(new))
    out: list[MetricChange] = []
    for key in sorted(set(ov) | set(nv), key=lambda k: (k[1] or "", k[0], k[2])):
        metric, host, labels = key
        b = _scalar(ov[key]) if key in ov else None
        a = _scalar(nv[key]) if key in nv else None
        if b == a or (
            isinstance(b, list) and isinstance(a, list) and sorted(map(str, b)) == sorted(map(str, a))
        ):
            continue
        unit = nu.get(key) or ou.get(key) or ""
        delta = tolerance = None
        source = "exact"
        if _is_number(b) and _is_number(a):
            fb, fa = float(b), float(a)
            delta = fa - fb
            measured = _spread_band(key, fb, fa, spreads)
            rule = DEFAULT_TOLERANCE.get(metric)
            if measured is not None:
                tolerance, source = measured, "spread"
            elif rule is not None:
                tolerance, source = rule.band(fb, fa), rule.describe(unit)
            if tolerance is not None and abs(delta) <= tolerance:
                continue
        direction = _direction(b, a, better.get(metric))
        name = f"{metric}{_labels_text(dict(labels))}"
        text = f"{name}: {value_text(b, unit)} -> {value_text(a, unit)}"
        if delta is not None and _is_number(b) and b:
            text += f" ({delta / abs(float(b)) * 100:+.1f}%"
            text += f"; beyond {_tol_text(tolerance, unit, source)})" if tolerance is not None else ")"
        out.append(
            MetricChange(
                metric=metric,
                host=host,
                labels=dict(labels),
                unit=unit,
                before=b,
                after=a,
                delta=round(delta, 6) if delta is not None else None,
                tolerance=round(tolerance, 6) if tolerance is not None else None,
                tolerance_source=source,
                direction=direction,
                key=metric in KEY_METRICS,
                text=text,
            )
        )
    return out


def _tol_text(tolerance: float | None, unit: str, source: str) -> str:
    if tolerance is None:
        return source
    shown = value_text(round(tolerance, 6), unit if unit != "ratio" else None)
    return f"the measured spread {shown}" if source == "spread" else f"{shown} ({source})"


# --------------------------------------------------------------------------------------------- nodes


def _xids(bundle: Bundle) -> dict[str, Counter[str]]:
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for m in bundle.measurements():
        if m.metric == "gpu.xid_event" and m.value is not None and not isinstance(m.value, bool):
            out[m.host or CLUSTER][str(m.value)] += 1
    return out


def _node_names(bundle: Bundle) -> dict[str, str]:
    return {h.name: h.state for h in bundle.hosts if h.name != CLUSTER}


def _short(change: MetricChange) -> str:
    name = _SHORT.get(change.metric, change.metric) + _labels_text(change.labels)
    text = f"{name} {value_text(change.before, change.unit)} -> {value_text(change.after, change.unit)}"
    return text + ("" if change.direction == "changed" else f" ({change.direction})")


def _nodes(
    old: Bundle, new: Bundle, metrics: list[MetricChange], findings: list[FindingChange]
) -> tuple[list[str], list[str], list[NodeChange]]:
    on, nn = _node_names(old), _node_names(new)
    added = sorted(set(nn) - set(on))
    gone = sorted(set(on) - set(nn))
    items: dict[str, list[tuple[int, str, bool]]] = defaultdict(list)
    for host in sorted(set(on) & set(nn)):
        if on[host] != nn[host]:
            items[host].append((0, f"state {on[host]} -> {nn[host]}", nn[host] != "ok"))
    ox, nx = _xids(old), _xids(new)
    for host in sorted(set(ox) | set(nx)):
        before, after = ox.get(host, Counter()), nx.get(host, Counter())
        for code in sorted(set(before) | set(after), key=lambda c: (len(c), c)):
            b, a = before[code], after[code]
            if b == a:
                continue
            if not b:
                items[host].append((1, f"new Xid {code}" + (f" ({a} events)" if a > 1 else ""), True))
            elif not a:
                items[host].append((3, f"Xid {code} no longer logged", False))
            else:
                items[host].append((2, f"Xid {code} events {b} -> {a}", a > b))
    for change in metrics:
        if change.host is not None:
            items[change.host].append((2, _short(change), change.direction == "worse"))
    for f in findings:
        if f.host is not None and f.host != CLUSTER:
            word = "new finding" if f.change == "appeared" else "resolved"
            items[f.host].append((4, f"{word} {f.code} ({f.severity})", f.change == "appeared"))
    nodes = [
        NodeChange(
            host=host,
            changes=[t for _, t, _ in sorted(rows, key=lambda r: r[0])],
            worse=any(w for _, _, w in rows),
        )
        for host, rows in sorted(items.items())
    ]
    return added, gone, nodes


# --------------------------------------------------------------------------------------------- the rest


def _findings(old: Bundle, new: Bundle) -> list[FindingChange]:
    def index(bundle: Bundle) -> dict[tuple[str, str | None, str], list[str]]:
        out: dict[tuple[str, str | None, str], list[str]] = defaultdict(list)
        for r in bundle.results:
            for f in r.findings:
                out[(f.code, f.host, f.severity.value)].append(f.message)
        return out

    before, after = index(old), index(new)
    out: list[FindingChange] = []
    for key in sorted(set(before) | set(after), key=lambda k: (k[1] or "", k[0], k[2])):
        b, a = before.get(key, []), after.get(key, [])
        code, host, severity = key
        if len(a) > len(b):
            out.append(
                FindingChange(change="appeared", code=code, severity=severity, host=host, message=a[-1])
            )
        elif len(b) > len(a):
            out.append(
                FindingChange(change="resolved", code=code, severity=severity, host=host, message=b[-1])
            )
    order = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
    return sorted(out, key=lambda f: (f.change != "appeared", order.get(f.severity, 5), f.host or "", f.code))


def _status(results: list[ProbeResult]) -> str:
    texts = sorted({r.status.value + (f"/{r.substatus.value}" if r.substatus else "") for r in results})
    return ", ".join(texts)


def _probes(old: Bundle, new: Bundle) -> list[ProbeChange]:
    def index(bundle: Bundle) -> dict[tuple[str, str], list[ProbeResult]]:
        out: dict[tuple[str, str], list[ProbeResult]] = defaultdict(list)
        for r in bundle.results:
            out[(r.probe_id, r.host)].append(r)
        return out

    before, after = index(old), index(new)
    out: list[ProbeChange] = []
    for key in sorted(set(before) | set(after)):
        b = _status(before[key]) if key in before else None
        a = _status(after[key]) if key in after else None
        if a == b:
            continue
        source = after.get(key) or before.get(key) or []
        message = next(
            (r.message for r in source if r.status.value != "ok"), source[0].message if source else ""
        )
        out.append(ProbeChange(probe_id=key[0], host=key[1], before=b, after=a, message=message))
    return out


def _side(bundle: Bundle, score: ScoreResult) -> Side:
    return Side(
        cluster=bundle.target.cluster,
        provider=bundle.target.provider,
        kind=bundle.kind,
        started_at=bundle.started_at,
        complete=bundle.complete,
        bundle_sha256=score.bundle_sha256,
        hosts=len(_node_names(bundle)),
        rubric=f"{score.rubric.id} {score.rubric.version}",
        tier=score.tier,
        rated=score.rated,
        tier_floor=score.tier_floor,
        tier_ceiling=score.tier_ceiling,
        summary=score.summary,
        score=score.score,
        coverage=score.coverage,
    )


def _tier_direction(old: ScoreResult, new: ScoreResult, evidence_lost: bool) -> Direction | None:
    """The floor decides; with the same floor, a lower ceiling is worse (only measured evidence lowers it) and
    a higher one better unless evidence was lost (unknowns count as passed for the ceiling)."""
    of, nf = TIER_ORDER.index(old.tier_floor), TIER_ORDER.index(new.tier_floor)
    oc, nc = TIER_ORDER.index(old.tier_ceiling), TIER_ORDER.index(new.tier_ceiling)
    if (of, oc, old.rated) == (nf, nc, new.rated):
        return None
    if nf != of:
        return "better" if nf > of else "worse"
    if nc < oc:
        return "worse"
    if nc > oc and not evidence_lost:
        return "better"
    return "changed"


def _criteria(old: ScoreResult, new: ScoreResult) -> list[CriterionChange]:
    before = {c.id: c for c in old.criteria}
    out: list[CriterionChange] = []
    for c in new.criteria:
        o = before.get(c.id)
        if o is None or o.verdict == c.verdict:
            continue
        if o.verdict in _RANK and c.verdict in _RANK:
            direction: Direction = "better" if _RANK[c.verdict] > _RANK[o.verdict] else "worse"
        else:
            direction = "changed"
        hosts = sorted(
            h
            for h, v in c.host_verdicts.items()
            if v in _RANK and (o.host_verdicts.get(h) not in _RANK or _RANK[v] < _RANK[o.host_verdicts[h]])
        )
        out.append(
            CriterionChange(
                id=c.id,
                title=c.title,
                before=o.verdict,
                after=c.verdict,
                direction=direction,
                hosts=hosts if direction == "worse" else [],
            )
        )
    return sorted(out, key=lambda ch: ({"worse": 0, "better": 1, "changed": 2}[ch.direction], ch.id))


def diff(
    old: Bundle, new: Bundle, old_score: ScoreResult, new_score: ScoreResult, criteria: Iterable[Any] = ()
) -> DiffResult:
    """What changed from ``old`` to ``new``. ``criteria``: the rubric's criteria (metric directions)."""
    better = directions(criteria)
    warnings: list[str] = []
    if (old.target.cluster, old.target.provider) != (new.target.cluster, new.target.provider):

        def who(b: Bundle) -> str:
            return b.target.cluster + (f" (provider {b.target.provider})" if b.target.provider else "")

        warnings.append(
            f"these are audits of different clusters: {who(old)} and {who(new)}; what differs may be the "
            "cluster, not a change"
        )
    if old_score.rubric.sha256 != new_score.rubric.sha256:
        warnings.append(
            "the two audits were scored with different rubrics; verdict changes may come from the rubric"
        )
    if not new.complete:
        warnings.append(
            "the newer audit is incomplete (interrupted): what it lacks is not measured, not gone"
        )
    metrics = _metric_changes(old, new, better)
    findings = _findings(old, new)
    added, gone, nodes = _nodes(old, new, metrics, findings)
    crit = _criteria(old_score, new_score)
    regressions = [
        f"criterion {c.id} ({c.title}): {verdict_word(c.before)} -> {verdict_word(c.after)}"
        + (f" on {', '.join(c.hosts)}" if c.hosts else "")
        for c in crit
        if c.direction == "worse"
    ]
    regressions += [
        f"{m.text}" + (f" on {m.host}" if m.host else "") for m in metrics if m.key and m.direction == "worse"
    ]
    regressions += [
        f"{f.severity} finding {f.code} appeared" + (f" on {f.host}" if f.host else "") + f": {f.message}"
        for f in findings
        if f.change == "appeared" and f.severity in ("critical", "high")
    ]
    lost = [
        f"criterion {c.id}: {verdict_word(c.before)} -> {verdict_word(c.after)}"
        for c in crit
        if c.before in _RANK and c.after not in _RANK
    ]
    lost += [m.text + (f" on {m.host}" if m.host else "") for m in metrics if m.key and m.after is None]
    lost += [
        f"probe {p.probe_id} on {p.host}: {p.before} -> {p.after or 'absent'}"
        for p in _probes(old, new)
        if p.before == "ok" and (p.after is None or not p.after.startswith("failed"))
    ]
    return DiffResult(
        old=_side(old, old_score),
        new=_side(new, new_score),
        warnings=warnings,
        evidence_lost=lost,
        tier_direction=_tier_direction(old_score, new_score, bool(lost)),
        criteria=crit,
        metrics=metrics,
        findings=findings,
        probes=_probes(old, new),
        nodes_added=added,
        nodes_gone=gone,
        nodes=nodes,
        regressions=regressions,
    )

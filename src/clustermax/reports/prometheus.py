"""The report as Prometheus text exposition (``--format prometheus``), for node_exporter's textfile
collector: write it with ``--out DIR/clustermax.prom`` (written to a temporary file and renamed, as the
collector needs) and every scrape carries the audit's verdict.

Every sample is a gauge labelled with ``cluster`` and ``provider`` (and ``node`` for per-node verdicts):
the tier bounds as ranks (0 Underperforming ... 4 Platinum), the score and its bounds, the coverage, each
category's score and coverage, one sample per criterion with its verdict as a label, each node's verdict
per criterion, the key metrics with their unit, and the findings per severity. Honest numbers: a value
that was not measured has no sample (never 0); the decided tier of a cluster that is not rated has none.
Label values come from the cluster and go through :func:`clustermax.sanitize.prom_label`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from ..errors import UsageError
from ..models.results import Severity
from ..models.score import TIER_ORDER, Tier
from ..sanitize import prom_label
from .model import ClusterReport, Report

PREFIX = "clustermax_"

_HELP: dict[str, str] = {
    "audit_info": "The audit a cluster's samples come from (always 1).",
    "audit_complete": "1 when every host and probe of the audit finished, else 0.",
    "audit_timestamp_seconds": "When the audit ended (else began), Unix time.",
    "rated": "1 when the evidence decides a tier, 0 when the cluster is not rated.",
    "tier_rank": "Tier as a rank, 0 Underperforming, 1 Bronze, 2 Silver, 3 Gold, 4 Platinum; bound is "
    "floor, ceiling or decided (no decided sample when not rated).",
    "score": "Score 0-100: bound measured (the measured criteria), floor (unknown counted as failed), "
    "ceiling (unknown counted as passed).",
    "coverage_ratio": "Fraction of the rubric's weight that was measured or attested.",
    "category_score": "Category score 0-100 over its measured criteria (no sample when none measured).",
    "category_coverage_ratio": "Fraction of the category's weight that was measured or attested.",
    "criterion_verdict": "One sample per criterion (always 1); its verdict is the verdict label.",
    "node_criterion_verdict": "A criterion judged on one node's own values (always 1); verdict label.",
    "key_metric": "Key metric in the unit of its unit label (no sample when not measured).",
    "key_metric_reference_ratio": "Key metric as a fraction of its hardware reference.",
    "findings": "Findings of the audit and the rubric, by severity.",
}


def _labels(pairs: Iterable[tuple[str, object]]) -> str:
    return "{" + ",".join(f'{k}="{prom_label(v)}"' for k, v in pairs) + "}"


def _number(value: float | int) -> str:
    return repr(float(value)) if isinstance(value, float) else str(int(value))


def _rank(tier: Tier) -> int:
    return TIER_ORDER.index(tier)


def _samples(cluster: ClusterReport) -> dict[str, list[tuple[list[tuple[str, object]], float | int]]]:
    base: list[tuple[str, object]] = [("cluster", cluster.cluster), ("provider", cluster.provider or "")]
    out: dict[str, list[tuple[list[tuple[str, object]], float | int]]] = {name: [] for name in _HELP}
    meta = cluster.meta
    info = [
        ("platform", cluster.platform),
        ("kind", meta.kind),
        ("rubric", meta.rubric_id),
        ("rubric_version", meta.rubric_version),
        ("clustermax_version", meta.tool_version),
    ]
    out["audit_info"].append(([*base, *info], 1))
    out["audit_complete"].append((base, 1 if meta.complete else 0))
    out["audit_timestamp_seconds"].append((base, (meta.ended_at or meta.started_at).timestamp()))
    out["rated"].append((base, 1 if cluster.rated else 0))
    bounds = [("floor", cluster.tier_floor), ("ceiling", cluster.tier_ceiling)]
    if cluster.rated and cluster.tier is not None:
        bounds.append(("decided", cluster.tier))
    for bound, tier in bounds:
        out["tier_rank"].append(([*base, ("bound", bound), ("tier", tier.value)], _rank(tier)))
    for bound, value in (
        ("measured", cluster.score),
        ("floor", cluster.score_floor),
        ("ceiling", cluster.score_ceiling),
    ):
        out["score"].append(([*base, ("bound", bound)], value))
    out["coverage_ratio"].append((base, cluster.coverage))
    for cat in cluster.categories:
        if cat.score is not None:
            out["category_score"].append(([*base, ("category", cat.id)], cat.score))
        out["category_coverage_ratio"].append(([*base, ("category", cat.id)], cat.coverage))
    for crit in cluster.criteria:
        where = [("criterion", crit.id), ("category", crit.category)]
        out["criterion_verdict"].append(([*base, *where, ("verdict", crit.verdict.value)], 1))
        for node, verdict in sorted(crit.host_verdicts.items()):
            labels = [*base, ("node", node), ("criterion", crit.id), ("verdict", verdict.value)]
            out["node_criterion_verdict"].append((labels, 1))
    for metric in cluster.key_metrics:
        if metric.value is None or isinstance(metric.value, bool):
            continue
        out["key_metric"].append(([*base, ("metric", metric.id), ("unit", metric.unit or "")], metric.value))
        if metric.fraction_of_reference is not None:
            out["key_metric_reference_ratio"].append(
                ([*base, ("metric", metric.id)], metric.fraction_of_reference)
            )
    for severity in Severity:
        count = sum(1 for f in cluster.findings if f.severity is severity)
        out["findings"].append(([*base, ("severity", severity.value)], count))
    return out


def render_prometheus(report: Report) -> str:
    """Text exposition format 0.0.4: ``# HELP`` and ``# TYPE`` once per family, then its samples."""
    seen: dict[tuple[str, str], int] = {}
    for cluster in report.clusters:
        key = (cluster.cluster, cluster.provider or "")
        seen[key] = seen.get(key, 0) + 1
    twice = sorted(name for (name, _), count in seen.items() if count > 1)
    if twice:
        raise UsageError(
            f"--format prometheus: {len(twice)} cluster(s) given more than once ({', '.join(twice)[:200]}); "
            "their samples would collide",
            hint="give one bundle per cluster (the newest), or write one file per audit",
        )
    families: dict[str, list[str]] = {name: [] for name in _HELP}
    for cluster in report.clusters:
        for name, samples in _samples(cluster).items():
            for labels, value in samples:
                if isinstance(value, float) and not math.isfinite(value):
                    continue
                families[name].append(f"{PREFIX}{name}{_labels(labels)} {_number(value)}")
    lines: list[str] = []
    for name, rows in families.items():
        if not rows:
            continue
        lines.append(f"# HELP {PREFIX}{name} {_HELP[name]}")
        lines.append(f"# TYPE {PREFIX}{name} gauge")
        lines.extend(rows)
    return "\n".join(lines) + "\n"

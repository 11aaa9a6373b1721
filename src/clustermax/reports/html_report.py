"""One self-contained HTML file: inline CSS, charts inlined as SVG, no script, no network request.

Templates live in ``clustermax/reports/templates`` (package data) and go through jinja2 with
autoescaping on, so every value from a remote machine is escaped; the only markup inserted unescaped is the
SVG that pygal serialised itself (an XML serializer, which escapes text). A Content-Security-Policy meta
tag forbids scripts and every fetch, as a second line of defence.
"""

from __future__ import annotations

import base64
import functools
import re
from collections import defaultdict
from typing import Any

from ..models.score import Verdict
from .build import BAND_HIGH, BAND_LOW, LEADERBOARD_ORDER, median_curve
from .model import BusbwCurve, ClusterReport, CurvePoint, Report
from .tables import (
    KEY_METRIC_COLUMNS,
    TIER_LABEL,
    VERDICT_LABEL,
    category_matrix,
    comparison_long_frame,
    criteria_groups,
    csv_safe,
    display_name,
    format_key_metric,
    key_metrics_frame,
    leaderboard_frame,
    sweep_text,
    tier_key,
    tier_range,
    tier_word,
    unmeasured_sentence,
)
from .text import fmt_duration, fmt_param, fmt_pct, fmt_size, fmt_value

ADVICE_SHOWN = 8
"""Tier-gap actions shown in the headline; the rest fold under 'N more action(s)'."""
_HTTP_URL = re.compile(r"https?://[^\s<>\"'`]+$")


@functools.lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("clustermax.reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        value=fmt_value,
        pct=fmt_pct,
        size=fmt_size,
        duration=fmt_duration,
        tier=lambda t: TIER_LABEL[t.value if hasattr(t, "value") else t],
        verdict=lambda v: VERDICT_LABEL[Verdict(v)],
        safe_url=lambda u: u if isinstance(u, str) and _HTTP_URL.match(u) else None,
        param=fmt_param,
    )
    return env


def render_html(report: Report) -> str:
    from markupsafe import Markup

    env = _environment()
    if report.mode == "compare":
        template = env.get_template("compare.html.j2")
        context = _compare_context(report, Markup)
    else:
        template = env.get_template("single.html.j2")
        context = _single_context(report.clusters[0], Markup)
    rendered: str = template.render(report=report, band=(fmt_size(BAND_LOW), fmt_size(BAND_HIGH)), **context)
    return rendered


def _curve_groups(curves: list[BusbwCurve]) -> list[tuple[str, list[BusbwCurve]]]:
    groups: dict[str, list[BusbwCurve]] = defaultdict(list)
    for curve in curves:
        groups[curve.config].append(curve)
    return list(groups.items())


def _single_context(cluster: ClusterReport, markup: Any) -> dict[str, Any]:
    from .charts import busbw_chart, curve_label, overlap_notes, ttfj_chart

    charts = []
    for index, (config, curves) in enumerate(_curve_groups(cluster.curves)):
        refs = [r for r in cluster.references if r.scope == curves[0].scope]
        svg = busbw_chart(curves, refs, f"busbw: {config}", f"nccl-{index}")
        median = {p.size_bytes: p.busbw_gbps for p in median_curve(curves)}
        charts.append(
            {
                "config": config,
                "svg": markup(svg),
                "curves": curves,
                "median": median,
                "sweep": sweep_text(curves),
                "notes": overlap_notes([(curve_label(c), c.points) for c in curves]),
            }
        )
    ttfj_svg = markup(ttfj_chart(cluster.ttfj, "ttfj")) if cluster.ttfj else None
    notes: dict[str, int] = {}
    health_rows = []
    for row in cluster.health.rows:
        cells = []
        for cell in row.cells:
            note = (
                notes.setdefault(cell.reason, len(notes) + 1)
                if cell.status != "pass" and cell.reason
                else None
            )
            cells.append({"cell": cell, "note": note})
        health_rows.append({"row": row, "cells": cells})
    groups = criteria_groups(cluster)
    coverage_rows = [i for i in cluster.coverage_items if i.kind != "criterion"]
    toc = [
        ("verdict", "Verdict"),
        ("findings", f"Findings ({len(cluster.findings)})"),
        ("categories", "Categories"),
        ("criteria", "Criteria"),
        ("evidence", "Evidence"),
        ("nccl", "NCCL bus bandwidth"),
        ("health", "Node health"),
        ("ttfj", "Time to first job"),
        ("coverage", "Coverage"),
        ("run", "Run and parameters"),
    ]
    return {
        "advice_shown": ADVICE_SHOWN,
        "toc": toc,
        "groups": groups,
        "coverage_rows": coverage_rows,
        "unmeasured_criteria": unmeasured_sentence(cluster),
        "c": cluster,
        "verdict": {"word": tier_word(cluster), "key": tier_key(cluster), "range": tier_range(cluster)},
        "name": display_name(cluster),
        "counts": cluster.verdict_counts(),
        "charts": charts,
        "ttfj_svg": ttfj_svg,
        "health_rows": health_rows,
        "health_notes": [(n, reason) for reason, n in notes.items()],
    }


def _compare_series(report: Report, scope: str) -> list[tuple[str, list[CurvePoint]]]:
    series = []
    for cluster in report.clusters:
        candidates = [c for c in cluster.curves if c.scope == scope and c.collective == "all_reduce"]
        if not candidates:
            continue
        best = max((c.impl == "nccl", c.nodes or 0, c.ranks or 0) for c in candidates)
        chosen = [c for c in candidates if (c.impl == "nccl", c.nodes or 0, c.ranks or 0) == best]
        label = (
            f"{display_name(cluster)} ({chosen[0].nodes or '?'} node{'s' if chosen[0].nodes != 1 else ''})"
        )
        series.append((label, median_curve(chosen)))
    return series


def _compare_context(report: Report, markup: Any) -> dict[str, Any]:
    from .charts import compare_busbw_chart, overlap_notes

    board = leaderboard_frame(report)
    matrix = category_matrix(report)
    metrics = key_metrics_frame(report)
    columns = [c for c in KEY_METRIC_COLUMNS if c in metrics.columns]
    charts = []
    for scope, title in (("intra", "intra-node"), ("inter", "inter-node")):
        series = _compare_series(report, scope)
        if series:
            svg = compare_busbw_chart(series, f"All-reduce busbw, {title} (median over runs)", f"cmp-{scope}")
            charts.append({"title": title, "svg": markup(svg), "notes": overlap_notes(series)})
    csv_text = csv_safe(comparison_long_frame(report)).to_csv(index=False, lineterminator="\n")
    csv_uri = "data:text/csv;charset=utf-8;base64," + base64.b64encode(csv_text.encode("utf-8")).decode(
        "ascii"
    )
    return {
        "board": [
            {"rank": rank, "cluster": cluster, "key": tier_key(cluster), **row.to_dict()}
            for cluster, (rank, row) in zip(report.clusters, board.iterrows(), strict=True)
        ],
        "order": LEADERBOARD_ORDER,
        "matrix_columns": list(matrix.columns),
        "matrix_rows": [
            (index, [None if v != v else float(v) for v in row])
            for index, row in zip(matrix.index, matrix.itertuples(index=False), strict=True)
        ]
        if not matrix.empty
        else [],
        "metric_columns": [(c, KEY_METRIC_COLUMNS[c][0]) for c in columns],
        "metric_rows": [
            (provider, [format_key_metric(c, row[c]) for c in columns])
            for provider, row in metrics.iterrows()
        ],
        "charts": charts,
        "csv_uri": csv_uri,
    }

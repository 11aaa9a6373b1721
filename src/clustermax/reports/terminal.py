"""Terminal summary: rich tables and colours on a TTY, plain text when piped.

Every string from the report model was stripped of control sequences when the model was built, and rich
markup is never interpreted in values (they go in as :class:`rich.text.Text`), so a host name like
``[bold red]x[/]`` prints as itself.
"""

from __future__ import annotations

import io

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..models.score import Verdict
from .build import LEADERBOARD_ORDER
from .model import ClusterReport, Report
from .tables import (
    KEY_METRIC_COLUMNS,
    TIER_LABEL,
    VERDICT_LABEL,
    criteria_groups,
    display_name,
    distinct_names,
    format_key_metric,
    key_metrics_frame,
    tier_key,
    tier_range,
    tier_word,
    unmeasured_sentence,
)
from .text import fmt_param, fmt_pct, fmt_value, one_line

TIER_STYLE = {
    "platinum": "bold bright_white on grey37",
    "gold": "bold black on gold1",
    "silver": "bold black on grey70",
    "bronze": "bold white on dark_orange3",
    "underperforming": "bold white on red3",
    "none": "bold black on grey85",
}
VERDICT_STYLE = {
    Verdict.PASS: "green",
    Verdict.WARN: "yellow",
    Verdict.FAIL: "bold red",
    Verdict.NOT_MEASURED: "dim",
    Verdict.NOT_APPLICABLE: "dim",
}
_VERDICT_RANK = {
    Verdict.FAIL: 0,
    Verdict.WARN: 1,
    Verdict.PASS: 2,
    Verdict.NOT_MEASURED: 3,
    Verdict.NOT_APPLICABLE: 4,
}
SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


DEFAULT_WIDTH = 100
"""Columns the plain-text report is laid out for (a TTY's own width when it is one)."""


def render_terminal(report: Report, *, color: bool = False, width: int | None = None) -> str:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=color,
        no_color=not color,
        color_system="truecolor" if color else None,
        width=width or DEFAULT_WIDTH,
        highlight=False,
        emoji=False,
        markup=False,
        soft_wrap=False,
        legacy_windows=False,
    )
    table_box = box.ROUNDED if color else box.ASCII2
    if report.mode == "compare":
        _compare(console, report, table_box)
    else:
        _single(console, report.clusters[0], table_box)
    return "\n".join(line.rstrip() for line in buffer.getvalue().split("\n"))


def _t(text: object, style: str = "", limit: int = 300) -> Text:
    return Text(one_line(str(text), limit), style=style)


def _para(console: Console, body: Text | str, prefix: str = "", style: str = "") -> None:
    """A paragraph wrapped to the console width, its continuation lines indented under its first word
    (a two-column grid: the prefix, then the text)."""
    text = body if isinstance(body, Text) else _t(body, style, limit=4000)
    if not prefix:
        console.print(text)
        return
    grid = Table.grid(padding=0)
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row(Text(prefix), text)
    console.print(grid)


def _heading(console: Console, title: str) -> None:
    console.print()
    console.print(Text(title, style="bold underline"))


def _single(console: Console, cluster: ClusterReport, table_box: box.Box) -> None:
    header = Text()
    header.append(f"{display_name(cluster)}  ", style="bold")
    header.append(f" {tier_word(cluster).upper()} ", style=TIER_STYLE[tier_key(cluster)])
    header.append(f"  score {cluster.score:.1f}/100  coverage {fmt_pct(cluster.coverage)}")
    console.print(header)
    for text in verdict_lines(cluster, reasons=5):
        stripped = text.lstrip()
        prefix = text[: len(text) - len(stripped)]
        if stripped.startswith(("- ", "* ")):
            prefix, stripped = prefix + stripped[:2], stripped[2:]
        _para(console, stripped, prefix, "yellow" if text.startswith("  - ") else "")
    counts = cluster.verdict_counts()
    console.print(
        _t(
            f"{counts['pass']} pass, {counts['warn']} warn, {counts['fail']} fail, "
            f"{counts['not_measured']} not measured, {counts['not_applicable']} not applicable"
        )
    )
    _findings(console, cluster)
    _heading(console, "Categories")
    categories = Table(box=table_box, show_edge=False, pad_edge=False)
    for column, justify in (
        ("category", "left"),
        ("score", "right"),
        ("weight", "right"),
        ("coverage", "right"),
        ("verdicts", "left"),
    ):
        categories.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    groups = {g.id: g for g in criteria_groups(cluster)}
    for cat in cluster.categories:
        group = groups.get(cat.id)
        categories.add_row(
            _t(cat.title),
            _t("—" if cat.score is None else f"{cat.score:.1f}"),
            _t(f"{cat.weight:g}"),
            _t(fmt_pct(cat.coverage)),
            _t(
                " · ".join(x for x in (group.counts, group.hidden_label) if x) if group else "no criteria",
                "dim",
            ),
        )
    console.print(categories)
    _heading(console, "Criteria measured or attested, by category")
    criteria = Table(box=table_box, show_edge=False, pad_edge=False)
    criteria.add_column("verdict", no_wrap=True)
    criteria.add_column("criterion", overflow="fold", ratio=3)
    criteria.add_column("observed", justify="right", overflow="fold", ratio=1)
    criteria.add_column("threshold", overflow="fold", ratio=2)
    for group in groups.values():
        if group.shown:
            criteria.add_row(Text(""), Text(group.title, style="bold"), Text(""), Text(""))
        for c in group.shown:
            title = _t(f"{c.id}  {c.title}")
            if c.attested:
                title.append(" [attested]", style="magenta")
            criteria.add_row(
                _t(VERDICT_LABEL[c.verdict], VERDICT_STYLE[c.verdict]),
                title,
                _t(fmt_value(c.observed, c.unit)),
                _t(c.threshold or "—"),
            )
    if criteria.row_count:
        console.print(criteria)
    else:
        console.print(_t("none: nothing was measured or attested", "dim"))
    sentence = unmeasured_sentence(cluster)
    if sentence:
        _para(console, f"{sentence}: the Markdown and HTML reports list them by category.", style="dim")
    _evidence(console, cluster)


def _findings(console: Console, cluster: ClusterReport) -> None:
    _heading(console, f"Findings ({len(cluster.findings)})")
    if not cluster.findings:
        console.print(_t("none: nothing measured failed or warned"))
        return
    grid = Table.grid(padding=(0, 1, 0, 0))
    grid.add_column(no_wrap=True, min_width=max(len(f.severity.value) for f in cluster.findings))
    grid.add_column(overflow="fold")
    for f in cluster.findings[:15]:
        body = Text()
        body.append(one_line(f.code, 80), style="bold")
        if f.hosts:
            more = f" +{len(f.hosts) - 5}" if len(f.hosts) > 5 else ""
            body.append(" on " + ", ".join(one_line(h, 60) for h in f.hosts[:5]) + more)
        body.append(": " + one_line(f.message, 1000))
        if f.remediation:
            body.append("\nfix: " + one_line(f.remediation, 1000), style="dim")
        grid.add_row(Text(f.severity.value.upper(), style=SEVERITY_STYLE[f.severity.value]), body)
    console.print(grid)
    if len(cluster.findings) > 15:
        console.print(Text(f"  ... and {len(cluster.findings) - 15} more in the full report"))


def _evidence(console: Console, cluster: ClusterReport) -> None:
    _heading(console, "Evidence")
    for metric in cluster.key_metrics:
        if not metric.id.startswith("nccl_") or metric.value is None:
            continue
        ref = (
            f" = {fmt_pct(metric.fraction_of_reference)} of {fmt_value(metric.reference, metric.unit)}"
            if metric.fraction_of_reference is not None and metric.reference is not None
            else ""
        )
        detail = f" ({metric.detail})" if metric.detail else ""
        _para(console, f"{metric.title}: {fmt_value(metric.value, metric.unit)}{ref}{detail}", "  ")
    ttfj = cluster.key_metric("ttfj_median")
    if ttfj is not None and ttfj.value is not None:
        _para(console, f"{ttfj.title}: {fmt_value(ttfj.value, ttfj.unit)} ({ttfj.detail})", "  ")
    bad_nodes = [
        (row.host, [cell.check for cell in row.cells if cell.status in ("fail", "warn")])
        for row in cluster.health.rows
    ]
    bad_nodes = [(host, checks) for host, checks in bad_nodes if checks]
    if cluster.health.rows:
        titles = {check.id: check.title for check in cluster.health.checks}
        healthy = len(cluster.health.rows) - len(bad_nodes)
        total = len(cluster.health.rows)
        _para(console, f"Node health: {healthy} of {total} node(s) without a fail or warn", "  ")
        for host, checks in bad_nodes[:10]:
            _para(console, f"{host}: {', '.join(titles[c] for c in checks)}", "    ", "yellow")
        if len(bad_nodes) > 10:
            _para(console, f"... and {len(bad_nodes) - 10} more in the full report", "    ")
    gaps = [i for i in cluster.coverage_items if i.kind != "criterion"]
    if gaps:
        _para(console, "Not measured:", "  ")
        for item in gaps[:10]:
            where = (
                f" on {len(item.hosts)} host(s)"
                if len(item.hosts) > 1
                else (f" on {item.hosts[0]}" if item.hosts else "")
            )
            _para(console, f"{item.subject}{where}: {item.reason} ({item.detail})", "    ")
        if len(gaps) > 10:
            _para(console, f"... and {len(gaps) - 10} more in the full report", "    ")
    m = cluster.meta
    prof = cluster.profile
    hardware = [
        prof.gpu_model or "GPU unknown",
        f"{prof.gpus_per_node} GPUs/node" if prof.gpus_per_node else None,
        prof.fabric,
        f"{prof.nic_count} x {prof.nic_rate_gbps:g} Gb/s" if prof.nic_count and prof.nic_rate_gbps else None,
    ]
    _para(console, f"Hardware ({prof.source}): " + ", ".join(h for h in hardware if h), "  ")
    nccl = next((p for p in m.probe_params if p.probe == "nccl_allreduce" and "iters" in p.params), None)
    if nccl is not None:
        shown = (
            "min_bytes",
            "max_bytes",
            "step_factor",
            "iters",
            "warmup_iters",
            "repetitions",
            "node_counts",
        )
        params = " ".join(f"{k}={fmt_param(nccl.params[k])}" for k in shown if k in nccl.params)
        _para(console, f"nccl_allreduce ran with {params}", "  ")
    _para(
        console,
        f"rubric {m.rubric_id} {m.rubric_version} (sha256 {m.rubric_sha256[:12]}), "
        f"{len(m.hosts)} host(s), bundle {m.kind} by clustermax {m.tool_version}",
        style="dim",
    )


def verdict_lines(cluster: ClusterReport, *, reasons: int = 3, actions: int = 6) -> list[str]:
    """The verdict sentence, the tier range, the most important reasons and the advice (plain lines)."""
    lines = [
        cluster.summary,
        f"tier range: {tier_range(cluster)} (floor {TIER_LABEL[cluster.tier_floor.value]}, ceiling "
        f"{TIER_LABEL[cluster.tier_ceiling.value]}); score {cluster.score:.1f} on what was measured, "
        f"{cluster.score_floor:.1f} to {cluster.score_ceiling:.1f} over the whole rubric",
    ]
    if cluster.held_down_by:
        lines.append("held down by:")
        lines += [f"  - {s.text}" for s in cluster.held_down_by[:reasons]]
        if len(cluster.held_down_by) > reasons:
            lines.append(f"  ... and {len(cluster.held_down_by) - reasons} more in the full report")
    advice = cluster.advice
    if advice.target is not None and advice.text:
        if not advice.reachable or not advice.actions:
            lines.append(advice.text)
        else:
            lines.append(advice.headline.split(": ", 1)[0] + ":")
            lines += [f"  * {a.text}" for a in advice.actions[:actions]]
            if len(advice.actions) > actions:
                lines.append(f"  * ... and {len(advice.actions) - actions} more (clustermax score --advise)")
    return lines


def _compare(console: Console, report: Report, table_box: box.Box) -> None:
    width = console.width
    # room left for the names once the other columns (and their " | " separators) are laid out
    fixed = len(str(len(report.clusters))) + max(len(tier_word(c)) for c in report.clusters) + 5 + 8 + 4 * 3
    names, legend = distinct_names([display_name(c) for c in report.clusters], max(18, width - fixed))
    console.print(Text(f"Leaderboard ({len(report.clusters)} clusters)", style="bold underline"))
    board = Table(box=table_box, show_edge=False, pad_edge=False)
    for column, justify in (
        ("#", "right"),
        ("provider / cluster", "left"),
        ("tier", "left"),
        ("score", "right"),
        ("coverage", "right"),
    ):
        board.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for rank, (cluster, name) in enumerate(zip(report.clusters, names, strict=True), start=1):
        board.add_row(
            _t(rank),
            _t(name),
            _t(tier_word(cluster), TIER_STYLE[tier_key(cluster)]),
            _t(f"{cluster.score:.1f}"),
            _t(fmt_pct(cluster.coverage)),
        )
    console.print(board)
    if legend:
        _para(console, legend, style="dim")
    _para(console, LEADERBOARD_ORDER, style="dim")
    for rank, (cluster, name) in enumerate(zip(report.clusters, names, strict=True), start=1):
        _para(console, f"{name}: {cluster.summary}", f"{rank}. ")
    frame = key_metrics_frame(report)
    columns = [c for c in KEY_METRIC_COLUMNS if c in frame.columns and not c.endswith("_ref_frac")]
    _heading(console, "Key metrics (one column per cluster, numbered as in the leaderboard)")
    metrics = Table(box=table_box, show_edge=False, pad_edge=False)
    metrics.add_column("metric", overflow="fold")
    for rank in range(1, len(report.clusters) + 1):
        metrics.add_column(f"#{rank}", justify="right", overflow="fold")
    for column in columns:
        metrics.add_row(
            _t(KEY_METRIC_COLUMNS[column][0]),
            *[_t(format_key_metric(column, frame.iloc[i][column])) for i in range(len(report.clusters))],
        )
    console.print(metrics)

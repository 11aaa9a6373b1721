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
    display_name,
    format_key_metric,
    key_metrics_frame,
    tier_key,
    tier_range,
    tier_word,
)
from .text import fmt_pct, fmt_value, one_line

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


def render_terminal(report: Report, *, color: bool = False, width: int | None = None) -> str:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=color,
        no_color=not color,
        color_system="truecolor" if color else None,
        width=width or 110,
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
    return buffer.getvalue()


def _t(text: object, style: str = "") -> Text:
    return Text(one_line(str(text), 300), style=style)


def _single(console: Console, cluster: ClusterReport, table_box: box.Box) -> None:
    header = Text()
    header.append(f"{display_name(cluster)}  ", style="bold")
    header.append(f" {tier_word(cluster).upper()} ", style=TIER_STYLE[tier_key(cluster)])
    header.append(f"  score {cluster.score:.1f}/100  coverage {fmt_pct(cluster.coverage)}")
    console.print(header)
    for text in verdict_lines(cluster, reasons=5):
        indent = len(text) - len(text.lstrip())
        style = "yellow" if text.startswith("  - ") else ""
        console.print(Text(" " * indent) + _t(text.strip(), style))
    counts = cluster.verdict_counts()
    console.print(
        _t(
            f"{counts['pass']} pass, {counts['warn']} warn, {counts['fail']} fail, "
            f"{counts['not_measured']} not measured, {counts['not_applicable']} not applicable"
        )
    )
    categories = Table(title="Categories", box=table_box, title_justify="left")
    for column, justify in (
        ("category", "left"),
        ("score", "right"),
        ("weight", "right"),
        ("coverage", "right"),
    ):
        categories.add_column(column, justify=justify)  # type: ignore[arg-type]
    for cat in cluster.categories:
        categories.add_row(
            _t(cat.title),
            _t("—" if cat.score is None else f"{cat.score:.1f}"),
            _t(f"{cat.weight:g}"),
            _t(fmt_pct(cat.coverage)),
        )
    console.print(categories)
    criteria = Table(title="Criteria measured or attested", box=table_box, title_justify="left")
    criteria.add_column("verdict")
    criteria.add_column("criterion")
    criteria.add_column("observed", justify="right")
    criteria.add_column("threshold")
    shown = [c for c in cluster.criteria if c.verdict in (Verdict.PASS, Verdict.WARN, Verdict.FAIL)]
    shown.sort(key=lambda c: (_VERDICT_RANK[c.verdict], c.category, c.id))
    for c in shown:
        title = _t(f"{c.id}  {c.title}")
        if c.attested:
            title.append(" [attested]", style="magenta")
        criteria.add_row(
            _t(VERDICT_LABEL[c.verdict], VERDICT_STYLE[c.verdict]),
            title,
            _t(fmt_value(c.observed, c.unit)),
            _t(c.threshold or "—"),
        )
    console.print(criteria)
    hidden = len(cluster.criteria) - len(shown)
    if hidden:
        console.print(
            _t(
                f"{hidden} criteria not measured or not applicable: see the full report (coverage section)",
                "dim",
            )
        )
    if cluster.findings:
        console.print(Text("Findings", style="bold"))
        for f in cluster.findings[:15]:
            line = Text("  ")
            line.append(f"{f.severity.value.upper():9}", style=SEVERITY_STYLE[f.severity.value])
            line.append(one_line(f.code, 60) + "  ", style="bold")
            if f.hosts:
                more = f" +{len(f.hosts) - 5}" if len(f.hosts) > 5 else ""
                line.append("[" + ", ".join(one_line(h, 60) for h in f.hosts[:5]) + more + "] ")
            line.append(one_line(f.message, 300))
            console.print(line)
            if f.remediation:
                console.print(Text("           fix: ") + _t(f.remediation, "dim"))
        if len(cluster.findings) > 15:
            console.print(Text(f"  ... and {len(cluster.findings) - 15} more in the full report"))
    gaps = [i for i in cluster.coverage_items if i.kind != "criterion"]
    if gaps:
        console.print(Text("Not measured", style="bold"))
        for item in gaps[:10]:
            where = (
                f" on {len(item.hosts)} host(s)"
                if len(item.hosts) > 1
                else (f" on {item.hosts[0]}" if item.hosts else "")
            )
            console.print(Text("  ") + _t(f"{item.subject}{where}: {item.reason} ({item.detail})"))
        if len(gaps) > 10:
            console.print(Text(f"  ... and {len(gaps) - 10} more in the full report"))
    m = cluster.meta
    console.print(
        _t(
            f"rubric {m.rubric_id} {m.rubric_version} (sha256 {m.rubric_sha256[:12]}), "
            f"{len(m.hosts)} host(s), bundle {m.kind} by clustermax {m.tool_version}",
            "dim",
        )
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
    board = Table(title=f"Leaderboard ({len(report.clusters)} clusters)", box=table_box, title_justify="left")
    for column, justify in (
        ("#", "right"),
        ("provider", "left"),
        ("tier", "left"),
        ("range", "left"),
        ("score", "right"),
        ("coverage", "right"),
    ):
        board.add_column(column, justify=justify)  # type: ignore[arg-type]
    for rank, cluster in enumerate(report.clusters, start=1):
        board.add_row(
            _t(rank),
            _t(display_name(cluster)),
            _t(tier_word(cluster), TIER_STYLE[tier_key(cluster)]),
            _t(tier_range(cluster)),
            _t(f"{cluster.score:.1f}"),
            _t(fmt_pct(cluster.coverage)),
        )
    console.print(board)
    console.print(_t(LEADERBOARD_ORDER, "dim"))
    for rank, cluster in enumerate(report.clusters, start=1):
        console.print(_t(f"{rank}. {display_name(cluster)}: {cluster.summary}"))
    frame = key_metrics_frame(report)
    columns = [c for c in KEY_METRIC_COLUMNS if c in frame.columns and not c.endswith("_ref_frac")]
    metrics = Table(title="Key metrics", box=table_box, title_justify="left")
    metrics.add_column("provider")
    for column in columns:
        metrics.add_column(KEY_METRIC_COLUMNS[column][0], justify="right")
    for provider, row in frame.iterrows():
        metrics.add_row(_t(provider), *[_t(format_key_metric(c, row[c])) for c in columns])
    console.print(metrics)

"""GitHub-flavoured Markdown, fit for a CI step summary or a pull-request comment."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..models.score import CriterionResult, Verdict
from ..sanitize import md
from .build import BAND_HIGH, BAND_LOW, LEADERBOARD_ORDER, median_curve
from .charts import curve_label, overlap_notes
from .model import ClusterReport, HealthMatrix, Report
from .tables import (
    KEY_METRIC_COLUMNS,
    TIER_LABEL,
    VERDICT_LABEL,
    category_matrix,
    criteria_groups,
    display_name,
    format_key_metric,
    key_metrics_frame,
    leaderboard_frame,
    sweep_text,
    tier_range,
    tier_word,
    unmeasured_sentence,
)
from .text import fmt_duration, fmt_param, fmt_pct, fmt_size, fmt_value, one_line

VERDICT_ICON = {
    Verdict.PASS: "✅",
    Verdict.WARN: "⚠️",
    Verdict.FAIL: "❌",
    Verdict.NOT_MEASURED: "➖",
    Verdict.NOT_APPLICABLE: "▫️",
}
HEALTH_ICON = {"pass": "✅", "warn": "⚠️", "fail": "❌", "unknown": "❔", "n/a": "▫️"}


def esc(text: object, limit: int = 400) -> str:
    """Inline-safe Markdown (the shared sanitiser's :func:`clustermax.sanitize.md`)."""
    return md(text, limit)


def table(header: Sequence[str], rows: Sequence[Sequence[str]], align: Sequence[str] | None = None) -> str:
    """A GFM table; cells must already be escaped."""
    if not rows:
        return "_none_\n"
    marks = align or ["---"] * len(header)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(marks) + " |"]
    lines += ["| " + " | ".join(cell if cell else " " for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def render_markdown(report: Report) -> str:
    if report.mode == "compare":
        return _compare(report)
    return _single(report.clusters[0], redacted=report.redacted, generated_by=report.generated_by)


def _tier_line(cluster: ClusterReport) -> str:
    if not cluster.rated:
        head = f"**Not rated**: {esc(cluster.summary.removeprefix('Not rated: '), 600)}"
    elif cluster.summary == tier_word(cluster):
        head = f"**Tier: {tier_word(cluster)}**"
    else:
        head = f"**Tier: {tier_word(cluster)}** · {esc(cluster.summary, 600)}"
    coverage = fmt_pct(cluster.coverage)
    return f"{head} · score **{cluster.score:.1f}**/100 on what was measured · coverage {coverage}"


def verdict_block(cluster: ClusterReport) -> str:
    """The tier range, the reasons and the advice, in Markdown."""
    out = [
        f"Tier range: **{tier_range(cluster)}** (floor {TIER_LABEL[cluster.tier_floor.value]}, ceiling "
        f"{TIER_LABEL[cluster.tier_ceiling.value]}); score {cluster.score_floor:.1f} to "
        f"{cluster.score_ceiling:.1f} over the whole rubric.\n"
    ]
    if cluster.held_down_by:
        out.append("Held down by:\n")
        out += [f"- {esc(s.text, 600)}" for s in cluster.held_down_by]
        out.append("")
    advice = cluster.advice
    if advice.target is not None and advice.text:
        if not advice.reachable or not advice.actions:
            out.append(esc(advice.text, 600) + "\n")
        else:
            out.append(f"**To reach {TIER_LABEL[advice.target.value]}:**\n")
            out += [f"- {esc(a.text, 800)}" for a in advice.actions]
            if not advice.minimal:
                out.append("- _(the search stopped at its step bound: a smaller set may exist)_")
            out.append("")
    return "\n".join(out)


MD_TOC = (
    "**Contents:** [Findings](#findings) · [Categories](#categories) · [Criteria](#criteria) · "
    "[Evidence](#evidence): [NCCL bus bandwidth](#nccl-bus-bandwidth), [Node health](#node-health), "
    "[Time to first job](#time-to-first-job), [Coverage](#coverage), "
    "[Run and parameters](#run-and-parameters)"
)


def _criterion_cell(c: CriterionResult) -> str:
    return f"**{esc(c.id)}** {esc(c.title)}" + (" 🖊️ _attested_" if c.attested else "")


def _criteria(cluster: ClusterReport) -> list[str]:
    """Criteria by category: what has a verdict in a table (failing first); the rest folded."""
    out = ["## Criteria\n"]
    for group in criteria_groups(cluster):
        out.append(f"### {esc(group.title)}\n")
        if group.counts:
            out.append(f"{group.counts}\n")
        if group.shown:
            out.append(
                table(
                    ["", "Criterion", "Verdict", "Observed", "Threshold", "Threshold source"],
                    [
                        [
                            VERDICT_ICON[c.verdict],
                            _criterion_cell(c),
                            VERDICT_LABEL[c.verdict],
                            esc(fmt_value(c.observed, c.unit), 120),
                            esc(c.threshold or "—", 160),
                            esc(c.reference_source or "—", 160),
                        ]
                        for c in group.shown
                    ],
                )
            )
        if group.hidden:
            out.append(f"<details><summary>{group.hidden_label}</summary>\n")
            out.append(
                table(
                    ["", "Criterion", "Verdict", "Why"],
                    [
                        [
                            VERDICT_ICON[c.verdict],
                            _criterion_cell(c),
                            VERDICT_LABEL[c.verdict],
                            esc(c.explanation, 240),
                        ]
                        for c in group.hidden
                    ],
                )
            )
            out.append("</details>\n")
    attested = [c for c in cluster.criteria if c.attested]
    if attested:
        out.append("🖊️ _Attested_: the verdict comes from a signed-off attestation, not from a measurement.\n")
        for c in attested:
            links = ", ".join(f"<{e}>" if _is_http(e) else esc(e) for e in c.evidence) or "no evidence link"
            out.append(f"- **{esc(c.id)}**: {links}")
        out.append("")
    return out


def _findings(cluster: ClusterReport) -> list[str]:
    out = ["## Findings\n"]
    if not cluster.findings:
        out.append("No findings: nothing measured failed or warned.\n")
    for f in cluster.findings:
        hosts = (
            f" — {', '.join(esc(h) for h in f.hosts[:12])}"
            + (f" and {len(f.hosts) - 12} more" if len(f.hosts) > 12 else "")
            if f.hosts
            else ""
        )
        out.append(f"- **{f.severity.value.upper()}** `{_code(f.code)}`{hosts}: {esc(f.message)}")
        if f.remediation:
            out.append(f"  - Fix: {esc(f.remediation)}")
    out.append("")
    return out


def _single(cluster: ClusterReport, *, redacted: bool, generated_by: str) -> str:
    out: list[str] = [
        f"# clustermax report: {esc(display_name(cluster))}\n",
        _tier_line(cluster) + "\n",
        verdict_block(cluster),
    ]
    counts = cluster.verdict_counts()
    out.append(
        f"{counts['pass']} pass · {counts['warn']} warn · {counts['fail']} fail · "
        f"{counts['not_measured']} not measured · {counts['not_applicable']} not applicable"
        + (" · _redacted_" if redacted else "")
        + "\n"
    )
    out.append(MD_TOC + "\n")
    out += _findings(cluster)
    out.append("## Categories\n")
    out.append(
        table(
            ["Category", "Score", "Weight", "Coverage"],
            [
                [
                    esc(c.title),
                    "—" if c.score is None else f"{c.score:.1f}",
                    f"{c.weight:g}",
                    fmt_pct(c.coverage),
                ]
                for c in cluster.categories
            ],
            ["---", "---:", "---:", "---:"],
        )
    )
    out += _criteria(cluster)
    out.append("## Evidence\n")
    out.append(_nccl(cluster))
    out.append(_health(cluster.health))
    out.append(_ttfj(cluster))
    out.append("### Coverage\n")
    sentence = unmeasured_sentence(cluster)
    out.append(
        f"{fmt_pct(cluster.coverage)} of the rubric's weight was measured or attested."
        + (f" {sentence} (folded under each category in [Criteria](#criteria))." if sentence else "")
        + "\n"
    )
    rows = [i for i in cluster.coverage_items if i.kind != "criterion"]
    if rows:
        out.append(
            table(
                ["What", "Kind", "Reason", "Hosts", "Detail"],
                [
                    [esc(i.subject), i.kind, i.reason, esc(", ".join(i.hosts), 200), esc(i.detail, 240)]
                    for i in rows
                ],
            )
        )
    out.append(_meta(cluster, generated_by))
    return "\n".join(out).rstrip() + "\n"


def _code(code: str) -> str:
    return one_line(code, 80).replace("`", "'")


def _is_http(url: str) -> bool:
    return bool(re.match(r"https?://[^\s<>\"]+$", url))


def _health(health: HealthMatrix) -> str:
    out = ["### Node health\n"]
    if health.healthy_summary:
        out.append(f"{esc(health.healthy_summary, 100_000)}\n")
        if not health.rows:
            return "\n".join(out)
        out.append("The others:\n")
    if not health.rows:
        return "\n".join([*out, "No node-level health data.\n"])
    notes: dict[str, int] = {}
    rows = []
    for row in health.rows:
        cells = [esc(row.host)]
        for cell in row.cells:
            text = HEALTH_ICON[cell.status]
            if cell.status != "pass" and cell.reason:
                number = notes.setdefault(cell.reason, len(notes) + 1)
                text += f" [{number}]"
            cells.append(text)
        rows.append(cells)
    out.append(table(["Node", *[esc(c.title) for c in health.checks]], rows))
    if notes:
        out.append("Notes:\n")
        out += [f"{n}. {esc(reason, 300)}" for reason, n in notes.items()]
        out.append("")
    out.append("✅ pass · ⚠️ warn · ❌ fail · ❔ unknown · ▫️ not applicable\n")
    return "\n".join(out)


def _nccl(cluster: ClusterReport) -> str:
    out = ["### NCCL bus bandwidth\n"]
    if not cluster.curves:
        return "\n".join([*out, "No NCCL measurements.\n"])
    for ref in cluster.references:
        out.append(f"Reference ({esc(ref.scope)}-node): **{ref.busbw_gbps:g} GB/s** — {esc(ref.label)}")
        if ref.source:
            out[-1] += f" (source: {esc(ref.source)})"
    out.append("")
    configs: dict[str, list[int]] = {}
    for i, curve in enumerate(cluster.curves):
        configs.setdefault(curve.config, []).append(i)
    for config, indexes in configs.items():
        curves = [cluster.curves[i] for i in indexes]
        sizes = sorted({p.size_bytes for c in curves for p in c.points})
        header = ["Size", *[f"run {esc(c.run or '?')}" for c in curves], "median"]
        median = {p.size_bytes: p.busbw_gbps for p in median_curve(curves)}
        rows = []
        for size in sizes:
            band = " ◂" if BAND_LOW <= size <= BAND_HIGH else ""
            row = [fmt_size(size) + band]
            for c in curves:
                value = next((p.busbw_gbps for p in c.points if p.size_bytes == size), None)
                row.append("—" if value is None else f"{value:.1f}")
            row.append(f"{median[size]:.1f}")
            rows.append(row)
        out.append(f"{esc(config)}: {sweep_text(curves)}.\n")
        named = [(curve_label(c), c.points) for c in curves]
        out += [esc(note, 400) + "\n" for note in overlap_notes(named)]
        out.append(f"<details><summary>{esc(config)}: busbw (GB/s) by message size</summary>\n")
        out.append(table(header, rows, ["---", *["---:"] * (len(header) - 1)]))
        out.append("◂ inside the 16-512 MiB band.\n\n</details>\n")
    return "\n".join(out)


def _ttfj(cluster: ClusterReport) -> str:
    out = ["### Time to first job\n"]
    if not cluster.ttfj:
        return "\n".join([*out, "Not measured.\n"])
    out.append(
        table(
            ["Kind", "Run", "Seconds"],
            [[s.kind, esc(s.run or "—"), f"{s.seconds:.2f}"] for s in cluster.ttfj],
            ["---", "---", "---:"],
        )
    )
    return "\n".join(out)


def _meta(cluster: ClusterReport, generated_by: str) -> str:
    m = cluster.meta
    rows = [
        [
            "Bundle",
            f"{m.kind}, {'complete' if m.complete else 'incomplete'}, sha256 `{m.bundle_sha256[:16]}…`",
        ],
        ["Tool", esc(f"clustermax {m.tool_version} (Python {m.python}, {m.platform})")],
        ["Rubric", f"{esc(m.rubric_id)} {esc(m.rubric_version)}, sha256 `{m.rubric_sha256[:16]}…`"],
        ["When", f"{m.started_at.isoformat()} for {fmt_duration(m.duration_s)}"],
        ["From", esc(m.run_from or "unknown")],
        ["Hosts", f"{len(m.hosts)} ({m.hosts_ok} reachable): " + esc(", ".join(m.hosts), 600)],
        [
            "Commands",
            str(m.commands) + (f", {m.imported_files} imported file(s)" if m.imported_files else ""),
        ],
        ["Platform", esc(cluster.platform)],
        ["Hardware", esc(_profile(cluster))],
        ["Report", esc(generated_by)],
    ]
    if m.command:
        rows.insert(2, ["Command", f"`{_code(m.command)}`"])
    text = "### Run and parameters\n\n" + table(["", ""], rows)
    if m.probe_params:
        text += "\nProbe parameters, as recorded in the bundle:\n\n" + table(
            ["Probe", "Hosts", "Parameters"],
            [
                [
                    f"`{_code(p.probe)}`",
                    esc(
                        ", ".join(p.hosts[:12])
                        + (f" and {len(p.hosts) - 12} more" if len(p.hosts) > 12 else ""),
                        400,
                    )
                    if p.hosts
                    else "cluster",
                    " ".join(f"`{_code(f'{k}={fmt_param(v)}')}`" for k, v in p.params.items()),
                ]
                for p in m.probe_params
            ],
        )
    return text


def _hosts(hosts: list[str], shown: int = 12) -> str:
    if not hosts:
        return "cluster"
    more = f" and {len(hosts) - shown} more" if len(hosts) > shown else ""
    return esc(", ".join(hosts[:shown]) + more, 400)


def _profile(cluster: ClusterReport) -> str:
    p = cluster.profile
    parts = [
        p.gpu_model or "GPU unknown",
        f"{p.gpus_per_node} GPUs/node" if p.gpus_per_node else None,
        p.fabric,
        f"{p.nic_count}x{p.nic_rate_gbps:g} Gb/s" if p.nic_count and p.nic_rate_gbps else None,
        f"({p.source})",
    ]
    return " ".join(x for x in parts if x)


def _compare(report: Report) -> str:
    out = [f"# clustermax comparison: {len(report.clusters)} clusters\n"]
    if report.redacted:
        out.append("_Host names, addresses and user names are redacted._\n")
    board = leaderboard_frame(report)
    out.append("## Leaderboard\n")
    out.append(
        table(
            ["#", "Provider", "Tier", "Range", "Score", "Coverage", "Pass", "Warn", "Fail", "Not measured"],
            [
                [
                    str(rank),
                    esc(row["provider"]),
                    f"**{row['tier']}**",
                    esc(row["range"]),
                    f"{row['score']:.1f}",
                    fmt_pct(row["coverage"]),
                    str(row["pass"]),
                    str(row["warn"]),
                    str(row["fail"]),
                    str(row["not measured"]),
                ]
                for rank, row in board.iterrows()
            ],
            ["---:", "---", "---", "---", "---:", "---:", "---:", "---:", "---:", "---:"],
        )
    )
    out.append(f"_{LEADERBOARD_ORDER}_\n")
    out += [
        f"{rank}. **{esc(display_name(c))}**: {esc(c.summary, 600)}."
        + (f" {esc(c.advice.headline, 600)}." if c.advice.headline else "")
        for rank, c in enumerate(report.clusters, start=1)
    ]
    out.append("")
    matrix = category_matrix(report)
    out.append("## Categories\n")
    if not matrix.empty:
        out.append(
            table(
                ["Category", *[esc(c) for c in matrix.columns]],
                [
                    [esc(index), *["—" if v != v else f"{v:.0f}" for v in row]]
                    for index, row in zip(matrix.index, matrix.itertuples(index=False), strict=True)
                ],
                ["---", *["---:"] * len(matrix.columns)],
            )
        )
    metrics = key_metrics_frame(report)
    columns = [c for c in KEY_METRIC_COLUMNS if c in metrics.columns]
    out.append("## Key metrics\n")
    out.append(
        table(
            ["Provider", *[KEY_METRIC_COLUMNS[c][0] for c in columns]],
            [
                [esc(provider), *[format_key_metric(c, row[c]) for c in columns]]
                for provider, row in metrics.iterrows()
            ],
            ["---", *["---:"] * len(columns)],
        )
    )
    out.append('Busbw is all-reduce, out of place; "/ ref" is the fraction of the hardware reference.\n')
    out.append(f"_Rendered by {esc(report.generated_by)}._\n")
    return "\n".join(out)

"""Render a :class:`~clustermax.diff.model.DiffResult`: terminal, Markdown, self-contained HTML, JSON.

Every string that came from a bundle (cluster, host and probe names, messages, values) passes through the
sanitiser: :func:`~clustermax.sanitize.term` for terminal lines, :func:`~clustermax.sanitize.md` for
Markdown, :func:`~clustermax.sanitize.clean_tree` plus Jinja2 autoescaping for HTML.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..models.score import TIER_LABEL
from ..sanitize import clean_tree, md, term
from .compute import verdict_word
from .model import DiffResult, Side

_ARROW = "->"


def _range(side: Side) -> str:
    word = TIER_LABEL[side.tier] if side.rated and side.tier is not None else "Not rated"
    floor, ceiling = TIER_LABEL[side.tier_floor], TIER_LABEL[side.tier_ceiling]
    span = floor if floor == ceiling else f"{floor} to {ceiling}"
    return f"{word} ({span})"


def _when(side: Side) -> str:
    return side.started_at.strftime("%Y-%m-%d %H:%M UTC")


def _who(side: Side) -> str:
    return side.cluster + (f" ({side.provider})" if side.provider else "")


def tier_line(d: DiffResult) -> str:
    trail = f": {d.tier_direction}" if d.tier_direction else ": unchanged"
    return f"Tier: {_range(d.old)} {_ARROW} {_range(d.new)}{trail}"


def terminal(d: DiffResult) -> str:
    """The diff as terminal text, one safe line per item."""
    t = term
    lines: list[str] = []
    names = t(_who(d.old)) if _who(d.old) == _who(d.new) else f"{t(_who(d.old))} {_ARROW} {t(_who(d.new))}"
    lines.append(f"clustermax diff: {names}")
    for label, side in (("old", d.old), ("new", d.new)):
        lines.append(
            f"  {label}  {_when(side)}  {side.kind}  {side.hosts} host(s)  evidence {side.bundle_sha256[:12]}"
        )
    for w in d.warnings:
        lines.append(f"warning: {t(w)}")
    lines.append(tier_line(d))
    lines.append(f"  old: {t(d.old.summary, 600)}")
    lines.append(f"  new: {t(d.new.summary, 600)}")
    lines.append(
        f"Score {d.old.score:.1f} {_ARROW} {d.new.score:.1f}, coverage {d.old.coverage * 100:.0f}% {_ARROW} "
        f"{d.new.coverage * 100:.0f}% (rubric {t(d.new.rubric)})"
    )
    if d.criteria:
        lines.append(f"Criteria ({len(d.criteria)} changed):")
        for c in d.criteria:
            on = f" on {t(', '.join(c.hosts), 300)}" if c.hosts else ""
            lines.append(
                f"  {c.direction:<7}  {t(c.id)}: "
                f"{verdict_word(c.before)} {_ARROW} {verdict_word(c.after)}{on}"
                f"  ({t(c.title, 200)})"
            )
    else:
        lines.append("Criteria: no verdict changed")
    cluster_metrics = [m for m in d.metrics if m.host is None]
    if cluster_metrics:
        lines.append(f"Metrics beyond their tolerance ({len(cluster_metrics)}, cluster-wide):")
        for m in cluster_metrics:
            lines.append(f"  {m.direction:<7}  {t(m.text, 600)}")
    else:
        lines.append("Metrics: no cluster-wide value moved beyond its tolerance")
    if d.nodes or d.nodes_added or d.nodes_gone:
        lines.append("Nodes:")
        for n in d.nodes:
            lines.append(f"  {t(n.host, 120)}: {t('; '.join(n.changes), 6000)}")
        if d.nodes_added:
            lines.append(f"  added: {t(', '.join(d.nodes_added), 600)}")
        if d.nodes_gone:
            lines.append(f"  gone: {t(', '.join(d.nodes_gone), 600)}")
    else:
        lines.append("Nodes: no change")
    if d.probes:
        lines.append(f"Probes ({len(d.probes)} changed):")
        for p in d.probes:
            before, after = p.before or "absent", p.after or "absent"
            msg = f": {t(p.message, 400)}" if p.message and (p.after or "ok") != "ok" else ""
            lines.append(f"  {t(p.probe_id, 60)} on {t(p.host, 120)}: {before} {_ARROW} {after}{msg}")
    appeared = [f for f in d.findings if f.change == "appeared"]
    resolved = [f for f in d.findings if f.change == "resolved"]
    lines.append(f"Findings: {len(appeared)} appeared, {len(resolved)} resolved")
    for f in d.findings:
        where = t(f.host, 120) if f.host else "cluster"
        lines.append(f"  {f.change:<8}  {f.severity:<8}  {where}  {t(f.code, 80)}: {t(f.message, 400)}")
    if d.regressions:
        lines.append(f"Regressions ({len(d.regressions)}):")
        lines += [f"  - {t(r, 800)}" for r in d.regressions]
    else:
        lines.append("Regressions: none")
    if d.evidence_lost:
        lines.append(f"No longer measured ({len(d.evidence_lost)}; unknown, not counted as regressions):")
        lines += [f"  - {t(r, 800)}" for r in d.evidence_lost]
    return "\n".join(lines) + "\n"


def _cell(text: Any) -> str:
    return md(text, 600)


def markdown(d: DiffResult) -> str:
    """The diff as Markdown (GitHub-flavoured tables); every remote string escaped."""
    out: list[str] = []
    names = md(_who(d.old)) if _who(d.old) == _who(d.new) else f"{md(_who(d.old))} → {md(_who(d.new))}"
    out.append(f"# clustermax diff: {names}\n")
    out.append("| | started | kind | hosts | evidence | tier | score | coverage |")
    out.append("|---|---|---|---|---|---|---|---|")
    for label, s in (("old", d.old), ("new", d.new)):
        out.append(
            f"| {label} | {_when(s)} | {s.kind} | {s.hosts} | `{s.bundle_sha256[:12]}` | {_range(s)} | "
            f"{s.score:.1f} | {s.coverage * 100:.0f}% |"
        )
    out.append("")
    for w in d.warnings:
        out.append(f"> **Warning:** {md(w)}\n")
    trail = d.tier_direction or "unchanged"
    out.append(f"**Tier: {md(_range(d.old))} → {md(_range(d.new))}: {trail}**\n")
    out.append(f"- old: {md(d.old.summary, 600)}")
    out.append(f"- new: {md(d.new.summary, 600)}\n")
    out.append("## Criteria\n")
    if d.criteria:
        out.append("| change | criterion | before | after | title |")
        out.append("|---|---|---|---|---|")
        for c in d.criteria:
            out.append(
                f"| {c.direction} | {_cell(c.id)} | {verdict_word(c.before)} | {verdict_word(c.after)} | "
                f"{_cell(c.title)} |"
            )
    else:
        out.append("No verdict changed.")
    out.append("\n## Metrics\n")
    if d.metrics:
        out.append("| change | where | metric | before | after | tolerance |")
        out.append("|---|---|---|---|---|---|")
        from .compute import _labels_text, value_text

        for m in d.metrics:
            tol = m.tolerance_source if m.tolerance is None else f"{m.tolerance:g} ({m.tolerance_source})"
            out.append(
                f"| {m.direction} | {_cell(m.host or 'cluster')} | "
                f"{_cell(m.metric + _labels_text(m.labels))} | {_cell(value_text(m.before, m.unit))} | "
                f"{_cell(value_text(m.after, m.unit))} | {_cell(tol)} |"
            )
    else:
        out.append("No value moved beyond its tolerance.")
    out.append("\n## Nodes\n")
    if d.nodes or d.nodes_added or d.nodes_gone:
        for n in d.nodes:
            out.append(f"- **{md(n.host)}**: {md('; '.join(n.changes), 1500)}")
        if d.nodes_added:
            out.append(f"- added: {md(', '.join(d.nodes_added), 600)}")
        if d.nodes_gone:
            out.append(f"- gone: {md(', '.join(d.nodes_gone), 600)}")
    else:
        out.append("No node changed.")
    if d.probes:
        out.append("\n## Probes\n")
        out.append("| probe | host | before | after | message |")
        out.append("|---|---|---|---|---|")
        for p in d.probes:
            out.append(
                f"| {_cell(p.probe_id)} | {_cell(p.host)} | {p.before or 'absent'} | {p.after or 'absent'} | "
                f"{_cell(p.message)} |"
            )
    out.append("\n## Findings\n")
    if d.findings:
        out.append("| change | severity | host | code | message |")
        out.append("|---|---|---|---|---|")
        for f in d.findings:
            out.append(
                f"| {f.change} | {f.severity} | {_cell(f.host or 'cluster')} | {_cell(f.code)} | "
                f"{_cell(f.message)} |"
            )
    else:
        out.append("No finding appeared or was resolved.")
    out.append("\n## Regressions\n")
    out += [f"- {md(r, 800)}" for r in d.regressions] or ["None."]
    if d.evidence_lost:
        out.append("\n## No longer measured\n")
        out.append("Unknown, not counted as regressions:\n")
        out += [f"- {md(r, 800)}" for r in d.evidence_lost]
    return "\n".join(out) + "\n"


def as_json(d: DiffResult) -> str:
    data = clean_tree(d.model_dump(mode="json"))
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


_TEMPLATE = Path(__file__).with_name("templates") / "diff.html.j2"


def html(d: DiffResult) -> str:
    """A self-contained HTML page (no script, no external request); Jinja2 autoescaping on cleaned text."""
    import jinja2

    from .compute import _labels_text, value_text

    clean = DiffResult.model_validate(clean_tree(d.model_dump(mode="json")))
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    sides = [
        (
            label,
            {
                "when": _when(s),
                "kind": s.kind,
                "hosts": s.hosts,
                "sha": s.bundle_sha256[:12],
                "range": _range(s),
                "score": f"{s.score:.1f}",
                "coverage": f"{s.coverage * 100:.0f}%",
            },
        )
        for label, s in (("old", clean.old), ("new", clean.new))
    ]
    metrics = [
        {
            "direction": m.direction,
            "where": m.host or "cluster",
            "name": m.metric + _labels_text(m.labels),
            "before": value_text(m.before, m.unit),
            "after": value_text(m.after, m.unit),
            "tolerance": m.tolerance_source
            if m.tolerance is None
            else f"{m.tolerance:g} ({m.tolerance_source})",
        }
        for m in clean.metrics
    ]
    title = (
        _who(clean.old) if _who(clean.old) == _who(clean.new) else f"{_who(clean.old)} → {_who(clean.new)}"
    )
    words = {
        v: verdict_word(v) for v in {c.before for c in clean.criteria} | {c.after for c in clean.criteria}
    }
    return env.from_string(_TEMPLATE.read_text(encoding="utf-8")).render(
        d=clean, title=title, sides=sides, metrics=metrics, tier=tier_line(clean), words=words
    )

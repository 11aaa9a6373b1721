"""Text renderings of scores, rubrics and explanations for the command line (table, markdown, json).

The JSON contract is the ScoreResult model dumped with sorted keys; see docs/scoring.md. Every string that
came from a remote machine (names, observed values, explanations, hosts) goes through the report sanitiser
(clustermax.reports.text), as in every report format.
"""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

from rich.console import Console
from rich.table import Table

from ..models.common import Unit
from ..models.score import TIER_LABEL, Advice, ScoreResult, Tier, Verdict
from ..sanitize import clean_tree, md, needs_clean_json, term
from .engine import Trace
from .rubric import Rubric

_MARK = {
    Verdict.PASS: "pass",
    Verdict.WARN: "WARN",
    Verdict.FAIL: "FAIL",
    Verdict.NOT_MEASURED: "not measured",
    Verdict.NOT_APPLICABLE: "n/a",
}


def scores_json(results: list[ScoreResult]) -> str:
    """A JSON list, one object per bundle: byte-identical for the same bundles and rubric.

    Strings that came from a remote machine went through the report sanitiser (control sequences and
    characters, bidi overrides removed) when they could hold any, as in every other output.
    """
    payload: list[Any] = [r.model_dump(mode="json") for r in results]
    text = json.dumps(payload, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    if needs_clean_json(text):
        text = json.dumps(clean_tree(payload), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    return text + "\n"


def advice_json(results: list[ScoreResult]) -> str:
    """`score --advise --format json`: per bundle, who, the tier range and the advice."""
    payload: list[Any] = [
        {
            "cluster": r.cluster,
            "provider": r.provider,
            "rated": r.rated,
            "tier": r.tier.value if r.tier else None,
            "tier_floor": r.tier_floor.value,
            "tier_ceiling": r.tier_ceiling.value,
            "summary": r.summary,
            "advice": r.advice.model_dump(mode="json"),
        }
        for r in results
    ]
    return json.dumps(clean_tree(payload), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


_UNITLESS = frozenset({"text", "bool", "version", "count", "ratio"})


def _obs(value: Any, unit: str | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = f"{value:.6g}" if isinstance(value, float) else str(value)
    return term(f"{text} {unit}" if unit and unit not in _UNITLESS else text, 200)


def _console(width: int = 160) -> tuple[Console, StringIO]:
    buf = StringIO()
    return Console(file=buf, width=width, no_color=True, highlight=False, soft_wrap=False, markup=False), buf


def _tier_word(tier: Tier | None) -> str:
    return TIER_LABEL[tier] if tier is not None else "not rated"


def verdict_lines(result: ScoreResult) -> list[str]:
    """The headline, the tier range with score and coverage, and the rubric: the same words everywhere."""
    return [
        f"{term(result.cluster, 200)}: {term(result.summary, 1000)}",
        f"tier {_tier_word(result.tier)}  floor {TIER_LABEL[result.tier_floor]}  "
        f"ceiling {TIER_LABEL[result.tier_ceiling]}  score {result.score:.1f}/100 on what was measured "
        f"(floor {result.score_floor:.1f}, ceiling {result.score_ceiling:.1f})  "
        f"coverage {result.coverage:.0%}  (rubric {term(result.rubric.id)} {term(result.rubric.version)})",
    ]


def advice_lines(advice: Advice, *, bullet: str = "  - ", escape: Any = None) -> list[str]:
    """'To reach Silver:' and one line per action (or why no action reaches it)."""
    if advice.target is None:
        return []
    fix = escape or (lambda text: term(text, 600))
    if not advice.reachable or not advice.actions:
        return [fix(advice.text)] if advice.text else []
    lines = [f"To reach {TIER_LABEL[advice.target]}:"]
    lines += [bullet + fix(a.text) for a in advice.actions]
    if not advice.minimal:
        lines.append("(the search stopped at its step bound: a smaller set of actions may exist)")
    return lines


def advice_text(result: ScoreResult) -> str:
    """`score --advise`: the verdict line and the advice, nothing else."""
    lines = [verdict_lines(result)[0]]
    lines += advice_lines(result.advice) or ["No advice: the floor is the top tier."]
    return "\n".join(lines) + "\n"


def _code(text: str) -> str:
    """Text for inside a Markdown code span: one line, no backtick."""
    return term(text).replace("`", "'")


def _md(text: object, limit: int = 400) -> str:
    return md(text, limit)


def score_markdown(result: ScoreResult) -> str:
    lines = [
        f"## {_md(result.cluster, 200)}: {_md(result.summary, 600)}",
        "",
        f"Tier **{_tier_word(result.tier)}** (floor {TIER_LABEL[result.tier_floor]}, ceiling "
        f"{TIER_LABEL[result.tier_ceiling]}). Score **{result.score:.1f}**/100 on what was measured (floor "
        f"{result.score_floor:.1f}, ceiling {result.score_ceiling:.1f}), coverage **{result.coverage:.0%}**, "
        f"rubric `{_code(result.rubric.id)}` {_md(result.rubric.version)} "
        f"(sha256 `{_code(result.rubric.sha256[:12])}`).",
        "",
    ]
    if result.held_down_by:
        lines += ["Held down by:", ""] + [f"- {_md(s.text, 600)}" for s in result.held_down_by] + [""]
    advice = advice_lines(result.advice, bullet="- ", escape=lambda text: _md(text, 800))
    if advice:
        lines += [f"**{advice[0]}**", "", *advice[1:], ""]
    lines += ["| Category | Weight | Score | Coverage |", "|---|---:|---:|---:|"]
    for c in result.categories:
        score = "-" if c.score is None else f"{c.score:.1f}"
        lines.append(f"| {_md(c.title)} | {c.weight:g} | {score} | {c.coverage:.0%} |")
    lines += ["", "| Criterion | Verdict | Observed | Threshold | Explanation |", "|---|---|---|---|---|"]
    for r in result.criteria:
        verdict = _MARK[r.verdict] + (" (attested)" if r.attested else "")
        cells = [r.id, verdict, _obs(r.observed, r.unit), r.threshold or "", r.explanation]
        lines.append("| " + " | ".join(_md(x, 600) for x in cells) + " |")
    return "\n".join(lines) + "\n"


def explain_text(trace: Trace, cluster: str) -> str:
    crit, res = trace.criterion, trace.result
    out = [
        f"{term(cluster, 200)}: {term(crit.id)} ({term(crit.title)})",
        f"  verdict:     {res.verdict.value}" + (" (attested)" if res.attested else ""),
        f"  reads:       {term(', '.join(res.metrics))}"
        + (f" with labels {term(dict(sorted(crit.labels.items())))}" if crit.labels else ""),
        f"  aggregate:   {crit.aggregate}; compare {crit.compare}"
        + ("; soft (a miss is a warn)" if crit.soft else ""),
        f"  thresholds:  {term(res.threshold or '-')}",
        f"  reference:   {term(res.reference_source or '-')}",
        f"  platforms:   {', '.join(crit.platforms)} (this cluster: {term(trace.platform or 'unknown')})",
    ]
    if trace.profile is not None:
        p = trace.profile
        profile = term(
            f"gpu {p.gpu_model or '?'}, fabric {p.fabric or '?'}, {p.nic_count or '?'} NICs, "
            f"references {', '.join(p.reference_ids) or 'none'} ({p.source})"
        )
        out.append(f"  profile:     {profile}")
    out.append(f"  values ({len(trace.rows)}):")
    if not trace.rows:
        out.append("    (none)")
    for row in trace.rows:
        labels = ",".join(f"{k}={v}" for k, v in sorted(row.labels.items()))
        where = term(row.host or "cluster", 200)
        shown = term(_obs(row.raw, row.unit.value if isinstance(row.unit, Unit) else row.unit))
        status = (
            f"excluded: {row.excluded}" if row.excluded else (row.verdict.value if row.verdict else "used")
        )
        selection = term(f"{row.metric}{'{' + labels + '}' if labels else ''}", 300)
        out.append(f"    {where:<20} {selection} = {shown}  [{term(status)}]")
    out.append(f"  observed:    {term(_obs(res.observed, res.unit))}")
    out.append(f"  explanation: {term(res.explanation, 1000)}")
    if res.evidence:
        out.append("  evidence:    " + term(", ".join(res.evidence), 1000))
    if res.hosts:
        out.append("  hosts:       " + term(", ".join(res.hosts), 1000))
    if res.remediation:
        out.append(f"  remediation: {term(res.remediation)}")
    return "\n".join(out) + "\n"


def rubric_table(rubric: Rubric) -> str:
    console, buf = _console(200)
    console.print(f"{rubric.id} {rubric.version}: {rubric.description}")
    tiers = Table(title="Tiers", title_justify="left")
    for col in ("tier", "min score", "min coverage", "category coverage", "gates"):
        tiers.add_column(col, overflow="fold")
    for tier, rule in rubric.tiers.items():
        cov = ", ".join(f"{k.value} {v:g}" for k, v in rule.min_category_coverage.items())
        tiers.add_row(
            tier.value,
            f"{rule.min_score:g}",
            f"{rule.min_coverage:g}",
            cov,
            "; ".join(g.label() for g in rule.gates),
        )
    console.print(tiers)
    cats = Table(title="Categories", title_justify="left")
    cats.add_column("category")
    cats.add_column("weight")
    cats.add_column("criteria")
    for cat in rubric.categories:
        n = sum(1 for c in rubric.criteria if c.category == cat.id)
        cats.add_row(cat.title, f"{cat.weight:g}", str(n))
    console.print(cats)
    table = Table(title="Criteria", title_justify="left")
    for col in ("id", "category", "weight", "reads", "aggregate", "compare", "pass", "warn", "platforms"):
        table.add_column(col, overflow="fold")
    for c in rubric.criteria:
        reads = ", ".join(c.metric) if c.metric else f"attestation {c.attestation}"
        if c.labels:
            reads += " {" + ", ".join(f"{k}={v}" for k, v in c.labels.items()) + "}"
        table.add_row(
            c.id,
            c.category.value,
            f"{c.weight:g}",
            reads,
            c.aggregate if c.metric else "-",
            c.compare + (" (soft)" if c.soft else ""),
            c.pass_.describe() if c.pass_ else "",
            c.warn.describe() if c.warn else "",
            "all" if len(c.platforms) == 3 else ", ".join(c.platforms),
        )
    console.print(table)
    if rubric.informational:
        console.print("informational (not scored): " + ", ".join(rubric.informational))
    return buf.getvalue()

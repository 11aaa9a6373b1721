"""Text renderings of scores, rubrics and explanations for the command line (table, markdown, json).

The JSON contract is the ScoreResult model dumped with sorted keys; see docs/scoring.md.
"""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

from rich.console import Console
from rich.table import Table

from ..models.common import Unit
from ..models.score import ScoreResult, Verdict
from ..sanitize import md, term
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
    """A JSON list, one object per bundle: byte-identical for the same bundles and rubric."""
    payload = [r.model_dump(mode="json") for r in results]
    return json.dumps(payload, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


_UNITLESS = frozenset({"text", "bool", "version", "count", "ratio"})


def _obs(value: Any, unit: str | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = f"{value:.6g}" if isinstance(value, float) else str(value)
    return f"{text} {unit}" if unit and unit not in _UNITLESS else text


def _console(width: int = 160) -> tuple[Console, StringIO]:
    buf = StringIO()
    return Console(file=buf, width=width, no_color=True, highlight=False, soft_wrap=False, markup=False), buf


def score_table(result: ScoreResult) -> str:
    console, buf = _console()
    # names and values come from the bundle (and the rubric): one terminal-safe line each
    console.print(
        f"{term(result.cluster)}: {result.tier.value.upper()}  score {result.score:.1f}/100  "
        f"coverage {result.coverage:.0%}  (rubric {term(result.rubric.id)} {term(result.rubric.version)})"
    )
    prof = result.profile
    console.print(
        f"profile ({prof.source}): gpu {term(prof.gpu_model or '?')} x{prof.gpus_per_node or '?'}, "
        f"fabric {term(prof.fabric or '?')} ({prof.nic_count or '?'} x {prof.nic_rate_gbps or '?'} Gb/s)"
    )
    cats = Table(title="Categories", title_justify="left")
    for col in ("category", "weight", "score", "coverage"):
        cats.add_column(col)
    for c in result.categories:
        cats.add_row(
            term(c.title), f"{c.weight:g}", "-" if c.score is None else f"{c.score:.1f}", f"{c.coverage:.0%}"
        )
    console.print(cats)
    crit = Table(title="Criteria", title_justify="left")
    for col in ("criterion", "category", "verdict", "observed", "threshold"):
        crit.add_column(col, overflow="fold")
    for r in result.criteria:
        verdict = _MARK[r.verdict] + (" (attested)" if r.attested else "")
        crit.add_row(
            term(r.id), term(r.category), verdict, term(_obs(r.observed, r.unit)), term(r.threshold or "")
        )
    console.print(crit)
    if result.gates_failed:
        console.print("held down by: " + ", ".join(term(g) for g in result.gates_failed))
    return buf.getvalue()


def score_markdown(result: ScoreResult) -> str:
    lines = [
        f"## {md(result.cluster)}: {result.tier.value.capitalize()}",
        "",
        f"Score **{result.score:.1f}**/100, coverage **{result.coverage:.0%}**, rubric "
        f"`{_code(result.rubric.id)}` {md(result.rubric.version)} "
        f"(sha256 `{_code(result.rubric.sha256[:12])}`).",
        "",
        "| Category | Weight | Score | Coverage |",
        "|---|---:|---:|---:|",
    ]
    for c in result.categories:
        score = "-" if c.score is None else f"{c.score:.1f}"
        lines.append(f"| {md(c.title)} | {c.weight:g} | {score} | {c.coverage:.0%} |")
    lines += ["", "| Criterion | Verdict | Observed | Threshold | Explanation |", "|---|---|---|---|---|"]
    for r in result.criteria:
        verdict = _MARK[r.verdict] + (" (attested)" if r.attested else "")
        cells = [md(r.id), verdict, md(_obs(r.observed, r.unit)), md(r.threshold or "")]
        cells.append(md(r.explanation, 2000))
        lines.append("| " + " | ".join(cells) + " |")
    if result.gates_failed:
        lines += ["", "Held down by: " + ", ".join(f"`{_code(g)}`" for g in result.gates_failed)]
    return "\n".join(lines) + "\n"


def _code(text: str) -> str:
    """Text for inside a Markdown code span: one line, no backtick."""
    return term(text).replace("`", "'")


def explain_text(trace: Trace, cluster: str) -> str:
    # every value below comes from the bundle or the rubric: each goes through term() (one safe line)
    crit, res = trace.criterion, trace.result
    out = [
        f"{term(cluster)}: {term(crit.id)} ({term(crit.title)})",
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
        out.append(
            f"  profile:     gpu {term(p.gpu_model or '?')}, fabric {term(p.fabric or '?')}, "
            f"{p.nic_count or '?'} NICs, references {term(', '.join(p.reference_ids) or 'none')} ({p.source})"
        )
    out.append(f"  values ({len(trace.rows)}):")
    if not trace.rows:
        out.append("    (none)")
    for row in trace.rows:
        labels = term(",".join(f"{k}={v}" for k, v in sorted(row.labels.items())))
        where = term(row.host or "cluster")
        shown = term(_obs(row.raw, row.unit.value if isinstance(row.unit, Unit) else row.unit))
        status = term(
            f"excluded: {row.excluded}" if row.excluded else (row.verdict.value if row.verdict else "used")
        )
        out.append(
            f"    {where:<20} {term(row.metric)}{'{' + labels + '}' if labels else ''} = {shown}  [{status}]"
        )
    out.append(f"  observed:    {term(_obs(res.observed, res.unit))}")
    out.append(f"  explanation: {term(res.explanation)}")
    if res.evidence:
        out.append("  evidence:    " + ", ".join(term(e) for e in res.evidence))
    if res.hosts:
        out.append("  hosts:       " + ", ".join(term(h) for h in res.hosts))
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

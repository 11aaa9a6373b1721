"""Tables shared by the renderers, built with pandas (imported lazily by the callers of these functions)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from ..models.score import CriterionResult, Verdict
from ..sanitize import csv_cell as _csv_cell
from .model import BusbwCurve, ClusterReport, Report
from .text import fmt_size, fmt_value

if TYPE_CHECKING:
    import pandas as pd

VERDICT_LABEL = {
    Verdict.PASS: "pass",
    Verdict.WARN: "warn",
    Verdict.FAIL: "fail",
    Verdict.NOT_MEASURED: "not measured",
    Verdict.NOT_APPLICABLE: "not applicable",
}
TIER_LABEL = {
    "platinum": "Platinum",
    "gold": "Gold",
    "silver": "Silver",
    "bronze": "Bronze",
    "underperforming": "Underperforming",
}
KEY_METRIC_ORDER = (
    "nccl_intra_peak",
    "nccl_intra_band",
    "nccl_inter_peak",
    "nccl_inter_band",
    "ttfj_median",
    "gpu_health_failures",
    "coverage",
)


def tier_word(cluster: ClusterReport) -> str:
    """The decided tier, or 'Not rated' (scoring decided which)."""
    return TIER_LABEL[cluster.tier.value] if cluster.rated and cluster.tier is not None else "Not rated"


def tier_key(cluster: ClusterReport) -> str:
    """CSS/style key of the decided tier: the tier's id, or 'none' when not rated."""
    return cluster.tier.value if cluster.rated and cluster.tier is not None else "none"


def tier_range(cluster: ClusterReport) -> str:
    """'Silver' when floor and ceiling agree, else 'Silver to Platinum'."""
    floor, ceiling = TIER_LABEL[cluster.tier_floor.value], TIER_LABEL[cluster.tier_ceiling.value]
    return floor if floor == ceiling else f"{floor} to {ceiling}"


def display_name(cluster: ClusterReport) -> str:
    """'provider / cluster', or the cluster alone."""
    if cluster.provider and cluster.provider != cluster.cluster:
        return f"{cluster.provider} / {cluster.cluster}"
    return cluster.cluster


def distinct_names(names: Sequence[str], limit: int) -> tuple[list[str], str | None]:
    """Names that fit ``limit`` characters and still tell the clusters apart, and a legend line.

    What tells clusters apart is usually at the end ('example-h100 / h100-ndr' and 'example-h100-bad /
    h100-sick'), so what gets shortened is the start they all share, replaced by '…', as little of it as
    makes them fit (cut after a space if that is enough, else after any separator); the legend says what
    '…' stands for. A name still too long loses its middle, never its end.
    """
    if not names or max(len(n) for n in names) <= limit:
        return list(names), None
    prefix = names[0] if len(names) > 1 else ""
    for name in names[1:]:
        while not name.startswith(prefix):
            prefix = prefix[:-1]
    cut = 0
    for separators in (" ", " /-_.,:"):
        cuts = [k + 1 for k, ch in enumerate(prefix) if ch in separators]
        fitting = [k for k in cuts if max(len(n) - k + 1 for n in names) <= limit]
        if fitting:
            cut = fitting[0]
            break
    if not cut and len(prefix) >= 4:
        cut = max((k + 1 for k, ch in enumerate(prefix) if ch in " /-_.,:"), default=len(prefix))
    out = ["…" + n[cut:] for n in names] if cut else list(names)
    legend = f'… stands for "{prefix[:cut]}"' if cut else None
    head = max(1, limit // 3)
    return [n if len(n) <= limit else n[:head] + "…" + n[len(n) - (limit - head - 1) :] for n in out], legend


def criteria_frame(cluster: ClusterReport) -> pd.DataFrame:
    """One row per criterion (the single-cluster CSV)."""
    import pandas as pd

    verdict = {
        "tier": cluster.tier.value if cluster.rated and cluster.tier is not None else "not rated",
        "tier_floor": cluster.tier_floor.value,
        "tier_ceiling": cluster.tier_ceiling.value,
        "summary": cluster.summary,
        "held_down_by": "; ".join(s.text for s in cluster.held_down_by) or None,
        "advice": cluster.advice.text or None,
    }
    rows = [
        {
            "cluster": cluster.cluster,
            "provider": cluster.provider,
            **verdict,
            "criterion": c.id,
            "title": c.title,
            "category": c.category,
            "verdict": c.verdict.value,
            "observed": fmt_value(c.observed) if c.observed is not None else None,
            "unit": c.unit,
            "threshold": c.threshold,
            "reference_source": c.reference_source,
            "weight": c.weight,
            "points": c.points,
            "attested": c.attested,
            "evidence": " ".join(c.evidence) or None,
            "explanation": c.explanation,
            "remediation": c.remediation,
            "hosts": " ".join(c.hosts) or None,
        }
        for c in cluster.criteria
    ]
    return cast(
        "pd.DataFrame",
        pd.DataFrame(rows, columns=list(rows[0]) if rows else ["cluster", "criterion", "verdict"]),
    )


def leaderboard_frame(report: Report) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for rank, c in enumerate(report.clusters, start=1):
        counts = c.verdict_counts()
        rows.append(
            {
                "rank": rank,
                "provider": display_name(c),
                "tier": tier_word(c),
                "range": tier_range(c),
                "score": round(c.score, 1),
                "coverage": round(c.coverage, 3),
                "pass": counts["pass"],
                "warn": counts["warn"],
                "fail": counts["fail"],
                "not measured": counts["not_measured"],
                "verdict": c.summary,
            }
        )
    return cast("pd.DataFrame", pd.DataFrame(rows).set_index("rank"))


def category_matrix(report: Report) -> pd.DataFrame:
    """Category x provider scores (0-100; NaN where nothing in the category was measured)."""
    import pandas as pd

    records = []
    titles: dict[str, str] = {}
    for c in report.clusters:
        for cat in c.categories:
            titles.setdefault(cat.id, cat.title)
            records.append({"category": cat.id, "provider": display_name(c), "score": cat.score})
    if not records:
        return cast("pd.DataFrame", pd.DataFrame())
    frame = pd.DataFrame(records).pivot_table(
        index="category", columns="provider", values="score", aggfunc="first", dropna=False, sort=False
    )
    frame = frame.reindex(columns=[display_name(c) for c in report.clusters])
    frame.index = pd.Index([titles[i] for i in frame.index], name="category")
    return cast("pd.DataFrame", frame)


def key_metrics_frame(report: Report) -> pd.DataFrame:
    """Provider x key metric, with fractions of the reference next to the busbw figures."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for c in report.clusters:
        row: dict[str, Any] = {"provider": display_name(c), "tier": tier_word(c)}
        for metric_id in KEY_METRIC_ORDER:
            metric = c.key_metric(metric_id)
            row[metric_id] = metric.value if metric else None
            if metric_id.startswith("nccl_"):
                row[f"{metric_id}_ref_frac"] = metric.fraction_of_reference if metric else None
        rows.append(row)
    return cast("pd.DataFrame", pd.DataFrame(rows).set_index("provider"))


KEY_METRIC_COLUMNS: dict[str, tuple[str, str | None]] = {
    "nccl_intra_peak": ("Intra peak busbw", "GB/s"),
    "nccl_intra_peak_ref_frac": ("Intra peak / ref", "%"),
    "nccl_intra_band": ("Intra 16-512 MiB", "GB/s"),
    "nccl_intra_band_ref_frac": ("Intra band / ref", "%"),
    "nccl_inter_peak": ("Inter peak busbw", "GB/s"),
    "nccl_inter_peak_ref_frac": ("Inter peak / ref", "%"),
    "nccl_inter_band": ("Inter 16-512 MiB", "GB/s"),
    "nccl_inter_band_ref_frac": ("Inter band / ref", "%"),
    "ttfj_median": ("TTFJ median", "s"),
    "gpu_health_failures": ("GPU health failures", None),
    "coverage": ("Coverage", "%"),
}


def format_key_metric(column: str, value: Any) -> str:
    """A cell of the key-metrics table for people (NaN and None read 'not measured')."""
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    _, unit = KEY_METRIC_COLUMNS.get(column, (column, None))
    if unit == "%":
        return f"{float(value) * 100:.0f}%"
    if column == "gpu_health_failures":
        return str(int(value))
    return fmt_value(float(value), unit)


def comparison_long_frame(report: Report) -> pd.DataFrame:
    """The whole comparison as one long table: one row per provider x metric (the comparison CSV)."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for rank, c in enumerate(report.clusters, start=1):
        base = {
            "rank": rank,
            "provider": c.provider,
            "cluster": c.cluster,
            "tier": c.tier.value if c.rated and c.tier is not None else "not rated",
            "tier_floor": c.tier_floor.value,
            "tier_ceiling": c.tier_ceiling.value,
        }

        def add(metric: str, title: str, value: Any, unit: str | None, **extra: Any) -> None:
            rows.append({**base, "metric": metric, "title": title, "value": value, "unit": unit, **extra})  # noqa: B023

        add("verdict", "Verdict", c.summary, None)
        for k, shortfall in enumerate(c.held_down_by, start=1):
            add(f"held_down_by.{k}", f"Held down by ({shortfall.bound})", shortfall.text, None)
        if c.advice.headline:
            add("advice", "Tier-gap advice", c.advice.text, None)
        add("score", "Score", c.score, "points")
        add("score_floor", "Score, floor", c.score_floor, "points")
        add("score_ceiling", "Score, ceiling", c.score_ceiling, "points")
        add("coverage", "Coverage", c.coverage, "ratio")
        for cat in c.categories:
            add(f"category.{cat.id}", cat.title, cat.score, "points", coverage=cat.coverage)
        for metric in c.key_metrics:
            if metric.id == "coverage":
                continue
            add(
                f"key.{metric.id}",
                metric.title,
                metric.value,
                metric.unit,
                reference=metric.reference,
                fraction_of_reference=metric.fraction_of_reference,
                detail=metric.detail,
            )
        for criterion in c.criteria:
            add(
                f"criterion.{criterion.id}",
                criterion.title,
                fmt_value(criterion.observed) if criterion.observed is not None else None,
                criterion.unit,
                verdict=criterion.verdict.value,
                attested=criterion.attested,
            )
    columns = [
        "rank",
        "provider",
        "cluster",
        "tier",
        "tier_floor",
        "tier_ceiling",
        "metric",
        "title",
        "value",
        "unit",
        "reference",
        "fraction_of_reference",
        "coverage",
        "verdict",
        "attested",
        "detail",
    ]
    return cast("pd.DataFrame", pd.DataFrame(rows).reindex(columns=columns))


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Neutralise spreadsheet formulas in text cells (OWASP CSV injection): prefix them with a quote."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or str(out[column].dtype).startswith("str"):
            out[column] = out[column].map(_csv_cell)
    return cast("pd.DataFrame", out)


_SHOWN_RANK = {Verdict.FAIL: 0, Verdict.WARN: 1, Verdict.PASS: 2}


@dataclass
class CriteriaGroup:
    """One category's criteria: those with a verdict (failing first), and those folded away."""

    id: str
    title: str
    score: float | None
    shown: list[CriterionResult] = field(default_factory=list)
    hidden: list[CriterionResult] = field(default_factory=list)

    @property
    def not_measured(self) -> int:
        return sum(1 for c in self.hidden if c.verdict is Verdict.NOT_MEASURED)

    @property
    def not_applicable(self) -> int:
        return sum(1 for c in self.hidden if c.verdict is Verdict.NOT_APPLICABLE)

    @property
    def hidden_label(self) -> str:
        """'7 not measured · 2 not applicable' (the parts that are not zero)."""
        parts = [
            f"{n} {label}"
            for n, label in ((self.not_measured, "not measured"), (self.not_applicable, "not applicable"))
            if n
        ]
        return " · ".join(parts)

    @property
    def counts(self) -> str:
        """'1 fail · 3 pass': the verdicts shown, worst first ('' when nothing was judged)."""
        return " · ".join(
            f"{sum(1 for c in self.shown if c.verdict is v)} {VERDICT_LABEL[v]}"
            for v in (Verdict.FAIL, Verdict.WARN, Verdict.PASS)
            if any(c.verdict is v for c in self.shown)
        )


def criteria_groups(cluster: ClusterReport) -> list[CriteriaGroup]:
    """The criteria by category (the rubric's category order), failing ones first in each."""
    groups = {
        cat.id: CriteriaGroup(id=cat.id, title=cat.title, score=cat.score) for cat in cluster.categories
    }
    for criterion in cluster.criteria:
        group = groups.get(criterion.category)
        if group is None:
            group = groups[criterion.category] = CriteriaGroup(
                id=criterion.category, title=criterion.category, score=None
            )
        (group.shown if criterion.verdict in _SHOWN_RANK else group.hidden).append(criterion)
    for group in groups.values():
        group.shown.sort(key=lambda c: _SHOWN_RANK[c.verdict])  # stable: rubric order within a verdict
    return [g for g in groups.values() if g.shown or g.hidden]


def unmeasured_sentence(cluster: ClusterReport) -> str:
    """'129 criteria not measured and 3 not applicable', or '' when every criterion has a verdict."""
    counts = cluster.verdict_counts()
    nm, na = counts["not_measured"], counts["not_applicable"]
    if not nm and not na:
        return ""
    parts = []
    if nm:
        parts.append(f"{nm} criteri{'on' if nm == 1 else 'a'} not measured")
    if na:
        parts.append(
            f"{na} not applicable" if nm else f"{na} criteri{'on' if na == 1 else 'a'} not applicable"
        )
    return " and ".join(parts)


def sweep_text(curves: Sequence[BusbwCurve]) -> str:
    """What the curves measured: 'sizes 16 MiB to 8 GiB (10 sizes), 3 runs'."""
    sizes = sorted({p.size_bytes for c in curves for p in c.points})
    if not sizes:
        return "no sizes measured"
    runs = len(curves)
    span = fmt_size(sizes[0]) if len(sizes) == 1 else f"{fmt_size(sizes[0])} to {fmt_size(sizes[-1])}"
    counted = f"{len(sizes)} size{'s' if len(sizes) != 1 else ''}"
    return f"sizes {span} ({counted}), {runs} run{'s' if runs != 1 else ''}"

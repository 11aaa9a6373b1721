"""The scored report model: what every renderer reads (and what `--format json` writes).

Built from (bundle, score) pairs by :mod:`clustermax.reports.build`. Every string in it has been cleaned of
terminal control sequences, and redacted when asked, before any renderer sees it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from ..models.common import FrozenModel, JSONValue
from ..models.results import Severity
from ..models.score import (
    Advice,
    CategoryResult,
    CriterionResult,
    HardwareProfile,
    NotRatedReason,
    Shortfall,
    Tier,
)

REPORT_VERSION = 2
"""Bump when the report model changes incompatibly (2: the tier range replaced tier + gates_failed)."""

HealthStatus = Literal["pass", "warn", "fail", "unknown", "n/a"]
CoverageReason = Literal[
    "not installed", "unreachable", "not applicable", "could not measure", "not measured"
]


class FindingItem(FrozenModel):
    """One thing to fix: a probe finding (grouped over hosts) or a failing/warning criterion."""

    severity: Severity
    code: str = Field(description="Finding code, or 'criterion:<id>' for a criterion.")
    message: str
    remediation: str | None = None
    hosts: list[str] = Field(default_factory=list, description="Hosts concerned (empty: cluster-wide).")
    source: Literal["probe", "criterion"]
    source_id: str = Field(description="Probe id or criterion id the finding comes from.")


class HealthCheck(FrozenModel):
    id: str
    title: str


class HealthCell(FrozenModel):
    check: str = Field(description="Id of the health check (column).")
    status: HealthStatus
    value: str | None = Field(default=None, description="Observed value, as text.")
    reason: str | None = Field(default=None, description="Why the cell is not 'pass'.")


class HealthRow(FrozenModel):
    host: str
    role: str
    state: str = Field(description="Connection outcome of the host.")
    cells: list[HealthCell]


class HealthMatrix(FrozenModel):
    checks: list[HealthCheck] = Field(default_factory=list)
    rows: list[HealthRow] = Field(default_factory=list)
    healthy: list[str] = Field(
        default_factory=list,
        description="Nodes left out of rows because every check passed (or did not apply), in a matrix "
        "of more than HEALTH_ROWS_MAX nodes; rows then hold the failing, warning and unknown ones.",
    )
    healthy_summary: str | None = Field(
        default=None, description="One line for the healthy nodes: '987 nodes healthy: node[0001-0987]'."
    )


class CurvePoint(FrozenModel):
    size_bytes: int
    busbw_gbps: float


class BusbwCurve(FrozenModel):
    """Out-of-place busbw against message size, for one run of one configuration."""

    collective: str
    impl: str
    scope: str = Field(description="intra or inter (node).")
    nodes: int | None = None
    ranks: int | None = None
    run: str | None = None
    points: list[CurvePoint]

    @property
    def config(self) -> str:
        nodes = f"{self.nodes} node{'s' if self.nodes != 1 else ''}" if self.nodes is not None else "? nodes"
        ranks = f", {self.ranks} ranks" if self.ranks is not None else ""
        return f"{self.collective} {self.scope}-node, {nodes}{ranks} ({self.impl})"


class ReferenceLine(FrozenModel):
    """A hardware reference busbw drawn on the curves of one scope."""

    scope: str = Field(description="intra or inter.")
    busbw_gbps: float
    label: str
    source: str | None = None


class TtfjSample(FrozenModel):
    kind: str = Field(description="batch, interactive or pod.")
    run: str | None = None
    seconds: float


class CoverageItem(FrozenModel):
    """Something that was not measured, and why."""

    subject: str = Field(description="Probe id, host name, criterion id or imported file.")
    kind: Literal["probe", "host", "criterion", "import"]
    hosts: list[str] = Field(default_factory=list, description="Hosts concerned (probe items).")
    reason: CoverageReason
    detail: str = ""


class KeyMetric(FrozenModel):
    id: str
    title: str
    value: float | int | None
    unit: str | None = None
    reference: float | None = Field(default=None, description="Reference value, when one applies.")
    fraction_of_reference: float | None = None
    detail: str | None = Field(default=None, description="Parameters that produced the value.")


class ProbeParams(FrozenModel):
    """The parameters one probe ran with (as recorded in the bundle), on the hosts that used them."""

    probe: str
    hosts: list[str] = Field(default_factory=list, description="Hosts that ran with them (empty: cluster).")
    params: dict[str, JSONValue] = Field(default_factory=dict)


class RunMeta(FrozenModel):
    kind: str
    tool_version: str
    python: str
    platform: str
    run_from: str | None = None
    command: str | None = None
    rubric_id: str
    rubric_version: str
    rubric_sha256: str
    bundle_sha256: str
    started_at: datetime
    ended_at: datetime | None = None
    duration_s: float | None = None
    complete: bool
    hosts: list[str] = Field(default_factory=list)
    hosts_ok: int = 0
    commands: int = 0
    imported_files: int = 0
    probe_params: list[ProbeParams] = Field(
        default_factory=list, description="Parameters each probe ran with (NCCL sizes, iterations, ...)."
    )


class ClusterReport(FrozenModel):
    """One cluster's report. The verdict fields are the scored model's, read as they are (never re-judged)."""

    cluster: str
    provider: str | None = None
    platform: str
    tier: Tier | None = Field(description="The decided tier (the floor); null when not rated.")
    rated: bool
    not_rated_reason: NotRatedReason | None = None
    tier_floor: Tier
    tier_ceiling: Tier
    summary: str = Field(description="The verdict in one sentence.")
    score: float
    score_floor: float
    score_ceiling: float
    coverage: float
    held_down_by: list[Shortfall] = Field(default_factory=list)
    advice: Advice
    profile: HardwareProfile
    categories: list[CategoryResult]
    criteria: list[CriterionResult]
    findings: list[FindingItem]
    health: HealthMatrix
    curves: list[BusbwCurve]
    references: list[ReferenceLine]
    ttfj: list[TtfjSample]
    coverage_items: list[CoverageItem]
    key_metrics: list[KeyMetric]
    meta: RunMeta

    def verdict_counts(self) -> dict[str, int]:
        counts = {"pass": 0, "warn": 0, "fail": 0, "not_measured": 0, "not_applicable": 0}
        for criterion in self.criteria:
            counts[criterion.verdict.value] += 1
        return counts

    def key_metric(self, metric_id: str) -> KeyMetric | None:
        for metric in self.key_metrics:
            if metric.id == metric_id:
                return metric
        return None


class Report(FrozenModel):
    """A single-cluster report (one cluster) or a comparison (clusters in leaderboard order)."""

    report_version: int = REPORT_VERSION
    mode: Literal["single", "compare"]
    generated_by: str = Field(description="clustermax version that rendered the report.")
    redacted: bool = False
    clusters: list[ClusterReport]

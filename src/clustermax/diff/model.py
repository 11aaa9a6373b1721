"""The diff of two audits: the contract between :mod:`clustermax.diff.compute` and its renderers, and what
``clustermax diff --format json`` writes (DIFF_SCHEMA_VERSION 1). docs/history.md describes every field."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from ..models.common import FrozenModel, JSONValue
from ..models.score import Tier, Verdict

DIFF_SCHEMA_VERSION = 1

Direction = Literal["better", "worse", "changed"]
"""better / worse: by the criterion's comparison or the metric's documented rule; changed: no direction (a
text value, or a value that is measured on one side only)."""


class Side(FrozenModel):
    """One of the two audits: who, when, which evidence, and the tier scoring gave it."""

    cluster: str
    provider: str | None
    kind: Literal["audit", "import"]
    started_at: datetime
    complete: bool
    bundle_sha256: str = Field(description="The evidence digest (as `score --format json` has it).")
    hosts: int = Field(description="Hosts the bundle lists (the reserved 'cluster' scope left out).")
    rubric: str = Field(description="'<id> <version>' of the rubric both sides were scored with.")
    tier: Tier | None
    rated: bool
    tier_floor: Tier
    tier_ceiling: Tier
    summary: str
    score: float
    coverage: float


class CriterionChange(FrozenModel):
    id: str
    title: str
    before: Verdict
    after: Verdict
    direction: Direction
    hosts: list[str] = Field(default_factory=list, description="Hosts whose own verdict got worse.")


class MetricChange(FrozenModel):
    """A metric that moved beyond its tolerance (or was measured on one side only)."""

    metric: str
    host: str | None = Field(description="The host; null for a cluster-wide value.")
    labels: dict[str, str] = Field(default_factory=dict, description="Its labels (run counts left out).")
    unit: str
    before: JSONValue = Field(
        description="Old value (a list when several values share the key); null: not measured."
    )
    after: JSONValue
    delta: float | None = Field(default=None, description="after - before, for two numbers.")
    tolerance: float | None = Field(
        default=None, description="How far it may move and still count as the same (metric's unit)."
    )
    tolerance_source: str = Field(
        description="'spread' (the measured run-to-run spread), 'default N%' or 'default N <unit>' (no "
        "spread measured: the documented rule), or 'exact' (counts, versions, flags, text)."
    )
    direction: Direction
    key: bool = Field(description="A key metric: a worse move fails the baseline gate.")
    text: str = Field(description="The change in words.")


class FindingChange(FrozenModel):
    change: Literal["appeared", "resolved"]
    code: str
    severity: str
    host: str | None
    message: str


class ProbeChange(FrozenModel):
    probe_id: str
    host: str
    before: str | None = Field(description="'ok', 'error/timeout' ...; null: no such result.")
    after: str | None
    message: str = Field(description="The newer result's message (the older one's when it is gone).")


class NodeChange(FrozenModel):
    host: str
    changes: list[str] = Field(description="What changed on the node, in words, most important first.")
    worse: bool = Field(description="At least one change is for the worse.")


class DiffResult(FrozenModel):
    """What changed between two audits. Deterministic: no paths, no clocks."""

    schema_version: int = Field(default=DIFF_SCHEMA_VERSION)
    old: Side
    new: Side
    warnings: list[str] = Field(default_factory=list, description="E.g. two different clusters compared.")
    tier_direction: Direction | None = Field(description="null: the tier range is the same.")
    criteria: list[CriterionChange] = Field(default_factory=list)
    metrics: list[MetricChange] = Field(default_factory=list)
    findings: list[FindingChange] = Field(default_factory=list)
    probes: list[ProbeChange] = Field(default_factory=list)
    nodes_added: list[str] = Field(default_factory=list)
    nodes_gone: list[str] = Field(default_factory=list)
    nodes: list[NodeChange] = Field(default_factory=list, description="Per-node changes.")
    regressions: list[str] = Field(
        default_factory=list,
        description="Why the baseline gate fails: every criterion that got worse and every key metric that "
        "regressed beyond its tolerance (empty: it passes).",
    )
    evidence_lost: list[str] = Field(
        default_factory=list,
        description="What the older audit measured and the newer one does not (criteria, key metrics, probes "
        "that ran ok): not a regression (unknown is not fail), but worth re-measuring.",
    )

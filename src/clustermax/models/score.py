"""The scored result: the contract between scoring and reporting."""

from __future__ import annotations

from enum import Enum

from pydantic import Field

from .bundle import RubricRef
from .common import FrozenModel, JSONValue


class Tier(str, Enum):
    PLATINUM = "platinum"
    GOLD = "gold"
    SILVER = "silver"
    BRONZE = "bronze"
    UNDERPERFORMING = "underperforming"


TIER_ORDER: tuple[Tier, ...] = (Tier.UNDERPERFORMING, Tier.BRONZE, Tier.SILVER, Tier.GOLD, Tier.PLATINUM)
"""Lowest first; compare tiers by their index here."""


class Verdict(str, Enum):
    PASS = "pass"  # noqa: S105 (a verdict, not a password)
    WARN = "warn"
    FAIL = "fail"
    NOT_MEASURED = "not_measured"
    NOT_APPLICABLE = "not_applicable"


class CriterionResult(FrozenModel):
    id: str
    title: str
    category: str
    verdict: Verdict
    observed: JSONValue = Field(default=None, description="Aggregated observed value (null: not measured).")
    unit: str | None = None
    threshold: str | None = Field(default=None, description="Human-readable pass/warn thresholds.")
    reference_source: str | None = Field(default=None, description="Where the threshold comes from.")
    explanation: str = Field(description="One sentence: how the verdict was reached.")
    remediation: str | None = None
    weight: float
    points: float | None = Field(default=None, description="Points earned (null when not scored).")
    attested: bool = Field(default=False, description="True when the verdict comes from an attestation.")
    evidence: list[str] = Field(default_factory=list, description="Evidence links (attestations).")
    cmax_ids: list[str] = Field(default_factory=list, description="Corresponding cmax criteria ids.")
    metrics: list[str] = Field(default_factory=list, description="Metrics the criterion read.")
    hosts: list[str] = Field(default_factory=list, description="Hosts that caused a warn or fail.")


class CategoryResult(FrozenModel):
    id: str
    title: str
    score: float | None = Field(description="0-100 over the measured criteria; null when none measured.")
    weight: float
    coverage: float = Field(description="Fraction of the category's weight that was measured or attested.")


class HardwareProfile(FrozenModel):
    gpu_model: str | None = None
    gpus_per_node: int | None = None
    fabric: str | None = None
    nic_count: int | None = None
    nic_rate_gbps: float | None = Field(default=None, description="Per-NIC line rate in Gb/s.")
    source: str = Field(default="detected", description="'detected', 'inventory' or 'override'.")
    reference_ids: list[str] = Field(default_factory=list, description="Reference entries used.")


class ScoreResult(FrozenModel):
    """The score of one bundle under one rubric. Deterministic: no paths, no clocks."""

    cluster: str
    provider: str | None
    bundle_sha256: str
    tier: Tier
    score: float = Field(description="0-100.")
    coverage: float = Field(description="0-1: fraction of the rubric's weight that was measured or attested.")
    categories: list[CategoryResult]
    criteria: list[CriterionResult]
    gates_failed: list[str] = Field(default_factory=list, description="Gates that held the tier down.")
    rubric: RubricRef
    profile: HardwareProfile

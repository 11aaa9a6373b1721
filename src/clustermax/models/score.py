"""The scored result: the contract between scoring and reporting (and what `score --format json` writes).

SCORE_SCHEMA_VERSION 2 (this one) replaced the single ``tier`` decided on the measured criteria alone, and
its ``gates_failed`` strings, by a tier range the evidence decides: ``tier_floor`` (every criterion that is
not measured or not attested taken as failed), ``tier_ceiling`` (all of them taken as passed), ``rated`` and
``tier`` (the floor when rated, null when the evidence does not decide a tier), typed ``held_down_by``
reasons and the tier-gap ``advice``. docs/scoring.md describes every field.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

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

TIER_LABEL: dict[Tier, str] = {t: t.value.capitalize() for t in TIER_ORDER}
"""How a tier is written for people: 'Gold', 'Underperforming'."""

SCORE_SCHEMA_VERSION = 2
"""Version of the ScoreResult JSON; bump it on an incompatible change (readers refuse other versions)."""


class Verdict(str, Enum):
    PASS = "pass"  # noqa: S105 (a verdict, not a password)
    WARN = "warn"
    FAIL = "fail"
    NOT_MEASURED = "not_measured"
    NOT_APPLICABLE = "not_applicable"


class ReferenceFigure(FrozenModel):
    """A hardware reference resolved for the detected profile: what a threshold is a fraction of."""

    figure: str = Field(description="'gpu.<figure>' or 'fabric.<figure>' of rubrics/references.yaml.")
    ref_id: str = Field(description="Reference entry of the profile, e.g. 'h100-sxm' or 'ib-ndr-400'.")
    value: float = Field(
        description="The figure in the criterion's unit, times the profile property it scales by: 100% of "
        "the reference (the pass threshold is a factor of it)."
    )
    unit: str | None = None
    scale: str | None = Field(default=None, description="Profile property multiplied in, e.g. 'nic_count 8'.")
    conditions: str = Field(description="What produced the figure: sizes, algorithm, node count.")
    source: str = Field(description="Where the figure comes from.")


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
    labels: dict[str, str | list[str]] = Field(
        default_factory=dict, description="Label filter of the metrics it read (a list: any of)."
    )
    attestation: str | None = Field(default=None, description="Attestation key it reads (attested criteria).")
    hosts: list[str] = Field(default_factory=list, description="Hosts that caused a warn or fail.")
    host_verdicts: dict[str, Verdict] = Field(
        default_factory=dict,
        description="The criterion judged on each host's own values, for every host whose values it read "
        "(the node-health matrix shows these).",
    )
    reference: ReferenceFigure | None = Field(
        default=None, description="The hardware reference its thresholds are fractions of, resolved."
    )


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


Bound = Literal["floor", "ceiling"]
ShortfallKind = Literal["gate", "score", "coverage", "category_coverage"]
NotRatedReason = Literal["insufficient_evidence", "no_host_reached", "incomplete"]


class Shortfall(FrozenModel):
    """A requirement of a tier that is not met at one bound of the tier range (a typed 'held down by')."""

    bound: Bound = Field(
        description="floor: not met when what was not measured counts as failed (missing evidence, or "
        "measured shortfalls the missing evidence cannot make up for); ceiling: not met even when it all "
        "counts as passed (the measured evidence rules the tier out)."
    )
    tier: Tier = Field(description="The tier whose requirement it is.")
    kind: ShortfallKind
    criteria: list[str] = Field(
        default_factory=list, description="gate: its criteria (any one passing satisfies it)."
    )
    verdicts: list[Verdict] = Field(
        default_factory=list, description="gate: the observed verdict of each of its criteria, in order."
    )
    allow_warn: bool = Field(default=False, description="gate: a warn also satisfies it.")
    category: str | None = Field(default=None, description="category_coverage: the category.")
    observed: float | None = Field(
        default=None,
        description="score: the score at this bound (0-100); coverage and category_coverage: the coverage "
        "measured (0-1). Null for a gate.",
    )
    needed: float | None = Field(default=None, description="What the tier needs (same unit as observed).")
    text: str = Field(description="The reason in words.")


AdviceKind = Literal["measure", "fix", "attest"]


class AdviceAction(FrozenModel):
    """One thing to do: measure a criterion (assuming it passes), fix a failing one, or attest one."""

    kind: AdviceKind
    criterion: str
    title: str
    verdict: Verdict = Field(description="Its verdict now.")
    probe: str | None = Field(default=None, description="measure: the probe that measures it.")
    where: str | None = Field(
        default=None, description="measure: where the probe runs and what it needs, in words."
    )
    attestation: str | None = Field(default=None, description="attest: the key of the attestations file.")
    observed: JSONValue = Field(default=None, description="fix: the observed value.")
    unit: str | None = None
    needed: str | None = Field(default=None, description="The threshold it must meet to pass.")
    remediation: str | None = None
    text: str = Field(description="The action in words.")


class Advice(FrozenModel):
    """The fewest actions that lift the floor to the next tier (exact, over the rubric's own rules)."""

    target: Tier | None = Field(description="The next tier above the floor; null when the floor is the top.")
    reachable: bool = Field(description="Whether some set of actions reaches the target.")
    actions: list[AdviceAction] = Field(default_factory=list)
    minimal: bool = Field(
        default=True,
        description="True: no smaller set of actions reaches the target. False: the search stopped at its "
        "step bound; the actions reach the target but a smaller set may exist.",
    )
    text: str = Field(description="'To reach Silver: ...' with every action in words (empty: no target).")
    headline: str = Field(
        description="The same in one short line: 'To reach Silver: attest security.soc2_or_iso27001, "
        "measure nccl-intra-busbw' (at most 4 actions named, then 'and N more')."
    )


class ScoreResult(FrozenModel):
    """The score of one bundle under one rubric. Deterministic: no paths, no clocks."""

    schema_version: int = Field(default=SCORE_SCHEMA_VERSION, description="Version of this JSON contract.")
    cluster: str
    provider: str | None
    bundle_sha256: str
    tier: Tier | None = Field(
        description="The tier the evidence decides: the floor when rated, null when not rated."
    )
    rated: bool = Field(description="False when the evidence does not decide a tier (see not_rated_reason).")
    not_rated_reason: NotRatedReason | None = Field(
        default=None,
        description="insufficient_evidence: the floor is Underperforming only because evidence is missing; "
        "no_host_reached: the audit reached no host; incomplete: the bundle is incomplete (an interrupted or "
        "crashed audit).",
    )
    tier_floor: Tier = Field(
        description="The tier if every criterion not measured (or not attested) failed, with the coverage "
        "that was measured."
    )
    tier_ceiling: Tier = Field(
        description="The tier if every criterion not measured (or not attested) passed."
    )
    summary: str = Field(description="The verdict in one sentence, as every format shows it.")
    score: float = Field(description="0-100 over the measured and attested criteria.")
    score_floor: float = Field(description="0-100: the score if every criterion not measured failed.")
    score_ceiling: float = Field(description="0-100: the score if every criterion not measured passed.")
    coverage: float = Field(description="0-1: fraction of the rubric's weight that was measured or attested.")
    not_measured: int = Field(description="Criteria read from a metric that were not measured.")
    not_attested: int = Field(description="Attestation criteria without an attested value.")
    categories: list[CategoryResult]
    criteria: list[CriterionResult]
    held_down_by: list[Shortfall] = Field(
        default_factory=list,
        description="Why the floor is not one tier higher (bound floor: the next tier's requirements the "
        "floor misses, when that tier is within the ceiling) and why the ceiling is not higher (bound "
        "ceiling: the requirements of every tier above it that the measured evidence rules out), most "
        "important first.",
    )
    advice: Advice
    rubric: RubricRef
    profile: HardwareProfile

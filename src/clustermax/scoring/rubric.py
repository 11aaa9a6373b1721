"""The rubric format (rubrics/*.yaml): pydantic models, strict (``extra="forbid"``).

A rubric names its tiers (with the score, coverage and gates each needs), its categories (with
weights that add up to 100), its criteria (what metric they read, how they aggregate and compare,
and the thresholds, absolute or relative to a hardware reference), and the metrics it deliberately
does not score (``informational``). See docs/scoring.md for the format, with examples.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Literal

from pydantic import ConfigDict, Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from ..models.common import Category, FrozenModel, Unit
from ..models.score import Tier
from ..units import UnitError, parse_quantity

Compare = Literal[">=", "<=", "==", "in", "between", "true", "false"]
Aggregate = Literal["min", "max", "median", "mean", "sum", "all", "any", "count", "fraction", "distinct"]
Platform = Literal["slurm", "kubernetes", "bare"]
ScaleBy = Literal["nic_count", "gpus_per_node"]

NUMERIC_COMPARES: frozenset[str] = frozenset({">=", "<=", "between"})
NUMERIC_AGGREGATES: frozenset[str] = frozenset({"min", "max", "median", "mean", "sum"})
ALL_PLATFORMS: tuple[Platform, ...] = ("slurm", "kubernetes", "bare")
RANKED_TIERS: tuple[Tier, ...] = (Tier.PLATINUM, Tier.GOLD, Tier.SILVER, Tier.BRONZE)
"""Tiers a rubric defines rules for, highest first (underperforming is the floor)."""

Scalar = float | int | bool | str
_VERSION_TEXT = re.compile(r"^\s*\d+(?:\.\d+){2,}\s*$")


class Threshold(FrozenModel):
    """A pass or warn threshold: a value (with an optional unit) or a fraction of a hardware reference.

    YAML shorthands: ``0``, ``"400 Gb/s"``, ``true``, ``[pass, warn]`` (for ``in``), ``[20, 80]``
    (for ``between``); or a mapping ``{reference: gpu.allreduce_busbw_intra, factor: 0.9}``.
    """

    value: Scalar | list[Scalar] | None = Field(
        default=None, description="Absolute threshold (a list for `in` and `between`)."
    )
    unit: Unit | None = Field(default=None, description="Unit of value; default: the metric's unit.")
    reference: str | None = Field(
        default=None,
        description="Reference figure 'gpu.<figure>' or 'fabric.<figure>' (rubrics/references.yaml).",
    )
    factor: float = Field(default=1.0, gt=0, description="Multiplier applied to the reference (or value).")
    scale_by: ScaleBy | None = Field(
        default=None, description="Also multiply by this property of the detected hardware profile."
    )
    floor: str | None = Field(
        default=None,
        description="A component of the minimum-versions table (rubrics/minimum-versions.yaml): the version "
        "floors it publishes, each with its advisory.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> Threshold:
        if self.floor is not None:
            if self.value is not None or self.reference is not None or self.scale_by is not None:
                raise ValueError("a floor threshold takes no value, reference or scale_by")
            if self.factor != 1.0 or self.unit is not None:
                raise ValueError("a floor threshold takes no factor or unit")
            return self
        if (self.value is None) == (self.reference is None) and self.scale_by is None:
            raise ValueError("give exactly one of value or reference")
        if self.value is not None and self.reference is not None:
            raise ValueError("give exactly one of value or reference")
        return self

    def describe(self) -> str:
        if self.floor is not None:
            return f"floor {self.floor}"
        if self.reference is not None:
            text = f"{self.factor:g} x ref {self.reference}"
        elif isinstance(self.value, list):
            text = "[" + ", ".join(str(v) for v in self.value) + "]"
            if self.unit is not None:
                text += f" {self.unit.value}"
        elif self.value is None:
            text = f"{self.factor:g}"
        else:
            text = str(self.value).lower() if isinstance(self.value, bool) else f"{self.value}"
            if self.unit is not None:
                text += f" {self.unit.value}"
            if self.factor != 1.0:
                text = f"{self.factor:g} x {text}"
        if self.scale_by is not None:
            text += f" x {self.scale_by}"
        return text


def _threshold_from_yaml(raw: Any, compare: str | None) -> Any:
    """Expand the YAML shorthands of a threshold into the mapping form."""
    if raw is None or isinstance(raw, dict):
        return raw
    if isinstance(raw, bool):
        return {"value": raw}
    if isinstance(raw, (int, float)):
        return {"value": raw}
    if isinstance(raw, str):
        if compare in NUMERIC_COMPARES and not _VERSION_TEXT.match(raw):
            try:
                number, unit = parse_quantity(raw)
            except UnitError as err:
                raise ValueError(str(err)) from err
            return {"value": number, "unit": unit.value if unit else None}
        return {"value": raw}
    if isinstance(raw, list):
        if compare == "between":
            values: list[float] = []
            units: set[str] = set()
            for item in raw:
                if isinstance(item, str):
                    try:
                        number, unit = parse_quantity(item)
                    except UnitError as err:
                        raise ValueError(str(err)) from err
                    values.append(number)
                    if unit is not None:
                        units.add(unit.value)
                else:
                    values.append(item)
            if len(units) > 1:
                raise ValueError(f"both ends of a range need the same unit, got {sorted(units)}")
            return {"value": values, "unit": units.pop() if units else None}
        return {"value": raw}
    return raw


SubjectCount = Literal["value", "values"]
SubjectScope = Literal["host", "cluster"]


class AppliesWhen(FrozenModel):
    """What a criterion judges, and where there is some of it: the criterion applies only where a subject
    metric shows at least ``at_least`` of its subject (GPUs on a node, IB/RoCE ports, NCCL runs).

    Per host (``scope: host``) values read on a host whose subject metric is below ``at_least`` are set
    aside; with ``scope: cluster`` the subject is summed over the bundle and the criterion applies or not as
    a whole. Where no subject metric was measured at all the subject is unknown, and the criterion is
    judged on its values as usual. Where none is left to judge, it is *not applicable*.
    """

    subject: str = Field(
        min_length=1, description="What the subject is, singular, as a sentence names it: 'GPU', 'NCCL run'."
    )
    metric: list[str] = Field(
        min_length=1, description="Subject metric(s); per host the largest value counts."
    )
    labels: dict[str, str | list[str]] = Field(
        default_factory=dict, description="Label filter on the subject metric's measurements."
    )
    count: SubjectCount = Field(
        default="value",
        description="value: the subject metric's value is the subject count (booleans: 1 or 0); values: the "
        "number of its measured values is (none measured: 0, never unknown).",
    )
    at_least: float = Field(default=1, gt=0, description="How much of the subject it takes to apply.")
    scope: SubjectScope = Field(
        default="host", description="host: decided per host; cluster: for the bundle."
    )

    @field_validator("metric", mode="before")
    @classmethod
    def _metric_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def plural(self) -> str:
        """The subject in the plural ('GPUs', 'IB/RoCE ports')."""
        word = self.subject
        return word if word.endswith("s") else word + "s"

    def describe(self) -> str:
        return f"{self.subject} ({'+'.join(self.metric)} >= {self.at_least:g}, per {self.scope})"


class MinSamples(FrozenModel):
    """How many samples a statistic needs before it means something: fewer is *not measured*.

    Without ``label`` the samples are the criterion's values (a median of one value is not a median); with
    ``label`` each value carries its own sample count in that label (``runs`` of a spread over runs), and a
    value from fewer samples is set aside.
    """

    count: int = Field(ge=2, description="Samples needed (at least 2).")
    label: str | None = Field(
        default=None,
        description="Label that holds each value's own sample count (e.g. runs); none: the values.",
    )
    of: str = Field(default="values", min_length=1, description="What a sample is, plural, for sentences.")


def _samples_from_yaml(raw: Any) -> Any:
    return {"count": raw} if isinstance(raw, int) and not isinstance(raw, bool) else raw


class Criterion(FrozenModel):
    """One thing the rubric checks, with how to read, aggregate and judge it."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="Stable id (kebab-case).")
    category: Category
    title: str
    description: str | None = None
    weight: float = Field(gt=0, description="Relative weight within its category.")
    metric: list[str] = Field(
        default_factory=list,
        description="Metric(s) it reads; values of several metrics are pooled. Empty for attestations.",
    )
    labels: dict[str, str | list[str]] = Field(
        default_factory=dict, description="Label filter: a measurement matches when every label matches."
    )
    attestation: str | None = Field(
        default=None, description="Attestation key it reads instead of a metric (attestations YAML)."
    )
    aggregate: Aggregate = Field(default="min", description="How to combine values across hosts and runs.")
    compare: Compare
    pass_: Threshold | None = Field(default=None, alias="pass")
    warn: Threshold | None = None
    soft: bool = Field(default=False, description="A failed comparison gives warn instead of fail.")
    unit: str | None = Field(default=None, description="Display unit of an attested value (e.g. USD/GPU-h).")
    platforms: list[Platform] = Field(
        default_factory=lambda: list(ALL_PLATFORMS), description="Platforms it applies to."
    )
    source: str | None = Field(default=None, description="Where the absolute threshold comes from.")
    remediation: str
    needs: str | None = Field(
        default=None,
        description="What measuring it takes beyond its probe running (tier-gap advice), e.g. '2 or more GPU "
        "nodes'.",
    )
    cmax: list[str] = Field(default_factory=list, description="Ids of the corresponding cmax criteria.")
    applies_when: list[AppliesWhen | str] = Field(
        default_factory=list,
        description="Subjects it judges (all must be there), each a name of the rubric's subjects: or a "
        "mapping; where there are none it is not applicable.",
    )
    min_samples: MinSamples | None = Field(
        default=None, description="Samples its aggregate needs; fewer is not measured."
    )

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @field_validator("metric", mode="before")
    @classmethod
    def _metric_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("applies_when", mode="before")
    @classmethod
    def _applies_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, (dict, str)) else value

    @field_validator("min_samples", mode="before")
    @classmethod
    def _samples(cls, value: Any) -> Any:
        return _samples_from_yaml(value)

    @field_validator("pass_", "warn", mode="before")
    @classmethod
    def _expand_threshold(cls, value: Any, info: ValidationInfo) -> Any:
        return _threshold_from_yaml(value, info.data.get("compare"))

    @model_validator(mode="after")
    def _consistent(self) -> Criterion:
        if bool(self.metric) == bool(self.attestation):
            raise ValueError("give either metric or attestation (exactly one)")
        if self.compare in ("true", "false"):
            if self.pass_ is not None or self.warn is not None:
                raise ValueError(f"compare {self.compare!r} takes no pass/warn thresholds")
        elif self.pass_ is None:
            raise ValueError(f"compare {self.compare!r} needs a pass threshold")
        for name, thr in (("pass", self.pass_), ("warn", self.warn)):
            if thr is None:
                continue
            if self.compare == "between" and (not isinstance(thr.value, list) or len(thr.value) != 2):
                raise ValueError(f"{name}: compare 'between' needs [low, high]")
            if self.compare == "in" and not isinstance(thr.value, list):
                raise ValueError(f"{name}: compare 'in' needs a list of values")
        if self.attestation is not None and (self.applies_when or self.min_samples is not None):
            raise ValueError("an attestation criterion takes no applies_when or min_samples")
        return self


class Gate(FrozenModel):
    """Criteria that must pass for a tier, whatever the score. Any one of ``criteria`` passing will do;
    a gate whose every criterion is not applicable is satisfied."""

    criteria: list[str] = Field(min_length=1)
    allow_warn: bool = Field(default=False, description="A warn verdict also satisfies the gate.")

    def label(self) -> str:
        text = " or ".join(self.criteria)
        return text + (" (warn ok)" if self.allow_warn else "")


class TierRule(FrozenModel):
    min_score: float = Field(ge=0, le=100)
    min_coverage: float = Field(default=0.0, ge=0, le=1)
    min_category_coverage: dict[Category, float] = Field(default_factory=dict)
    gates: list[Gate] = Field(default_factory=list)

    @field_validator("gates", mode="before")
    @classmethod
    def _gate_shorthand(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"criteria": [g]} if isinstance(g, str) else g for g in value]
        return value


class CategorySpec(FrozenModel):
    id: Category
    title: str
    weight: float = Field(gt=0)


class Rubric(FrozenModel):
    """A versioned rubric. Load it with :func:`clustermax.scoring.load_rubric`."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")
    version: str
    description: str
    references: str = Field(
        default="references.yaml", description="Hardware reference table, relative to the rubric file."
    )
    metrics: str | None = Field(
        default=None,
        description="Metric catalog (units, labels, emitting probe), relative to the rubric file; "
        "null: the catalog shipped with clustermax (rubrics/metrics.yaml).",
    )
    versions: str | None = Field(
        default=None,
        description="Minimum-versions table the `floor:` thresholds read, relative to the rubric file; null: "
        "the table shipped with clustermax (rubrics/minimum-versions.yaml). `--versions FILE` overrides it.",
    )
    warn_credit: float = Field(
        default=0.5, ge=0, le=1, description="Share of a criterion's points a warn earns."
    )
    tiers: dict[Tier, TierRule]
    categories: list[CategorySpec]
    criteria: list[Criterion]
    informational: list[str] = Field(
        default_factory=list, description="Metrics the rubric reads no verdict from, on purpose."
    )
    subjects: dict[str, AppliesWhen] = Field(
        default_factory=dict,
        description="Named applicability rules (what a criterion judges, e.g. gpu: GPUs on the node), which "
        "criteria name in applies_when.",
    )

    _sha256: str = PrivateAttr(default="")
    _references: Any = PrivateAttr(default=None)
    _references_sha256: str = PrivateAttr(default="")
    _catalog: Any = PrivateAttr(default=None)
    _versions: Any = PrivateAttr(default=None)
    _versions_sha256: str = PrivateAttr(default="")
    _plan: dict[str, Any] = PrivateAttr(default_factory=dict)
    """Per-criterion evaluation cache (static facts, thresholds per hardware profile)."""

    @field_validator("tiers")
    @classmethod
    def _tiers(cls, value: dict[Tier, TierRule]) -> dict[Tier, TierRule]:
        if Tier.UNDERPERFORMING in value:
            raise ValueError("underperforming is the floor: it takes no rule")
        missing = [t.value for t in RANKED_TIERS if t not in value]
        if missing:
            raise ValueError(f"missing tier rules: {', '.join(missing)}")
        scores = [value[t].min_score for t in RANKED_TIERS]
        if scores != sorted(scores, reverse=True):
            raise ValueError("min_score must not increase from platinum down to bronze")
        return value

    @model_validator(mode="after")
    def _known_subjects(self) -> Rubric:
        for crit in self.criteria:
            for rule in crit.applies_when:
                if isinstance(rule, str) and rule not in self.subjects:
                    raise ValueError(f"criterion {crit.id!r}: applies_when names an unknown subject {rule!r}")
        return self

    def rules_of(self, crit: Criterion) -> list[AppliesWhen]:
        """The applicability rules of a criterion, names resolved."""
        return [self.subjects[r] if isinstance(r, str) else r for r in crit.applies_when]

    @property
    def sha256(self) -> str:
        """SHA-256 of the rubric file's bytes (of its canonical JSON when built in code)."""
        if not self._sha256:
            self._sha256 = hashlib.sha256(self.model_dump_json(by_alias=True).encode()).hexdigest()
        return self._sha256

    def criterion(self, criterion_id: str) -> Criterion | None:
        for crit in self.criteria:
            if crit.id == criterion_id:
                return crit
        return None

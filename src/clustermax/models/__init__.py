"""Pydantic v2 contracts between the pipeline stages."""

from .bundle import (
    SCHEMA_VERSION,
    Bundle,
    HostRecord,
    ImportedFile,
    Origin,
    RubricRef,
    SchedulerStep,
    Target,
)
from .common import Category, FrozenModel, JSONValue, ScalarValue, Unit
from .inventory import HostDefaults, Inventory, InventoryHost, ProfileOverride
from .probe import EndpointSpec, MetricSpec, ParamSpec, ProbeScope, ProbeSpec
from .results import CommandResult, Finding, Measurement, ProbeResult, ProbeStatus, Severity, SubStatus
from .score import (
    TIER_ORDER,
    CategoryResult,
    CriterionResult,
    HardwareProfile,
    ScoreResult,
    Tier,
    Verdict,
)

__all__ = [
    "SCHEMA_VERSION",
    "TIER_ORDER",
    "Bundle",
    "Category",
    "CategoryResult",
    "CommandResult",
    "CriterionResult",
    "EndpointSpec",
    "Finding",
    "FrozenModel",
    "HardwareProfile",
    "HostDefaults",
    "HostRecord",
    "ImportedFile",
    "Inventory",
    "InventoryHost",
    "JSONValue",
    "Measurement",
    "MetricSpec",
    "Origin",
    "ParamSpec",
    "ProbeResult",
    "ProbeScope",
    "ProbeSpec",
    "ProbeStatus",
    "ProfileOverride",
    "RubricRef",
    "ScalarValue",
    "SchedulerStep",
    "ScoreResult",
    "Severity",
    "SubStatus",
    "Target",
    "Tier",
    "Unit",
    "Verdict",
]

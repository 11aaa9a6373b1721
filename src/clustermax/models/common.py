"""Shared building blocks of the pydantic contracts."""

from __future__ import annotations

from enum import Enum
from typing import Any, TypeAlias

from pydantic import BaseModel, ConfigDict

JSONValue: TypeAlias = Any
"""Any JSON-serialisable value (kept loose on purpose: facts and params are free-form)."""

ScalarValue: TypeAlias = bool | int | float | str | None
"""A measured value. ``None`` means *not measured*, never zero."""


class FrozenModel(BaseModel):
    """A contract that crosses stages: immutable, and strict about unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Unit(str, Enum):
    """Every metric has exactly one unit from this list.

    GB/s (10^9 bytes per second, what nccl-tests prints) and Gb/s (10^9 bits per second,
    what ibstat prints) are different units; convert in :mod:`clustermax.units` only.
    """

    GBPS = "GB/s"
    GBITPS = "Gb/s"
    GIBPS = "GiB/s"
    """2^30 bytes per second: storage throughput (fio, MLPerf Storage demand)."""
    SECONDS = "s"
    MILLISECONDS = "ms"
    MICROSECONDS = "us"
    BYTES = "B"
    MIB = "MiB"
    GIB = "GiB"
    WATTS = "W"
    CELSIUS = "C"
    MHZ = "MHz"
    PERCENT = "%"
    COUNT = "count"
    IOPS = "IOPS"
    """I/O operations per second (fio)."""
    RATIO = "ratio"
    TFLOPS = "TFLOP/s"
    BOOL = "bool"
    TEXT = "text"
    VERSION = "version"


class Category(str, Enum):
    """The ten ClusterMAX 2.0 rating categories, used by rubrics."""

    SECURITY = "security"
    LIFECYCLE = "lifecycle"
    ORCHESTRATION = "orchestration"
    STORAGE = "storage"
    NETWORKING = "networking"
    RELIABILITY = "reliability"
    MONITORING = "monitoring"
    PRICING = "pricing"
    PARTNERSHIPS = "partnerships"
    AVAILABILITY = "availability"

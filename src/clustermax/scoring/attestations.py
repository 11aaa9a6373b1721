"""Attestations: what no probe can measure (SOC2, SLA terms, price), filled in by an analyst with evidence.

The report marks these criteria as *attested*, not measured. Every attestation needs at least one
evidence link; a value of null means "asked, not known" and scores as not measured.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import Field, ValidationError

from ..errors import ConfigError
from ..models.common import FrozenModel
from ..yamlsrc import read_yaml


class Attestation(FrozenModel):
    value: bool | int | float | str | None = Field(description="The attested value; null: not known.")
    evidence: list[str] = Field(min_length=1, description="Links or document references backing it.")
    note: str | None = None
    attested_by: str | None = None
    date: dt.date | None = None


class Attestations(FrozenModel):
    cluster: str | None = Field(default=None, description="Cluster these attestations are about.")
    provider: str | None = None
    attestations: dict[str, Attestation] = Field(default_factory=dict)


def load_attestations(path: str | Path) -> Attestations:
    doc = read_yaml(path)
    if doc.duplicates:
        loc, line = doc.duplicates[0]
        raise ConfigError(path, line, f"duplicate key {'.'.join(str(p) for p in loc)}")
    try:
        return Attestations.model_validate(doc.data or {})
    except ValidationError as err:
        first = err.errors()[0]
        loc = tuple(first["loc"])
        raise ConfigError(
            path,
            doc.line(loc),
            f"{'.'.join(str(p) for p in loc) or 'document'}: {first['msg']}",
            hint="see examples/attestations.example.yaml",
        ) from err

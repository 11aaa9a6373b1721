"""The metric catalog (rubrics/metrics.yaml): what every shipped probe emits, read by scoring.

Generated from the probe specs by scripts/make_metric_catalog.py, so scoring never opens a probe spec:
a score is a function of the bundle, the rubric, its hardware references and this catalog. It gives the
unit of every metric (what thresholds convert to), its label keys (what a rubric may filter on), the probe
that emits it, and for every probe where it runs and what it requires (for "not measured" reasons and
tier-gap advice).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import yaml
from pydantic import Field, ValidationError

from ..models.common import FrozenModel, Unit
from ..models.probe import ProbeScope

CATALOG_FILE = "metrics.yaml"

_SCOPE_WORDS: dict[str, str] = {
    "host": "on every host",
    "login": "on the login node",
    "node": "on every GPU node",
    "cluster": "through the scheduler",
}
_REQUIRES_WORDS: dict[str, str] = {
    "slurm": "Slurm",
    "kubernetes": "Kubernetes",
    "nvidia-smi": "nvidia-smi on the node",
    "bare": "a machine without a scheduler",
}


class ProbeInfo(FrozenModel):
    title: str
    scope: ProbeScope
    requires: list[str] = Field(default_factory=list)

    def where(self) -> str:
        """Where the probe runs and what it needs, in words ('through the scheduler (needs Slurm)')."""
        text = _SCOPE_WORDS.get(self.scope, self.scope)
        if self.requires:
            text += " (needs " + " and ".join(_REQUIRES_WORDS.get(r, r) for r in self.requires) + ")"
        return text


class MetricEntry(FrozenModel):
    probe: str
    unit: Unit
    labels: list[str] = Field(default_factory=list)
    description: str = ""


@dataclass(frozen=True)
class MetricInfo:
    probe: str
    unit: Unit
    labels: frozenset[str]


class MetricCatalog(FrozenModel):
    version: int
    probes: dict[str, ProbeInfo]
    metrics: dict[str, MetricEntry]

    @cached_property
    def info(self) -> dict[str, MetricInfo]:
        """metric name -> (probe, unit, label keys), for the evaluation loop."""
        return {name: MetricInfo(m.probe, m.unit, frozenset(m.labels)) for name, m in self.metrics.items()}


def load_catalog(path: Path) -> tuple[MetricCatalog | None, str, str | None]:
    """(catalog, sha256 of the file, error) for a catalog file; the error is one line when it is bad."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        return None, "", f"cannot read the metric catalog: {err.strerror or err}"
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(raw, Loader=loader)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as err:
        return None, "", f"the metric catalog is not valid YAML: {str(err).splitlines()[0]}"
    try:
        catalog = MetricCatalog.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        return None, "", f"invalid metric catalog: {loc}: {first['msg']}"
    unknown = sorted({m.probe for m in catalog.metrics.values()} - set(catalog.probes))
    if unknown:
        return None, "", f"invalid metric catalog: metrics name undeclared probes {', '.join(unknown)}"
    return catalog, hashlib.sha256(raw).hexdigest(), None

"""Hardware references (rubrics/references.yaml) and the detection of a cluster's hardware profile.

Each figure carries its source and the conditions it was measured under. A cluster's profile (GPU
model, GPUs per node, fabric, NIC count and rate) is detected from its measurements and can be
overridden by the inventory (``Bundle.target.profile_override``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from pydantic import Field

from ..models.common import FrozenModel, Unit
from ..models.results import Measurement
from ..models.score import HardwareProfile
from ..units import UnitError, convert


class Figure(FrozenModel):
    value: float
    unit: Unit | None = Field(default=None, description="Unit (null for figures without one, e.g. USD).")
    source: str = Field(min_length=1, description="Where the figure comes from (URL and who said it).")
    conditions: str = Field(min_length=1, description="What produced it: sizes, algorithm, node count.")
    verified: bool = Field(default=True, description="False when the figure could not be checked.")


class GpuReference(FrozenModel):
    title: str
    match: list[str] = Field(min_length=1, description="Regexes (case-insensitive) over gpu.model.")
    figures: dict[str, Figure] = Field(default_factory=dict)

    @cached_property
    def patterns(self) -> list[re.Pattern[str]]:
        return [re.compile(p, re.IGNORECASE) for p in self.match]


class FabricReference(FrozenModel):
    title: str
    link_layer: Literal["InfiniBand", "Ethernet"]
    rate_gbps: float = Field(gt=0, description="Per-NIC line rate in Gb/s.")
    figures: dict[str, Figure] = Field(default_factory=dict)


class References(FrozenModel):
    version: str
    gpus: dict[str, GpuReference]
    fabrics: dict[str, FabricReference]

    def gpu_for_model(self, model: str) -> str | None:
        """The id of the first GPU entry one of whose patterns matches ``model``."""
        for gpu_id, ref in self.gpus.items():
            if any(p.search(model) for p in ref.patterns):
                return gpu_id
        return None

    def gpu_for_name(self, name: str) -> str | None:
        """An inventory's gpu_model: a reference id ('h100-sxm', 'H100-SXM') or a model name."""
        norm = re.sub(r"[\s_]+", "-", name.strip().lower())
        if norm in self.gpus:
            return norm
        return self.gpu_for_model(name) or self.gpu_for_model(name.replace("-", " "))

    def fabric_for_name(self, name: str, rate_gbps: float | None) -> str | None:
        """An inventory's fabric: a reference id ('ib-ndr-400') or a loose name ('infiniband-ndr', 'roce')."""
        norm = re.sub(r"[\s_]+", "-", name.strip().lower())
        if norm in self.fabrics:
            return norm
        for gen, rate in (("xdr", 800.0), ("ndr", 400.0), ("hdr", 200.0), ("edr", 100.0)):
            if gen in norm:
                return self.fabric_for("InfiniBand", rate)
        if "roce" in norm or "ethernet" in norm:
            return self.fabric_for("Ethernet", rate_gbps)
        if "infiniband" in norm or norm.startswith("ib"):
            return self.fabric_for("InfiniBand", rate_gbps)
        return None

    def fabric_for(self, link_layer: str | None, rate_gbps: float | None) -> str | None:
        if link_layer is None or rate_gbps is None:
            return None
        layer = "InfiniBand" if link_layer.lower().startswith("infiniband") else "Ethernet"
        for fabric_id, ref in self.fabrics.items():
            if ref.link_layer == layer and abs(ref.rate_gbps - rate_gbps) < 0.5:
                return fabric_id
        return None

    def figure_names(self) -> set[str]:
        names = {f"gpu.{name}" for ref in self.gpus.values() for name in ref.figures}
        names |= {f"fabric.{name}" for ref in self.fabrics.values() for name in ref.figures}
        return names


@dataclass(frozen=True)
class ResolvedFigure:
    figure: Figure
    ref_id: str
    """e.g. 'h100-sxm' or 'ib-ndr-400'."""


def _mode(values: Iterable[object]) -> object | None:
    counts = Counter(v for v in values if v is not None)
    if not counts:
        return None
    best = max(counts.values())
    # ties: the smallest by text, so the choice is deterministic
    return sorted((v for v, c in counts.items() if c == best), key=str)[0]


def detect_profile(
    by_metric: dict[str, list[Measurement]],
    refs: References,
    override: dict[str, object] | None = None,
) -> HardwareProfile:
    """The hardware profile from gpu.model, gpu.count, fabric.* measurements, then the override."""
    model = _mode(m.value for m in by_metric.get("gpu.model", ()))
    gpus = _mode(m.value for m in by_metric.get("gpu.count", ()) if isinstance(m.value, int))
    layer = _mode(m.value for m in by_metric.get("fabric.link_layer", ()))
    nic_count = _mode(m.value for m in by_metric.get("fabric.nic_count", ()) if isinstance(m.value, int))
    rates: list[float] = []
    for m in by_metric.get("fabric.nic_rate", ()):
        if isinstance(m.value, (int, float)) and not isinstance(m.value, bool):
            try:
                rates.append(convert(float(m.value), m.unit, Unit.GBITPS))
            except UnitError:
                continue
    rate = _mode(rates)
    gpu_id = refs.gpu_for_model(str(model)) if model is not None else None
    fabric_id = refs.fabric_for(str(layer) if layer is not None else None, rate)  # type: ignore[arg-type]
    source = "detected"
    if override:
        source = "inventory"
        if isinstance(override.get("gpu_model"), str):
            model = str(override["gpu_model"])
            gpu_id = refs.gpu_for_name(model)
        if isinstance(override.get("nic_count"), int):
            nic_count = override["nic_count"]
        if isinstance(override.get("nic_rate_gbps"), (int, float)):
            rate = float(override["nic_rate_gbps"])  # type: ignore[arg-type]
        if isinstance(override.get("fabric"), str):
            fabric_id = refs.fabric_for_name(
                str(override["fabric"]), rate if isinstance(rate, float) else None
            )
            if fabric_id is not None and not isinstance(override.get("nic_rate_gbps"), (int, float)):
                rate = refs.fabrics[fabric_id].rate_gbps
        if isinstance(override.get("gpus_per_node"), int):
            gpus = override["gpus_per_node"]
    return HardwareProfile(
        gpu_model=str(model) if model is not None else None,
        gpus_per_node=gpus if isinstance(gpus, int) else None,
        fabric=fabric_id,
        nic_count=nic_count if isinstance(nic_count, int) else None,
        nic_rate_gbps=float(rate) if isinstance(rate, (int, float)) else None,
        source=source,
        reference_ids=sorted(
            ([f"gpu:{gpu_id}"] if gpu_id else []) + ([f"fabric:{fabric_id}"] if fabric_id else [])
        ),
    )


def resolve_figure(refs: References, profile: HardwareProfile, name: str) -> ResolvedFigure | None:
    """Look up 'gpu.<figure>' or 'fabric.<figure>' for the profile; None when there is none."""
    kind, _, figure = name.partition(".")
    for ref_key in profile.reference_ids:
        ref_kind, _, ref_id = ref_key.partition(":")
        if ref_kind != kind:
            continue
        if kind == "gpu" and ref_id in refs.gpus:
            fig = refs.gpus[ref_id].figures.get(figure)
        elif kind == "fabric" and ref_id in refs.fabrics:
            fig = refs.fabrics[ref_id].figures.get(figure)
        else:
            fig = None
        if fig is not None:
            return ResolvedFigure(fig, ref_id)
    return None


PROFILE_KEYS: dict[str, str] = {
    "gpu_model": "a GPU of rubrics/references.yaml, by id or model name (e.g. H100-SXM)",
    "gpus_per_node": "an integer >= 1",
    "fabric": "a fabric of rubrics/references.yaml by id, or infiniband-xdr/ndr/hdr/edr, roce, ethernet",
    "nic_count": "scale-out NICs per node, an integer >= 0",
    "nic_rate_gbps": "line rate of one NIC in Gb/s, a number > 0",
}
"""Keys of a hardware profile override (``Bundle.target.profile_override``) and what each accepts."""


def profile_override_from_pairs(pairs: Iterable[str], refs: References) -> dict[str, str | int | float]:
    """``KEY=VALUE`` texts -> a profile override that scoring understands.

    Raises ValueError with one line naming the bad key or value and what is accepted.
    """
    raw: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise ValueError(f"{pair!r} is not KEY=VALUE (keys: {', '.join(PROFILE_KEYS)})")
        if key not in PROFILE_KEYS:
            raise ValueError(f"unknown profile key {key!r} (accepted: {', '.join(PROFILE_KEYS)})")
        if key in raw:
            raise ValueError(f"profile key {key!r} given twice")
        raw[key] = value
    out: dict[str, str | int | float] = {}
    for key in ("gpus_per_node", "nic_count"):
        if key in raw:
            try:
                number = int(raw[key])
            except ValueError:
                number = -1
            if number < (1 if key == "gpus_per_node" else 0):
                raise ValueError(f"profile {key}={raw[key]!r}: expected {PROFILE_KEYS[key]}")
            out[key] = number
    rate: float | None = None
    if "nic_rate_gbps" in raw:
        try:
            rate = float(raw["nic_rate_gbps"])
        except ValueError:
            rate = None
        if rate is None or not rate > 0 or rate == float("inf"):
            raise ValueError(
                f"profile nic_rate_gbps={raw['nic_rate_gbps']!r}: expected {PROFILE_KEYS['nic_rate_gbps']}"
            )
        out["nic_rate_gbps"] = rate
    if "gpu_model" in raw:
        if refs.gpu_for_name(raw["gpu_model"]) is None:
            raise ValueError(
                f"profile gpu_model={raw['gpu_model']!r} matches no GPU of the hardware references"
                f" (accepted: {', '.join(refs.gpus)})"
            )
        out["gpu_model"] = raw["gpu_model"]
    if "fabric" in raw:
        if refs.fabric_for_name(raw["fabric"], rate) is None:
            need_rate = rate is None and any(
                w in raw["fabric"].lower() for w in ("roce", "ethernet", "infiniband")
            )
            raise ValueError(
                f"profile fabric={raw['fabric']!r} matches no fabric of the hardware references"
                + (" without nic_rate_gbps" if need_rate else "")
                + f" (accepted: {', '.join(refs.fabrics)}, infiniband-xdr/ndr/hdr/edr, or roce/ethernet"
                " with nic_rate_gbps)"
            )
        out["fabric"] = raw["fabric"]
    return {k: out[k] for k in PROFILE_KEYS if k in out}

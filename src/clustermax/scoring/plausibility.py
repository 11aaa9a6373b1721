"""Physical plausibility of NCCL bandwidths against the hardware profile (pure): forged output is no evidence.

A bandwidth no link of the hardware could carry was not measured on it. Scoring knows the hardware (the
detected or given profile) and the reference table's link figures, so this check lives here; what a run's
own table contradicts is the parse stage's check (``clustermax.probes.plausibility``).

From each nccl.* bandwidth value (labels ``collective``, ``scope``, ``nodes``, ``ranks``) comes the least
traffic it implies (nccl-tests doc/PERFORMANCE.md; in-network reduction such as NVLS or SHARP allowed,
so these are lower bounds a real run can approach but never beat):

* per GPU and direction: all_reduce moves at least algbw (each GPU's S bytes go in and out once), the
  others at least busbw (all_gather, reduce_scatter, alltoall: busbw = algbw x (n-1)/n; broadcast,
  reduce, sendrecv: busbw = algbw). One node: it must fit the GPU's scale-up links (``gpu.scaleup_bw``:
  NVLink 4 450 GB/s per direction on H100 SXM, NVLink 5 900 GB/s on B200 ...).
* per node, across nodes: all_reduce, broadcast, reduce and sendrecv move at least algbw through the
  node's NICs, all_gather, reduce_scatter and alltoall at least algbw x (N-1)/N on N nodes; it must fit
  the compute NICs (``fabric.nic_rate`` x ``nic_count``: 8 x NDR 400 Gb/s = 400 GB/s). A multi-node run
  within one NVLink domain (``gpu.scaleup_domain_gpus``, GB200 NVL72) is held to the scale-up links
  instead.

Unknown ranks or nodes take the value that gives the smallest traffic (never flag on a guess); without
the figure (an unknown GPU, no fabric, no NIC count) nothing is checked. ``SLACK`` allows for nominal
rates and rounding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..models.common import Unit
from ..models.results import Measurement
from ..models.score import HardwareProfile
from ..units import UnitError, convert
from .references import References, resolve_figure

SLACK = 1.05
"""A value up to 5% above the physical limit is still taken as measured."""

BUSBW_METRICS = frozenset(
    {"nccl.busbw", "nccl.busbw_peak", "nccl.busbw_peak_median", "nccl.busbw_band_mean", "nccl.busbw_max_size"}
)
ALGBW_METRICS = frozenset({"nccl.algbw", "nccl.algbw_peak"})
CHECKED_METRICS = BUSBW_METRICS | ALGBW_METRICS
_REPORT_ORDER = (
    "nccl.busbw_peak_median",
    "nccl.busbw_peak",
    "nccl.busbw_max_size",
    "nccl.busbw_band_mean",
    "nccl.algbw_peak",
    "nccl.busbw",
    "nccl.algbw",
)
"""The figure whose reason is told for a configuration: the first of these that is implausible."""
TAINTED_METRICS = CHECKED_METRICS | {"nccl.busbw_peak_spread"}
"""What an implausible figure makes not evidence, across its configuration."""
COUNT_METRIC = "nccl.runs_implausible"
"""Scoring adds one value of it per collective with implausible figures (labels ``check: physical``)."""

_SPREAD = frozenset({"all_gather", "reduce_scatter", "alltoall"})
_ONE = frozenset({"broadcast", "reduce", "sendrecv"})


GPU_BOUNDS: dict[str, tuple[str, str]] = {
    "gpu.bf16_gemm_tflops": ("gpu.bf16_dense_peak", "dense BF16 tensor-core peak"),
    "gpu.bf16_gemm_sustained_tflops": ("gpu.bf16_dense_peak", "dense BF16 tensor-core peak"),
    "gpu.nvbw_d2d_read": ("gpu.scaleup_bw", "scale-up links per direction"),
}
"""node_perf values with a physical ceiling in the GPU's figures: no GEMM beats the tensor cores' peak, no
device-to-device read beats the links (a bidirectional matrix: twice the links, both ways at once)."""


@dataclass(frozen=True)
class Limits:
    """The physical limits of a profile, in GB/s per direction (None: not known)."""

    gpu_id: str | None = None
    scaleup_gbps: float | None = None
    domain_gpus: int | None = None
    fabric_id: str | None = None
    node_nic_gbps: float | None = None
    nic_count: int | None = None


def _figure(
    refs: References, profile: HardwareProfile, name: str, unit: Unit | None
) -> tuple[str, float] | None:
    found = resolve_figure(refs, profile, name)
    if found is None:
        return None
    value = found.figure.value
    if unit is not None and found.figure.unit is not None and found.figure.unit is not unit:
        try:
            value = convert(value, found.figure.unit, unit)
        except UnitError:
            return None
    return found.ref_id, value


def limits_of(refs: References, profile: HardwareProfile) -> Limits:
    """The link limits of the profile from the reference table."""
    scaleup = _figure(refs, profile, "gpu.scaleup_bw", Unit.GBPS)
    domain = _figure(refs, profile, "gpu.scaleup_domain_gpus", None)
    nic = _figure(refs, profile, "fabric.nic_rate", Unit.GBPS)
    count = profile.nic_count
    return Limits(
        gpu_id=scaleup[0] if scaleup else None,
        scaleup_gbps=scaleup[1] if scaleup else None,
        domain_gpus=int(domain[1]) if domain else None,
        fabric_id=nic[0] if nic else None,
        node_nic_gbps=nic[1] * count if nic and count else None,
        nic_count=count,
    )


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def _alg_min(metric: str, value: float, collective: str, ranks: int | None) -> float:
    """The smallest algbw this value can stand for."""
    if metric in ALGBW_METRICS:
        return value
    if collective == "all_reduce":
        factor = 2 * (ranks - 1) / ranks if ranks and ranks > 1 else 2.0
    elif collective in _SPREAD:
        factor = (ranks - 1) / ranks if ranks and ranks > 1 else 1.0
    else:
        factor = 1.0
    return value / factor


def implausible(m: Measurement, limits: Limits) -> str | None:
    """Why this nccl.* bandwidth cannot have been measured on the profile's hardware; None if it can."""
    value = m.value
    if m.metric not in CHECKED_METRICS or not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    labels = m.labels
    collective = labels.get("collective", "unknown")
    if collective != "all_reduce" and collective not in _SPREAD and collective not in _ONE:
        return None
    ranks = _int(labels.get("ranks"))
    nodes = _int(labels.get("nodes"))
    scope = labels.get("scope")
    if m.unit is not Unit.GBPS:
        try:
            value = convert(float(value), m.unit, Unit.GBPS)
        except UnitError:
            return None
    alg = _alg_min(m.metric, float(value), collective, ranks)
    name = m.metric.removeprefix("nccl.")
    on = f"{collective} on {ranks if ranks else 'an unknown number of'} ranks"
    in_domain = limits.domain_gpus is not None and ranks is not None and ranks <= limits.domain_gpus
    if limits.scaleup_gbps is not None and (scope == "intra" or (scope == "inter" and in_domain)):
        if collective == "all_reduce":
            per_gpu = alg
        elif collective in _SPREAD:
            per_gpu = alg * ((ranks - 1) / ranks if ranks and ranks > 1 else 0.5)
        else:
            per_gpu = alg
        if per_gpu > limits.scaleup_gbps * SLACK:
            return (
                f"{name} {value:g} GB/s ({on}, {scope}-node) means at least {per_gpu:.1f} GB/s per GPU and"
                f" direction, above {limits.gpu_id}'s scale-up links ({limits.scaleup_gbps:g} GB/s,"
                " gpu.scaleup_bw)"
            )
    if scope == "inter" and not in_domain and limits.node_nic_gbps is not None:
        if collective in _SPREAD:
            share = (nodes - 1) / nodes if nodes and nodes > 1 else 0.5
        else:
            share = 1.0
        per_node = alg * share
        if per_node > limits.node_nic_gbps * SLACK:
            return (
                f"{name} {value:g} GB/s ({on}, {nodes or 'several'} nodes) means at least {per_node:.1f} GB/s"
                f" through each node's NICs per direction, above {limits.nic_count} x {limits.fabric_id}"
                f" ({limits.node_nic_gbps:g} GB/s, fabric.nic_rate x nic_count)"
            )
    return None


def _gpu_bounds(
    by_metric: Mapping[str, Sequence[Measurement]], refs: References, profile: HardwareProfile
) -> dict[int, str]:
    """node_perf values above the GPU's physical figure (``GPU_BOUNDS``); one taints the metric on a host."""
    bad: dict[tuple[str, str], str] = {}
    for metric, (figure, what) in GPU_BOUNDS.items():
        values = by_metric.get(metric, ())
        if not values:
            continue
        found = resolve_figure(refs, profile, figure)
        if found is None or found.figure.unit is None:
            continue
        for m in values:
            value = m.value
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            try:
                limit = convert(found.figure.value, found.figure.unit, m.unit)
            except UnitError:
                continue
            if "bidirectional" in m.labels.get("matrix", ""):
                limit *= 2
            if value > limit * SLACK:
                bad.setdefault(
                    (metric, m.host or ""),
                    f"{metric.removeprefix('gpu.')} {value:g} {m.unit.value} on {m.host or 'the cluster'}"
                    f" is above {found.ref_id}'s {what} ({limit:g} {m.unit.value}, {figure})",
                )
    return {
        id(m): bad[(metric, m.host or "")]
        for metric in GPU_BOUNDS
        for m in by_metric.get(metric, ())
        if (metric, m.host or "") in bad
    }


def _config(m: Measurement) -> tuple[tuple[str, str], ...]:
    """The run configuration a value belongs to: host and labels without ``run``, ``runs``, ``size_bytes``."""
    key = sorted((k, v) for k, v in m.labels.items() if k not in ("run", "runs", "size_bytes"))
    return (("host", m.host or ""), *key)


def screen(
    by_metric: Mapping[str, Sequence[Measurement]], refs: References, profile: HardwareProfile
) -> tuple[dict[int, str], list[Measurement]]:
    """Every nccl.* value that is not evidence (by ``id()`` of the measurement, with the reason): the
    bandwidths above the hardware's links and every value of their configuration; and the
    ``nccl.runs_implausible`` values (``check: physical``) that count those configurations per collective."""
    reasons = _gpu_bounds(by_metric, refs, profile)
    limits = limits_of(refs, profile)
    if limits.scaleup_gbps is None and limits.node_nic_gbps is None:
        return reasons, []
    tainted: dict[tuple[tuple[str, str], ...], str] = {}
    for metric in _REPORT_ORDER:
        for m in by_metric.get(metric, ()):
            why = implausible(m, limits)
            if why is not None:
                tainted.setdefault(_config(m), why)
    if not tainted:
        return reasons, []
    # one implausible figure taints its whole configuration (every size, run, peak, band and spread of it)
    for metric in sorted(TAINTED_METRICS):
        for m in by_metric.get(metric, ()):
            why = tainted.get(_config(m))
            if why is not None:
                reasons[id(m)] = why
    configs: dict[str, set[tuple[tuple[str, str], ...]]] = {}
    for key in tainted:
        configs.setdefault(dict(key).get("collective", "unknown"), set()).add(key)
    counts = [
        Measurement(
            metric=COUNT_METRIC,
            value=len(found),
            unit=Unit.COUNT,
            labels={"collective": collective, "check": "physical"},
        )
        for collective, found in sorted(configs.items())
    ]
    return reasons, counts

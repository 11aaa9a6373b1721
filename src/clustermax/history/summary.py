"""What the history database keeps of a bundle besides its raw bytes: the key metrics a trend needs.

One row per (name, labels): ``value`` (a number) or ``text`` (versions), the unit and, for medians, the
measured run-to-run spread. Cluster-wide totals are sums over the nodes that measured them (null when none
did: not measured is never 0); versions are the distinct values, joined by " / ".
"""

from __future__ import annotations

import statistics
import zlib
from collections import defaultdict
from typing import Any

from ..models.bundle import Bundle

TOTALS: tuple[str, ...] = (
    "gpu.count",
    "gpu.ecc_uncorrected",
    "gpu.ecc_uncorrected_aggregate",
    "gpu.xid_critical",
    "gpu.xid_events",
    "gpu.remapped_rows_failed",
    "gpu.nvlink_inactive",
    "fabric.ports_active",
    "fabric.ports_down",
)
"""Per-node counts kept as their sum over the cluster."""
VALUES: tuple[str, ...] = ("slurm.nodes_usable", "k8s.nodes_ready")
"""Cluster-level values kept as they are (the median when several results give one)."""
MEDIANS: dict[str, tuple[str, dict[str, str]]] = {
    "nccl.busbw_peak_median": ("nccl.busbw_peak_spread", {}),
    "ttfj.batch_total_median": ("ttfj.spread", {"kind": "batch"}),
    "ttfj.interactive_total_median": ("ttfj.spread", {"kind": "interactive"}),
    "ttfj.pod_total_median": ("ttfj.pod_total_spread", {}),
}
"""Medians kept per configuration, with the spread metric (and its extra labels) of the same run set."""
VERSIONS: tuple[str, ...] = ("gpu.driver_version", "gpu.cuda_version", "nccl.version", "slurm.version")

COMPRESS_LEVEL = 6


def pack(raw: bytes) -> bytes:
    """The stored form of a bundle file: zlib-compressed bytes."""
    return zlib.compress(raw, COMPRESS_LEVEL)


def unpack(stored: bytes) -> bytes:
    return zlib.decompress(stored)


def labels_text(labels: dict[str, str]) -> str:
    """Canonical label text: 'k=v,k=v' sorted by key (the run count left out)."""
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "runs")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def key_metric_rows(raw_or_bundle: bytes | Bundle) -> list[dict[str, Any]]:
    """The key metric rows of a bundle (given as the model or as bundle.json bytes)."""
    bundle = raw_or_bundle if isinstance(raw_or_bundle, Bundle) else Bundle.model_validate_json(raw_or_bundle)
    rows: list[dict[str, Any]] = []
    totals: dict[str, list[float]] = defaultdict(list)
    units: dict[str, str] = {}
    values: dict[str, list[float]] = defaultdict(list)
    versions: dict[str, set[str]] = defaultdict(set)
    medians: dict[tuple[str, str], tuple[float, str]] = {}
    spreads: dict[tuple[str, str], float] = {}
    for m in bundle.measurements():
        if m.metric in TOTALS and (n := _number(m.value)) is not None:
            totals[m.metric].append(n)
            units[m.metric] = m.unit.value
        elif m.metric in VALUES and (n := _number(m.value)) is not None:
            values[m.metric].append(n)
            units[m.metric] = m.unit.value
        elif m.metric in VERSIONS and isinstance(m.value, str) and m.value:
            versions[m.metric].add(m.value)
        elif m.metric in MEDIANS and (n := _number(m.value)) is not None:
            medians[(m.metric, labels_text(m.labels))] = (n, m.unit.value)
        elif m.metric.endswith("_spread") or m.metric == "ttfj.spread":
            runs = m.labels.get("runs")
            if (n := _number(m.value)) is not None and (runs is None or (runs.isdigit() and int(runs) >= 2)):
                spreads[(m.metric, labels_text(m.labels))] = n
    for name, nums in sorted(totals.items()):
        rows.append(
            {
                "name": name,
                "labels": "",
                "value": sum(nums),
                "text": None,
                "unit": units[name],
                "spread": None,
            }
        )
    for name, nums in sorted(values.items()):
        rows.append(
            {
                "name": name,
                "labels": "",
                "value": statistics.median(nums),
                "text": None,
                "unit": units[name],
                "spread": None,
            }
        )
    for (name, labels), (value, unit) in sorted(medians.items()):
        spread_metric, extra = MEDIANS[name]
        spread_labels = labels_text({**dict(p.split("=", 1) for p in labels.split(",") if p), **extra})
        rows.append(
            {
                "name": name,
                "labels": labels,
                "value": value,
                "text": None,
                "unit": unit,
                "spread": spreads.get((spread_metric, spread_labels)),
            }
        )
    for name, seen in sorted(versions.items()):
        rows.append(
            {
                "name": name,
                "labels": "",
                "value": None,
                "text": " / ".join(sorted(seen))[:512],
                "unit": "version",
                "spread": None,
            }
        )
    return rows

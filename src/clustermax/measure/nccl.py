"""Parsed nccl-tests / rccl-tests logs -> ``nccl.*`` measurements (``probes/nccl_allreduce/probe.yaml``).

Pure. Labels: ``collective`` (or "unknown"), ``impl`` (nccl-tests / rccl-tests), ``scope`` ("intra"
when the device list shows one host, "inter" for several, "unknown" without a device list),
``nodes``, ``ranks`` ("unknown" when the log does not tell), ``run`` (index of the run in the file,
"0" for a single run) and ``size_bytes`` where the metric is per size. Callers may override or add
labels (the probe parser passes its own run index, for example).

* nccl.busbw: out-of-place busbw of every row; nccl.busbw_peak: the highest busbw of the run
  (out-of-place and in-place); nccl.busbw_band_mean: mean out-of-place busbw over rows with
  16 MiB <= size <= 512 MiB (not measured when the sweep has none); nccl.busbw_max_size:
  out-of-place busbw at the largest size; nccl.wrong: sum of #wrong (not measured with an old
  float "error" column); nccl.version.
* Over several runs of one configuration: nccl.busbw_peak_median and nccl.busbw_peak_spread.

Finding ``wrong-results`` when #wrong > 0 or "Out of bounds values" is not OK.
"""

from __future__ import annotations

import statistics

from ..models import Finding, Measurement, Severity, Unit
from ..parsers.nccl_tests import NcclRun, NcclTestsOutput

__all__ = ["BAND_MAX_BYTES", "BAND_MIN_BYTES", "band_mean", "nccl_measurements", "run_labels"]

Result = tuple[list[Measurement], list[Finding]]

BAND_MIN_BYTES = 16 * 1024 * 1024
BAND_MAX_BYTES = 512 * 1024 * 1024


def band_mean(run: NcclRun | NcclTestsOutput) -> float | None:
    """Mean out-of-place busbw over 16 MiB <= size <= 512 MiB; None when no row is in the band."""
    values = [
        r.oop_busbw_gbps
        for r in run.rows
        if BAND_MIN_BYTES <= r.size_bytes <= BAND_MAX_BYTES and r.oop_busbw_gbps is not None
    ]
    return round(sum(values) / len(values), 4) if values else None


def run_labels(
    run: NcclRun | NcclTestsOutput, index: int, extra: dict[str, str] | None = None
) -> dict[str, str]:
    nodes = run.nodes
    scope = "unknown" if nodes is None else ("intra" if nodes == 1 else "inter")
    labels = {
        "collective": run.collective or "unknown",
        "impl": run.impl,
        "scope": scope,
        "nodes": str(nodes) if nodes is not None else "unknown",
        "ranks": str(run.ranks) if run.ranks is not None else "unknown",
        "run": str(index),
    }
    if extra:
        labels.update(extra)
    return labels


def nccl_measurements(
    parsed: NcclTestsOutput, host: str | None, labels: dict[str, str] | None = None
) -> Result:
    out: list[Measurement] = []
    findings: list[Finding] = []
    runs: list[NcclRun | NcclTestsOutput] = list(parsed.runs) if parsed.runs else [parsed]
    peaks: dict[tuple[tuple[str, str], ...], list[float]] = {}
    version: str | None = None
    for i, run in enumerate(runs):
        base = run_labels(run, i, labels)
        gbps = Unit.GBPS
        for row in run.rows:
            out.append(
                Measurement(
                    metric="nccl.busbw",
                    value=row.oop_busbw_gbps,
                    unit=gbps,
                    host=host,
                    labels={**base, "size_bytes": str(row.size_bytes)},
                )
            )
        out.append(
            Measurement(
                metric="nccl.busbw_peak", value=run.peak_busbw_gbps, unit=gbps, host=host, labels=base
            )
        )
        out.append(
            Measurement(
                metric="nccl.busbw_band_mean", value=band_mean(run), unit=gbps, host=host, labels=base
            )
        )
        max_labels = dict(base)
        if run.max_size_bytes is not None:
            max_labels["size_bytes"] = str(run.max_size_bytes)
        out.append(
            Measurement(
                metric="nccl.busbw_max_size",
                value=run.busbw_at_max_size_gbps,
                unit=gbps,
                host=host,
                labels=max_labels,
            )
        )
        out.append(
            Measurement(metric="nccl.wrong", value=run.wrong_total, unit=Unit.COUNT, host=host, labels=base)
        )
        if run.peak_busbw_gbps is not None:
            key = tuple(sorted((k, v) for k, v in base.items() if k != "run"))
            peaks.setdefault(key, []).append(run.peak_busbw_gbps)
        version = version or run.nccl_version
        bad = (run.wrong_total or 0) > 0 or run.out_of_bounds_ok is False
        if bad:
            what = []
            if run.wrong_total:
                what.append(f"#wrong = {run.wrong_total}")
            if run.out_of_bounds_ok is False:
                what.append(f"{run.out_of_bounds_values} out-of-bounds values")
            findings.append(
                Finding(
                    code="wrong-results",
                    severity=Severity.HIGH,
                    host=host,
                    message=(
                        f"{run.impl} {base['collective']} run {i} reported wrong results ({', '.join(what)})"
                    ),
                    remediation=(
                        "Data corruption on a GPU or link: drain the nodes involved and run dcgmi diag -r 3."
                    ),
                )
            )
    for key, values in peaks.items():
        if len(values) < 2:
            continue
        agg = dict(key)
        agg["runs"] = str(len(values))
        median = statistics.median(values)
        out.append(
            Measurement(metric="nccl.busbw_peak_median", value=median, unit=Unit.GBPS, host=host, labels=agg)
        )
        spread = (max(values) - min(values)) / median if median else None
        out.append(
            Measurement(metric="nccl.busbw_peak_spread", value=spread, unit=Unit.RATIO, host=host, labels=agg)
        )
    if version is not None:
        out.append(Measurement(metric="nccl.version", value=version, unit=Unit.VERSION, host=host))
    return out, findings

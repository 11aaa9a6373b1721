"""nccl-tests / rccl-tests runs -> ``nccl.*`` measurements (``probes/nccl_allreduce/probe.yaml``).

The one mapping from all-reduce runs to metrics: the nccl_allreduce probe parser
(:mod:`clustermax.probe_parsers.nccl_allreduce`) and ``clustermax import`` both call these functions,
so the same runs give the same ``nccl.*`` values whichever way they came in. Pure. Finding codes are the
probe's remediation keys (the probe parser attaches the remediation text; an import leaves it to the
rubric).

Labels: ``collective`` (or "unknown"), ``impl`` (nccl-tests / rccl-tests / torch), ``scope`` ("intra"
for one node, "inter" for several, "unknown" when the log has no device list), ``nodes``, ``ranks``
("unknown" when not told), ``run`` (1, 2, ...: the run's number within its configuration) and
``size_bytes`` where the metric is per size. A configuration is the labels without ``run``: runs of
one configuration are repetitions of it.

* Per run (:func:`run_measurements`), from the out-of-place columns: nccl.busbw and nccl.algbw per size,
  nccl.busbw_peak (highest busbw), nccl.busbw_band_mean (mean busbw over 16 MiB <= size <= 512 MiB,
  not measured when the sweep has none), nccl.busbw_max_size (busbw at the largest size),
  nccl.algbw_peak; nccl.wrong (sum of #wrong; not measured with an old float "error" column).
* Per configuration (:func:`peak_aggregates`), over its R runs: nccl.busbw_peak_median and
  nccl.busbw_peak_spread ((max - min) / median; 0 for one run), labelled ``runs`` = R.
* nccl.version (:func:`version_measurement`); nccl.env_tuned / nccl.autoconfig and the
  ``nccl-env-forced`` finding (:func:`env_measurements`) from the NCCL environment when it is known.

:func:`import_measurements` maps the nccl-tests logs of one import: every run of every log (a file with
several concatenated runs contributes each), grouped by configuration.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..models import Finding, Measurement, Severity, Unit
from ..parsers.nccl_tests import NcclRun, NcclTestsOutput

__all__ = [
    "BAND_MAX_BYTES",
    "BAND_MIN_BYTES",
    "FORCED_VARS",
    "ImportedLog",
    "SizeRow",
    "band_mean",
    "env_from_log",
    "env_measurements",
    "import_measurements",
    "nccl_measurements",
    "peak_aggregates",
    "rows_of",
    "run_labels",
    "run_measurements",
    "version_measurement",
    "wrong_finding",
]

Result = tuple[list[Measurement], list[Finding]]

BAND_MIN_BYTES = 16 * 1024 * 1024
BAND_MAX_BYTES = 512 * 1024 * 1024
FORCED_VARS = ("NCCL_ALGO", "NCCL_PROTO", "NCCL_MIN_NCHANNELS")
"""NCCL variables that force tuning NCCL would otherwise choose itself."""

_ENV_LINE = re.compile(r"NCCL INFO (NCCL_[A-Z0-9_]+) set by environment to (.*?)\.?\s*$")


@dataclass(frozen=True)
class SizeRow:
    """The out-of-place figures of one message size."""

    size_bytes: int
    algbw: float | None
    busbw: float | None
    wrong: int | None = None


def rows_of(run: NcclRun | NcclTestsOutput) -> list[SizeRow]:
    """The out-of-place columns of a parsed nccl-tests run."""
    return [SizeRow(r.size_bytes, r.oop_algbw_gbps, r.oop_busbw_gbps, r.oop_wrong) for r in run.rows]


def band_mean(rows: Sequence[SizeRow]) -> float | None:
    """Mean busbw over 16 MiB <= size <= 512 MiB; None when no row is in the band."""
    band = [r.busbw for r in rows if r.busbw is not None and BAND_MIN_BYTES <= r.size_bytes <= BAND_MAX_BYTES]
    return round(statistics.fmean(band), 3) if band else None


def run_labels(
    collective: str | None, impl: str, nodes: int | None, ranks: int | None, run: int
) -> dict[str, str]:
    scope = "unknown" if nodes is None else ("intra" if nodes == 1 else "inter")
    return {
        "collective": collective or "unknown",
        "impl": impl,
        "scope": scope,
        "nodes": str(nodes) if nodes is not None else "unknown",
        "ranks": str(ranks) if ranks else "unknown",
        "run": str(run),
    }


def run_measurements(
    rows: Sequence[SizeRow], labels: Mapping[str, str], host: str | None
) -> tuple[list[Measurement], float | None]:
    """Per-size and per-run bandwidth metrics of one run, and its peak busbw (None without rows)."""
    base = dict(labels)
    gbps = Unit.GBPS
    out: list[Measurement] = []
    if base.get("ranks") == "1":
        # One rank moves no data between GPUs: busbw = algbw x 2(n-1)/n is 0 by definition (nccl-tests
        # prints 0), which is not a measured bus bandwidth. Keep algbw; busbw is not measured (null).
        for row in rows:
            size = {**base, "size_bytes": str(row.size_bytes)}
            out.append(Measurement(metric="nccl.algbw", value=row.algbw, unit=gbps, host=host, labels=size))
        algs1 = [r.algbw for r in rows if r.algbw is not None]
        out += [
            Measurement(metric=name, value=None, unit=gbps, host=host, labels=base)
            for name in ("nccl.busbw_peak", "nccl.busbw_band_mean")
        ]
        out.append(
            Measurement(
                metric="nccl.algbw_peak",
                value=max(algs1) if algs1 else None,
                unit=gbps,
                host=host,
                labels=base,
            )
        )
        return out, None
    measured = [r for r in rows if r.busbw is not None]
    for row in measured:
        size = {**base, "size_bytes": str(row.size_bytes)}
        out.append(Measurement(metric="nccl.busbw", value=row.busbw, unit=gbps, host=host, labels=size))
        out.append(Measurement(metric="nccl.algbw", value=row.algbw, unit=gbps, host=host, labels=size))
    if not measured:
        return out, None
    peak = max(r.busbw for r in measured if r.busbw is not None)
    last = max(measured, key=lambda r: r.size_bytes)
    algs = [r.algbw for r in measured if r.algbw is not None]
    out += [
        Measurement(metric="nccl.busbw_peak", value=peak, unit=gbps, host=host, labels=base),
        Measurement(
            metric="nccl.busbw_band_mean", value=band_mean(measured), unit=gbps, host=host, labels=base
        ),
        Measurement(
            metric="nccl.busbw_max_size",
            value=last.busbw,
            unit=gbps,
            host=host,
            labels={**base, "size_bytes": str(last.size_bytes)},
        ),
        Measurement(
            metric="nccl.algbw_peak", value=max(algs) if algs else None, unit=gbps, host=host, labels=base
        ),
    ]
    return out, peak


def _config_order(labels: Mapping[str, str]) -> tuple[object, ...]:
    nodes = labels.get("nodes", "")
    ranks = labels.get("ranks", "")
    return (
        labels.get("collective", ""),
        int(nodes) if nodes.isdigit() else 1 << 30,
        labels.get("impl", ""),
        int(ranks) if ranks.isdigit() else 1 << 30,
        sorted(labels.items()),
    )


def peak_aggregates(
    peaks: Iterable[tuple[Mapping[str, str], float]], host: str | None = None
) -> list[Measurement]:
    """nccl.busbw_peak_median and nccl.busbw_peak_spread per configuration.

    ``peaks`` holds (run labels, peak busbw) for every run that counts (a hung run does not); the
    configuration is the labels without ``run`` and ``size_bytes``; ``runs`` = how many runs it had.
    """
    groups: dict[tuple[tuple[str, str], ...], list[float]] = {}
    for labels, peak in peaks:
        key = tuple(sorted((k, v) for k, v in labels.items() if k not in ("run", "size_bytes")))
        groups.setdefault(key, []).append(peak)
    out: list[Measurement] = []
    for key, values in sorted(groups.items(), key=lambda kv: _config_order(dict(kv[0]))):
        agg = {**dict(key), "runs": str(len(values))}
        median = statistics.median(values)
        spread = round((max(values) - min(values)) / median, 4) if median else None
        out.append(
            Measurement(
                metric="nccl.busbw_peak_median", value=round(median, 3), unit=Unit.GBPS, host=host, labels=agg
            )
        )
        out.append(
            Measurement(metric="nccl.busbw_peak_spread", value=spread, unit=Unit.RATIO, host=host, labels=agg)
        )
    return out


def version_measurement(versions: Iterable[str | None], host: str | None = None) -> Measurement | None:
    """nccl.version: the one version of the runs, or the distinct ones joined by ' / '; None without any."""
    found = sorted({v for v in versions if v})
    if not found:
        return None
    return Measurement(metric="nccl.version", value=" / ".join(found), unit=Unit.VERSION, host=host)


def env_measurements(env: Mapping[str, str], host: str | None = None) -> Result:
    """nccl.env_tuned, nccl.autoconfig and the ``nccl-env-forced`` finding from a known NCCL environment."""
    forced = {k: env[k] for k in FORCED_VARS if k in env}
    text = "; ".join(f"{k}={v}" for k, v in sorted(forced.items()))
    out = [
        Measurement(metric="nccl.env_tuned", value=text, unit=Unit.TEXT, host=host),
        Measurement(metric="nccl.autoconfig", value=not forced, unit=Unit.BOOL, host=host),
    ]
    findings = []
    if forced:
        findings.append(
            Finding(
                code="nccl-env-forced",
                severity=Severity.MEDIUM,
                host=host,
                message="NCCL tuning is forced in the default environment: "
                + ", ".join(f"{k}={v}" for k, v in sorted(forced.items())),
            )
        )
    return out, findings


def env_from_log(text: str) -> dict[str, str] | None:
    """NCCL variables a log shows as set (``NCCL INFO NCCL_X set by environment to V``).

    None when the log has no such line: NCCL's environment logging (NCCL_DEBUG=INFO) was off or cut,
    so the log tells nothing about the environment. The first value of each variable wins.
    """
    env: dict[str, str] = {}
    if "set by environment to" not in text:
        return None
    for line in text.splitlines():
        m = _ENV_LINE.search(line)
        if m:
            env.setdefault(m.group(1), m.group(2).strip())
    return env or None


def wrong_finding(
    impl: str, where: str, wrong: int | None, out_of_bounds: int | None, host: str | None
) -> Finding:
    """``wrong-results``: #wrong > 0 or out-of-bounds values reported by a run."""
    what = []
    if wrong:
        what.append(f"{wrong} wrong values")
    if out_of_bounds:
        what.append(f"{out_of_bounds} out-of-bounds values")
    return Finding(
        code="wrong-results",
        severity=Severity.CRITICAL,
        host=host,
        message=f"{' and '.join(what) or 'wrong results'} in {impl} {where}",
    )


@dataclass(frozen=True)
class ImportedLog:
    """One nccl-tests log of an import: its parsed output, the host it belongs to and its raw text."""

    parsed: NcclTestsOutput
    host: str
    text: str = ""


def import_measurements(logs: Sequence[ImportedLog]) -> Result:
    """``nccl.*`` of the nccl-tests logs of one import, as the probe reports its runs.

    Every run of every log counts (in file order; a log whose text repeats an earlier one's is skipped);
    runs of one configuration are its repetitions (``run`` = 1, 2, ... within the configuration).
    The import cannot tell a hung run, so nccl.runs_hung is not reported; the environment metrics
    only when a log shows NCCL's environment lines.
    """
    out: list[Measurement] = []
    findings: list[Finding] = []
    peaks: list[tuple[dict[str, str], float]] = []
    reps: dict[tuple[tuple[str, str], ...], int] = {}
    versions: list[str | None] = []
    env: dict[str, str] | None = None
    seen: set[str] = set()
    for log in logs:
        if log.text:
            if log.text in seen:
                continue  # the same log given twice is one set of runs, not a repetition
            seen.add(log.text)
        runs: list[NcclRun | NcclTestsOutput] = list(log.parsed.runs) if log.parsed.runs else [log.parsed]
        for run in runs:
            labels = run_labels(run.collective, run.impl, run.nodes, run.ranks, 1)
            key = tuple(sorted((k, v) for k, v in labels.items() if k != "run"))
            rep = reps.get(key, 0) + 1
            reps[key] = rep
            labels["run"] = str(rep)
            measured, peak = run_measurements(rows_of(run), labels, log.host)
            out += measured
            out.append(
                Measurement(
                    metric="nccl.wrong", value=run.wrong_total, unit=Unit.COUNT, host=log.host, labels=labels
                )
            )
            if peak is not None:
                peaks.append((labels, peak))
            versions.append(run.nccl_version)
            oob = run.out_of_bounds_values if run.out_of_bounds_ok is False else None
            if run.wrong_total or oob:
                where = f"{labels['collective']} on {labels['nodes']} node(s), run {rep}"
                findings.append(wrong_finding(run.impl, where, run.wrong_total, oob, log.host))
        shown = env_from_log(log.text)
        if shown is not None:
            env = {**shown, **(env or {})}
    out += peak_aggregates(peaks)
    version = version_measurement(versions)
    if version is not None:
        out.append(version)
    if env is not None:
        env_out, env_findings = env_measurements(env)
        out += env_out
        findings += env_findings
    return out, findings


def nccl_measurements(parsed: NcclTestsOutput, host: str) -> Result:
    """``nccl.*`` of one nccl-tests log (the runs of the file are repetitions of their configuration)."""
    return import_measurements([ImportedLog(parsed, host)])

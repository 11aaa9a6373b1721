"""nccl_allreduce probe: nccl-tests (or the torch fallback) runs launched through the scheduler.

Sections are described in ``probes/nccl_allreduce/run.sh``. nccl-tests logs are read with
:func:`clustermax.parsers.nccl_tests.parse_nccl_tests`; the torch fallback prints ``#cmx-torch {json}``
lines (format documented in ``probes/nccl_allreduce/torch_allreduce.py``).

Every run is kept (label ``run``); per configuration (node count) the median and the spread of the
peak busbw over runs are derived. A run cut by ``run_timeout_s`` (exit 124/137) is a 'hung' finding;
the other runs still count.

Mapping (``measure``): nccl-tests / rccl-tests runs -> ``nccl.*`` measurements
(``probes/nccl_allreduce/probe.yaml``). The one mapping from all-reduce runs to metrics: ``from_sections``
below and ``clustermax import`` (``FILES``) both call these functions,
so the same runs give the same ``nccl.*`` values whichever way they came in. Pure. Finding codes are the
probe's remediation keys (``from_sections`` attaches the remediation text; an import leaves it to the
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

import json
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ..models import Finding, JSONValue, Measurement, ProbeStatus, Severity, SubStatus, Unit
from ..models.results import NCCL_BAND_MAX_BYTES, NCCL_BAND_MIN_BYTES
from ..parsers.base import ParsedOutput, ParseError
from ..parsers.nccl_tests import NcclRun, NcclTestsOutput, parse_nccl_tests
from .base import (
    FileKind,
    ImportContext,
    ImportedOutput,
    Measured,
    ProbeInput,
    ProbeOutput,
    Section,
    script_error,
)
from .evidence import with_remediation
from .plausibility import run_implausible

# ------------------------------------------------------------------------------------------ measure

Result = tuple[list[Measurement], list[Finding]]

BAND_MIN_BYTES = NCCL_BAND_MIN_BYTES
BAND_MAX_BYTES = NCCL_BAND_MAX_BYTES
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


def _config_key(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """A run's configuration: its labels without ``run`` and ``size_bytes``."""
    return tuple(sorted((k, v) for k, v in labels.items() if k not in ("run", "size_bytes")))


def peak_aggregates(
    peaks: Iterable[tuple[Mapping[str, str], float | None]], host: str | None = None
) -> list[Measurement]:
    """nccl.busbw_peak_median and nccl.busbw_peak_spread per configuration.

    ``peaks`` holds (run labels, peak busbw) for every run that counts (a hung run does not); the
    configuration is the labels without ``run`` and ``size_bytes``; ``runs`` = how many runs it had. A
    peak of None is an implausible run: its configuration's median and spread are null (not evidence),
    whatever its other runs printed.
    """
    groups: dict[tuple[tuple[str, str], ...], list[float | None]] = {}
    for labels, peak in peaks:
        groups.setdefault(_config_key(labels), []).append(peak)
    out: list[Measurement] = []
    for key, found in sorted(groups.items(), key=lambda kv: _config_order(dict(kv[0]))):
        agg = {**dict(key), "runs": str(len(found))}
        values = [v for v in found if v is not None]
        if len(values) < len(found):
            median_value: float | None = None
            spread: float | None = None
        else:
            median = statistics.median(values)
            median_value = round(median, 3)
            spread = round((max(values) - min(values)) / median, 4) if median else None
        out.append(
            Measurement(
                metric="nccl.busbw_peak_median", value=median_value, unit=Unit.GBPS, host=host, labels=agg
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


@dataclass
class RunData:
    """One run of one configuration: what :func:`measure_runs` maps. An audit knows how it launched the
    run (planned ranks, exit status: ``hung``, ``failed``); an imported log only what it prints."""

    nodes: int | None
    rep: int
    """The run's number within its configuration (1, 2, ...)."""
    impl: str
    collective: str | None = None
    ranks_planned: int | None = None
    ranks_seen: int | None = None
    rows: list[SizeRow] = field(default_factory=list)
    wrong_total: int | None = None
    out_of_bounds: int | None = None
    """Out-of-bounds values the log reports as failing its check (None: none, or not checked)."""
    nccl_version: str | None = None
    hung: bool | None = False
    """Cut by its timeout; None: cannot be told (an imported log)."""
    failed: str | None = None
    runs_in_log: int = 1
    implausible: str | None = None
    """What in the printed table cannot be real (:func:`~clustermax.probes.plausibility.run_implausible`);
    such a run is not evidence: its bandwidths are null and its configuration has no peak median."""


@dataclass(frozen=True)
class NcclEvidence:
    """What :func:`measure` maps: the runs, and the NCCL environment when it is known."""

    runs: list[RunData] = field(default_factory=list)
    env: dict[str, str] | None = None
    """NCCL_* variables set for the runs; None when nothing tells them."""
    collective: str | None = None
    """The collective the runs were asked for (labels nccl.runs_hung)."""


def measure_env(env: Mapping[str, str] | None, remediation: Mapping[str, str] | None = None) -> Measured:
    """nccl.env_tuned / nccl.autoconfig and ``nccl-env-forced`` when the environment is known."""
    if env is None:
        return Measured([], [])
    ms, findings = env_measurements(env)
    return Measured(ms, with_remediation(findings, remediation or {}))


def measure_runs(
    runs: Sequence[RunData], collective: str | None = None, remediation: Mapping[str, str] | None = None
) -> Measured:
    """``nccl.*`` of the runs: per run, per configuration (median and spread of the peak over its runs
    that did not hang), nccl.version, nccl.runs_hung (when every run's end is known) and the run
    findings. Cluster scope: no host."""
    measurements: list[Measurement] = []
    findings: list[Finding] = []

    def find(code: str, severity: Severity, message: str) -> None:
        findings.append(Finding(code=code, severity=severity, host=None, message=message))

    version = version_measurement(r.nccl_version for r in runs)
    measurements.append(
        Measurement(metric="nccl.version", value=version.value if version else None, unit=Unit.VERSION)
    )
    peaks: list[tuple[dict[str, str], float | None]] = []
    hung = 0
    implausible: dict[str, int] = {}
    """Implausible runs per collective (every collective that ran has a count, 0 included)."""
    for run in runs:
        base = run_labels(run.collective, run.impl, run.nodes, run.ranks_seen or run.ranks_planned, run.rep)
        where = f"on {base['nodes']} node(s), run {run.rep}"
        if run.hung:
            hung += 1
            find(
                "hung",
                Severity.HIGH,
                f"{run.impl} {where}, did not finish within its timeout"
                + (f" ({len(run.rows)} sizes done)" if run.rows else ""),
            )
        if run.failed:
            find("run-failed", Severity.HIGH, f"{run.impl} {where}, failed: {run.failed}")
        if run.runs_in_log > 1 and (run.ranks_seen or 0) <= 1 < (run.ranks_planned or 0):
            find(
                "not-mpi",
                Severity.MEDIUM,
                f"{run.runs_in_log} independent single-rank runs instead of one"
                f" {run.ranks_planned}-rank run: "
                "nccl-tests was not built with MPI (make MPI=1) or srun lacks the cluster's PMI",
            )
        elif run.ranks_seen and run.ranks_planned and run.ranks_seen != run.ranks_planned:
            find(
                "rank-mismatch",
                Severity.LOW,
                f"run on {base['nodes']} node(s) reports {run.ranks_seen} ranks,"
                f" {run.ranks_planned} were launched",
            )
        implausible.setdefault(base["collective"], 0)
        if run.implausible:
            implausible[base["collective"]] += 1
            find(
                "implausible-result",
                Severity.HIGH,
                f"implausible {run.impl} output ({base['collective']} {where}): {run.implausible}",
            )
            # not evidence: every bandwidth of the run is null, and so is its configuration's median
            measurements.extend(
                Measurement(metric=name, value=None, unit=Unit.GBPS, labels=base)
                for name in (
                    "nccl.busbw_peak",
                    "nccl.busbw_band_mean",
                    "nccl.busbw_max_size",
                    "nccl.algbw_peak",
                )
            )
            if not run.hung:
                peaks.append((base, None))
        else:
            run_out, peak = run_measurements(run.rows, base, None)
            measurements.extend(run_out)
            if peak is not None and not run.hung:
                peaks.append((base, peak))
        measurements.append(
            Measurement(metric="nccl.wrong", value=run.wrong_total, unit=Unit.COUNT, labels=base)
        )
        if run.wrong_total or run.out_of_bounds:
            findings.append(
                wrong_finding(
                    run.impl, f"{base['collective']} {where}", run.wrong_total, run.out_of_bounds, None
                )
            )
    measurements.extend(peak_aggregates(peaks))
    for name in sorted(implausible):
        measurements.append(
            Measurement(
                metric="nccl.runs_implausible",
                value=implausible[name],
                unit=Unit.COUNT,
                labels={"collective": name, "check": "table"},
            )
        )
    if runs and all(r.hung is not None for r in runs):
        measurements.append(
            Measurement(
                metric="nccl.runs_hung",
                value=hung,
                unit=Unit.COUNT,
                labels={"collective": collective or "unknown"},
            )
        )
    if any(r.impl == "torch" for r in runs):
        find(
            "torch-fallback",
            Severity.INFO,
            "nccl-tests is not installed: bandwidth measured with the PyTorch torch.distributed fallback "
            "(impl=torch)",
        )
    if any((r.ranks_seen or r.ranks_planned or 0) == 1 for r in runs):
        find(
            "single-rank",
            Severity.INFO,
            "a run had one rank: busbw = algbw x 2(n-1)/n is 0 by definition (as nccl-tests prints), so"
            " its bus bandwidth is not measured (null); see nccl.algbw",
        )
    return Measured(measurements, with_remediation(findings, remediation or {}))


def measure(ev: NcclEvidence, remediation: Mapping[str, str] | None = None) -> Measured:
    """Every ``nccl.*`` metric and finding of the evidence: the environment's, then the runs'."""
    env = measure_env(ev.env, remediation)
    runs = measure_runs(ev.runs, ev.collective, remediation) if ev.runs else Measured([], [])
    return Measured(env.measurements + runs.measurements, env.findings + runs.findings)


def run_of(
    parsed: NcclRun | NcclTestsOutput, rep: int, nodes: int | None = None, impl: str | None = None
) -> RunData:
    """A parsed nccl-tests run as :class:`RunData` (what the log prints; ``nodes``/``impl`` when the
    caller knows better)."""
    oob = parsed.out_of_bounds_values if parsed.out_of_bounds_ok is False else None
    return RunData(
        nodes=nodes if nodes is not None else parsed.nodes,
        rep=rep,
        impl=impl or parsed.impl,
        collective=parsed.collective,
        ranks_seen=parsed.ranks,
        rows=rows_of(parsed),
        wrong_total=parsed.wrong_total,
        out_of_bounds=oob,
        nccl_version=parsed.nccl_version,
        failed=parsed.failure if not parsed.rows else None,
        implausible=run_implausible(parsed),
    )


def _repetitions(
    parsed_runs: Iterable[NcclRun | NcclTestsOutput], reps: dict[tuple[str, ...], int]
) -> list[RunData]:
    """Runs numbered within their configuration (``reps`` counts them across calls)."""
    out = []
    for parsed in parsed_runs:
        labels = run_labels(parsed.collective, parsed.impl, parsed.nodes, parsed.ranks, 1)
        key = tuple(f"{k}={v}" for k, v in sorted(labels.items()) if k != "run")
        reps[key] = reps.get(key, 0) + 1
        out.append(run_of(parsed, reps[key]))
    return out


@dataclass(frozen=True)
class ImportedLog:
    """One nccl-tests log of an import: its parsed output, the host it belongs to and its raw text."""

    parsed: NcclTestsOutput
    host: str
    text: str = ""


def import_evidence(logs: Sequence[ImportedLog]) -> NcclEvidence:
    """The nccl-tests logs of one import, as the probe reports its runs.

    Every run of every log counts (in file order; a log whose text repeats an earlier one's is skipped);
    runs of one configuration are its repetitions (``run`` = 1, 2, ... within the configuration). A log
    cannot tell whether a run hung, so nccl.runs_hung is not reported; the environment only when a log
    shows NCCL's environment lines.
    """
    runs: list[RunData] = []
    reps: dict[tuple[str, ...], int] = {}
    env: dict[str, str] | None = None
    seen: set[str] = set()
    for log in logs:
        if log.text:
            if log.text in seen:
                continue  # the same log given twice is one set of runs, not a repetition
            seen.add(log.text)
        for run in _repetitions(log.parsed.runs or [log.parsed], reps):
            run.hung = None
            runs.append(run)
        shown = env_from_log(log.text)
        if shown is not None:
            env = {**shown, **(env or {})}
    return NcclEvidence(runs=runs, env=env)


def import_measurements(logs: Sequence[ImportedLog], remediation: Mapping[str, str] | None = None) -> Result:
    """``nccl.*`` of the nccl-tests logs of one import (:func:`import_evidence`, then :func:`measure`)."""
    measured = measure(import_evidence(logs), remediation)
    return measured.measurements, measured.findings


# ------------------------------------------------------------------------------------ from_sections


_RUN = re.compile(r"^run-n(?P<n>\d+)-r(?P<r>\d+)$")

RUN_METRICS = frozenset({"nccl.runs_hung"})
"""Metrics only a probe run reports: whether each run ended before its timeout is known from its exit
status, which no imported log has."""


def _kv(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and key.strip() not in out:
            out[key.strip()] = value.strip()
    return out


def _torch_rows(text: str) -> tuple[dict[str, object], list[SizeRow]]:
    header: dict[str, object] = {}
    rows: list[SizeRow] = []
    for line in text.splitlines():
        idx = line.find("#cmx-torch ")
        if idx < 0:
            continue
        try:
            rec = json.loads(line[idx + len("#cmx-torch ") :])
        except json.JSONDecodeError:
            continue
        if not isinstance(rec, dict):
            continue
        if rec.get("kind") == "header":
            header = rec
        elif rec.get("kind") == "row":
            try:
                rows.append(
                    SizeRow(
                        int(rec["size_bytes"]),
                        _f(rec.get("algbw_gbps")),
                        _f(rec.get("busbw_gbps")),
                        int(rec["wrong"]) if rec.get("wrong") is not None else None,
                    )
                )
            except (KeyError, TypeError, ValueError):
                continue
    return header, rows


def _f(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _read_runs(
    meta: dict[str, str], sec: Section, nodes: int, rep: int, collective: str, stderr: Section | None = None
) -> list[RunData]:
    """The run(s) of one ``run-n<nodes>-r<rep>`` section: one, except a finished log that holds several
    runs which are not the single-rank copies of a launch without MPI (each is then a repetition)."""
    impl = meta.get("impl", "nccl-tests")
    planned = int(meta["ranks"]) if meta.get("ranks", "").isdigit() else None
    run = RunData(nodes=nodes, rep=rep, impl=impl, collective=collective, ranks_planned=planned)
    if sec.rc in (124, 137):
        run.hung = True
    if impl == "torch":
        header, rows = _torch_rows(sec.text)
        run.rows = rows
        ws = header.get("world_size")
        run.ranks_seen = ws if isinstance(ws, int) else None
        nv = header.get("nccl")
        run.nccl_version = nv if isinstance(nv, str) else None
        if run.ranks_seen == 1:
            # one rank: the in-place all-reduce moves no data; a time was measured but no bandwidth
            run.rows = [SizeRow(r.size_bytes, None, r.busbw, r.wrong) for r in rows]
        wrongs = [r.wrong for r in rows if r.wrong is not None]
        run.wrong_total = sum(wrongs) if wrongs else None
    else:
        try:
            parsed = parse_nccl_tests(sec.text)
        except ParseError:
            parsed = None
        if parsed is not None:
            runs = parsed.runs or []
            not_mpi = all((r.ranks or 0) <= 1 for r in runs) and (planned or 0) > 1
            if len(runs) > 1 and sec.ok and not not_mpi:
                split = _repetitions(runs, {})
                for one in split:
                    one.nodes = one.nodes if one.nodes is not None else nodes
                    one.rep += rep - 1
                    one.collective = one.collective or collective
                    one.ranks_planned = planned
                return split
            found = run_of(parsed, rep, nodes=nodes)
            found.collective = found.collective or collective
            found.ranks_planned = planned
            found.hung = run.hung
            found.runs_in_log = max(1, len(runs))
            run = found
    if not run.rows and not run.hung and not run.failed:
        tail = (stderr.text.strip() if stderr else "") or sec.text.strip()
        err = tail.splitlines()[-1] if tail else f"exit status {sec.rc}"
        run.failed = err[:300]
    return [run]


def _no_summary(usable: list[RunData]) -> str:
    """Why there is no bandwidth to summarise."""
    if usable and all((r.ranks_seen or r.ranks_planned or 0) == 1 for r in usable):
        return f"{len(usable)} one-rank run(s): one GPU moves no data, so no bus bandwidth (see nccl.algbw)"
    return "no run produced results"


def from_sections(inp: ProbeInput) -> ProbeOutput:
    s = inp.sections
    rem = inp.spec.remediation
    if (unsupported := script_error(s)) is not None:
        return unsupported
    plan = _kv(s["plan"].text) if "plan" in s else {}
    param = inp.params.get("collective")
    collective = plan.get("collective") or (str(param) if param else None)

    # NCCL environment: launching host, nccl.conf files, and what a compute node reports
    env: dict[str, str] | None = None
    if "nccl-env" in s or "nccl-conf" in s:
        env = {}
        for line in (s["nccl-env"].text if "nccl-env" in s else "").splitlines():
            key, sep, value = line.partition("=")
            if sep and key.startswith("NCCL_"):
                env.setdefault(key, value)
        for name in ("nccl-conf", "discover"):
            for line in (s[name].text if name in s else "").splitlines():
                body = line.removeprefix("env:").removeprefix("conf:").strip()
                key, sep, value = body.partition("=")
                if sep and key.startswith("NCCL_") and not body.startswith("#"):
                    env.setdefault(key.strip(), value.strip())
    measurements, findings = measure_env(env, rem)

    skipped = plan.get("skipped")
    if skipped:
        # skip_code names the missing component's remediation (no-mpi-operator on Kubernetes)
        skip_code = plan.get("skip_code", "")
        not_installed = "not found" in skipped or bool(skip_code)
        return ProbeOutput(
            status=ProbeStatus.SKIPPED,
            substatus=SubStatus.NOT_INSTALLED if not_installed else SubStatus.NOT_APPLICABLE,
            message=skipped,
            remediation=rem.get(skip_code or "nccl-tests-missing") if not_installed else None,
            measurements=measurements,
            findings=findings,
            facts={"plan": dict(plan)},
        )

    facts: dict[str, JSONValue] = {"plan": dict(plan)}
    if "leftover" in s:
        # Kubernetes (launcher=mpijob): what the probe created and could not delete; unknown (null) when
        # the listing itself failed or never ran
        left = s["leftover"]
        clean = None if left.rc != 0 else not left.text.strip()
        facts["k8s_clean"] = clean
        if clean is False:
            findings.append(
                Finding(
                    code="leftover",
                    severity=Severity.MEDIUM,
                    message="objects created by the probe are still there: " + " ".join(left.text.split()),
                    remediation=rem.get("leftover"),
                )
            )

    runs: list[RunData] = []
    for name, sec in s.items():
        m = _RUN.match(name)
        if not m:
            continue
        meta = _kv(s[f"{name}-meta"].text) if f"{name}-meta" in s else {}
        runs += _read_runs(
            meta, sec, int(m.group("n")), int(m.group("r")), collective or "", s.get(f"{name}!stderr")
        )
    runs.sort(key=lambda r: (r.nodes or 0, r.rep))
    if not runs:
        skips = "; ".join(f"{n}: {sec.text.strip()}" for n, sec in s.items() if n.startswith("skip-"))
        return ProbeOutput(
            status=ProbeStatus.ERROR,
            substatus=SubStatus.COMMAND_FAILED,
            message="no NCCL run was made" + (f" ({skips})" if skips else ""),
            measurements=measurements,
            findings=findings,
        )
    run_ms, run_findings = measure_runs(runs, collective, rem)
    measurements += run_ms
    findings += run_findings

    usable = [r for r in runs if r.rows]
    hung = any(r.hung for r in runs)
    implausible = [r for r in runs if r.implausible]
    bad = hung or any(r.wrong_total for r in runs) or bool(implausible)
    if not usable:
        status, sub = (ProbeStatus.FAILED, None) if hung else (ProbeStatus.ERROR, SubStatus.COMMAND_FAILED)
    elif bad:
        status, sub = ProbeStatus.FAILED, None
    else:
        status, sub = ProbeStatus.OK, None
    summary = ", ".join(
        f"{m.labels['nodes']} node(s): peak {m.value:.1f} GB/s median of {m.labels['runs']}"
        for m in measurements
        if m.metric == "nccl.busbw_peak_median" and isinstance(m.value, float)
    )
    return ProbeOutput(
        status=status,
        substatus=sub,
        message=summary
        or (f"implausible output, not evidence: {implausible[0].implausible}" if implausible else "")
        or _no_summary(usable),
        remediation=next(
            (f.remediation for f in findings if f.severity in (Severity.CRITICAL, Severity.HIGH)), None
        ),
        measurements=measurements,
        findings=findings,
        facts=facts,
    )


# -------------------------------------------------------------------------------- clustermax import


def _log_files(files: Sequence[ImportedOutput], context: ImportContext) -> Measured:
    """The nccl-tests logs of one import, as the runs of one result (:func:`import_evidence`)."""
    logs = [ImportedLog(f.parsed, f.host, f.text) for f in files if isinstance(f.parsed, NcclTestsOutput)]
    return measure(import_evidence(logs), context.remediation)


def _log_host(parsed: ParsedOutput) -> str | None:
    """The one host of a log's device list; ``cluster`` for several, or for a list the log printed only
    part of (its node count is unknown: the import's result host)."""
    hosts = list(parsed.hosts) if isinstance(parsed, NcclTestsOutput) else []
    if len(hosts) == 1 and isinstance(parsed, NcclTestsOutput) and parsed.nodes == 1:
        return hosts[0]
    return "cluster" if hosts else None


FILES = (FileKind("nccl-tests", _log_files, grouped=True, content_host=_log_host, section="run-n1-r1"),)

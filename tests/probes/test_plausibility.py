"""Forged output is not evidence: what no real nccl-tests run prints is an implausible result.

Every recorded real nccl-tests / rccl-tests log passes the checks; logs forged from them in code
(tests/probes/forgery.py: busbw scaled, the rank count cut, algbw no longer size / time, the in-place
block copied) are each flagged, become a high ``implausible-result`` finding, and their bandwidths are
null (not evidence).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from clustermax.models import Severity
from clustermax.parsers.nccl_tests import NcclRun, NcclTestsOutput, parse_nccl_tests
from clustermax.probes.nccl_allreduce import ImportedLog, import_measurements
from clustermax.probes.plausibility import run_implausible
from tests.probes.forgery import (
    copy_out_of_place,
    drop_ranks,
    edit_rows,
    real_logs,
    scale_bandwidths,
    scale_busbw,
)

LOGS = real_logs()


def _runs(text: str) -> list[NcclRun | NcclTestsOutput]:
    parsed = parse_nccl_tests(text)
    return list(parsed.runs) if parsed.runs else [parsed]


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def test_every_real_log_is_recorded() -> None:
    # the recorded real logs these tests hold to: adding one adds it to every check below
    assert len(LOGS) == 32
    assert sum(len(_runs(_read(p))) for p in LOGS) == 34


@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.name)
def test_no_real_log_is_implausible(path: Path) -> None:
    text = _read(path)
    for run in _runs(text):
        assert run_implausible(run) is None
    ms, findings = import_measurements([ImportedLog(parse_nccl_tests(text), "n1", text)])
    assert not [f for f in findings if f.code == "implausible-result"]
    counts = [m.value for m in ms if m.metric == "nccl.runs_implausible"]
    assert counts and set(counts) == {0}  # one count per collective of the log, every one 0


def _flagged(text: str) -> list[str]:
    return [why for run in _runs(text) if run.rows and (why := run_implausible(run)) is not None]


def _table_runs(text: str, rows: int = 1) -> int:
    return sum(1 for run in _runs(text) if len(run.rows) >= rows)


FORGERIES = {
    "busbw-x3": scale_busbw(3.0),
    "busbw-x1.25": scale_busbw(1.25),
    "bandwidths-x3-times-kept": scale_bandwidths(3.0),
    "in-place-copied": copy_out_of_place(),
}


def _forged(path: Path, name: str) -> str | None:
    return edit_rows(_read(path), FORGERIES[name])


@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_every_forged_log_is_flagged(name: str) -> None:
    made = 0
    for path in LOGS:
        forged = _forged(path, name)
        if forged is None:
            continue
        # every run with rows is flagged (a copied in-place block from 4 rows on: fewer can match by chance)
        flagged = _flagged(forged)
        expected = _table_runs(forged, 4 if name == "in-place-copied" else 1)
        assert len(flagged) == expected, path.name
        made += 1 if expected else 0
    # the forgeries apply to nearly every recorded log (one with a blank redop column does not line up)
    assert made >= 30


def test_forgery_reasons_name_what_was_seen() -> None:
    p5 = LOGS[[p.name for p in LOGS].index("h100-2node-allreduce-mpirun.log")]
    forged = edit_rows(_read(p5), scale_busbw(3.0))
    assert forged is not None
    (why,) = _flagged(forged)
    assert why.startswith("busbw disagrees with the rank count in ")
    assert "busbw = algbw x 1.8750 for all_reduce on 16 ranks" in why
    forged = edit_rows(_read(p5), scale_bandwidths(3.0))
    assert forged is not None
    (why,) = _flagged(forged)
    assert why.startswith("algbw disagrees with size / time beyond rounding in ")
    forged = edit_rows(_read(p5), copy_out_of_place())
    assert forged is not None
    (why,) = _flagged(forged)
    assert "equal the out-of-place ones to the digit in all 31 rows" in why


def test_a_log_claiming_fewer_ranks_is_flagged() -> None:
    # the device list cut to half its ranks: busbw no longer equals algbw x the factor of that rank count
    made = 0
    for path in LOGS:
        text = _read(path)
        runs = _runs(text)
        if len(runs) != 1 or not runs[0].ranks or runs[0].ranks < 4 or runs[0].nodes is None:
            continue
        if runs[0].collective in ("broadcast", "reduce", "sendrecv"):
            continue  # busbw = algbw whatever the rank count: nothing to contradict
        forged = drop_ranks(text, runs[0].ranks // 2)
        assert forged is not None
        (run,) = _runs(forged)
        assert run.ranks == runs[0].ranks // 2
        why = run_implausible(run)
        assert why is not None and "busbw disagrees with the rank count" in why, path.name
        made += 1
    assert made >= 8


def test_an_implausible_run_is_a_high_finding_and_not_evidence() -> None:
    path = LOGS[[p.name for p in LOGS].index("rccl-mi300x-k8s-8gpu-allreduce-cmdline-snip.log")]
    forged = edit_rows(_read(path), scale_busbw(3.0))
    assert forged is not None
    ms, findings = import_measurements([ImportedLog(parse_nccl_tests(forged), "n1", forged)])
    (finding,) = [f for f in findings if f.code == "implausible-result"]
    assert finding.severity is Severity.HIGH
    assert finding.message.startswith("implausible rccl-tests output (all_reduce on 1 node(s), run 1): busbw")
    # no bandwidth of the run is evidence: every one is null, the configuration's median too
    bandwidths = [m for m in ms if m.metric.startswith(("nccl.busbw", "nccl.algbw"))]
    assert bandwidths and all(m.value is None for m in bandwidths)
    assert {m.metric for m in bandwidths} >= {"nccl.busbw_peak_median", "nccl.busbw_peak", "nccl.algbw_peak"}
    assert [m.value for m in ms if m.metric == "nccl.runs_implausible"] == [1]


def test_noise_is_not_flagged() -> None:
    # what real runs print and a check must let through: a row where in-place equals out-of-place, times
    # that shrink as the size grows (latency noise at small sizes), in-place faster than out-of-place
    mi300 = _read(LOGS[[p.name for p in LOGS].index("rccl-mi300x-k8s-8gpu-allreduce-cmdline-snip.log")])
    (run,) = _runs(mi300)
    same = [r for r in run.rows if (r.oop_time_us, r.oop_busbw_gbps) == (r.ip_time_us, r.ip_busbw_gbps)]
    shrinking = [
        a for a, b in zip(run.rows, run.rows[1:], strict=False) if (b.oop_time_us or 0) < (a.oop_time_us or 0)
    ]
    assert same and shrinking
    assert run_implausible(run) is None


def test_an_audit_run_of_a_forged_log_is_not_ok_evidence() -> None:
    # the audit path: the probe's own sections (as run.sh frames them) around a forged log
    from clustermax.probes.base import ProbeInput, split_sections
    from clustermax.probes.nccl_allreduce import from_sections
    from clustermax.probes.specs import load_probe_specs

    real = _read(LOGS[[p.name for p in LOGS].index("h100-2node-allreduce-mpirun.log")])
    forged = edit_rows(real, scale_bandwidths(3.0))
    assert forged is not None

    def section(name: str, text: str) -> str:
        return f"@@CMX:BEGIN {name}@@\n{text}\n@@CMX:END {name} rc=0@@\n"

    def run(log: str):  # type: ignore[no-untyped-def]
        stdout = (
            section("plan", "platform=slurm\ncollective=all_reduce\nimpl=nccl-tests")
            + section("run-n2-r1-meta", "impl=nccl-tests\nnodes=2\nranks=16\nlauncher=srun")
            + section("run-n2-r1", log)
        )
        spec = load_probe_specs()["nccl_allreduce"]
        return from_sections(
            ProbeInput(spec=spec, host="cluster", commands={}, sections=split_sections(stdout), params={})
        )

    good, bad = run(real), run(forged)
    assert not [f for f in good.findings if f.code == "implausible-result"]
    (finding,) = [f for f in bad.findings if f.code == "implausible-result"]
    assert (
        finding.severity is Severity.HIGH
        and finding.remediation
        and "Rerun nccl-tests" in finding.remediation
    )
    assert "algbw disagrees with size / time" in finding.message
    medians = [m.value for m in bad.measurements if m.metric == "nccl.busbw_peak_median"]
    assert medians == [None]
    assert [m.value for m in bad.measurements if m.metric == "nccl.runs_implausible"] == [1]
    assert bad.remediation == finding.remediation  # the high finding's remediation is the result's
    assert bad.status.value == "failed" and bad.message.startswith("implausible output, not evidence: algbw")
    assert good.status.value == "ok"

"""Audit and import agree: every recorded real output of every parser kind, fed through both paths, gives
identical measurements and findings (values, units, hosts, labels, codes, severities, messages and
remediation texts).

* the audit path is the one an audit and ``--reparse`` take: the output wrapped in the section the probe
  script prints it in (the kind's ``FileKind.section``) as the main command's stdout, then
  ``result_from_commands`` with no parameter, so the probe knows what the file knows and no more;
* the import path is ``import_files`` on the same file.

A probe that cannot read a section without another one (gpu_health needs its nvidia-smi -q section,
kubernetes a kubectl version that reached the server) gets a real one of those too, and the import gets
the same file: the results of both files are compared with the one probe result, in the probe's order.
What only a probe run can know is declared by its module (``RUN_METRICS``: gpu.healthy, the node's
verdict; nccl.runs_hung, from each run's exit status) and is the only thing left out of the comparison.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from clustermax.bundle.from_files import import_files
from clustermax.models import CommandResult, Finding, Measurement, ProbeResult, ProbeStatus, SubStatus
from clustermax.parsers.base import ParseError
from clustermax.parsers.registry import PARSERS
from clustermax.probes.registry import PROBES, file_kinds
from clustermax.probes.result import result_from_commands
from clustermax.probes.specs import load_probe_specs

DATA = Path(__file__).resolve().parents[1] / "data"
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
HOST = "node1"

PREREQUISITE: dict[str, tuple[str, Path]] = {
    # probe -> (kind, real file) it must read before it reads anything else
    "gpu_health": ("nvidia-smi", DATA / "captures" / "h100-fc-2026-11-26" / "nvidia-smi-q.txt"),
    "kubernetes": ("kubectl-version", DATA / "kubectl-version" / "old-format-skew-hkube-1954.txt"),
}
IMPORT_ONLY = {"sinfo", "squeue", "slurm-messages"}
"""Kinds no probe script prints (the slurm probe reads scontrol show partition, not sinfo)."""


def fixtures(kind: str) -> list[Path]:
    folder = DATA / kind
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix != ".source")


CASES = [(kind, path) for kind in sorted(file_kinds()) for path in fixtures(kind)]


def section(name: str, text: str) -> str:
    return f"@@CMX:BEGIN {name}@@\n{text}\n@@CMX:END {name} rc=0@@\n"


def probe_sections(kind: str, text: str) -> str:
    """What the probe script prints for this tool's output."""
    entry = file_kinds()[kind][1]
    assert entry.section is not None
    if kind != "nccl-tests":
        return section(entry.section, text)
    parsed = PARSERS[kind].parse(text)
    ranks = getattr(parsed, "ranks", None)
    nodes = getattr(parsed, "nodes", None) or 1
    meta = f"impl={getattr(parsed, 'impl', 'nccl-tests')}" + (f"\nranks={ranks}" if ranks else "")
    return section(f"run-n{nodes}-r1-meta", meta) + section(f"run-n{nodes}-r1", text)


def audit(probe_id: str, stdout: str) -> ProbeResult:
    spec = load_probe_specs()[probe_id]
    cmd = CommandResult(
        id=f"{HOST}/{probe_id}/main",
        host=HOST,
        probe_id=probe_id,
        step="main",
        command="bash -s",
        exit_code=0,
        stdout=stdout,
        started_at=T0,
        duration_s=1.0,
    )
    return result_from_commands(spec, HOST, {}, [cmd])


def imported(paths: list[Path], kinds: list[str]) -> list[ProbeResult]:
    """The import's result of each file (given its kind), in file order; derived results left out."""
    results = []
    for path, kind in zip(paths, kinds, strict=True):
        bundle = import_files([str(path)], provider=None, cluster="c", kind=kind, host=HOST).bundle
        results += [r for r in bundle.results if r.command_ids]
    return results


def run_only(probe_id: str) -> frozenset[str]:
    return frozenset(getattr(PROBES[probe_id], "RUN_METRICS", frozenset()))


def test_every_parser_kind_is_compared_or_import_only() -> None:
    assert set(file_kinds()) == set(PARSERS)
    unprinted = {kind for kind, (_, entry) in file_kinds().items() if entry.section is None}
    assert unprinted == IMPORT_ONLY
    assert all(fixtures(kind) for kind in PARSERS)


@pytest.mark.parametrize(("kind", "path"), CASES, ids=[f"{k}/{p.name}" for k, p in CASES])
def test_audit_and_import_agree(kind: str, path: Path) -> None:
    probe_id = file_kinds()[kind][0]
    text = path.read_text()
    try:
        PARSERS[kind].parse(text)
    except ParseError:
        # not this tool's output (a garbage fixture): the import says so, and keeps the file
        (result,) = imported([path], [kind])
        assert (result.status, result.substatus) == (ProbeStatus.ERROR, SubStatus.PARSE_ERROR)
        return
    if kind in IMPORT_ONLY:
        (result,) = imported([path], [kind])
        assert result.status is ProbeStatus.OK
        return
    stdout = probe_sections(kind, text)
    paths, kinds = [path], [kind]
    before = PREREQUISITE.get(probe_id)
    if before is not None and before[0] != kind:
        stdout = probe_sections(before[0], before[1].read_text()) + stdout
        paths, kinds = [before[1], path], [before[0], kind]
    probe = audit(probe_id, stdout)
    files = imported(paths, kinds)
    measurements: list[Measurement] = [m for r in files for m in r.measurements]
    findings: list[Finding] = [f for r in files for f in r.findings]
    from_probe = [m for m in probe.measurements if m.metric not in run_only(probe_id)]
    if kind == "nccl-tests" and getattr(PARSERS[kind].parse(text), "nodes", None) is None:
        # a log without a device list cannot tell its node count; the probe knows how many it launched
        assert {m.labels["nodes"] for m in measurements if "nodes" in m.labels} == {"unknown"}
        measurements = [_without_nodes(m) for m in measurements]
        from_probe = [_without_nodes(m) for m in from_probe]
    assert measurements == from_probe
    assert findings == probe.findings
    assert measurements, "the output gave nothing to compare"


def _without_nodes(m: Measurement) -> Measurement:
    labels = {k: v for k, v in m.labels.items() if k not in ("nodes", "scope")}
    return m.model_copy(update={"labels": labels})

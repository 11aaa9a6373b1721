"""storage_fio probe: fio throughput and IOPS on shared and node-local filesystems, 1 ... N nodes at once.

Sections are described in ``probes/storage_fio/run.sh``; each run's output is the workers' stream
(``probes/storage_fio/fio_worker.sh``), prefixed ``<task>: `` by ``srun -l`` on Slurm
(:func:`clustermax.parsers.fio.split_tasks`), plain on a bare host. A worker prints ``#cmx-fio key=value``
lines and each fio JSON document between ``#cmx-fio begin test=T direct=D`` and ``#cmx-fio end test=T
rc=N``, read with :func:`clustermax.parsers.fio.parse_fio`.

Mapping (:func:`measure`), labels ``target`` (the directory given to the workers), ``fstype`` (the type of
the mount it is on, from the ``mounts`` section), ``kind`` (shared | local), ``test`` (seqwrite, seqread,
randread), ``nodes`` (nodes of the run), ``node`` (its hostname), ``direct`` (1: O_DIRECT, 0: buffered,
the filesystem refused O_DIRECT), ``bs``, ``iodepth``, ``numjobs``, ``runtime_s``:

* per node: storage.fio_bw (GiB/s: fio's ``bw_bytes``), storage.fio_iops (randread), storage.fio_clat_p99;
* per run: storage.fio_bw_aggregate / storage.fio_iops_aggregate (the sum over the nodes, only when every
  node of the run reported: a partial sum is not an aggregate), storage.fio_bw_per_gpu (aggregate /
  (nodes x GPUs per node), when the nodes have GPUs), storage.fio_nodes_failed;
* per target and test: storage.fio_scaling at each node count N > 1 = aggregate(N) / (N x aggregate(1));
* storage.fio_leftover: test directories still present after the run (the ``leftover`` section).

Findings: ``fio-missing`` (install hint; the probe is *not installed* when no node has fio),
``not-writable``, ``direct-refused``, ``node-missing``, ``leftover``, ``slow-scaling``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..models import Finding, JSONValue, Measurement, ProbeStatus, Severity, SubStatus, Unit
from ..parsers.base import ParseError
from ..parsers.fio import FioJob, parse_fio, split_tasks
from ..parsers.mounts import Mount, mount_for_path, parse_mounts
from .base import FileKind, Measured, ProbeInput, ProbeOutput, Section, script_error
from .evidence import with_remediation

GIB = float(2**30)
TESTS = ("seqwrite", "seqread", "randread")
_MARK = "#cmx-fio "
_RUN = re.compile(r"^run-(?P<id>[sl]\d+)-n(?P<n>\d+)$")


@dataclass
class NodeRun:
    """One worker's report."""

    task: int
    host: str | None = None
    jobs: dict[str, FioJob] = field(default_factory=dict)
    """Test -> the fio job that counts (the buffered retry when O_DIRECT was refused)."""
    direct_refused: bool = False
    missing_fio: bool = False
    error: str | None = None
    removed: bool | None = None


@dataclass
class FioRun:
    run_id: str
    kind: str
    target: str
    nodes: int
    fstype: str
    params: dict[str, str]
    workers: list[NodeRun] = field(default_factory=list)
    cut: bool = False
    rc: int | None = 0


@dataclass(frozen=True)
class FioEvidence:
    runs: list[FioRun] = field(default_factory=list)
    gpus_per_node: int | None = None
    leftover: list[str] | None = None
    """Directories of the run still there afterwards; None when not checked."""


def _kv(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and key.strip() not in out:
            out[key.strip()] = value.strip()
    return out


def _marks(line: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in line[len(_MARK) :].split() if "=" in part)


def read_worker(task: int, text: str) -> NodeRun:
    """One worker's stream -> its report (pure)."""
    node = NodeRun(task=task)
    block: list[str] | None = None
    test = ""
    for line in text.split("\n"):
        if line.startswith(_MARK):
            kv = _marks(line)
            if "begin" in line.split()[1:2]:
                block, test = [], kv.get("test", "")
                continue
            if "end" in line.split()[1:2] and block is not None:
                _take(node, test, "\n".join(block))
                block = None
                continue
            node.host = kv.get("host", node.host)
            if kv.get("missing") == "fio":
                node.missing_fio = True
            if "error" in kv:
                node.error = kv["error"]
            if "removed" in kv:
                node.removed = kv["removed"] == "yes"
            continue
        if block is not None:
            block.append(line)
    if block is not None and block:
        _take(node, test, "\n".join(block))  # cut before its end marker: keep what parses
    return node


def _take(node: NodeRun, test: str, text: str) -> None:
    try:
        parsed = parse_fio(text)
    except ParseError:
        if "O_DIRECT" in text or "err=22" in text:
            node.direct_refused = True
        return
    for doc in parsed.documents:
        for job in doc.jobs:
            if job.error:
                if job.error == 22 and job.options.get("direct") == "1":
                    node.direct_refused = True
                continue
            if test in TESTS:
                node.jobs[test] = job


def _gib(job: FioJob, test: str) -> float | None:
    d = job.write if test == "seqwrite" else job.read
    return round(d.bw_bytes_per_s / GIB, 6) if d is not None else None


def measure(ev: FioEvidence, remediation: Mapping[str, str] | None = None) -> Measured:
    ms: list[Measurement] = []
    findings: list[Finding] = []
    agg: dict[tuple[str, str], dict[int, float]] = {}
    fstypes: dict[tuple[str, str], tuple[str, str]] = {}

    def find(code: str, severity: Severity, host: str | None, message: str) -> None:
        findings.append(Finding(code=code, severity=severity, host=host, message=message))

    def add(metric: str, value: float | int | None, unit: Unit, host: str | None, **labels: str) -> None:
        ms.append(Measurement(metric=metric, value=value, unit=unit, host=host, labels=labels))

    for run in ev.runs:
        where = f"{run.target} ({run.fstype}, {run.kind}) on {run.nodes} node(s)"
        p = run.params
        reported = [w for w in run.workers if w.jobs]
        failed = run.nodes - len(reported)
        add(
            "storage.fio_nodes_failed",
            max(failed, 0),
            Unit.COUNT,
            None,
            target=run.target,
            kind=run.kind,
            nodes=str(run.nodes),
        )
        for w in run.workers:
            host = w.host or f"task{w.task}"
            if w.missing_fio:
                find(
                    "fio-missing",
                    Severity.MEDIUM,
                    host,
                    f"fio is not installed on {host}: {where} not measured there",
                )
            elif w.error == "not-writable":
                find(
                    "not-writable",
                    Severity.MEDIUM,
                    host,
                    f"{host} could not create a test directory in {run.target}",
                )
            elif not w.jobs:
                why = w.error or ("cut by its timeout" if run.cut else "no fio result")
                find("node-missing", Severity.MEDIUM, host, f"{host} reported no result for {where}: {why}")
            if w.direct_refused:
                find(
                    "direct-refused",
                    Severity.INFO,
                    host,
                    f"{run.target} ({run.fstype}) refused O_DIRECT on {host}: buffered I/O measured",
                )
            for test, job in w.jobs.items():
                direct = job.options.get("direct", p.get("direct", ""))
                bs = job.options.get("bs", "4k" if test == "randread" else "1M")
                common = {
                    "target": run.target,
                    "fstype": run.fstype,
                    "kind": run.kind,
                    "test": test,
                    "nodes": str(run.nodes),
                    "node": host,
                    "direct": direct,
                    "bs": bs,
                }
                size = {
                    "iodepth": job.options.get("iodepth", ""),
                    "numjobs": p.get("numjobs", ""),
                    "runtime_s": p.get("runtime_s", ""),
                }
                d = job.write if test == "seqwrite" else job.read
                add("storage.fio_bw", _gib(job, test), Unit.GIBPS, host, **common, **size)
                if test == "randread":
                    add(
                        "storage.fio_iops", round(d.iops, 1) if d else None, Unit.IOPS, host, **common, **size
                    )
                add("storage.fio_clat_p99", d.clat_p99_us if d else None, Unit.MICROSECONDS, host, **common)
        for test in TESTS:
            vals = [_gib(w.jobs[test], test) for w in run.workers if test in w.jobs]
            nums = [v for v in vals if v is not None]
            if not nums:
                continue
            directs = {w.jobs[test].options.get("direct", "") for w in run.workers if test in w.jobs}
            direct = directs.pop() if len(directs) == 1 else "mixed"
            labels = {
                "target": run.target,
                "fstype": run.fstype,
                "kind": run.kind,
                "test": test,
                "nodes": str(run.nodes),
                "direct": direct,
            }
            complete = len(nums) == run.nodes
            total = round(sum(nums), 6) if complete else None
            add("storage.fio_bw_aggregate", total, Unit.GIBPS, None, **labels)
            if test == "randread":
                reads = [w.jobs[test].read for w in run.workers if test in w.jobs]
                iops = [r.iops for r in reads if r is not None]
                add(
                    "storage.fio_iops_aggregate",
                    round(sum(iops), 1) if complete and len(iops) == run.nodes else None,
                    Unit.IOPS,
                    None,
                    **labels,
                )
            if ev.gpus_per_node:
                gpus = run.nodes * ev.gpus_per_node
                add(
                    "storage.fio_bw_per_gpu",
                    round(total / gpus, 6) if total is not None else None,
                    Unit.GIBPS,
                    None,
                    **{
                        **{k: v for k, v in labels.items() if k != "nodes"},
                        "nodes": str(run.nodes),
                        "gpus": str(gpus),
                    },
                )
            if total is not None:
                agg.setdefault((run.target, test), {})[run.nodes] = total
                fstypes[(run.target, test)] = (run.fstype, run.kind)
    for (target, test), by_n in sorted(agg.items()):
        one = by_n.get(1)
        fstype, kind = fstypes[(target, test)]
        for n, total in sorted(by_n.items()):
            if n == 1 or not one:
                continue
            ratio = round(total / (n * one), 4)
            add(
                "storage.fio_scaling",
                ratio,
                Unit.RATIO,
                None,
                target=target,
                fstype=fstype,
                kind=kind,
                test=test,
                nodes=str(n),
            )
            if kind == "shared" and test != "randread" and ratio < 0.5:
                find(
                    "slow-scaling",
                    Severity.MEDIUM,
                    None,
                    f"{test} on {target} ({fstype}): {total:.3g} GiB/s on {n} nodes against "
                    f"{one:.3g} GiB/s on 1 node, {ratio:.0%} of linear",
                )
    if ev.leftover is not None:
        add("storage.fio_leftover", len(ev.leftover), Unit.COUNT, None)
        if ev.leftover:
            find(
                "leftover",
                Severity.MEDIUM,
                None,
                "test directories left behind: " + ", ".join(ev.leftover[:5]),
            )
    return Measured(ms, with_remediation(findings, remediation or {}))


def evidence_of(s: Mapping[str, Section]) -> tuple[FioEvidence, dict[str, str]]:
    plan = _kv(s["plan"].text) if "plan" in s else {}
    mounts: list[Mount] = []
    if "mounts" in s and s["mounts"].text.strip():
        try:
            mounts = parse_mounts(s["mounts"].text).mounts
        except ParseError:
            mounts = []
    gpn_text = plan.get("gpus_per_node", "")
    gpn = int(gpn_text) if gpn_text.isdigit() and int(gpn_text) > 0 else None
    runs: list[FioRun] = []
    for name, sec in s.items():
        m = _RUN.match(name)
        if not m:
            continue
        meta = _kv(s[f"{name}-meta"].text) if f"{name}-meta" in s else {}
        target = meta.get("target", "")
        mount = mount_for_path(mounts, target) if target else None
        labelled = split_tasks(sec.text)
        streams = labelled if labelled else {0: sec.text}
        run = FioRun(
            run_id=m.group("id"),
            kind=meta.get("kind", "shared" if m.group("id").startswith("s") else "local"),
            target=target,
            nodes=int(m.group("n")),
            fstype=mount.fstype if mount else "unknown",
            params=meta,
            workers=[read_worker(task, text) for task, text in streams.items()],
            cut=sec.rc in (124, 137) or sec.rc is None,
            rc=sec.rc,
        )
        runs.append(run)
    runs.sort(key=lambda r: (r.kind != "shared", r.run_id, r.nodes))
    leftover = None
    if "leftover" in s and s["leftover"].rc == 0:
        leftover = [ln.strip() for ln in split_or_plain(s["leftover"].text) if ln.strip()]
    return FioEvidence(runs=runs, gpus_per_node=gpn, leftover=leftover), plan


def split_or_plain(text: str) -> list[str]:
    tasks = split_tasks(text)
    if tasks:
        return [ln for t in tasks.values() for ln in t.split("\n")]
    return text.split("\n")


def from_sections(inp: ProbeInput) -> ProbeOutput:
    s = inp.sections
    rem = inp.spec.remediation
    if (unsupported := script_error(s)) is not None:
        return unsupported
    ev, plan = evidence_of(s)
    facts: dict[str, JSONValue] = {"plan": dict(plan)}
    if plan.get("skipped"):
        return ProbeOutput(
            status=ProbeStatus.SKIPPED,
            substatus=SubStatus.NOT_APPLICABLE
            if plan.get("skip_kind") in ("not-applicable", "no-target")
            else SubStatus.UNSUPPORTED,
            message=plan["skipped"],
            facts=facts,
        )
    workers = [w for r in ev.runs for w in r.workers]
    if workers and all(w.missing_fio for w in workers):
        return ProbeOutput(
            status=ProbeStatus.SKIPPED,
            substatus=SubStatus.NOT_INSTALLED,
            message="fio is not installed on the compute nodes",
            remediation=rem.get("fio-missing"),
            facts=facts,
        )
    measured = measure(ev, rem)
    if not ev.runs:
        skips = "; ".join(f"{n}: {sec.text.strip()}" for n, sec in s.items() if n.startswith("skip-"))
        return ProbeOutput(
            status=ProbeStatus.ERROR,
            substatus=SubStatus.COMMAND_FAILED,
            message="no fio run was made" + (f" ({skips})" if skips else ""),
            facts=facts,
        )
    got = [m for m in measured.measurements if m.metric == "storage.fio_bw_aggregate" and m.value is not None]
    if not any(m.metric == "storage.fio_bw" and m.value is not None for m in measured.measurements):
        return ProbeOutput(
            status=ProbeStatus.ERROR,
            substatus=SubStatus.COMMAND_FAILED,
            message="no fio run gave a result (see the findings)",
            measurements=measured.measurements,
            findings=measured.findings,
            facts=facts,
        )
    summary = "; ".join(
        f"{m.labels['test']} {m.labels['target']} x{m.labels['nodes']}: {float(m.value or 0):.3g} GiB/s"
        for m in got
        if m.labels.get("test") != "randread"
    )
    return ProbeOutput(
        status=ProbeStatus.OK,
        message=summary or "fio ran",
        measurements=measured.measurements,
        findings=measured.findings,
        facts=facts,
    )


FILES: tuple[FileKind, ...] = ()

"""``clustermax audit --plan``: what an audit would run, where and through what, before it runs.

Discovery runs first, on the login node only and read-only: ``scheduler_detect`` and the probe that lists
the compute nodes (``slurm`` or ``kubernetes``, when selected), plus ``scontrol show node`` when node
probes would go through the scheduler. With ``--reach auto`` each compute node is connected to over SSH
(authentication only, no command) to see whether it accepts SSH. Nothing runs on a compute node and no
bundle is written. For every (host, probe) the plan gives the command line, the SHA-256 of the exact
script that would go on stdin, the timeout and the parameters; for each srun step its command line, the
nodes, the nodes it would leave out and why, and the SHA-256 of the stream every task would get.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..models import JSONValue
from ..probes.derive import CLUSTER_HOST
from ..transport.base import ConnectError
from .audit import Audit, HostSpec
from .runner import Role, build_script, remote_command
from .scheduler import SchedulerPhase
from .slurm_step import prepare

DISCOVERY = ("scheduler_detect", "slurm", "kubernetes")
"""Login-node probes --plan runs (read-only): the platform and the compute nodes."""

Through = Literal["ssh", "srun", "local"]


class PlannedRun(BaseModel):
    host: str = Field(
        description="Where it runs (a host, or 'cluster' for a scheduler probe from the login)."
    )
    probe: str
    through: Through
    command: str = Field(description="The command line (the script goes on its stdin).")
    script_sha256: str | None = Field(default=None, description="SHA-256 of the exact script text.")
    timeout_s: float
    params: dict[str, JSONValue] = Field(default_factory=dict)
    skipped: str | None = Field(default=None, description="Why it would not run (its requirement is unmet).")
    job: str | None = Field(default=None, description="The srun step (job name) it would run in.")


class PlannedStep(BaseModel):
    tag: str = Field(description="Job name of the step.")
    srun: list[str]
    nodes: list[str]
    not_run: dict[str, str] = Field(default_factory=dict)
    script_sha256: str = Field(description="SHA-256 of the login-side script (stdin of bash -s).")
    stream_sha256: str = Field(description="SHA-256 of the stream every task gets on stdin.")
    limit_s: int = Field(description="The step's time limit in seconds.")


class AuditPlan(BaseModel):
    cluster: str
    platform: str
    reach: str
    login: str
    discovery: list[str] = Field(description="Probes that ran on the login node to discover the cluster.")
    compute_nodes: list[str]
    not_contacted: list[str] = Field(
        default_factory=list, description="Names rejected by the host-name check."
    )
    ssh_refused: dict[str, str] = Field(default_factory=dict, description="Nodes that refused SSH (auto).")
    runs: list[PlannedRun]
    steps: list[PlannedStep]


class _NoJournal:
    def write(self, kind: str, payload: Any) -> None:
        return None

    def write_many(self, records: list[tuple[str, Any]]) -> None:
        return None

    def close(self) -> None:
        return None


def make_plan(audit: Audit) -> AuditPlan:
    """Discover (login node only) and plan; ``audit`` is used for its state, never run."""
    a = audit
    a.journal = _NoJournal()  # type: ignore[assignment]
    login = a.req.login
    discovery = [p for p in a.order if p in DISCOVERY and a.req.specs[p].scope in ("login", "host")]
    runs: list[PlannedRun] = []
    steps: list[PlannedStep] = []
    a.host_order.append(login.name)
    a._audit_host(login, discovery)
    a.compute_hosts = a._discover()
    through_login: Through = "local" if login.target is None else "ssh"
    for p in a._ids("host", "login"):
        if p not in discovery:
            runs.append(_run(a, login, p, through_login))
    node_ids = a._ids("host", "node")
    refused: dict[str, str] = {}
    by_scheduler: list[HostSpec] = []
    if a.compute_hosts and node_ids:
        if a.req.reach == "scheduler":
            by_scheduler = list(a.compute_hosts)
        else:
            for host in a.compute_hosts:
                if a.req.reach == "auto" and a.platform() == "slurm":
                    try:
                        a.connect(host)
                    except ConnectError as err:
                        refused[host.name] = f"{err.kind}: {err.message}"
                        by_scheduler.append(host)
                        continue
                runs += [_run(a, host, p, "ssh") for p in node_ids]
    elif a.req.single:
        runs += [_run(a, login, p, through_login) for p in a._ids("node")]
    if by_scheduler:
        prep = SchedulerPhase(a, by_scheduler, node_ids).prepare(planned=False)
        if prep.blocked is not None:
            for host in by_scheduler:
                runs += [_run(a, host, p, "srun", skipped=prep.blocked[2]) for p in node_ids]
        for host, spec, unmet in prep.skipped:
            runs.append(_run(a, host, spec.id, "srun", skipped=unmet))
        for name, reason in prep.not_run.items():
            runs += [_run(a, prep.by_name[name], p, "srun", skipped=f"not run: {reason}") for p in node_ids]
        for req in prep.requests:
            script, stream, argv, limit = prepare(req)
            steps.append(
                PlannedStep(
                    tag=req.tag, srun=argv, nodes=list(req.plan), not_run=dict(req.not_run),
                    script_sha256=hashlib.sha256(script.encode()).hexdigest(),
                    stream_sha256=hashlib.sha256(stream).hexdigest(), limit_s=limit,
                )
            )  # fmt: skip
            for node, items in req.plan.items():
                for item in items:
                    runs.append(
                        PlannedRun(
                            host=node, probe=item.spec.id, through="srun", command=remote_command(0),
                            script_sha256=item.digest, timeout_s=item.spec.timeout_s, params=item.params,
                            job=req.tag,
                        )
                    )  # fmt: skip
    for p in a._ids("cluster"):
        runs.append(_run(a, login, p, through_login, result_host=CLUSTER_HOST))
    return AuditPlan(
        cluster=a.req.cluster,
        platform=a.platform(),
        reach=a.req.reach,
        login=login.name,
        discovery=discovery,
        compute_nodes=[h.name for h in a.compute_hosts],
        not_contacted=list(a.rejected),
        ssh_refused=refused,
        runs=runs,
        steps=steps,
    )


def _run(
    a: Audit, host: HostSpec, probe_id: str, through: Through, *, skipped: str | None = None,
    result_host: str | None = None,
) -> PlannedRun:  # fmt: skip
    spec = a.req.specs[probe_id]
    params = a._params(spec, host)
    unmet = skipped or a._unmet(spec, host)
    digest = None
    if unmet is None:
        role: Role = host.role
        text = build_script(spec, result_host or host.name, params, a._context(host, role))
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return PlannedRun(
        host=result_host or host.name, probe=probe_id, through=through,
        command=remote_command(spec.timeout_s), script_sha256=digest, timeout_s=spec.timeout_s,
        params=params, skipped=unmet,
    )  # fmt: skip


def plan_text(plan: AuditPlan) -> list[str]:
    """The plan for a terminal (every remote value goes through the sanitiser)."""
    from ..sanitize import term

    lines = [
        f"Plan for {term(plan.cluster)} (platform {plan.platform}, reach {plan.reach}): "
        f"{len(plan.compute_nodes)} compute node(s); nothing has run on them.",
        f"Discovery ran on {term(plan.login)} (read-only): {', '.join(plan.discovery) or 'nothing'}",
    ]
    for name in plan.not_contacted:
        lines.append(f"  never contacted (invalid name): {term(name, 80)}")
    for name, why in plan.ssh_refused.items():
        lines.append(f"  {term(name, 80)} refuses SSH ({term(why, 200)}): its probes go through srun")
    hosts: dict[str, list[PlannedRun]] = {}
    for r in plan.runs:
        hosts.setdefault(r.host, []).append(r)
    for host, runs in hosts.items():
        through = sorted({r.through for r in runs})
        lines.append(f"{term(host, 80)} (through {', '.join(through)}):")
        width = max(len(r.probe) for r in runs)
        for r in runs:
            if r.skipped is not None:
                lines.append(f"  {r.probe:<{width}}  skipped: {term(r.skipped, 300)}")
                continue
            job = f"  in step {r.job}" if r.job else ""
            lines.append(
                f"  {r.probe:<{width}}  {r.through} `{r.command}`  sha256 {r.script_sha256}  "
                f"timeout {r.timeout_s:g} s{job}"
            )
    for step in plan.steps:
        lines.append(f"srun step {step.tag} (limit {step.limit_s} s), from {term(plan.login)}:")
        lines.append("  " + term(" ".join(step.srun), 2000))
        lines.append(f"  nodes: {term(','.join(step.nodes), 2000)}")
        for name, why in step.not_run.items():
            lines.append(f"  not run: {term(name, 80)}: {term(why, 300)}")
        lines.append(f"  login script sha256 {step.script_sha256}; task stream sha256 {step.stream_sha256}")
    return lines

"""The scheduler reach of an audit: the compute nodes' probes as one Slurm job (see :mod:`.slurm_step`).

Used by :class:`clustermax.engine.audit.Audit` for ``--reach scheduler`` (every compute node) and
``--reach auto`` (the nodes that refused SSH). Each node is recorded with ``reach: scheduler`` and the
job id; a node the scheduler could not give is *not run* (``not-allocated``, an unknown); a node whose
task was cut by Ctrl-C is *interrupted* (``--resume`` runs it again, and only it).
"""

from __future__ import annotations

import os
import secrets
import threading
import typing
from collections import defaultdict
from dataclasses import dataclass, field

from ..models import CommandResult, HostRecord, JSONValue, ProbeResult, ProbeSpec, SchedulerStep, SubStatus
from ..probes.result import result_from_commands
from ..transport.base import ConnectError, Transport
from .hosts import HostSpec, _error_result
from .slurm_step import (
    StepOutcome,
    StepRequest,
    TaskItem,
    gpu_request,
    query_nodes,
    run_step,
    task_items,
    unavailable_reason,
)


class AuditState(typing.Protocol):
    """What the scheduler phase uses of :class:`clustermax.engine.audit.Audit` (its state and recorders)."""

    req: typing.Any
    results: dict[tuple[str, str], ProbeResult]
    planned: set[tuple[str, str]]
    stop: threading.Event
    events: typing.Any
    steps: list[SchedulerStep]
    _lock: threading.Lock
    _ssh_refused: dict[str, ConnectError]

    def connect(self, host: HostSpec) -> Transport: ...
    def platform(self) -> str: ...
    def _unmet(self, spec: ProbeSpec, host: HostSpec) -> str | None: ...
    def _params(self, spec: ProbeSpec, host: HostSpec) -> dict[str, JSONValue]: ...
    def _context(self, host: HostSpec, role: typing.Any) -> typing.Any: ...
    def _record(self, commands: list[CommandResult], result: ProbeResult) -> None: ...
    def _record_host(self, record: HostRecord) -> None: ...
    def _host_record(
        self, host: HostSpec, state: str, error: str | None, connect_s: float | None
    ) -> HostRecord: ...
    def _journal(self, records: list[tuple[str, typing.Any]]) -> None: ...


def step_tag() -> str:
    """The job name of one step: what the exit hook cancels and the queue check looks for."""
    return f"clustermax-step-{os.getpid()}-{secrets.token_hex(4)}"


@dataclass
class Prepared:
    """The scheduler phase worked out: what each step runs, and what is not run (and why)."""

    by_name: dict[str, HostSpec]
    todo: dict[str, list[str]] = field(default_factory=dict)
    login: Transport | None = None
    blocked: tuple[str, SubStatus, str] | None = None
    """(host state, substatus, message) when no step can run at all (not Slurm, login unreachable)."""
    skipped: list[tuple[HostSpec, ProbeSpec, str]] = field(default_factory=list)
    not_run: dict[str, str] = field(default_factory=dict)
    groups: dict[int, dict[str, list[TaskItem]]] = field(default_factory=lambda: defaultdict(dict))
    params_of: dict[str, dict[str, dict[str, JSONValue]]] = field(default_factory=dict)
    requests: list[StepRequest] = field(default_factory=list)


class SchedulerPhase:
    """Run ``ids`` on ``hosts`` through the scheduler and record every outcome in ``audit``."""

    def __init__(self, audit: AuditState, hosts: list[HostSpec], ids: list[str]) -> None:
        self.a = audit
        self.hosts = hosts
        self.ids = ids

    def _error(self, spec: ProbeSpec, host: HostSpec, sub: SubStatus, message: str) -> None:
        self.a._record([], _error_result(spec, host.name, sub, message, self.a._params(spec, host)))

    def _host(self, host: HostSpec, state: str, error: str | None, **extra: typing.Any) -> None:
        record = self.a._host_record(host, state, error, None)
        refused = self.a._ssh_refused.get(host.name)
        if refused is not None and "note" not in extra:
            extra["note"] = f"SSH refused ({refused.kind}: {refused.message})"
        self.a._record_host(record.model_copy(update=extra))

    def prepare(self, *, planned: bool = True) -> Prepared:
        """What the step(s) would run: the nodes' probes, who is left out and why (nothing recorded).

        Runs one read-only command on the login node (``scontrol show node``) to see which nodes can be
        allocated now."""
        a = self.a
        prep = Prepared(by_name={h.name: h for h in self.hosts})
        for h in self.hosts:
            if planned:
                for p in self.ids:
                    a.planned.add((h.name, p))
            missing = [p for p in self.ids if (h.name, p) not in a.results]
            if missing:
                prep.todo[h.name] = missing
        if not prep.todo:
            return prep
        platform = a.platform()
        if platform != "slurm":
            why = f"not run: the scheduler reach needs Slurm here; the platform is {platform}"
            prep.blocked = ("not-attempted", SubStatus.UNSUPPORTED, why)
            return prep
        try:
            prep.login = a.connect(a.req.login)
        except ConnectError as err:
            prep.blocked = (
                err.kind,
                SubStatus.UNREACHABLE,
                f"the login node could not be reached: {err.message}",
            )
            return prep
        states = query_nodes(prep.login, list(prep.todo), a.stop)
        opts = a.req.step_options
        for name, probes in prep.todo.items():
            host = prep.by_name[name]
            runnable: list[ProbeSpec] = []
            params: dict[str, dict[str, JSONValue]] = {}
            for p in probes:
                spec = a.req.specs[p]
                unmet = a._unmet(spec, host)
                if unmet is not None:
                    prep.skipped.append((host, spec, unmet))
                    continue
                runnable.append(spec)
                params[p] = a._params(spec, host)
            if not runnable:
                continue
            prep.params_of[name] = params
            node = states.get(name)
            gpus = gpu_request(node, opts)
            reason = unavailable_reason(node, opts, gpus)
            if reason is not None:
                prep.not_run[name] = reason
                continue
            prep.groups[gpus][name] = task_items(runnable, name, params, a._context(host, "compute"))
        first = True
        for gpus, plan in prep.groups.items():
            host0 = prep.by_name[next(iter(plan))]
            prep.requests.append(
                StepRequest(tag=step_tag(), plan=plan, gpus=gpus, options=opts,
                            context=a._context(host0, "compute"), not_run=prep.not_run if first else {})
            )  # fmt: skip
            first = False
        return prep

    def run(self) -> None:
        a = self.a
        if a.stop.is_set():
            return
        a.events.phase("scheduler", len(self.hosts))
        prep = self.prepare()
        if prep.blocked is not None:
            state, sub, why = prep.blocked
            for name, probes in prep.todo.items():
                self._host(prep.by_name[name], state, why)
                for p in probes:
                    self._error(a.req.specs[p], prep.by_name[name], sub, why)
            return
        for host, spec, unmet in prep.skipped:
            self._error(spec, host, SubStatus.NOT_APPLICABLE, unmet)
        for name, reason in prep.not_run.items():
            self._not_allocated(prep.by_name[name], prep.todo[name], reason)
        for req in prep.requests:
            if a.stop.is_set() or prep.login is None:
                break
            outcome = run_step(prep.login, req, a.stop)
            self._record_step(outcome, req.plan, prep.by_name, prep.params_of)
        if not prep.requests and prep.not_run:
            a.events.note(f"no node could be allocated for the node probes ({len(prep.not_run)} not run)")

    def _not_allocated(self, host: HostSpec, probes: list[str], reason: str) -> None:
        message = f"not run: {reason}"
        self._host(host, "not-allocated", message)
        for p in probes:
            if (host.name, p) not in self.a.results:
                self._error(self.a.req.specs[p], host, SubStatus.NOT_ALLOCATED, message)

    def _record_step(
        self,
        outcome: StepOutcome,
        plan: dict[str, list[TaskItem]],
        by_name: dict[str, HostSpec],
        params_of: dict[str, dict[str, dict[str, JSONValue]]],
    ) -> None:
        a = self.a
        step = outcome.record
        with a._lock:
            a.steps.append(step)
        a._journal([("step", step)])
        job = step.job_id or "?"
        ran = len(step.ran)
        a.events.note(
            f"node probes through srun: job {job}, {ran} of {len(plan)} node(s) ran"
            + ("" if step.queue_clean is not False else f"; LEFT IN QUEUE: {step.left_in_queue}")
        )
        for name, items in plan.items():
            host = by_name[name]
            oc = outcome.nodes[name]
            if outcome.unavailable is not None:
                self._host(host, "not-attempted", f"not run: {outcome.unavailable}")
                for item in items:
                    self._error(item.spec, host, SubStatus.NOT_INSTALLED, f"not run: {outcome.unavailable}")
                continue
            if not oc.started:
                if outcome.interrupted:
                    self._host(host, "interrupted", "interrupted before the node's task started")
                    for item in items:
                        self._error(
                            item.spec, host, SubStatus.INTERRUPTED, "interrupted before the probe ran"
                        )
                else:
                    self._not_allocated(
                        host, [i.spec.id for i in items], step.not_run.get(name, "not allocated")
                    )
                continue
            note = self.a._ssh_refused.get(name)
            extra: dict[str, typing.Any] = {"reach": "scheduler", "reach_id": oc.job_id}
            extra["note"] = (
                f"SSH refused ({note.kind}: {note.message}); reached through srun, job {oc.job_id}"
                if note is not None
                else f"reached through srun, job {oc.job_id}"
            )
            self._host(host, "ok", None, **extra)
            for item in items:
                commands = oc.commands.get(item.spec.id)
                if commands is None:
                    if outcome.interrupted:
                        self._error(
                            item.spec, host, SubStatus.INTERRUPTED, "interrupted before the probe ran"
                        )
                    else:
                        why = f"not run: the node's task (job {oc.job_id}) ended before this probe reported"
                        self._error(item.spec, host, SubStatus.UNREACHABLE, why)
                    continue
                note_text = f"through srun, job {oc.job_id}"
                commands = [
                    c.model_copy(update={"note": f"{c.note}; {note_text}" if c.note else note_text})
                    for c in commands
                ]
                result: ProbeResult = result_from_commands(
                    item.spec, name, params_of[name][item.spec.id], commands
                )
                a._record(commands, result)

"""The scheduler reach of an audit: the compute nodes' probes as one Slurm job (see :mod:`.slurm_step`).

Used by :class:`clustermax.engine.audit.Audit` for ``--reach scheduler`` (every compute node) and
``--reach auto`` (the nodes that refused SSH). Each node is recorded with ``reach: scheduler`` and the
job id; a node the scheduler could not give is *not run* (``not-allocated``, an unknown); a node whose
task was cut by Ctrl-C is *interrupted* (``--resume`` runs it again, and only it).
"""

from __future__ import annotations

import os
import secrets
import typing
from collections import defaultdict

from ..models import JSONValue, ProbeResult, ProbeSpec, SubStatus
from ..probes.result import result_from_commands
from ..transport.base import ConnectError
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

if typing.TYPE_CHECKING:
    from .audit import Audit, HostSpec


def step_tag() -> str:
    """The job name of one step: what the exit hook cancels and the queue check looks for."""
    return f"clustermax-step-{os.getpid()}-{secrets.token_hex(4)}"


class SchedulerPhase:
    """Run ``ids`` on ``hosts`` through the scheduler and record every outcome in ``audit``."""

    def __init__(self, audit: Audit, hosts: list[HostSpec], ids: list[str]) -> None:
        self.a = audit
        self.hosts = hosts
        self.ids = ids

    def _error(self, spec: ProbeSpec, host: HostSpec, sub: SubStatus, message: str) -> None:
        from .audit import _error_result

        self.a._record([], _error_result(spec, host.name, sub, message, self.a._params(spec, host)))

    def _host(self, host: HostSpec, state: str, error: str | None, **extra: typing.Any) -> None:
        record = self.a._host_record(host, state, error, None)
        refused = self.a._ssh_refused.get(host.name)
        if refused is not None and "note" not in extra:
            extra["note"] = f"SSH refused ({refused.kind}: {refused.message})"
        self.a._record_host(record.model_copy(update=extra))

    def run(self) -> None:
        a = self.a
        todo: dict[str, list[str]] = {}
        by_name = {h.name: h for h in self.hosts}
        for h in self.hosts:
            for p in self.ids:
                a.planned.add((h.name, p))
            missing = [p for p in self.ids if (h.name, p) not in a.results]
            if missing:
                todo[h.name] = missing
        if not todo or a.stop.is_set():
            return
        platform = a.platform()
        if platform != "slurm":
            why = f"not run: the scheduler reach needs Slurm here; the platform is {platform}"
            for name, probes in todo.items():
                self._host(by_name[name], "not-attempted", why)
                for p in probes:
                    self._error(a.req.specs[p], by_name[name], SubStatus.UNSUPPORTED, why)
            return
        try:
            login = a.connect(a.req.login)
        except ConnectError as err:
            for name, probes in todo.items():
                self._host(by_name[name], err.kind, f"the login node could not be reached: {err.message}")
                for p in probes:
                    self._error(a.req.specs[p], by_name[name], SubStatus.UNREACHABLE, err.message)
            return
        a.events.phase("scheduler", len(todo))
        states = query_nodes(login, list(todo), a.stop)
        opts = a.req.step_options
        groups: dict[int, dict[str, list[TaskItem]]] = defaultdict(dict)
        not_run: dict[str, str] = {}
        params_of: dict[str, dict[str, dict[str, JSONValue]]] = {}
        for name, probes in todo.items():
            host = by_name[name]
            runnable: list[ProbeSpec] = []
            params: dict[str, dict[str, JSONValue]] = {}
            for p in probes:
                spec = a.req.specs[p]
                unmet = a._unmet(spec, host)
                if unmet is not None:
                    self._error(spec, host, SubStatus.NOT_APPLICABLE, unmet)
                    continue
                runnable.append(spec)
                params[p] = a._params(spec, host)
            if not runnable:
                continue
            params_of[name] = params
            node = states.get(name)
            gpus = gpu_request(node, opts)
            reason = unavailable_reason(node, opts, gpus)
            if reason is not None:
                not_run[name] = reason
                continue
            context = a._context(host, "compute")
            groups[gpus][name] = task_items(runnable, name, params, context)
        for name, reason in not_run.items():
            self._not_allocated(by_name[name], todo[name], reason)
        first = True
        for gpus, plan in groups.items():
            if a.stop.is_set():
                break
            host0 = by_name[next(iter(plan))]
            req = StepRequest(
                tag=step_tag(),
                plan=plan,
                gpus=gpus,
                options=opts,
                context=a._context(host0, "compute"),
                not_run=not_run if first else {},
            )
            first = False
            outcome = run_step(login, req, a.stop)
            self._record_step(outcome, plan, by_name, params_of)
        if not groups and not_run:
            a.events.note(f"no node could be allocated for the node probes ({len(not_run)} not run)")

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
            extra: dict[str, typing.Any] = {"reach": "scheduler", "job_id": oc.job_id}
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

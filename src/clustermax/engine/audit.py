"""Collect: plan which probes run where, run them on every host in parallel, journal, build the bundle.

Phases (see docs/audit.md):

1. the login node (or the single target): ``scheduler_detect`` first, then ``host``- and ``login``-scope
   probes; the detected (or forced) platform decides which probes' ``requires`` are met;
2. the compute nodes (an explicit list, or discovered from a probe's ``facts["compute_nodes"]``), in
   parallel with bounded concurrency: ``host``- and ``node``-scope probes. With no compute nodes (``--local``,
   a single bare host), ``node``-scope probes run on the login host itself;
3. ``cluster``-scope probes, once, on the login node, with CMX_NODES set (results under host ``cluster``).

The engine never raises for a host or probe failure: an unreachable host, a refused key or a timeout is
recorded for that host and the others go on. Ctrl-C (the ``stop`` event) stops launching new work, lets
running scripts clean up, and leaves a valid partial bundle; ``resume`` from it re-runs only what is
missing, interrupted, or failed to connect / timed out.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from ..bundle.io import write_bundle
from ..errors import ClustermaxError, OutputError
from ..hostnames import is_host_address, is_host_name, rejection
from ..models import (
    Bundle,
    CommandResult,
    HostRecord,
    JSONValue,
    Origin,
    ProbeResult,
    ProbeSpec,
    ProbeStatus,
    SchedulerStep,
    SubStatus,
    Target,
)
from ..models.bundle import HostRole
from ..probes.derive import CLUSTER_HOST, with_derived
from ..safeio import write_error
from ..transport.base import ConnectError, Transport, utcnow
from .hosts import HostSpec as HostSpec
from .hosts import _error_result
from .journal import Journal
from .kube_pods import NodeOutcome, NodePods, NodeWork, PodOptions, PodProbe
from .params import merge_params
from .runner import Platform, ProbeContext, Role, build_script, run_probe
from .slurm_step import StepOptions

Reach = Literal["auto", "ssh", "scheduler"]
REACHES: tuple[Reach, ...] = ("auto", "ssh", "scheduler")

_T = TypeVar("_T")


RERUN_SUBSTATUSES = {
    SubStatus.UNREACHABLE,
    SubStatus.AUTH,
    SubStatus.HOST_KEY,
    SubStatus.TIMEOUT,
    SubStatus.INTERRUPTED,
    SubStatus.NOT_RUN,
    SubStatus.NOT_ALLOCATED,
}
"""A resumed audit re-runs results with these substatuses (and missing ones); it keeps the rest."""

_CONNECT_SUB = {
    "unreachable": SubStatus.UNREACHABLE,
    "auth": SubStatus.AUTH,
    "host-key": SubStatus.HOST_KEY,
    "timeout": SubStatus.TIMEOUT,
}


Connect = Callable[[HostSpec], Transport]
"""Open (or reuse) a transport for a host; raises ConnectError when it cannot."""

MakeNode = Callable[[str, "str | None"], HostSpec]
"""Make the HostSpec of a discovered compute node from its (name, address)."""


class Events(Protocol):
    """Progress callbacks (terminal display, log lines). Called from worker threads."""

    def phase(self, name: str, hosts: int) -> None: ...
    def host_done(self, record: HostRecord) -> None: ...
    def probe_done(self, result: ProbeResult) -> None: ...
    def note(self, text: str) -> None: ...


class NoEvents:
    def phase(self, name: str, hosts: int) -> None:
        return None

    def host_done(self, record: HostRecord) -> None:
        return None

    def probe_done(self, result: ProbeResult) -> None:
        return None

    def note(self, text: str) -> None:
        return None


@dataclass
class AuditRequest:
    """Everything the engine needs to know, already resolved (no files read here)."""

    cluster: str
    login: HostSpec
    specs: dict[str, ProbeSpec]
    """Every known probe, by id."""
    selected: list[str]
    """Probe ids to run."""
    provider: str | None = None
    compute: list[HostSpec] | None = None
    """Explicit compute hosts; None to discover them from the login node's probes."""
    make_node: MakeNode | None = None
    single: bool = False
    """A single target (``--local`` or one host): node probes run on it when no compute node is found."""
    inventory_params: dict[str, dict[str, JSONValue]] = field(default_factory=dict)
    cli_params: dict[str, dict[str, JSONValue]] = field(default_factory=dict)
    platform: Platform | None = None
    """Forced platform (inventory); None to detect it."""
    max_nodes: int | None = None
    concurrency: int = 16
    profile_override: dict[str, JSONValue] | None = None
    options: dict[str, JSONValue] = field(default_factory=dict)
    origin: Origin | None = None
    probes_root: Path | None = None
    pods: PodOptions | None = None
    """On Kubernetes, run the compute nodes' probes in one pod per node (kube_pods.py), not over SSH;
    ``reach: scheduler`` on Kubernetes means the same, with the default pod options."""
    reach: Reach = "ssh"
    """How node probes reach the compute nodes: ssh, scheduler (one srun step on Slurm, one pod per node
    on Kubernetes), auto (SSH where a node accepts it, the scheduler where it does not: Slurm only)."""
    step_options: StepOptions = field(default_factory=StepOptions)


def probe_order(specs: Mapping[str, ProbeSpec], ids: list[str]) -> list[str]:
    """Stable order: scheduler_detect first (its facts gate the others), then by id."""
    return sorted(set(ids) & set(specs), key=lambda i: (i != "scheduler_detect", i))


class Audit:
    """One audit run (or the resumption of one). Thread-safe state; ``run()`` returns the bundle."""

    def __init__(
        self,
        request: AuditRequest,
        connect: Connect,
        out_dir: Path,
        *,
        stop: threading.Event | None = None,
        events: Events | None = None,
        previous: Bundle | None = None,
    ) -> None:
        self.req = request
        self.connect = connect
        self.out_dir = out_dir
        self.stop = stop or threading.Event()
        self.events = events or NoEvents()
        self.previous = previous
        self._lock = threading.Lock()
        self.hosts: dict[str, HostRecord] = {}
        self.host_order: list[str] = []
        self.commands: dict[str, CommandResult] = {}
        self.results: dict[tuple[str, str], ProbeResult] = {}
        self.kept: set[tuple[str, str]] = set()
        self.order = probe_order(request.specs, request.selected)
        self.compute_hosts: list[HostSpec] = []
        self.started_at: datetime = previous.started_at if previous else utcnow()
        self.planned: set[tuple[str, str]] = set()
        self._prewarmed: dict[str, Future[Transport]] = {}
        self._slots = threading.BoundedSemaphore(max(1, request.concurrency))
        self.failure: OutputError | None = None
        """Set when the journal or bundle.json could not be written (a full disk): the audit stopped."""
        self.rejected: list[str] = []
        """Node names the cluster reported that are not valid host names (never contacted)."""
        self._finished = False
        self.steps: list[SchedulerStep] = list(previous.steps) if previous is not None else []
        self._ssh_refused: dict[str, ConnectError] = {}
        if previous is not None:
            self._keep_previous(previous)

    # -- state ---------------------------------------------------------------------------------
    def _keep_previous(self, prev: Bundle) -> None:
        by_id = {c.id: c for c in prev.commands}
        for res in prev.results:
            if res.status == ProbeStatus.ERROR and res.substatus in RERUN_SUBSTATUSES:
                continue
            key = (res.host, res.probe_id)
            self.results[key] = res
            self.kept.add(key)
            for cid in res.command_ids:
                if cid in by_id:
                    self.commands[cid] = by_id[cid]
        for rec in prev.hosts:
            self.hosts[rec.name] = rec

    def _journal(self, records: list[tuple[str, Any]]) -> None:
        """Append to the journal; a failed write (a full disk) stops the audit instead of crashing it."""
        if self.failure is not None:
            return
        try:
            self.journal.write_many(records)
        except OutputError as err:
            self._fail(err)

    def _fail(self, err: OutputError) -> None:
        """The audit's files cannot be written (a full disk): stop, keeping what is on disk."""
        with self._lock:
            first = self.failure is None
            if first:
                self.failure = err
        if first:
            self.stop.set()  # launch nothing more; running scripts get TERM and clean up
            self.events.note(f"stopping: {err.message}")

    def _record_host(self, record: HostRecord) -> None:
        with self._lock:
            self.hosts[record.name] = record
            if record.name not in self.host_order:
                self.host_order.append(record.name)
        self._journal([("host", record)])
        self.events.host_done(record)

    def _record(self, commands: list[CommandResult], result: ProbeResult) -> None:
        with self._lock:
            for cmd in commands:
                self.commands[cmd.id] = cmd
            self.results[(result.host, result.probe_id)] = result
        self._journal([*(("command", cmd) for cmd in commands), ("result", result)])
        self.events.probe_done(result)

    def _result(self, host: str, probe_id: str) -> ProbeResult | None:
        with self._lock:
            return self.results.get((host, probe_id))

    # -- planning helpers ------------------------------------------------------------------------
    def platform(self) -> Platform:
        if self.req.platform is not None:
            return self.req.platform
        res = self._result(self.req.login.name, "scheduler_detect")
        value = res.facts.get("platform") if res is not None else None
        return value if value in ("slurm", "kubernetes", "bare") else "unknown"

    def _login_facts(self, key: str) -> Any:
        for probe_id in self.order:
            res = self._result(self.req.login.name, probe_id)
            if res is not None and key in res.facts:
                return res.facts[key]
        return None

    def _unmet(self, spec: ProbeSpec, host: HostSpec) -> str | None:
        platform = self.platform()
        for need in spec.requires:
            if need in ("slurm", "kubernetes", "bare") and platform != need:
                return f"requires {need}; the platform is {platform}"
            if need == "nvidia-smi" and host.name == self.req.login.name:
                detect = self._result(self.req.login.name, "scheduler_detect")
                if detect is not None and detect.facts.get("nvidia_smi") is False:
                    return "requires nvidia-smi, which is not on this host's PATH"
        return None

    def _params(self, spec: ProbeSpec, host: HostSpec) -> dict[str, JSONValue]:
        host_layer: dict[str, JSONValue] = {}
        if "expected_gpus" in spec.params:
            gpn = self._login_facts("gpus_per_node")
            if isinstance(gpn, dict) and isinstance(gpn.get(host.name), int):
                host_layer["expected_gpus"] = gpn[host.name]
            elif isinstance(gpn, int) and not isinstance(gpn, bool) and host.role == "compute":
                host_layer["expected_gpus"] = gpn  # one figure for every node (Kubernetes)
        inv_host: dict[str, JSONValue] = {}
        if host.expected_gpus is not None and "expected_gpus" in spec.params:
            inv_host["expected_gpus"] = host.expected_gpus
        return merge_params(
            spec,
            host_layer,
            self.req.inventory_params.get(spec.id, {}),
            inv_host,
            self.req.cli_params.get(spec.id, {}),
        )

    def _context(self, host: HostSpec, role: Role) -> ProbeContext:
        return ProbeContext(
            role=role,
            platform=self.platform(),
            nodes=[h.name for h in self.compute_hosts],
            node_addrs=[h.address or h.name for h in self.compute_hosts],
            stop=self.stop,
            login_shell=host.login_shell,
            probes_root=self.req.probes_root,
        )

    # -- running ----------------------------------------------------------------------------------
    def _audit_host(
        self, host: HostSpec, probe_ids: list[str], result_host: str | None = None, *, fallback: bool = False
    ) -> bool:
        """Run ``probe_ids`` on ``host``; False when the host could not be reached.

        ``fallback``: a host that refuses SSH is only noted (in ``_ssh_refused``), not recorded: the
        scheduler reaches it next (``--reach auto``); a host-key refusal is recorded as usual."""
        rname = result_host or host.name
        todo = [p for p in probe_ids if (rname, p) not in self.results]
        for p in probe_ids:
            self.planned.add((rname, p))
        if not todo:
            return True
        if self.stop.is_set():
            return True
        t0 = time.monotonic()
        try:
            pending = self._prewarmed.pop(host.name, None)
            transport = pending.result() if pending is not None else self.connect(host)
        except ConnectError as err:
            # a changed or unknown host key is never worked around: the node stays unknown (host-key),
            # so the auditor sees it and decides, instead of a note beside a scheduler run
            if fallback and err.kind != "host-key":
                with self._lock:
                    self._ssh_refused[host.name] = err
                return False
            self._record_host(self._host_record(host, err.kind, err.message, None))
            sub = _CONNECT_SUB[err.kind]
            for probe_id in todo:
                spec = self.req.specs[probe_id]
                self._record([], _error_result(spec, rname, sub, err.message, self._params(spec, host)))
            return False
        connect_s = getattr(transport, "connect_time_s", None)
        if host.name not in self.hosts or self.hosts[host.name].state != "ok":
            record = self._host_record(host, "ok", None, connect_s or (time.monotonic() - t0))
            reach = "local" if host.target is None else "ssh"
            self._record_host(record.model_copy(update={"reach": reach}))
        for probe_id in todo:
            if self.stop.is_set():
                break
            spec = self.req.specs[probe_id]
            unmet = self._unmet(spec, host)
            params = self._params(spec, host)
            if unmet is not None:
                self._record([], _error_result(spec, rname, SubStatus.NOT_APPLICABLE, unmet, params))
                continue
            role: Role = host.role
            context = self._context(host, role)
            if connect_s is not None and rname == host.name:
                context = dataclasses.replace(context, connect_time_s=connect_s)
            commands, result = run_probe(transport, spec, rname, params, context)
            self._record(commands, result)
        return True

    def _host_record(
        self, host: HostSpec, state: str, error: str | None, connect_s: float | None
    ) -> HostRecord:
        role: HostRole = host.role
        return HostRecord.model_validate(
            {
                "name": host.name,
                "address": host.address,
                "user": host.user,
                "port": host.port,
                "role": role,
                "via": host.via,
                "state": state,
                "error": error,
                "connect_time_s": round(connect_s, 4) if connect_s is not None else None,
            }
        )

    def _ids(self, *scopes: str) -> list[str]:
        return [p for p in self.order if self.req.specs[p].scope in scopes]

    def _discover(self) -> list[HostSpec]:
        if self.req.compute is not None:
            hosts = list(self.req.compute)
        else:
            hosts = []
            nodes = self._login_facts("compute_nodes")
            if isinstance(nodes, list) and self.req.make_node is not None:
                seen: set[str] = set()
                for node in nodes:
                    if not isinstance(node, dict) or not isinstance(node.get("name"), str):
                        continue
                    name = node["name"]
                    if name in seen or name == self.req.login.name:
                        continue
                    seen.add(name)
                    addr = node.get("address")
                    addr = addr if isinstance(addr, str) and addr else None
                    # the trust boundary: a name or address the cluster reported is used (looked up in
                    # the ssh_config, connected to, shown) only if it is a plain host name
                    if not is_host_name(name) or name == CLUSTER_HOST:
                        why = (
                            rejection(name)
                            if name != CLUSTER_HOST
                            else (f"the cluster reported a node named {name!r}, a name clustermax reserves")
                        )
                        self._reject(name, why)
                        continue
                    if addr is not None and not is_host_address(addr):
                        self._reject(name, rejection(addr, "address"))
                        continue
                    try:
                        hosts.append(self.req.make_node(name, addr))
                    except ClustermaxError as err:  # e.g. a ProxyJump loop for this node in the ssh_config
                        self._reject(name, f"cannot resolve it: {err.message}")
        if self.req.max_nodes is not None and len(hosts) > self.req.max_nodes:
            self.events.note(f"auditing {self.req.max_nodes} of {len(hosts)} compute nodes (--max-nodes)")
            hosts = hosts[: self.req.max_nodes]
        return hosts

    def _reject(self, name: str, why: str) -> None:
        """Record a node the cluster named with an invalid name or address: not contacted (unknown)."""
        self.rejected.append(name)
        spec = HostSpec(name=name, role="compute")
        self._record_host(self._host_record(spec, "not-attempted", f"not contacted: {why}", None))
        for probe_id in self._ids("host", "node"):
            self.planned.add((name, probe_id))
            psp = self.req.specs[probe_id]
            self._record([], _error_result(psp, name, SubStatus.UNREACHABLE, f"not contacted: {why}"))

    def run(self) -> Bundle:
        """Run the audit; the bundle says ``complete`` only when every planned result is in."""
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise write_error(self.out_dir, err, "audit directory") from err
        self.journal = Journal(self.out_dir)
        self.journal.write("start", self._skeleton(complete=False).model_dump(mode="json"))
        try:
            self._run_phases()
            self._finished = True
        finally:
            bundle = self.bundle()
            self._journal([("end", {"complete": bundle.complete, "ended_at": str(bundle.ended_at)})])
            self.journal.close()
            self._write_bundle(bundle)
        return bundle

    def _write_bundle(self, bundle: Bundle) -> None:
        if self.failure is not None:
            return  # the disk is full: the journal holds what could be saved
        try:
            write_bundle(bundle, self.out_dir)
        except OutputError as err:
            self._fail(err)

    def _prewarm(self, pool: ThreadPoolExecutor) -> None:
        """Connect to an explicit compute list while the login phase runs (connecting dominates)."""
        if self.req.compute is None or self.previous is not None:
            return
        ids = self._ids("host", "node")
        for h in self.req.compute[: self.req.max_nodes]:
            if ids and h.name != self.req.login.name:
                self._prewarmed[h.name] = pool.submit(self._slotted, self.connect, h)

    def _compute_host(self, host: HostSpec, ids: list[str]) -> bool:
        pending = self._prewarmed.get(host.name)
        if pending is not None:
            wait([pending])  # its connect holds a slot of its own; waiting here must not hold one
        with self._slots:
            return self._audit_host(
                host, ids, fallback=self.req.reach == "auto" and self.platform() == "slurm"
            )

    def _slotted(self, fn: Callable[[HostSpec], _T], host: HostSpec) -> _T:
        """Run ``fn(host)`` holding one of the ``concurrency`` slots (connects and host audits share them)."""
        with self._slots:
            return fn(host)

    def _run_phases(self) -> None:
        login = self.req.login
        self.host_order.append(login.name)
        self.events.phase("login", 1)
        workers = max(1, min(self.req.concurrency, len(self.req.compute or []) or 1))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cmx-connect") as pool:
            self._prewarm(pool)
            self._phases_after_prewarm(login)

    def _phases_after_prewarm(self, login: HostSpec) -> None:
        reached = self._audit_host(login, self._ids("host", "login"))
        if not reached:
            # nothing else can run without the login node (discovery, cluster probes)
            if self.req.compute is not None:
                self.compute_hosts = self._discover()
                self._phase_compute()
            return
        self._write_bundle(self.bundle(final=False))  # a readable partial bundle, never "complete"
        if self.stop.is_set():
            return
        self.compute_hosts = self._discover()
        if self.compute_hosts:
            self._phase_compute()
        elif self.req.single:
            self._audit_host(login, self._ids("node"))
        else:
            self.events.note("no compute nodes to audit (none listed, none discovered)")
        if self.stop.is_set():
            return
        cluster_ids = self._ids("cluster")
        if cluster_ids:
            self.events.phase("cluster", 1)
            self._audit_host(login, cluster_ids, result_host=CLUSTER_HOST)

    def _phase_compute(self) -> None:
        for h in self.compute_hosts:
            if h.name not in self.host_order:
                self.host_order.append(h.name)
        self.events.phase("compute", len(self.compute_hosts))
        ids = self._ids("host", "node")
        if self.platform() == "kubernetes" and (self.req.pods is not None or self.req.reach == "scheduler"):
            self._phase_pods(self.req.pods or PodOptions(), ids)
            return
        if self.req.reach == "scheduler":
            self._scheduler_phase(list(self.compute_hosts), ids)
            return
        workers = max(1, min(self.req.concurrency, len(self.compute_hosts)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cmx-host") as pool:
            futures = [pool.submit(self._compute_host, h, ids) for h in self.compute_hosts]
            for fut in futures:
                fut.result()
        refused = [h for h in self.compute_hosts if h.name in self._ssh_refused]
        if refused:
            self._scheduler_phase(refused, ids)

    # -- the scheduler reach -------------------------------------------------------------------------
    def _scheduler_phase(self, hosts: list[HostSpec], ids: list[str]) -> None:
        """Reach ``hosts`` through the scheduler: their node probes as one srun step (see slurm_step)."""
        from .scheduler import SchedulerPhase

        SchedulerPhase(self, hosts, ids).run()

    def _phase_pods(self, options: PodOptions, ids: list[str]) -> None:
        """The compute nodes' probes in one pod per node, through the login node's kubectl."""
        work: list[NodeWork] = []
        for host in self.compute_hosts:
            probes: list[PodProbe] = []
            for probe_id in ids:
                self.planned.add((host.name, probe_id))
                if (host.name, probe_id) in self.results:
                    continue
                spec = self.req.specs[probe_id]
                params = self._params(spec, host)
                unmet = self._unmet(spec, host)
                if unmet is not None:
                    self._record([], _error_result(spec, host.name, SubStatus.NOT_APPLICABLE, unmet, params))
                    continue
                script = build_script(spec, host.name, params, self._context(host, "compute"))
                probes.append(PodProbe(spec, params, script))
            if probes:
                work.append(NodeWork(host.name, probes))
        if not work or self.stop.is_set():
            return
        try:
            transport = self.connect(self.req.login)
        except ConnectError as err:
            for w in work:
                self._record_pod_host(w.node, None, "unreachable", f"login node: {err.message}")
                for p in w.probes:
                    self._record(
                        [], _error_result(p.spec, w.node, _CONNECT_SUB[err.kind], err.message, p.params)
                    )
            return
        runner = NodePods(
            transport,
            options,
            stop=self.stop,
            workers=min(self.req.concurrency, 16),
            probes_root=self.req.probes_root,
            note=self.events.note,
        )

        def done(out: NodeOutcome) -> None:
            state = {"ok": "ok", "timeout": "timeout", "interrupted": "interrupted"}.get(
                out.state, "not-attempted"
            )
            self._record_pod_host(out.node, out.pod, state, out.message or None)
            by_probe = {c.probe_id: c for c in out.commands}
            for res in out.results:
                cmd = by_probe.get(res.probe_id)
                self._record([cmd] if cmd is not None else [], res)

        runner.run(work, done)
        if runner.cleanup is not None:
            with self._lock:
                self.commands[runner.cleanup.id] = runner.cleanup
            self._journal([("command", runner.cleanup)])

    def _record_pod_host(self, node: str, pod: str | None, state: str, error: str | None) -> None:
        self._record_host(
            HostRecord.model_validate(
                {
                    "name": node,
                    "role": "compute",
                    "via": "kubectl (pod)",
                    "state": state,
                    "error": error,
                    "reach": "scheduler",
                    "reach_id": pod,
                }
            )
        )

    # -- the bundle -------------------------------------------------------------------------------
    def _skeleton(self, complete: bool) -> Bundle:
        import platform as _platform
        import socket
        import sys

        from .. import __version__

        origin = self.req.origin or Origin(
            tool_version=__version__,
            python=_platform.python_version(),
            platform=sys.platform,
            run_from=socket.gethostname(),
        )
        return Bundle(
            origin=origin,
            target=Target(
                cluster=self.req.cluster,
                provider=self.req.provider,
                platform=self.platform(),
                profile_override=self.req.profile_override,
            ),
            started_at=self.started_at,
            complete=complete,
            options=(
                {**self.req.options, "node_pods": self.req.pods.record()}
                if self.req.pods is not None
                else self.req.options
            ),
        )

    def is_complete(self) -> bool:
        """Every planned result is in, every phase ran to its end, nothing stopped or failed."""
        if self.stop.is_set() or not self._finished or self.failure is not None:
            return False
        with self._lock:
            return all(key in self.results for key in self.planned)

    def bundle(self, *, final: bool = True) -> Bundle:
        complete = final and self.is_complete()
        bundle = self._skeleton(complete)
        with self._lock:
            names = list(self.host_order) + [n for n in self.hosts if n not in self.host_order]
            rank = {name: i for i, name in enumerate(names)}
            rank[CLUSTER_HOST] = len(names)
            porder = {p: i for i, p in enumerate(self.order)}

            def key(host: str, probe: str) -> tuple[int, int, str, str]:
                return (rank.get(host, len(names) + 1), porder.get(probe, len(porder)), host, probe)

            hosts = [self.hosts[n] for n in names if n in self.hosts]
            results = sorted(with_derived(self.results.values()), key=lambda r: key(r.host, r.probe_id))
            step_rank = {cid: i for r in results for i, cid in enumerate(r.command_ids)}
            commands = sorted(
                self.commands.values(), key=lambda c: (*key(c.host, c.probe_id), step_rank.get(c.id, 0))
            )
            steps = list(self.steps)
        return bundle.model_copy(
            update={
                "hosts": hosts,
                "results": results,
                "commands": commands,
                "steps": steps,
                "ended_at": utcnow(),
            }
        )

    def reached_any(self) -> bool:
        with self._lock:
            return any(rec.state == "ok" for rec in self.hosts.values())

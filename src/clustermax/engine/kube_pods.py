"""Node probes through Kubernetes: one pod per GPU node, its log read with kubectl, every pod deleted.

Where nodes give no SSH (managed Kubernetes), the cluster's own scheduler reaches them. For each GPU
node, one pod runs every node probe of the audit (``probes/_lib/node_pod.sh``: each probe's script, the
exact text an SSH run sends, on the stdin of ``bash -s``; their outputs framed apart in the pod's log).
All kubectl commands run through the login node's transport (kubectl and the kubeconfig are there), one
fixed command line each, every value quoted.

The pod of a node is

* pinned to it by name: a required node affinity on the field ``metadata.name`` (what the DaemonSet
  controller uses), so the scheduler, not the client, places it, and it never lands on another node;
* tolerating every taint (``operator: Exists``: GPU nodes are tainted ``nvidia.com/gpu`` and more);
* requesting all the node's allocatable GPUs (so ``nvidia-smi`` sees them all);
* in the image of :class:`PodOptions` (recorded in the bundle), ``restartPolicy: Never``, with an
  ``activeDeadlineSeconds`` past which the cluster kills it even if clustermax is gone.

A node with any GPU allocated to another pod cannot take a pod asking for all of its GPUs: it is
*not run: node busy* (``SubStatus.NOT_RUN``, unknown, never a failure) and no pod is made for it; a pod
that stays unschedulable past ``schedule_timeout_s`` is the same. Each finished pod's log is read with
``kubectl logs --limit-bytes``, split per probe (:func:`split_pod_log`) and parsed with
:func:`clustermax.probes.result.result_from_commands`, exactly as an SSH run's output; the pod is
deleted at once. Whatever ends the run (done, Ctrl-C, an error), every pod of the run is deleted by its
label and the namespace is listed until none is left: the proof is a command result in the bundle.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import shlex
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from ..models import CommandResult, JSONValue, ProbeResult, ProbeSpec, ProbeStatus, SubStatus
from ..probes.result import result_from_commands
from ..transport.base import DEFAULT_MAX_OUTPUT, RawRun, Transport, utcnow
from .runner import LOCAL_DEADLINE_EXTRA_S, command_result

DEFAULT_IMAGE = "nvcr.io/nvidia/cuda:12.4.1-base-ubuntu22.04"
"""The image a node pod runs in unless told otherwise (the NVIDIA CUDA base image: bash, coreutils, and
the driver's tools mounted by the NVIDIA container runtime)."""

WRAPPER = "_lib/node_pod.sh"
RUN_LABEL = "clustermax-run"
ROLE_LABEL = "clustermax-role"
CLEANUP_PROBE = "node_pods"
"""The ``probe_id`` of the cleanup proof's command result (it belongs to no probe)."""

KUBECTL_TIMEOUT_S = 60.0
LIST_MAX_OUTPUT = 64 * 1024 * 1024
_RESOURCE = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?/[a-z0-9]([a-z0-9._-]*[a-z0-9])?$")
_NAMESPACE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class PodOptions:
    """How node pods are made (``audit --node-pods``, ``--pod-image``, ``--pod-namespace``)."""

    image: str = DEFAULT_IMAGE
    namespace: str = "default"
    kubeconfig: str = ""
    """Path of the kubeconfig on the login node (empty: kubectl's own default)."""
    context: str = ""
    gpu_resource: str = "nvidia.com/gpu"
    schedule_timeout_s: float = 120.0
    """A pod not scheduled and started by then is given up (unschedulable: node busy)."""
    poll_interval_s: float = 1.0
    cleanup_timeout_s: float = 60.0
    create_batch: int = 20
    """Pods created by one ``kubectl create``."""

    def __post_init__(self) -> None:
        if not _RESOURCE.match(self.gpu_resource):
            raise ValueError(f"GPU resource name {self.gpu_resource!r} is not a Kubernetes resource name")
        if not _NAMESPACE.match(self.namespace):
            raise ValueError(f"namespace {self.namespace!r} is not a Kubernetes namespace name")
        if not self.image or any(c.isspace() for c in self.image):
            raise ValueError(f"image {self.image!r} is not an image reference")

    def record(self) -> dict[str, JSONValue]:
        """What the bundle keeps of these options (``options.node_pods``)."""
        return {
            "image": self.image,
            "namespace": self.namespace,
            "context": self.context or None,
            "gpu_resource": self.gpu_resource,
            "schedule_timeout_s": self.schedule_timeout_s,
        }


@dataclass(frozen=True)
class PodProbe:
    """One probe of a node's pod: its spec, parameters and the exact script an SSH run would send."""

    spec: ProbeSpec
    params: dict[str, JSONValue]
    script: str


@dataclass
class NodeWork:
    node: str
    probes: list[PodProbe]


@dataclass
class NodeOutcome:
    """What became of one node: the pod that ran there (if any), its commands and probe results."""

    node: str
    state: Literal["ok", "not-run", "error", "interrupted", "timeout"]
    message: str = ""
    pod: str | None = None
    commands: list[CommandResult] = field(default_factory=list)
    results: list[ProbeResult] = field(default_factory=list)


# ------------------------------------------------------------------------------------ pure parts


@dataclass(frozen=True)
class PodPart:
    """One probe's share of a pod log."""

    stdout: bytes
    stderr: bytes
    exit_code: int | None
    started: float | None
    ended: float | None

    @property
    def complete(self) -> bool:
        return self.exit_code is not None


def _epoch(text: bytes) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def split_pod_log(log: bytes, nonce: str) -> dict[str, PodPart]:
    """The parts of a node pod's log, by probe id, as ``probes/_lib/node_pod.sh`` framed them.

    A probe whose frame never ended (the pod was killed, the log was cut) has what arrived and no exit
    code. Text outside the frames (nothing, normally) is ignored. Linear in the log's size.
    """
    mark = f"@@CMX:POD {nonce} ".encode()
    parts: dict[str, PodPart] = {}
    pos = log.find(mark)
    while pos >= 0:
        head_end = log.find(b"@@\n", pos + len(mark))
        if head_end < 0:
            break
        head = log[pos + len(mark) : head_end].split(b" ")
        body = head_end + 3
        if len(head) < 2 or head[0] != b"BEGIN":
            pos = log.find(mark, body)
            continue
        pid = head[1].decode("ascii", "replace")
        started = _epoch(head[2]) if len(head) > 2 else None
        err_mark = mark + b"STDERR " + head[1] + b"@@\n"
        end_mark = mark + b"END " + head[1] + b" "
        e = log.find(err_mark, body)
        if e < 0:  # cut while the script ran: all that came is its stdout
            nxt = log.find(mark, body)
            stop = len(log) if nxt < 0 else nxt
            parts[pid] = PodPart(log[body:stop], b"", None, started, None)
            pos = nxt
            continue
        stdout = log[body:e]
        s_body = e + len(err_mark)
        f = log.find(end_mark, s_body)
        if f < 0:
            parts[pid] = PodPart(stdout, log[s_body:], None, started, None)
            break
        tail_end = log.find(b"@@\n", f + len(end_mark))
        tail = log[f + len(end_mark) : tail_end if tail_end >= 0 else len(log)].split(b" ")
        rc = int(tail[0]) if tail and tail[0].isdigit() else None
        ended = _epoch(tail[1]) if len(tail) > 1 else None
        parts[pid] = PodPart(stdout, log[s_body:f], rc, started, ended)
        pos = log.find(mark, tail_end + 3) if tail_end >= 0 else -1
    return parts


def pod_manifest(
    name: str,
    node: str,
    gpus: int,
    probes: list[PodProbe],
    options: PodOptions,
    run_id: str,
    nonce: str,
    wrapper: str,
) -> dict[str, JSONValue]:
    """The Pod object of ``node``'s node probes (see the module docstring)."""
    env: list[JSONValue] = [
        {"name": "CMX_NONCE", "value": nonce},
        {"name": "CMX_PROBES", "value": " ".join(p.spec.id for p in probes)},
    ]
    env += [{"name": f"CMX_SCRIPT_{i}", "value": p.script} for i, p in enumerate(probes)]
    deadline = int(pod_deadline_s(probes, options)) + 60
    affinity: JSONValue = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}
                ]
            }
        }
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "labels": {
                RUN_LABEL: run_id,
                ROLE_LABEL: "node-probes",
                "app.kubernetes.io/managed-by": "clustermax",
            },
            "annotations": {"clustermax/node": node},
        },
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 5,
            "activeDeadlineSeconds": deadline,
            "affinity": affinity,
            "tolerations": [{"operator": "Exists"}],
            "containers": [
                {
                    "name": "probes",
                    "image": options.image,
                    "command": ["bash", "-c", wrapper],
                    "env": env,
                    "resources": {
                        "limits": {options.gpu_resource: gpus},
                        "requests": {options.gpu_resource: gpus},
                    },
                }
            ],
        },
    }


def pod_deadline_s(probes: Iterable[PodProbe], options: PodOptions) -> float:
    """How long a pod may take from creation to its end: scheduling plus every probe's own deadline."""
    return options.schedule_timeout_s + sum(p.spec.timeout_s + LOCAL_DEADLINE_EXTRA_S for p in probes)


def gpu_usage(listing: str) -> dict[str, int]:
    """GPUs held per node, from the ``_USED`` listing (node, then limits,requests per container)."""
    used: dict[str, int] = {}
    for line in listing.splitlines():
        node, _, rest = line.partition("\t")
        if not node:
            continue
        total = 0
        for container in rest.split(";"):
            limit, _, request = container.partition(",")
            values = [int(v) for v in (limit, request) if v.strip().isdigit()]
            total += max(values, default=0)
        if total:
            used[node] = used.get(node, 0) + total
    return used


def _allocatable(listing: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in listing.splitlines():
        name, _, value = line.partition("\t")
        if name:
            out[name] = int(value) if value.strip().isdigit() else 0
    return out


def _escape(resource: str) -> str:
    return resource.replace(".", "\\.")


# ------------------------------------------------------------------------------------ the runner


class NodePods:
    """One run of node pods through ``transport`` (the login node's). ``run`` never raises for a pod."""

    def __init__(
        self,
        transport: Transport,
        options: PodOptions,
        *,
        stop: threading.Event | None = None,
        max_output: int = DEFAULT_MAX_OUTPUT,
        workers: int = 8,
        probes_root: Path | None = None,
        note: Callable[[str], None] | None = None,
    ) -> None:
        from ..resources import probes_dir

        self.t = transport
        self.o = options
        self.stop = stop or threading.Event()
        self.max_output = max_output
        self.workers = max(1, workers)
        self.note = note or (lambda _text: None)
        self.run_id = f"cmx-{secrets.token_hex(4)}"
        self.nonce = secrets.token_hex(16)
        self.wrapper = ((probes_root or probes_dir()) / WRAPPER).read_text(encoding="utf-8")
        self.created: dict[str, str] = {}
        """pod name -> node, for every pod this run created."""
        self.cleanup: CommandResult | None = None
        self.leftover: list[str] | None = None

    # -- kubectl ----------------------------------------------------------------------------------
    def argv(self, *args: str, namespaced: bool = True) -> list[str]:
        argv = ["kubectl", "--request-timeout=20s"]
        if self.o.kubeconfig:
            argv += ["--kubeconfig", self.o.kubeconfig]
        if self.o.context:
            argv += ["--context", self.o.context]
        if namespaced:
            argv += ["-n", self.o.namespace]
        return [*argv, *args]

    def kubectl(
        self,
        *args: str,
        stdin: bytes | None = None,
        namespaced: bool = True,
        max_output: int = LIST_MAX_OUTPUT,
        stoppable: bool = True,
    ) -> tuple[str, RawRun]:
        command = " ".join(shlex.quote(a) for a in self.argv(*args, namespaced=namespaced))
        raw = self.t.run(
            command,
            stdin=stdin,
            timeout_s=KUBECTL_TIMEOUT_S,
            max_output=max_output,
            stop=self.stop if stoppable else None,
        )
        return command, raw

    def pod_name(self, index: int) -> str:
        return f"{self.run_id}-{index}"

    # -- the run ----------------------------------------------------------------------------------
    def run(self, work: list[NodeWork], done: Callable[[NodeOutcome], None]) -> None:
        """Run ``work`` (one entry per node); ``done`` gets each node's outcome as soon as it is known
        (from worker threads). Every pod is deleted and its absence checked before this returns."""
        try:
            self._run(work, done)
        finally:
            self._clean_up()

    def _run(self, work: list[NodeWork], done: Callable[[NodeOutcome], None]) -> None:
        _, nodes_raw = self.kubectl(
            "get",
            "nodes",
            "-o",
            "jsonpath={range .items[*]}{.metadata.name}{'\\t'}"
            f"{{.status.allocatable.{_escape(self.o.gpu_resource)}}}{{'\\n'}}{{end}}",
            namespaced=False,
        )
        gpu_path = _escape(self.o.gpu_resource)
        _, used_raw = self.kubectl(
            "get",
            "pods",
            "--all-namespaces",
            "--field-selector=status.phase!=Succeeded,status.phase!=Failed",
            "-o",
            "jsonpath={range .items[*]}{.spec.nodeName}{'\\t'}{range .spec.containers[*]}"
            f"{{.resources.limits.{gpu_path}}},{{.resources.requests.{gpu_path}}};{{end}}{{'\\n'}}{{end}}",
            namespaced=False,
        )
        if nodes_raw.exit_code != 0 or used_raw.exit_code != 0:
            bad = nodes_raw if nodes_raw.exit_code != 0 else used_raw
            why = _first_line(bad) or "kubectl failed"
            for w in work:
                sub = SubStatus.INTERRUPTED if bad.interrupted else SubStatus.COMMAND_FAILED
                done(
                    self._all(
                        w,
                        "interrupted" if bad.interrupted else "error",
                        sub,
                        f"could not list the nodes and their GPUs: {why}",
                    )
                )
            return
        alloc = _allocatable(nodes_raw.stdout.decode("utf-8", "replace"))
        used = gpu_usage(used_raw.stdout.decode("utf-8", "replace"))
        res = self.o.gpu_resource
        runnable: list[tuple[str, NodeWork, int]] = []
        for i, w in enumerate(work):
            if w.node not in alloc:
                done(self._all(w, "not-run", SubStatus.NOT_RUN, "not run: the API server lists no such node"))
            elif alloc[w.node] <= 0:
                done(
                    self._all(w, "not-run", SubStatus.NOT_RUN, f"not run: the node has no allocatable {res}")
                )
            elif used.get(w.node, 0) > 0:
                msg = f"not run: node busy ({used[w.node]} of {alloc[w.node]} {res} allocated to other pods)"
                done(self._all(w, "not-run", SubStatus.NOT_RUN, msg))
            else:
                runnable.append((self.pod_name(i), w, alloc[w.node]))
        by_pod = {name: (w, gpus) for name, w, gpus in runnable}
        pending = self._create(runnable, done)
        self._watch(pending, by_pod, done)

    def _create(
        self, runnable: list[tuple[str, NodeWork, int]], done: Callable[[NodeOutcome], None]
    ) -> dict[str, float]:
        """Create the pods in batches; returns pod name -> creation time (monotonic) of those created."""
        created: dict[str, float] = {}
        step = max(1, self.o.create_batch)
        for start in range(0, len(runnable), step):
            batch = runnable[start : start + step]
            if self.stop.is_set():
                for _name, w, _g in batch:
                    done(
                        self._all(
                            w, "interrupted", SubStatus.INTERRUPTED, "interrupted before its pod was made"
                        )
                    )
                continue
            items = [
                pod_manifest(name, w.node, gpus, w.probes, self.o, self.run_id, self.nonce, self.wrapper)
                for name, w, gpus in batch
            ]
            for name, w, _g in batch:
                self.created[name] = w.node  # cleaned up even if the create's answer is lost
            body = json.dumps({"apiVersion": "v1", "kind": "List", "items": items}).encode()
            _, raw = self.kubectl("create", "--validate=false", "-f", "-", "-o", "name", stdin=body)
            made = {
                line.strip().removeprefix("pod/")
                for line in raw.stdout.decode("utf-8", "replace").splitlines()
            }
            now = time.monotonic()
            for name, w, _g in batch:
                if name in made:
                    created[name] = now
                else:
                    why = _first_line(raw) or "kubectl create failed"
                    done(
                        self._all(
                            w, "error", SubStatus.COMMAND_FAILED, f"could not create its pod: {why}", pod=name
                        )
                    )
        return created

    def _watch(
        self,
        pending: dict[str, float],
        by_pod: dict[str, tuple[NodeWork, int]],
        done: Callable[[NodeOutcome], None],
    ) -> None:
        started: dict[str, float] = {}
        futures: list[Future[None]] = []
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="cmx-pod") as pool:
            while pending and not self.stop.is_set():
                _, raw = self.kubectl(
                    "get",
                    "pods",
                    "-l",
                    f"{RUN_LABEL}={self.run_id}",
                    "-o",
                    "jsonpath={range .items[*]}{.metadata.name}{'\\t'}{.status.phase}{'\\t'}"
                    "{.status.conditions[?(@.type==\"PodScheduled\")].message}{'\\t'}"
                    "{.status.containerStatuses[0].state.waiting.reason}{'\\n'}{end}",
                )
                now = time.monotonic()
                seen: dict[str, list[str]] = {}
                if raw.exit_code == 0:
                    for line in raw.stdout.decode("utf-8", "replace").splitlines():
                        row = line.split("\t")
                        if row and row[0] in pending:
                            seen[row[0]] = row + [""] * (4 - len(row))
                for name in list(pending):
                    w, _gpus = by_pod[name]
                    cols = seen.get(name)
                    phase = cols[1] if cols else ""
                    age = now - pending[name]
                    if phase in ("Succeeded", "Failed"):
                        pending.pop(name)
                        futures.append(pool.submit(self._finish, name, w, phase, False, done))
                    elif phase == "Running":
                        started.setdefault(name, now)
                        if age > pod_deadline_s(w.probes, self.o):
                            pending.pop(name)
                            futures.append(pool.submit(self._finish, name, w, phase, True, done))
                    elif age > self.o.schedule_timeout_s:
                        pending.pop(name)
                        why = (cols[2] or cols[3]) if cols else "the pod is not listed"
                        state: Literal["not-run", "error"] = "error"
                        sub = SubStatus.COMMAND_FAILED
                        msg = f"its pod did not start within {self.o.schedule_timeout_s:g} s: {why or phase}"
                        if cols and cols[2]:  # the scheduler's word: unschedulable
                            state, sub = "not-run", SubStatus.NOT_RUN
                            msg = f"not run: node busy (its pod could not be scheduled: {cols[2]})"
                        futures.append(pool.submit(self._give_up, name, w, state, sub, msg, done))
                if pending:
                    self.stop.wait(self.o.poll_interval_s)
            for name in pending:
                w, _gpus = by_pod[name]
                done(
                    self._all(
                        w,
                        "interrupted",
                        SubStatus.INTERRUPTED,
                        "interrupted before its pod finished (the pod was deleted)",
                        pod=name,
                    )
                )
            for fut in futures:
                fut.result()

    def _give_up(
        self,
        name: str,
        w: NodeWork,
        state: Literal["not-run", "error"],
        sub: SubStatus,
        msg: str,
        done: Callable[[NodeOutcome], None],
    ) -> None:
        self.kubectl("delete", "pod", name, "--wait=false", "--ignore-not-found", stoppable=False)
        done(self._all(w, state, sub, msg, pod=name))

    def _finish(
        self, name: str, w: NodeWork, phase: str, cut: bool, done: Callable[[NodeOutcome], None]
    ) -> None:
        """Read a finished (or cut) pod's log, parse it per probe, delete the pod."""
        cap = self.max_output * max(1, len(w.probes))
        command, raw = self.kubectl(
            "logs", name, "-c", "probes", f"--limit-bytes={cap}", max_output=cap + 4096
        )
        self.kubectl("delete", "pod", name, "--wait=false", "--ignore-not-found", stoppable=False)
        if raw.exit_code != 0:
            sub = SubStatus.INTERRUPTED if raw.interrupted else SubStatus.COMMAND_FAILED
            state: Literal["interrupted", "error"] = "interrupted" if raw.interrupted else "error"
            done(
                self._all(
                    w,
                    state,
                    sub,
                    f"could not read its pod's log: {_first_line(raw) or 'kubectl logs failed'}",
                    pod=name,
                )
            )
            return
        log_cut = len(raw.stdout) >= cap or raw.stdout_truncated
        parts = split_pod_log(raw.stdout, self.nonce)
        del raw  # each part holds its own bytes; the whole log is not kept twice
        out = NodeOutcome(node=w.node, state="timeout" if cut else "ok", pod=name)
        for p in w.probes:
            part = parts.pop(p.spec.id, None)
            if part is None:
                why = (
                    "the pod was cut at its deadline before it began"
                    if cut
                    else f"the pod ended ({phase}) before it began"
                )
                out.results.append(
                    _error(p, w.node, SubStatus.TIMEOUT if cut else SubStatus.COMMAND_FAILED, why)
                )
                continue
            started = (
                datetime.fromtimestamp(part.started, timezone.utc) if part.started is not None else utcnow()
            )
            duration = (
                part.ended - part.started if part.ended is not None and part.started is not None else 0.0
            )
            run = RawRun(
                part.exit_code,
                part.stdout,
                part.stderr,
                started,
                max(0.0, duration),
                timed_out=cut and not part.complete,
                stdout_truncated=log_cut and not part.complete,
            )
            digest = hashlib.sha256(p.script.encode("utf-8")).hexdigest()
            cmd = command_result(
                run,
                host=w.node,
                probe_id=p.spec.id,
                step="main",
                command=f"bash -s (in pod {name}, read with: {command})",
                script_sha256=digest,
            )
            out.commands.append(cmd)
            out.results.append(result_from_commands(p.spec, w.node, p.params, [cmd]))
        if cut:
            out.message = (
                f"its pod ran past its deadline ({pod_deadline_s(w.probes, self.o):g} s) and was cut"
            )
        done(out)

    def _all(
        self,
        w: NodeWork,
        state: Literal["ok", "not-run", "error", "interrupted", "timeout"],
        sub: SubStatus,
        message: str,
        pod: str | None = None,
    ) -> NodeOutcome:
        return NodeOutcome(
            node=w.node,
            state=state,
            message=message,
            pod=pod,
            results=[_error(p, w.node, sub, message) for p in w.probes],
        )

    # -- cleanup ----------------------------------------------------------------------------------
    def _clean_up(self) -> None:
        """Delete every pod of this run by its label and list until none is left (or the bound)."""
        if not self.created:
            return
        selector = f"{RUN_LABEL}={self.run_id}"
        deadline = time.monotonic() + self.o.cleanup_timeout_s
        t0, started = time.monotonic(), utcnow()
        left: list[str] | None = None
        last: RawRun | None = None
        command = ""
        while True:
            self.kubectl(
                "delete", "pods", "-l", selector, "--wait=false", "--ignore-not-found", stoppable=False
            )
            command, last = self.kubectl("get", "pods", "-l", selector, "-o", "name", stoppable=False)
            if last.exit_code == 0:
                left = [s.strip() for s in last.stdout.decode("utf-8", "replace").splitlines() if s.strip()]
                if not left:
                    break
            if time.monotonic() >= deadline:
                break
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        self.leftover = left
        raw = RawRun(
            last.exit_code, last.stdout, last.stderr, started, time.monotonic() - t0, error=last.error
        )
        self.cleanup = command_result(
            raw, host="cluster", probe_id=CLEANUP_PROBE, step="leftover", command=command
        )
        if left:
            self.note(f"{len(left)} node pod(s) could not be deleted: {', '.join(left[:10])}")
        elif left is None:
            self.note(
                "could not check that every node pod was deleted: " + (_first_line(last) or "kubectl failed")
            )


def _first_line(raw: RawRun) -> str:
    text = raw.stderr.decode("utf-8", "replace").strip() or (raw.error or "")
    return text.splitlines()[0][:300] if text else ""


def _error(p: PodProbe, node: str, sub: SubStatus, message: str) -> ProbeResult:
    return ProbeResult(
        probe_id=p.spec.id,
        host=node,
        status=ProbeStatus.ERROR,
        substatus=sub,
        message=message,
        remediation=p.spec.remediation.get(sub.value),
        started_at=utcnow(),
        duration_s=0.0,
        params=p.params,
    )


__all__ = [
    "DEFAULT_IMAGE",
    "NodeOutcome",
    "NodePods",
    "NodeWork",
    "PodOptions",
    "PodProbe",
    "gpu_usage",
    "pod_manifest",
    "split_pod_log",
]

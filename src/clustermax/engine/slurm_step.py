"""The node probes of an audit as ONE Slurm job: one ``srun`` step, one task per node (``--reach``).

What runs, from the login node's transport (the same SSH connection the login probes used):

1. ``scontrol -o show node <list>``: which of the nodes can be allocated now. A node that is drained,
   down, in maintenance, reserved (without ``--reservation``) or busy (allocated; mixed with too few free
   GPUs, or any job there with ``--exclusive``) is left out and recorded *not run: not allocated* or
   *not run: no idle node* (an unknown, never a failure).
2. ``probes/_lib/srun_step.sh`` under the usual supervisor: ``srun -J <tag> --nodes=N --ntasks-per-node=1
   --nodelist=... --immediate=S --label --input=all [options] bash -c <launcher>``. Every task gets the
   same stream on stdin (``probes/_lib/step_task.sh``, the probe scripts as base64 chunks, and a ``case``
   on the node name), saves it in a node-local scratch directory, rebuilds each of its probes' scripts
   byte for byte as an SSH run sends them (checking the SHA-256), runs each with ``bash -s`` under the
   same supervisor and timeout, and prints a frame per probe (capped, base64). srun labels every line
   with the task, so frames never mix; they are parsed per node by the same
   :func:`clustermax.probes.result.result_from_commands` as over SSH.
3. The exit hook cancels every job named ``<tag>`` and checks the queue (section ``cleanup``) whatever
   ends the script (normal end, timeout, Ctrl-C, a dropped connection), as the ttfj probe does.

Node names come from the cluster: only names that passed :mod:`clustermax.hostnames` get here, and every
value reaches a shell through :func:`shlex.quote` (never interpolated into a command line).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
import shlex
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..hostnames import is_host_name
from ..models import CommandResult, JSONValue, ProbeSpec, SchedulerStep
from ..probes.base import split_sections
from ..probes.slurm import NodeAvailability, node_availability
from ..probes.specs import probe_script
from ..transport.base import DEFAULT_MAX_OUTPUT, KILL_GRACE_S, RawRun, Transport, utcnow
from .runner import (
    HTTP_TIMEOUT_S,
    LOCAL_DEADLINE_EXTRA_S,
    ProbeContext,
    build_script,
    command_result,
    remote_command,
    supervisor_text,
)

STEP_LIB = "_lib/srun_step.sh"
TASK_LIB = "_lib/step_task.sh"
PRELUDE = "_lib/prelude.sh"
PER_PROBE_EXTRA_S = KILL_GRACE_S + 15
"""Allowance per probe on top of its own timeout: the supervisor's kill grace and clean-up, framing."""
STEP_START_S = 60
"""Allowance for srun to start the step once allocated (launch, stream broadcast)."""
QUERY_TIMEOUT_S = 30.0
DEFAULT_IMMEDIATE_S = 60
_BAD_FLAGS = {
    "DOWN", "DRAIN", "DRAINING", "DRAINED", "FAIL", "FAILING", "MAINT", "NOT_RESPONDING", "POWERED_DOWN",
    "POWER_DOWN", "POWERING_DOWN", "POWERING_UP", "FUTURE", "INVAL", "REBOOT_REQUESTED", "REBOOT_ISSUED",
    "PLANNED", "UNKNOWN", "CLOUD",
}  # fmt: skip
_LABEL = re.compile(r"^\s*(\d+): ?(.*)$")
_KV = re.compile(r"(\w+)=(\S*)")


@dataclass(frozen=True)
class StepOptions:
    """What the tenant's job asks Slurm for (``clustermax audit --partition ...``)."""

    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    reservation: str | None = None
    exclusive: bool = False
    time_min: int | None = None
    """--time in minutes (default: what the probes' timeouts need)."""
    gpus_per_node: int | None = None
    """GPUs to request on each node; None: all the node's GPUs (so nvidia-smi sees them); 0: none."""
    immediate_s: int = DEFAULT_IMMEDIATE_S
    """srun --immediate: how long to wait for the allocation before giving up (never forever)."""

    def srun_args(self, gpus: int | None, time_min: int) -> list[str]:
        """Options after the fixed ones, each one argv element (``--name=value``)."""
        args = [f"--immediate={max(1, self.immediate_s)}", f"--time={self.time_min or time_min}"]
        for name, value in (("partition", self.partition), ("account", self.account), ("qos", self.qos),
                            ("reservation", self.reservation)):  # fmt: skip
            if value:
                args.append(f"--{name}={value}")
        if self.exclusive:
            args.append("--exclusive")
        if gpus:
            args.append(f"--gres=gpu:{gpus}")
        return args


@dataclass
class TaskItem:
    """One probe of one node: the exact script an SSH run would send, and its HTTP endpoints."""

    spec: ProbeSpec
    params: dict[str, JSONValue]
    script: str
    digest: str
    endpoints: list[tuple[str, int | None, str, str | None]] = field(default_factory=list)
    """(step, port or None, path, error when the port parameter is not a port)."""


@dataclass
class NodeOutcome:
    """What the step gave for one node."""

    started: bool = False
    job_id: str | None = None
    done: bool = False
    commands: dict[str, list[CommandResult]] = field(default_factory=dict)
    """Probe id -> its commands (main, then endpoints), for the probes whose frame arrived."""


@dataclass
class StepOutcome:
    record: SchedulerStep
    nodes: dict[str, NodeOutcome]
    interrupted: bool
    unavailable: str | None = None
    """srun / squeue / scancel missing on the login node."""


# -- which nodes can be allocated -------------------------------------------------------------------
def node_query_script(names: Sequence[str]) -> str:
    return f"scontrol -o show node {shlex.quote(','.join(names))}\n"


def query_nodes(
    transport: Transport, names: Sequence[str], stop: threading.Event | None
) -> dict[str, NodeAvailability]:
    """The nodes as slurmctld sees them now (by name); a node it does not list is absent."""
    raw = transport.run(
        "bash -s", stdin=node_query_script(names).encode(), timeout_s=QUERY_TIMEOUT_S, stop=stop
    )
    return node_availability(raw.stdout.decode("utf-8", errors="replace"))


def _flags(state: str) -> tuple[str, set[str]]:
    words = [w.rstrip("*~#!%$@^-") for w in state.upper().split("+") if w]
    return (words[0] if words else ""), set(words[1:]) | (
        {"NOT_RESPONDING"} if state.endswith("*") else set()
    )


def unavailable_reason(node: NodeAvailability | None, opts: StepOptions, gpus: int | None) -> str | None:
    """Why the step cannot get ``node`` now (None: it can); the text follows *not run:*."""
    if node is None:
        return "not allocated: slurmctld does not list this node"
    state = node.state or ""
    base, flags = _flags(state)
    why = f" ({node.reason})" if node.reason else ""
    if base in _BAD_FLAGS or flags & _BAD_FLAGS:
        return f"not allocated: the node is {state}{why}"
    if ("RESERVED" in flags or base == "RESERVED") and not opts.reservation:
        return f"not allocated: the node is {state} (give --reservation to use it){why}"
    if base in ("ALLOCATED", "COMPLETING"):
        return f"no idle node: the node is {state} (busy with other jobs)"
    if base == "MIXED":
        if opts.exclusive:
            return f"no idle node: the node is {state} and --exclusive asks for all of it"
        free = None if node.gpu_count is None else node.gpu_count - (node.gpus_allocated or 0)
        if gpus and free is not None and gpus > free:
            return f"no idle node: {free} of its {node.gpu_count} GPUs are free, the step asks for {gpus}"
    if base not in ("IDLE", "MIXED", "RESERVED"):
        return f"not allocated: the node is {state}{why}"
    return None


def gpu_request(node: NodeAvailability | None, opts: StepOptions) -> int:
    if opts.gpus_per_node is not None:
        return opts.gpus_per_node
    return (node.gpu_count or 0) if node is not None else 0


# -- the stream every task gets -------------------------------------------------------------------
def task_items(
    specs: Sequence[ProbeSpec], host: str, params: Mapping[str, dict[str, JSONValue]], context: ProbeContext
) -> list[TaskItem]:
    items = []
    for spec in specs:
        p = params[spec.id]
        script = build_script(spec, host, p, context)
        endpoints: list[tuple[str, int | None, str, str | None]] = []
        for ep in spec.endpoints:
            value = p.get(
                ep.port_param, spec.params[ep.port_param].default if ep.port_param in spec.params else None
            )
            try:
                port = int(value)  # type: ignore[arg-type]
                if not 0 < port < 65536:
                    raise ValueError
                endpoints.append((ep.name, port, ep.path, None))
            except (TypeError, ValueError):
                endpoints.append(
                    (ep.name, None, ep.path, f"parameter {ep.port_param} is not a port: {value!r}")
                )
        items.append(TaskItem(spec, dict(p), script, hashlib.sha256(script.encode()).hexdigest(), endpoints))
    return items


def _chunks(item: TaskItem, context: ProbeContext) -> list[str]:
    """The script cut where it is shared: the supervisor, each line of the per-node header (the node
    list is the same for every node), the probe's text."""
    body = probe_script(item.spec, context.probes_root)
    sup = supervisor_text(item.spec.timeout_s, context.login_shell, context.probes_root).rstrip("\n")
    text = item.script
    if text.endswith(body) and text.startswith(sup):
        middle = text[len(sup) : len(text) - len(body)]
        return [part for part in (sup, *middle.splitlines(keepends=True), body) if part]
    return [text]


def _chunk_line(cid: str, chunk: str) -> str:
    b64 = base64.encodebytes(chunk.encode("utf-8")).decode("ascii")
    return f"cmx_chunk {cid} <<'CMX_CHUNK_END'\n{b64}CMX_CHUNK_END"


def build_stream(plan: Mapping[str, list[TaskItem]], context: ProbeContext, cap: int) -> bytes:
    """The text every task runs: step_task.sh, the chunks several nodes share (once), then per node its
    own chunks and what it runs (a task reads and decodes only its own node's part)."""
    from ..resources import probes_dir

    root = context.probes_root or probes_dir()
    per_node: dict[str, list[tuple[TaskItem, list[tuple[str, str]]]]] = {}
    users: dict[str, set[str]] = {}
    for node, items in plan.items():
        if not is_host_name(node):  # the engine checked it already; never let one through here
            raise ValueError(f"refusing node name {node!r}")
        per_node[node] = []
        for item in items:
            pairs = [(hashlib.sha256(c.encode()).hexdigest()[:24], c) for c in _chunks(item, context)]
            per_node[node].append((item, pairs))
            for cid, _ in pairs:
                users.setdefault(cid, set()).add(node)
    parts = [(root / TASK_LIB).read_text(encoding="utf-8"), f"CMX_TASK_CAP={int(cap)}"]
    shared: set[str] = set()
    cases: list[str] = []
    for node, entries in per_node.items():
        own: set[str] = set()
        lines = [f"{shlex.quote(node)})"]
        for item, pairs in entries:
            for cid, chunk in pairs:
                if len(users[cid]) > 1 and cid not in shared:
                    shared.add(cid)
                    parts.append(_chunk_line(cid, chunk))
                elif len(users[cid]) == 1 and cid not in own:
                    own.add(cid)
                    lines.append(_chunk_line(cid, chunk))
            limit = math.ceil(item.spec.timeout_s) + KILL_GRACE_S + 10
            args = (item.spec.id, item.digest, str(limit), *(cid for cid, _ in pairs))
            lines.append("  cmx_task_probe " + " ".join(shlex.quote(x) for x in args))
            for step, port, path, error in item.endpoints:
                if port is not None and error is None:
                    get = (item.spec.id, step, str(port), path, f"{HTTP_TIMEOUT_S:g}")
                    lines.append("  cmx_task_get " + " ".join(shlex.quote(x) for x in get))
        lines.append("  ;;")
        cases.extend(lines)
    parts += ["cmx_task_begin", 'case "$CMX_TASK_NODE" in', *cases, "esac", "cmx_task_done", ""]
    return "\n".join(parts).encode("utf-8")


def step_script(
    tag: str, nodes: Sequence[str], args: Sequence[str], stream: bytes, limit_s: int, context: ProbeContext
) -> str:
    """The login-side script (stdin of ``bash -s``): supervisor, the step's values, prelude, srun_step.sh."""
    from ..resources import probes_dir

    root = context.probes_root or probes_dir()
    b64 = base64.encodebytes(stream).decode("ascii")
    lines = [
        supervisor_text(limit_s, context.login_shell, context.probes_root).rstrip("\n"),
        "# clustermax node step",
        f"CMX_STEP_TAG={shlex.quote(tag)}",
        f"CMX_STEP_NODES={shlex.quote(','.join(nodes))}",
        f"CMX_STEP_COUNT={len(nodes)}",
        "CMX_STEP_ARGS=(" + " ".join(shlex.quote(a) for a in args) + ")",
        (root / PRELUDE).read_text(encoding="utf-8").rstrip("\n"),
        'CMX_STEP_PAYLOAD="$CMX_TMP/stream"',
        f"base64 -d > \"$CMX_STEP_PAYLOAD\" <<'CMX_STREAM_END'\n{b64}CMX_STREAM_END",
        (root / STEP_LIB).read_text(encoding="utf-8"),
    ]
    return "\n".join(lines)


def srun_argv(tag: str, nodes: Sequence[str], args: Sequence[str]) -> list[str]:
    """The srun command line as srun_step.sh runs it (for the bundle and --plan)."""
    return [
        "srun", f"-J={tag}", f"--nodes={len(nodes)}", "--ntasks-per-node=1", f"--nodelist={','.join(nodes)}",
        "--kill-on-bad-exit=0", "--label", "--input=all", *args, "bash", "-c", "<task launcher>",
    ]  # fmt: skip


def step_limit_s(items: Mapping[str, list[TaskItem]], opts: StepOptions) -> int:
    """The longest any task may take (its probes one after another) plus allocation and start-up."""
    per_task = [sum(math.ceil(i.spec.timeout_s) + PER_PROBE_EXTRA_S for i in its) for its in items.values()]
    longest = max(per_task, default=0)
    return longest + opts.immediate_s + STEP_START_S


# -- reading the step's output ----------------------------------------------------------------------
def _b64(lines: list[str]) -> bytes:
    out = []
    for line in lines:
        try:
            out.append(base64.b64decode(line.strip(), validate=True))
        except (binascii.Error, ValueError):
            break  # a line cut by a kill: what came before is kept
    return b"".join(out)


def _stamp(value: str | None) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(value or ""), tz=timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None


def split_output(stdout: str) -> tuple[dict[int, list[str]], str]:
    """srun's labelled task lines by task, and the login script's own sections (unlabelled lines)."""
    tasks: dict[int, list[str]] = {}
    own: list[str] = []
    in_section: str | None = None
    for line in stdout.split("\n"):
        if in_section is not None:
            own.append(line)
            if line.startswith(f"@@CMX:END {in_section} "):
                in_section = None
            continue
        if line.startswith("@@CMX:BEGIN "):
            in_section = line[len("@@CMX:BEGIN ") :].rstrip("@")
            own.append(line)
            continue
        m = _LABEL.match(line)
        if m:
            tasks.setdefault(int(m.group(1)), []).append(m.group(2))
    return tasks, "\n".join(own)


def parse_task(
    lines: list[str], cap: int
) -> tuple[dict[str, str], list[tuple[dict[str, str], RawRun]], bool]:
    """One task's lines -> its TASK header, its frames as (fields, RawRun), and whether it said DONE."""
    header: dict[str, str] = {}
    frames: list[tuple[dict[str, str], RawRun]] = []
    done = False
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if line.startswith("@@CMXSTEP:TASK "):
            header = dict(_KV.findall(line))
        elif line.startswith("@@CMXSTEP:DONE "):
            done = True
        elif line.startswith("@@CMXSTEP:BEGIN "):
            fields = dict(_KV.findall(line.rstrip("@")))
            out_lines: list[str] = []
            err_lines: list[str] = []
            target = out_lines
            closed = False
            while i < len(lines):
                cur = lines[i]
                i += 1
                if cur == "@@CMXSTEP:STDERR@@":
                    target = err_lines
                elif cur == "@@CMXSTEP:END@@":
                    closed = True
                    break
                else:
                    target.append(cur)
            frames.append((fields, _raw(fields, _b64(out_lines), _b64(err_lines), cap, closed)))
    return header, frames, done


def _int(value: str | None) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None


def _raw(fields: dict[str, str], out: bytes, err: bytes, cap: int, closed: bool) -> RawRun:
    start, end = _stamp(fields.get("start")), _stamp(fields.get("end"))
    error = _b64([fields.get("error", "")]).decode("utf-8", errors="replace") or None
    interrupted = fields.get("interrupted") == "1" or error == "interrupted" or not closed
    if not closed and error is None:
        error = "interrupted"
    return RawRun(
        exit_code=_int(fields.get("rc")),
        stdout=out,
        stderr=err,
        started_at=start or utcnow(),
        duration_s=max(0.0, (end - start).total_seconds()) if start and end else 0.0,
        timed_out=fields.get("timedout") == "1",
        stdout_truncated=(_int(fields.get("outbytes")) or 0) > cap,
        stderr_truncated=(_int(fields.get("errbytes")) or 0) > cap,
        error=error,
        interrupted=interrupted,
    )


def _kv_section(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


@dataclass
class StepRequest:
    tag: str
    plan: dict[str, list[TaskItem]]
    """Node -> its probes (only nodes that can be allocated)."""
    gpus: int
    options: StepOptions
    context: ProbeContext
    not_run: dict[str, str] = field(default_factory=dict)
    cap: int = DEFAULT_MAX_OUTPUT


def prepare(req: StepRequest) -> tuple[str, bytes, list[str], int]:
    """(login script, task stream, srun argv, the step's time limit in seconds)."""
    nodes = list(req.plan)
    limit = step_limit_s(req.plan, req.options)
    args = req.options.srun_args(req.gpus, max(1, math.ceil(limit / 60)))
    stream = build_stream(req.plan, req.context, req.cap)
    return (
        step_script(req.tag, nodes, args, stream, limit, req.context),
        stream,
        srun_argv(req.tag, nodes, args),
        limit,
    )


def run_step(transport: Transport, req: StepRequest, stop: threading.Event | None) -> StepOutcome:
    """Run the step; never raises for a node or srun failure (they are in the outcome)."""
    script, stream, argv, limit = prepare(req)
    nodes = list(req.plan)
    started = utcnow()
    t0 = time.monotonic()
    total_cap = max(DEFAULT_MAX_OUTPUT, 3 * req.cap * max(1, sum(len(v) + 2 for v in req.plan.values())))
    raw = transport.run(
        remote_command(limit),
        stdin=script.encode("utf-8"),
        timeout_s=limit + LOCAL_DEADLINE_EXTRA_S,
        max_output=total_cap,
        stop=stop,
    )
    text = raw.stdout.decode("utf-8", errors="replace")
    tasks, own = split_output(text)
    sections = split_sections(own)
    outcomes: dict[str, NodeOutcome] = {n: NodeOutcome() for n in nodes}
    job_ids: set[str] = set()
    for lines in tasks.values():
        header, frames, done = parse_task(lines, req.cap)
        node = header.get("node")
        if node not in outcomes:
            continue  # a task that names no node of the plan: nothing of it is trusted
        oc = outcomes[node]
        oc.started, oc.done, oc.job_id = True, done, header.get("job") or None
        if oc.job_id:
            job_ids.add(oc.job_id)
        items = {i.spec.id: i for i in req.plan[node]}
        for fields, frame in frames:
            probe = fields.get("probe", "")
            step = fields.get("step", "main")
            item = items.get(probe)
            if item is None:
                continue
            if step == "main":
                cmd = command_result(frame, host=node, probe_id=probe, step="main", command=remote_command(0),
                                     script_sha256=item.digest)  # fmt: skip
                oc.commands[probe] = [cmd]
            elif probe in oc.commands:
                ep = next((e for e in item.endpoints if e[0] == step), None)
                if ep is None:
                    continue
                cmd = command_result(frame, host=node, probe_id=probe, step=step,
                                     command=f"GET http://127.0.0.1:{ep[1]}{ep[2]}")  # fmt: skip
                oc.commands[probe].append(cmd)
    cleanup = _kv_section(sections["cleanup"].text) if "cleanup" in sections else {}
    seen = cleanup.get("jobs_seen", "").split()
    job_id = sorted(job_ids)[0] if job_ids else (seen[0] if seen else None)
    left = cleanup.get("left", "").strip(", ")
    clean = (not left) if cleanup.get("squeue_rc") == "0" else None
    srun_err = (
        sections["srun-stderr"].text if "srun-stderr" in sections else raw.stderr.decode(errors="replace")
    )
    not_run = dict(req.not_run)
    never = [n for n, oc in outcomes.items() if not oc.started]
    interrupted = raw.interrupted or (stop is not None and stop.is_set())
    if never and not interrupted:
        rc = cleanup.get("srun_rc") or raw.exit_code
        why = _allocation_error(srun_err) or f"not allocated: srun exited with {rc} before its task started"
        for n in never:
            not_run[n] = why
    record = SchedulerStep(
        job_id=job_id,
        tag=req.tag,
        nodes=[*nodes, *[n for n in req.not_run if n not in nodes]],
        ran=[n for n, oc in outcomes.items() if oc.started],
        not_run=not_run,
        srun=argv,
        script_sha256=hashlib.sha256(script.encode("utf-8")).hexdigest(),
        stream_sha256=hashlib.sha256(stream).hexdigest(),
        exit_code=_int(cleanup.get("srun_rc")),
        srun_stderr=srun_err[:65536],
        queue_clean=clean,
        left_in_queue=left,
        started_at=started,
        duration_s=round(time.monotonic() - t0, 6),
    )
    unavailable = sections["unavailable"].text.strip() if "unavailable" in sections else None
    if unavailable is None and raw.exit_code is None and not cleanup and not interrupted:
        unavailable = f"the step could not run on the login node: {raw.error or 'no exit status'}"
    return StepOutcome(record, outcomes, interrupted, unavailable)


def _allocation_error(srun_err: str) -> str | None:
    for line in srun_err.splitlines():
        low = line.lower()
        if "unable to allocate" in low or "immediate execution impossible" in low or "allocation" in low:
            text = line.split("error:", 1)[-1].strip()
            return f"not allocated: {text}"
    return None

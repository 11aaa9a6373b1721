"""Run one probe on one host: build its script, run it, fetch its endpoints, parse, make a ProbeResult.

This is the contract probe authors rely on (keep it stable)::

    run_probe(transport, spec, host, params, context) -> (list[CommandResult], ProbeResult)

What reaches the host, on stdin to the fixed command line ``bash -s``, in this order:

0. the supervisor (``probes/_lib/supervisor.sh``) and the line ``cmx_supervise <seconds> <login>; exit $?``:
   the outer bash reads only that far and runs the rest of the stream in an inner ``bash -s`` (``bash -l -s``
   when a login shell is asked for) under ``timeout -k 10 <seconds>``; when the inner one ends or is cut,
   the supervisor kills every process it left (a child that called ``setsid`` included: they all carry
   the run's ``CMX_RUN_ID`` in their environment) and, for a cut, writes ``@@CMX:TIMEOUT <seconds>@@``
   on stderr, so the result says *timeout* exactly;
1. context variables, exported: ``CMX_HOST``, ``CMX_ROLE`` (login|compute|local), ``CMX_PLATFORM``
   (slurm|kubernetes|bare|unknown), ``CMX_NODES`` (space-separated compute node names), ``CMX_NODE_ADDRS``
   (their addresses, same order);
2. one ``CMX_PARAM_<NAME>=<value>`` line per parameter (NAME upper-cased), exported. Values are passed
   through :func:`shlex.quote`: str as is, int/float as ``str()``, bool as ``1``/``0``, None as the empty
   string, lists as their items joined by single spaces, dicts as JSON;
3. the prelude (``probes/_lib/prelude.sh``), then the probe's script.

No value ever reaches a shell unquoted, and the command line itself never carries a value.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..models import CommandResult, JSONValue, ProbeResult, ProbeSpec
from ..probes.result import TIMEOUT_MARK, result_from_commands
from ..probes.specs import probe_script
from ..transport.base import DEFAULT_MAX_OUTPUT, KILL_GRACE_S, RawRun, Transport, utcnow

Role = Literal["login", "compute", "local"]
Platform = Literal["slurm", "kubernetes", "bare", "unknown"]

LOCAL_DEADLINE_EXTRA_S = KILL_GRACE_S + 10
"""The local deadline is the remote timeout plus the remote KILL grace plus this margin (the supervisor's
clean-up after the cut)."""

HTTP_TIMEOUT_S = 10.0

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class ProbeContext:
    """Where and how a probe runs (given to the script as CMX_* variables)."""

    role: Role = "local"
    platform: Platform = "unknown"
    nodes: list[str] = field(default_factory=list)
    node_addrs: list[str] = field(default_factory=list)
    stop: threading.Event | None = None
    """Set on Ctrl-C/SIGTERM: the running command gets TERM (its cleanup traps run), the result says so."""
    login_shell: bool = False
    """Run ``bash -l -s`` (the inventory asks for a login shell)."""
    probes_root: Path | None = None
    """Where probes/ lives (default: the shipped one)."""
    max_output: int = DEFAULT_MAX_OUTPUT
    connect_time_s: float | None = None
    """Seconds the SSH connection to this host took (None locally); the script sees CMX_CONNECT_TIME_S."""


def param_text(value: JSONValue) -> str:
    """How a parameter value is written into the script (before quoting)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float, str)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return " ".join(param_text(v) for v in value)
    return json.dumps(value, sort_keys=True)


SUPERVISOR = "_lib/supervisor.sh"


def remote_seconds(timeout_s: float) -> int:
    """The remote timeout in whole seconds (ceil, at least 1)."""
    return max(1, int(-(-timeout_s // 1)))


def remote_command(timeout_s: float, login_shell: bool = False) -> str:
    """The fixed command line, ``bash -s``: the timeout and the login shell are in the supervisor line."""
    return "bash -s"


def supervisor_text(timeout_s: float, login_shell: bool, probes_root: Path | None = None) -> str:
    """The supervisor and its one command line, the first part of every script."""
    from ..resources import probes_dir

    text = ((probes_root or probes_dir()) / SUPERVISOR).read_text(encoding="utf-8")
    return f"{text}cmx_supervise {remote_seconds(timeout_s)} {1 if login_shell else 0}; exit $?\n"


def build_script(
    spec: ProbeSpec, host: str, params: Mapping[str, JSONValue], context: ProbeContext | None = None
) -> str:
    """The exact text sent on stdin for ``spec`` on ``host``."""
    ctx = context or ProbeContext()
    lines = [
        supervisor_text(spec.timeout_s, ctx.login_shell, ctx.probes_root).rstrip("\n"),
        "# clustermax context",
        f"export CMX_HOST={shlex.quote(host)}",
        f"export CMX_ROLE={shlex.quote(ctx.role)}",
        f"export CMX_PLATFORM={shlex.quote(ctx.platform)}",
        f"export CMX_NODES={shlex.quote(' '.join(ctx.nodes))}",
        f"export CMX_NODE_ADDRS={shlex.quote(' '.join(ctx.node_addrs))}",
        f"export CMX_PROBE={shlex.quote(spec.id)}",
        "export CMX_CONNECT_TIME_S="
        + shlex.quote("" if ctx.connect_time_s is None else f"{ctx.connect_time_s:.4f}"),
    ]
    for name in sorted(params):
        if not _NAME_RE.match(name):
            raise ValueError(f"parameter name {name!r} of probe {spec.id} is not a valid identifier")
        lines.append(f"export CMX_PARAM_{name.upper()}={shlex.quote(param_text(params[name]))}")
    return "\n".join(lines) + "\n" + probe_script(spec, ctx.probes_root)


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def command_result(
    raw: RawRun, *, host: str, probe_id: str, step: str, command: str, script_sha256: str | None = None
) -> CommandResult:
    notes = []
    # the remote supervisor says so when it cut the script at its timeout (its last line on stderr)
    timed_out = raw.timed_out or TIMEOUT_MARK.encode() in raw.stderr[-200:]
    if raw.stdout_truncated:
        notes.append("stdout cut at the output cap")
    if raw.stderr_truncated:
        notes.append("stderr cut at the output cap")
    if timed_out:
        notes.append("cut at its timeout")
    if raw.interrupted:
        notes.append("interrupted (clustermax was stopped)")
    return CommandResult(
        id=f"{host}/{probe_id}/{step}",
        host=host,
        probe_id=probe_id,
        step=step,
        command=command,
        script_sha256=script_sha256,
        exit_code=raw.exit_code,
        stdout=_text(raw.stdout),
        stderr=_text(raw.stderr),
        started_at=raw.started_at,
        duration_s=round(raw.duration_s, 6),
        timed_out=timed_out,
        stdout_truncated=raw.stdout_truncated,
        stderr_truncated=raw.stderr_truncated,
        note="; ".join(notes) or None,
        error=raw.error,
    )


def run_probe(
    transport: Transport,
    spec: ProbeSpec,
    host: str,
    params: dict[str, JSONValue],
    context: ProbeContext | None = None,
) -> tuple[list[CommandResult], ProbeResult]:
    """Run ``spec`` on ``host`` through ``transport``; never raises for a probe or parser failure."""
    ctx = context or ProbeContext()
    script = build_script(spec, host, params, ctx).encode("utf-8")
    digest = hashlib.sha256(script).hexdigest()
    command = remote_command(spec.timeout_s, ctx.login_shell)
    raw = transport.run(
        command,
        stdin=script,
        timeout_s=spec.timeout_s + LOCAL_DEADLINE_EXTRA_S,
        max_output=ctx.max_output,
        stop=ctx.stop,
    )
    commands = [
        command_result(raw, host=host, probe_id=spec.id, step="main", command=command, script_sha256=digest)
    ]
    stopped = ctx.stop is not None and ctx.stop.is_set()
    for endpoint in spec.endpoints:
        if stopped:
            break
        commands.append(_fetch_endpoint(transport, spec, host, params, endpoint.name, endpoint.port_param,
                                        endpoint.path))  # fmt: skip
    return commands, result_from_commands(spec, host, params, commands)


def _fetch_endpoint(
    transport: Transport,
    spec: ProbeSpec,
    host: str,
    params: Mapping[str, JSONValue],
    name: str,
    port_param: str,
    path: str,
) -> CommandResult:
    port_value = params.get(port_param)
    if port_value is None and port_param in spec.params:
        port_value = spec.params[port_param].default
    started = utcnow()
    t0 = time.monotonic()
    try:
        port = int(port_value)  # type: ignore[arg-type]
        if not 0 < port < 65536:
            raise ValueError
    except (TypeError, ValueError):
        raw = RawRun(
            None, b"", b"", started, 0.0, error=f"parameter {port_param} is not a port: {port_value!r}"
        )
        return command_result(raw, host=host, probe_id=spec.id, step=name, command=f"GET {path}")
    command = f"GET http://127.0.0.1:{port}{path}"
    try:
        status, body, error = transport.http_get(port, path, HTTP_TIMEOUT_S)
    except Exception as err:  # a transport bug must not crash the audit
        status, body, error = None, b"", f"{type(err).__name__}: {err}"
    raw = RawRun(status, body, b"", started, time.monotonic() - t0, error=error)
    return command_result(raw, host=host, probe_id=spec.id, step=name, command=command)

"""`clustermax import`: files of tool output gathered by hand -> an import bundle.

Each file's kind is detected (or given), the file is parsed, its raw text is kept in the bundle as
a :class:`CommandResult` (probe_id = the probe the evidence belongs to, step = ``import:<kind>``,
command = ``import <filename>``) and mapped to measurements named as in ``probes/*/probe.yaml``
by the pure functions of :mod:`clustermax.measure`. Every file is listed in ``Bundle.imports``
with its status (imported, unrecognised, parse-error) and the reason: nothing is dropped silently.

:func:`reparse_import_command` re-derives a :class:`ProbeResult` from a stored import command with
today's parsers (the scoring ``--reparse`` path).
"""

from __future__ import annotations

import hashlib
import importlib
import os
import platform
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from . import __version__
from .models import (
    Bundle,
    CommandResult,
    Finding,
    HostRecord,
    ImportedFile,
    Measurement,
    Origin,
    ProbeResult,
    ProbeStatus,
    SubStatus,
    Target,
)
from .parsers.base import ParsedOutput, ParseError

IMPORT_PREFIX = "import:"

PROBE_OF_KIND: dict[str, str] = {
    "nccl-tests": "nccl_allreduce",
    "nvidia-smi": "gpu_health",
    "dcgmi-diag": "gpu_health",
    "xid": "gpu_health",
    "nvidia-smi-topo": "fabric",
    "ibstat": "fabric",
    "sinfo": "slurm",
    "scontrol-node": "slurm",
    "scontrol-partition": "slurm",
    "scontrol-config": "slurm",
    "sacct": "slurm",
    "squeue": "slurm",
    "slurm-messages": "slurm",
    "kubectl-version": "kubernetes",
    "kubectl-nodes": "kubernetes",
}
"""Probe whose evidence each parser kind is."""

MAPPERS: dict[str, str] = {
    "nccl-tests": "clustermax.measure.nccl:nccl_measurements",
    "nvidia-smi": "clustermax.measure.gpu:nvidia_smi_measurements",
    "dcgmi-diag": "clustermax.measure.gpu:dcgmi_measurements",
    "xid": "clustermax.measure.gpu:xid_measurements",
    "nvidia-smi-topo": "clustermax.measure.gpu:topo_measurements",
    "ibstat": "clustermax.measure.fabric:ibstat_measurements",
    "sinfo": "clustermax.measure.slurm:sinfo_measurements",
    "scontrol-node": "clustermax.measure.slurm:scontrol_nodes_measurements",
    "scontrol-partition": "clustermax.measure.slurm:scontrol_partitions_measurements",
    "scontrol-config": "clustermax.measure.slurm:scontrol_config_measurements",
    "sacct": "clustermax.measure.slurm:sacct_measurements",
    "kubectl-version": "clustermax.measure.k8s:kubectl_version_measurements",
    "kubectl-nodes": "clustermax.measure.k8s:kubectl_nodes_measurements",
}
"""Kind -> 'module:function(parsed, host)' returning (measurements, findings). Kinds without one keep
their raw evidence and parsed warnings but yield no measurement."""

MIN_CONFIDENCE = 0.5
DEFAULT_HOST = "imported"

Mapper = Callable[[ParsedOutput, str], tuple[list[Measurement], list[Finding]]]


def _mapper(kind: str) -> Mapper | None:
    target = MAPPERS.get(kind)
    if target is None:
        return None
    module, _, attr = target.partition(":")
    func: Mapper = getattr(importlib.import_module(module), attr)
    return func


def _content_host(kind: str, parsed: ParsedOutput) -> str | None:
    """The host the output names, when the tool prints one."""
    if kind == "nccl-tests":
        hosts: list[str] = list(getattr(parsed, "hosts", []) or [])
        if len(hosts) == 1:
            return hosts[0]
        if len(hosts) > 1:
            return "cluster"
    return None


def detect_kind(text: str) -> tuple[str | None, str]:
    """Best parser kind for ``text`` and a reason (why not, when None)."""
    from .parsers.registry import detect

    candidates = detect(text)
    if not candidates:
        return None, "no parser recognised it"
    kind, confidence = candidates[0]
    if confidence < MIN_CONFIDENCE:
        return None, f"no parser recognised it (best guess {kind} at {confidence:.2f})"
    return kind, f"detected as {kind} ({confidence:.2f})"


def map_parsed(kind: str, parsed: ParsedOutput, host: str) -> tuple[list[Measurement], list[Finding]]:
    mapper = _mapper(kind)
    if mapper is None:
        return [], []
    return mapper(parsed, host)


def _probe_result(
    kind: str, cmd: CommandResult, parsed: ParsedOutput | None, error: ParseError | None
) -> ProbeResult:
    params = {"kind": kind, "file": cmd.command.removeprefix("import ")}
    if parsed is None:
        return ProbeResult(
            probe_id=cmd.probe_id,
            host=cmd.host,
            status=ProbeStatus.ERROR,
            substatus=SubStatus.PARSE_ERROR,
            message=str(error) if error else "could not parse",
            started_at=cmd.started_at,
            duration_s=0.0,
            command_ids=[cmd.id],
            params=params,
        )
    measurements, findings = map_parsed(kind, parsed, cmd.host)
    message = f"imported {kind} output"
    if parsed.warnings:
        message += f" ({len(parsed.warnings)} parser warning(s): {parsed.warnings[0]})"
    return ProbeResult(
        probe_id=cmd.probe_id,
        host=cmd.host,
        status=ProbeStatus.OK,
        message=message,
        started_at=cmd.started_at,
        duration_s=0.0,
        command_ids=[cmd.id],
        params=params,
        measurements=measurements,
        findings=findings,
        facts={"parser_warnings": list(parsed.warnings)},
    )


def reparse_import_command(cmd: CommandResult) -> ProbeResult:
    """Re-derive the probe result of an imported file from its raw text with today's parsers."""
    from .parsers.registry import get_parser

    if not cmd.step.startswith(IMPORT_PREFIX):
        raise ValueError(f"{cmd.id}: not an imported command (step {cmd.step!r})")
    kind = cmd.step[len(IMPORT_PREFIX) :]
    try:
        parsed = get_parser(kind).load()(cmd.stdout)
    except ParseError as err:
        return _probe_result(kind, cmd, None, err)
    return _probe_result(kind, cmd, parsed, None)


@dataclass(frozen=True)
class ImportOutcome:
    bundle: Bundle
    imported: int


def _decode(data: bytes) -> str | None:
    if b"\x00" in data[:65536]:
        return None
    return data.decode("utf-8", errors="replace")


def import_files(
    paths: Sequence[str],
    *,
    provider: str | None,
    cluster: str,
    kind: str | None = None,
    host: str | None = None,
    command_line: str | None = None,
    now: Callable[[], datetime] | None = None,
) -> ImportOutcome:
    """Build an import bundle from ``paths``. Pure apart from reading the files and the clock."""
    from .parsers.registry import get_parser

    clock = now or (lambda: datetime.now(timezone.utc))
    started = clock()
    commands: list[CommandResult] = []
    results: list[ProbeResult] = []
    imports: list[ImportedFile] = []
    hosts: dict[str, HostRecord] = {}
    used_ids: set[str] = set()
    imported = 0
    for path in paths:
        try:
            data = Path(path).read_bytes()
        except OSError as err:
            imports.append(
                ImportedFile(
                    path=path, sha256="", status="unrecognised", reason=f"cannot read: {err.strerror or err}"
                )
            )
            continue
        digest = hashlib.sha256(data).hexdigest()
        text = _decode(data)
        if text is None:
            imports.append(
                ImportedFile(path=path, sha256=digest, status="unrecognised", reason="binary file")
            )
            continue
        file_kind = kind
        if file_kind is None:
            file_kind, why = detect_kind(text)
            if file_kind is None:
                imports.append(ImportedFile(path=path, sha256=digest, status="unrecognised", reason=why))
                continue
        probe_id = PROBE_OF_KIND.get(file_kind, file_kind.replace("-", "_"))
        parsed: ParsedOutput | None = None
        error: ParseError | None = None
        try:
            parsed = get_parser(file_kind).load()(text)
        except ParseError as err:
            error = err
        file_host = host or (_content_host(file_kind, parsed) if parsed is not None else None) or DEFAULT_HOST
        step = f"{IMPORT_PREFIX}{file_kind}"
        cmd_id = f"{file_host}/{probe_id}/{step}"
        n = 2
        while cmd_id in used_ids:
            cmd_id = f"{file_host}/{probe_id}/{step}#{n}"
            n += 1
        used_ids.add(cmd_id)
        cmd = CommandResult(
            id=cmd_id,
            host=file_host,
            probe_id=probe_id,
            step=step,
            command=f"import {os.path.basename(path)}",
            exit_code=0,
            stdout=text,
            started_at=clock(),
            duration_s=0.0,
            note=f"imported from {path} (sha256 {digest})",
        )
        commands.append(cmd)
        results.append(_probe_result(file_kind, cmd, parsed, error))
        hosts.setdefault(file_host, HostRecord(name=file_host, role="imported", state="ok"))
        if error is not None:
            imports.append(
                ImportedFile(
                    path=path,
                    sha256=digest,
                    kind=file_kind,
                    status="parse-error",
                    reason=str(error),
                    host=file_host,
                )
            )
            continue
        imported += 1
        assert parsed is not None
        reason = f"{len(parsed.warnings)} warning(s): {parsed.warnings[0]}" if parsed.warnings else None
        imports.append(
            ImportedFile(
                path=path, sha256=digest, kind=file_kind, status="imported", reason=reason, host=file_host
            )
        )
    bundle = Bundle(
        kind="import",
        origin=Origin(
            tool_version=__version__,
            python=platform.python_version(),
            platform=sys.platform,
            run_from=socket.gethostname(),
            command=command_line,
        ),
        target=Target(cluster=cluster, provider=provider),
        started_at=started,
        ended_at=clock(),
        complete=True,
        options={"kind": kind, "host": host},
        hosts=list(hosts.values()),
        commands=commands,
        results=results,
        imports=imports,
    )
    return ImportOutcome(bundle=bundle, imported=imported)


def write_bundle(bundle: Bundle, out_dir: str | Path) -> Path:
    """Write ``out_dir/bundle.json`` atomically (the engine's writer); returns its path."""
    from .engine.journal import write_bundle as _write

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return _write(bundle, out)

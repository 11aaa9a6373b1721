"""`clustermax import`: files of tool output gathered by hand -> an import bundle.

Each file's kind is detected (or given), the file is parsed, its raw text is kept in the bundle as
a :class:`CommandResult` (probe_id = the probe the evidence belongs to, step = ``import:<kind>``,
command = ``import <filename>``) and mapped to measurements named as in ``probes/*/probe.yaml``
by the pure functions of :mod:`clustermax.measure`. Every file is listed in ``Bundle.imports``
with its status (imported, unrecognised, parse-error) and the reason: nothing is dropped silently.

The nccl-tests logs of one import are the runs of one nccl_allreduce result (as the probe reports its
runs): :func:`clustermax.measure.nccl.import_measurements` maps them together, so several logs of one
configuration are its repetitions (nccl.busbw_peak_median / _spread over R runs). Every other file is
its own result. Cluster-scope results derived from several hosts' results (gpu.versions_consistent,
:mod:`clustermax.engine.derive`) are added as the engine adds them to an audit bundle.

:func:`reparse_import_commands` re-derives a :class:`ProbeResult` from its stored import commands with
today's parsers (the scoring ``--reparse`` path).

Expected GPU count of an nvidia-smi output (gpu.expected_count / gpu.count_ok), as an audit has it from
its parameter or the node's Slurm GRES (:func:`expected_gpus`): ``--profile gpus_per_node=N`` for every
file; otherwise the GRES of an ``scontrol show node`` output imported alongside, for the node the
nvidia-smi output belongs to (its host, from ``--host``), or the one GPU type and count every listed node
has; otherwise unknown (null, not measured). The two metrics carry ``expected_source=profile|gres``.
Both inputs are in the bundle (``target.profile_override`` and the stored commands), so re-parsing
gives the same values.

Reproducible imports: with ``SOURCE_DATE_EPOCH`` set (the reproducible-builds.org convention, seconds
since the epoch) every timestamp of the bundle is that instant and the machine that ran the import is
not recorded (``origin.python`` / ``origin.platform`` = "unrecorded", ``origin.run_from`` null), so the
same files give the same bundle.json byte for byte (scripts/make_golden_bundles.py relies on it).
"""

from __future__ import annotations

import hashlib
import importlib
import os
import platform
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from . import __version__
from .errors import UsageError
from .models import (
    Bundle,
    CommandResult,
    Finding,
    HostRecord,
    ImportedFile,
    JSONValue,
    Measurement,
    Origin,
    ProbeResult,
    ProbeStatus,
    SubStatus,
    Target,
)
from .parsers.base import ParsedOutput, ParseError
from .parsers.slurm import ScontrolNodeOutput, SlurmNode

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

GROUPED_KINDS = frozenset({"nccl-tests"})
"""Kinds whose files of one import form one probe result (runs of one benchmark)."""

MIN_CONFIDENCE = 0.5
DEFAULT_HOST = "imported"
UNRECORDED = "unrecorded"

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


@dataclass(frozen=True)
class ExpectedGpus:
    """How many GPUs a node should have, and where that came from (``profile`` or ``gres``)."""

    count: int
    source: str


def expected_gpus(
    host: str, profile: Mapping[str, JSONValue] | None, nodes: Sequence[SlurmNode]
) -> ExpectedGpus | None:
    """The expected GPU count of ``host``'s nvidia-smi output in an import; None when unknown.

    ``profile``: the bundle's profile override (its ``gpus_per_node`` wins). ``nodes``: the nodes of
    every ``scontrol show node`` output of the import: the GRES GPU count of the node named ``host``,
    else the GPU count and type shared by every listed node. A count below 1 tells nothing.
    """
    per_node = (profile or {}).get("gpus_per_node")
    if isinstance(per_node, int) and not isinstance(per_node, bool) and per_node >= 1:
        return ExpectedGpus(per_node, "profile")
    named = {n.gpu_count for n in nodes if n.name == host}
    if named:
        count = named.pop() if len(named) == 1 else None
        return ExpectedGpus(count, "gres") if count is not None and count >= 1 else None
    shared = {(n.gpu_count, n.gpu_type) for n in nodes}
    if len(shared) == 1:
        count, _ = shared.pop()
        if count is not None and count >= 1:
            return ExpectedGpus(count, "gres")
    return None


def _slurm_nodes(parsed: Sequence[ParsedOutput]) -> list[SlurmNode]:
    return [n for out in parsed if isinstance(out, ScontrolNodeOutput) for n in out.nodes]


def map_parsed(kind: str, parsed: ParsedOutput, host: str) -> tuple[list[Measurement], list[Finding]]:
    mapper = _mapper(kind)
    if mapper is None:
        return [], []
    return mapper(parsed, host)


def _error_result(kind: str, cmd: CommandResult, error: ParseError | None) -> ProbeResult:
    return ProbeResult(
        probe_id=cmd.probe_id,
        host=cmd.host,
        status=ProbeStatus.ERROR,
        substatus=SubStatus.PARSE_ERROR,
        message=str(error) if error else "could not parse",
        started_at=cmd.started_at,
        duration_s=0.0,
        command_ids=[cmd.id],
        params={"kind": kind, "file": _file_name(cmd)},
    )


def _file_name(cmd: CommandResult) -> str:
    return cmd.command.removeprefix("import ")


def _probe_result(
    kind: str,
    parsed: list[tuple[CommandResult, ParsedOutput]],
    profile: Mapping[str, JSONValue] | None = None,
    nodes: Sequence[SlurmNode] = (),
) -> ProbeResult:
    """The result of the parsed files of one kind (one file, or every file of a grouped kind).

    ``profile`` and ``nodes`` give an nvidia-smi output its expected GPU count (:func:`expected_gpus`).
    """
    cmds = [cmd for cmd, _ in parsed]
    first = cmds[0]
    if kind in GROUPED_KINDS:
        from .measure.nccl import ImportedLog, import_measurements
        from .parsers.nccl_tests import NcclTestsOutput

        logs = [
            ImportedLog(out, cmd.host, cmd.stdout) for cmd, out in parsed if isinstance(out, NcclTestsOutput)
        ]
        measurements, findings = import_measurements(logs)
    elif kind == "nvidia-smi":
        from .measure.gpu import nvidia_smi_measurements
        from .parsers.nvidia_smi import NvidiaSmiOutput

        smi = parsed[0][1]
        expected = expected_gpus(first.host, profile, nodes)
        measurements, findings = nvidia_smi_measurements(
            smi if isinstance(smi, NvidiaSmiOutput) else None,
            first.host,
            expected=expected.count if expected else None,
            expected_source=expected.source if expected else None,
        )
    else:
        measurements, findings = map_parsed(kind, parsed[0][1], first.host)
    warnings = [w for _, out in parsed for w in out.warnings]
    hosts = {cmd.host for cmd in cmds}
    params: dict[str, JSONValue] = {"kind": kind, "file": _file_name(first)}
    message = f"imported {kind} output"
    if len(cmds) > 1:
        params = {"kind": kind, "files": [_file_name(c) for c in cmds]}
        message = f"imported {kind} output of {len(cmds)} files"
    if warnings:
        message += f" ({len(warnings)} parser warning(s): {warnings[0]})"
    return ProbeResult(
        probe_id=first.probe_id,
        host=hosts.pop() if len(hosts) == 1 else "cluster",
        status=ProbeStatus.OK,
        message=message,
        started_at=first.started_at,
        duration_s=0.0,
        command_ids=[c.id for c in cmds],
        params=params,
        measurements=measurements,
        findings=findings,
        facts={"parser_warnings": list(warnings)},
    )


def _kind_of(cmd: CommandResult) -> str:
    if not cmd.step.startswith(IMPORT_PREFIX):
        raise ValueError(f"{cmd.id}: not an imported command (step {cmd.step!r})")
    return cmd.step[len(IMPORT_PREFIX) :]


def _context_nodes(context: Sequence[CommandResult]) -> list[SlurmNode]:
    """The Slurm nodes of the imported ``scontrol show node`` outputs among ``context``, parsed today."""
    from .parsers.registry import get_parser

    node_cmds = [c for c in context if c.step == f"{IMPORT_PREFIX}scontrol-node"]
    if not node_cmds:
        return []
    parser = get_parser("scontrol-node").parse
    outputs: list[ParsedOutput] = []
    for cmd in node_cmds:
        try:
            outputs.append(parser(cmd.stdout))
        except ParseError:
            continue
    return _slurm_nodes(outputs)


def reparse_import_commands(
    cmds: Sequence[CommandResult],
    *,
    profile: Mapping[str, JSONValue] | None = None,
    context: Sequence[CommandResult] = (),
) -> ProbeResult:
    """Re-derive the probe result of imported files (one result's commands) with today's parsers.

    ``profile``: the bundle's ``target.profile_override``; ``context``: every command of the bundle
    (its imported ``scontrol show node`` outputs): what the import used for the expected GPU count, so
    the result is a pure function of the bundle. Files that no longer parse are left out of a grouped
    result and named in its message; when none parses the result is the first file's parse error.
    """
    from .parsers.registry import get_parser

    if not cmds:
        raise ValueError("no imported command to re-parse")
    kind = _kind_of(cmds[0])
    parser = get_parser(kind).parse
    parsed: list[tuple[CommandResult, ParsedOutput]] = []
    errors: list[tuple[CommandResult, ParseError]] = []
    for cmd in cmds:
        if _kind_of(cmd) != kind:
            raise ValueError(f"{cmd.id}: kind {_kind_of(cmd)!r} in a result of kind {kind!r}")
        try:
            parsed.append((cmd, parser(cmd.stdout)))
        except ParseError as err:
            errors.append((cmd, err))
    if not parsed:
        return _error_result(kind, errors[0][0], errors[0][1])
    nodes = _context_nodes(context) if kind == "nvidia-smi" else []
    result = _probe_result(kind, parsed, profile, nodes)
    if errors:
        failed = "; ".join(f"{_file_name(c)}: {e}" for c, e in errors)
        result = result.model_copy(update={"message": f"{result.message}; not parsed: {failed}"})
    return result


def reparse_import_command(cmd: CommandResult) -> ProbeResult:
    """Re-derive the probe result of one imported file (see :func:`reparse_import_commands`)."""
    return reparse_import_commands([cmd])


def source_date_epoch(environ: Mapping[str, str] | None = None) -> datetime | None:
    """The instant ``SOURCE_DATE_EPOCH`` names (UTC), None when unset; UsageError when not an integer."""
    raw = (os.environ if environ is None else environ).get("SOURCE_DATE_EPOCH")
    if raw is None or raw == "":
        return None
    try:
        return datetime.fromtimestamp(int(raw), tz=timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise UsageError(
            f"SOURCE_DATE_EPOCH={raw!r} is not a number of seconds since 1970-01-01",
            hint="set it to an integer (e.g. SOURCE_DATE_EPOCH=1767225600) or unset it",
        ) from None


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
    profile: Mapping[str, JSONValue] | None = None,
    reproducible: bool = False,
) -> ImportOutcome:
    """Build an import bundle from ``paths``. Pure apart from reading the files and the clock.

    ``profile``: the hardware profile to score against (``Bundle.target.profile_override``, checked
    by :func:`clustermax.scoring.profile.check_profile_override`). ``reproducible``: leave out the
    machine that ran the import (pass a fixed ``now`` too for a byte-identical bundle).
    """
    from .engine.derive import with_derived
    from .parsers.registry import get_parser

    clock = now or (lambda: datetime.now(timezone.utc))
    started = clock()
    commands: list[CommandResult] = []
    # per file, in order: its kind and what parsing it gave (output, or the error)
    entries: list[tuple[str, CommandResult, ParsedOutput | None, ParseError | None]] = []
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
            parsed = get_parser(file_kind).parse(text)
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
        entries.append((file_kind, cmd, parsed, error))
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
        twin = next((i.path for i in imports if i.sha256 == digest and i.status == "imported"), None)
        if twin is not None and file_kind in GROUPED_KINDS:
            reason = f"same content as {twin}: its runs count once"
        imports.append(
            ImportedFile(
                path=path, sha256=digest, kind=file_kind, status="imported", reason=reason, host=file_host
            )
        )
    bundle = Bundle(
        kind="import",
        origin=Origin(
            tool_version=__version__,
            python=UNRECORDED if reproducible else platform.python_version(),
            platform=UNRECORDED if reproducible else sys.platform,
            run_from=None if reproducible else socket.gethostname(),
            command=command_line,
        ),
        target=Target(
            cluster=cluster, provider=provider, profile_override=dict(profile) if profile else None
        ),
        started_at=started,
        ended_at=clock(),
        complete=True,
        options={"kind": kind, "host": host},
        hosts=list(hosts.values()),
        commands=commands,
        results=with_derived(_results(entries, profile)),
        imports=imports,
    )
    return ImportOutcome(bundle=bundle, imported=imported)


def _results(
    entries: list[tuple[str, CommandResult, ParsedOutput | None, ParseError | None]],
    profile: Mapping[str, JSONValue] | None = None,
) -> list[ProbeResult]:
    """One result per file, except the parsed files of a grouped kind: one result at the first's place."""
    nodes = _slurm_nodes([p for k, _, p, _ in entries if k == "scontrol-node" and p is not None])
    results: list[ProbeResult] = []
    grouped: dict[str, list[tuple[CommandResult, ParsedOutput]]] = {}
    slots: dict[str, int] = {}
    for file_kind, cmd, parsed, error in entries:
        if parsed is None:
            results.append(_error_result(file_kind, cmd, error))
        elif file_kind in GROUPED_KINDS:
            if file_kind not in grouped:
                slots[file_kind] = len(results)
                results.append(_error_result(file_kind, cmd, None))  # placeholder, replaced below
            grouped.setdefault(file_kind, []).append((cmd, parsed))
        else:
            results.append(_probe_result(file_kind, [(cmd, parsed)], profile, nodes))
    for file_kind, members in grouped.items():
        results[slots[file_kind]] = _probe_result(file_kind, members)
    return results


def write_bundle(bundle: Bundle, out_dir: str | Path) -> Path:
    """Write ``out_dir/bundle.json`` atomically (the engine's writer); returns its path."""
    from .engine.journal import write_bundle as _write

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return _write(bundle, out)

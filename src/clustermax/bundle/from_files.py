"""`clustermax import`: files of tool output gathered by hand -> an import bundle.

Each file's kind is detected (or given), the file is parsed, its raw text is kept in the bundle as
a :class:`CommandResult` (probe_id = the probe the evidence belongs to, step = ``import:<kind>``,
command = ``import <filename>``) and mapped to measurements named as in ``probes/*/probe.yaml`` by the
probe module that declares the kind in its ``FILES`` (:func:`clustermax.probes.registry.file_kinds`),
through that module's ``measure()``, the mapping an audit uses. Every file is listed in
``Bundle.imports`` with its status (imported, unrecognised, parse-error) and the reason: nothing is
dropped silently.

The files of a grouped kind (nccl-tests logs) form one result: the logs of one import are the runs of
one nccl_allreduce result (as the probe reports its runs), so several logs of one configuration are its
repetitions (nccl.busbw_peak_median / _spread over R runs). Every other file is its own result.
Cluster-scope results derived from several hosts' results (gpu.versions_consistent,
:mod:`clustermax.probes.derive`) are added as the engine adds them to an audit bundle.

:func:`reparse_import_commands` re-derives a :class:`ProbeResult` from its stored import commands with
today's parsers (the ``--reparse`` path, :mod:`clustermax.bundle.reparse`).

What a mapping may know besides its own files is an :class:`~clustermax.probes.base.ImportContext`: the
bundle's ``target.profile_override`` and the other imported files of the kinds it asks for (an
nvidia-smi output's expected GPU count comes from ``--profile gpus_per_node`` or an imported ``scontrol
show node``, see :func:`clustermax.probes.gpu_health.expected_gpus`). Both are in the bundle, so
re-parsing gives the same values.

Reproducible imports: with ``SOURCE_DATE_EPOCH`` set (the reproducible-builds.org convention, seconds
since the epoch) every timestamp of the bundle is that instant and the machine that ran the import is
not recorded (``origin.python`` / ``origin.platform`` = "unrecorded", ``origin.run_from`` null), so the
same files give the same bundle.json byte for byte (scripts/make_golden_bundles.py relies on it).
"""

from __future__ import annotations

import hashlib
import os
import platform
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from .. import __version__
from ..errors import ConfigError, UsageError
from ..hostnames import is_host_name
from ..models import (
    Bundle,
    CommandResult,
    HostRecord,
    ImportedFile,
    JSONValue,
    Origin,
    ProbeResult,
    ProbeStatus,
    SubStatus,
    Target,
)
from ..parsers._paste import split_hosts
from ..parsers.base import ParsedOutput, ParseError
from ..parsers.registry import MIN_CONFIDENCE, get_parser, recognise
from ..probes.base import FileKind, ImportContext, ImportedOutput
from ..probes.derive import with_derived
from ..probes.registry import file_kinds
from ..probes.specs import load_probe_specs
from ..safeio import MAX_INPUT_BYTES, read_bytes

IMPORT_PREFIX = "import:"

DEFAULT_HOST = "imported"
UNRECORDED = "unrecorded"


def _entry(kind: str) -> tuple[str, FileKind]:
    """(probe id, FILES entry) of a parser kind; every registered kind has one (tests check it)."""
    try:
        return file_kinds()[kind]
    except KeyError as err:
        raise ValueError(f"parser kind {kind!r} is in no probe module's FILES") from err


def _probe_of(kind: str) -> str:
    return _entry(kind)[0]


def _grouped(kind: str) -> bool:
    return _entry(kind)[1].grouped


def _content_host(kind: str, parsed: ParsedOutput) -> str | None:
    """The host the output names, when the tool prints one (the kind's ``FileKind.content_host``)."""
    host_of = _entry(kind)[1].content_host
    return host_of(parsed) if host_of is not None else None


def detect_kind(text: str) -> tuple[str | None, str]:
    """The parser kind whose structure ``text`` has (confidence >= MIN_CONFIDENCE), and a reason: how it
    was recognised, or what the text is instead (prose, JSON no parser reads, shell commands ...)."""
    found = recognise(text, MIN_CONFIDENCE)
    return found.kind, found.reason


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


def _context(
    kind: str, profile: Mapping[str, JSONValue] | None, others: Sequence[ImportedOutput]
) -> ImportContext:
    """What the mapping of ``kind`` may know: the profile, the other files of the kinds it reads, and
    the remediation texts of its probe (an imported finding gets the text an audit's finding gets)."""
    probe_id, entry = _entry(kind)
    spec = load_probe_specs().get(probe_id)
    return ImportContext(
        profile=profile,
        others=[o for o in others if o.kind in entry.context_kinds],
        remediation=dict(spec.remediation) if spec is not None else {},
    )


def _probe_result(
    kind: str, parsed: list[tuple[CommandResult, ParsedOutput]], context: ImportContext
) -> ProbeResult:
    """The result of the parsed files of one kind (one file, or every file of a grouped kind)."""
    cmds = [cmd for cmd, _ in parsed]
    first = cmds[0]
    files = [ImportedOutput(kind, out, cmd.host, cmd.stdout) for cmd, out in parsed]
    measurements, findings = _entry(kind)[1].measure(files, context)
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


def _reparsed_others(kind: str, commands: Sequence[CommandResult]) -> list[ImportedOutput]:
    """The imported files among ``commands`` that the mapping of ``kind`` reads, parsed today."""
    wanted = _entry(kind)[1].context_kinds
    out: list[ImportedOutput] = []
    for cmd in commands:
        other = cmd.step[len(IMPORT_PREFIX) :] if cmd.step.startswith(IMPORT_PREFIX) else None
        if other is None or other not in wanted:
            continue
        try:
            out.append(ImportedOutput(other, get_parser(other).parse(cmd.stdout), cmd.host, cmd.stdout))
        except ParseError:
            continue
    return out


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
    result = _probe_result(kind, parsed, _context(kind, profile, _reparsed_others(kind, context)))
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
    except (ValueError, OverflowError, OSError) as err:
        raise UsageError(
            f"SOURCE_DATE_EPOCH={raw!r} is not a number of seconds since 1970-01-01",
            hint="set it to an integer (e.g. SOURCE_DATE_EPOCH=1767225600) or unset it",
        ) from err


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
    kinds: Mapping[str, str] | None = None,
    host: str | None = None,
    command_line: str | None = None,
    now: Callable[[], datetime] | None = None,
    profile: Mapping[str, JSONValue] | None = None,
    reproducible: bool = False,
) -> ImportOutcome:
    """Build an import bundle from ``paths``. Pure apart from reading the files and the clock.

    ``kind``: the parser kind of every file (no detection); ``kinds``: the kind of single files, by the
    path as given in ``paths`` (``--kind KIND=FILE``), which wins over ``kind`` and detection for them.
    ``profile``: the hardware profile to score against (``Bundle.target.profile_override``, checked
    by :func:`clustermax.scoring.profile.check_profile_override`). ``reproducible``: leave out the
    machine that ran the import (pass a fixed ``now`` too for a byte-identical bundle).
    """
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
        try:  # bounded: a regular file (not a FIFO or a device) of at most 256 MiB
            data = read_bytes(path, what="file", limit=MAX_INPUT_BYTES)
        except ConfigError as err:
            imports.append(ImportedFile(path=path, sha256="", status="unrecognised", reason=err.detail))
            continue
        digest = hashlib.sha256(data).hexdigest()
        text = _decode(data)
        if text is None:
            imports.append(
                ImportedFile(path=path, sha256=digest, status="unrecognised", reason="binary file")
            )
            continue
        file_kind = (kinds or {}).get(path, kind)
        forced = file_kind is not None
        if file_kind is None:
            file_kind, why = detect_kind(text)
            if file_kind is None:
                imports.append(ImportedFile(path=path, sha256=digest, status="unrecognised", reason=why))
                continue
        probe_id = _probe_of(file_kind)
        # a fan-out tool's output of several hosts (pdsh/clush prefixes, ansible blocks) is each host's
        # own file; a grouped kind's logs (nccl-tests runs) stay one file
        pieces = [(None, text)] if host is not None else split_hosts(text)
        if len(pieces) > 1 and _grouped(file_kind):
            pieces = [(None, text)]
        parsed_any = False
        for named, piece in pieces:
            named = named if named is not None and is_host_name(named) else None
            parsed: ParsedOutput | None = None
            error: ParseError | None = None
            try:
                parsed = get_parser(file_kind).parse(piece)
            except ParseError as err:
                error = err
            file_host = (
                host
                or named
                or (_content_host(file_kind, parsed) if parsed is not None else None)
                or DEFAULT_HOST
            )
            step = f"{IMPORT_PREFIX}{file_kind}"
            cmd_id = f"{file_host}/{probe_id}/{step}"
            n = 2
            while cmd_id in used_ids:
                cmd_id = f"{file_host}/{probe_id}/{step}#{n}"
                n += 1
            used_ids.add(cmd_id)
            part = f", the lines of host {named}" if len(pieces) > 1 else ""
            cmd = CommandResult(
                id=cmd_id,
                host=file_host,
                probe_id=probe_id,
                step=step,
                command=f"import {os.path.basename(path)}",
                exit_code=0,
                stdout=piece,
                started_at=clock(),
                duration_s=0.0,
                note=f"imported from {path} (sha256 {digest}){part}",
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
            parsed_any = True
            assert parsed is not None
            reason = f"{len(parsed.warnings)} warning(s): {parsed.warnings[0]}" if parsed.warnings else None
            if len(pieces) > 1:
                reason = f"host {file_host}, {len(pieces)} hosts in the file" + (
                    f"; {reason}" if reason else ""
                )
            if forced and (kinds or {}).get(path) is not None:
                reason = "kind given (--kind KIND=FILE)" + (f"; {reason}" if reason else "")
            twin = next((i.path for i in imports if i.sha256 == digest and i.status == "imported"), None)
            if twin is not None and _grouped(file_kind):
                reason = f"same content as {twin}: its runs count once"
            imports.append(
                ImportedFile(
                    path=path, sha256=digest, kind=file_kind, status="imported", reason=reason, host=file_host
                )
            )
        imported += parsed_any
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
        options={"kind": kind, "host": host, **({"kinds": dict(kinds)} if kinds else {})},
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
    parsed_files = [ImportedOutput(k, p, c.host, c.stdout) for k, c, p, _ in entries if p is not None]
    results: list[ProbeResult] = []
    grouped: dict[str, list[tuple[CommandResult, ParsedOutput]]] = {}
    slots: dict[str, int] = {}
    for file_kind, cmd, parsed, error in entries:
        if parsed is None:
            results.append(_error_result(file_kind, cmd, error))
        elif _grouped(file_kind):
            if file_kind not in grouped:
                slots[file_kind] = len(results)
                results.append(_error_result(file_kind, cmd, None))  # placeholder, replaced below
            grouped.setdefault(file_kind, []).append((cmd, parsed))
        else:
            context = _context(file_kind, profile, parsed_files)
            results.append(_probe_result(file_kind, [(cmd, parsed)], context))
    for file_kind, members in grouped.items():
        results[slots[file_kind]] = _probe_result(file_kind, members, _context(file_kind, None, ()))
    return results

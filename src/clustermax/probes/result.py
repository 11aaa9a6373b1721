"""A probe's raw command results -> its ProbeResult: the parse stage of an audit and of ``--reparse``.

:func:`result_from_commands` is pure (the clock is read only when there is no command at all): it tells
a script that never ran (unreachable, interrupted) or was cut at its timeout from one that did, splits
the main step's stdout into sections and hands them to the probe's module (``from_sections``); a bug
there becomes a ``parse-error`` result, never a crash. A timed-out script is always reported as a
timeout (never ok), naming the section it was cut in; what did arrive is kept as partial evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone

from ..models import CommandResult, JSONValue, ProbeResult, ProbeSpec, ProbeStatus, SubStatus
from .base import ProbeInput, ProbeOutput, Section, split_sections
from .registry import PROBES

TIMEOUT_MARK = "@@CMX:TIMEOUT "
"""What the remote supervisor (probes/_lib/supervisor.sh) writes on stderr when it cut the probe at its
timeout."""


def is_timeout(cmd: CommandResult, spec: ProbeSpec) -> bool:
    """Cut at its timeout: locally, by the remote supervisor (its mark on stderr), or, in bundles made
    before the supervisor, by the remote ``timeout`` (exit 124, or 137 after -k, at the timeout)."""
    if cmd.timed_out or TIMEOUT_MARK in cmd.stderr[-200:]:
        return True
    return cmd.exit_code in (124, 137) and cmd.duration_s >= spec.timeout_s * 0.95


def _cut_sections(sections: Mapping[str, Section]) -> list[str]:
    """Sections that began but never ended (the script was cut inside them)."""
    return [name for name, sec in sections.items() if sec.rc is None and not name.endswith("!stderr")]


def _where_cut(sections: Mapping[str, Section]) -> str:
    cut = _cut_sections(sections)
    if cut:
        return f" in section {', '.join(repr(c) for c in cut)} (it and every later section are missing)"
    last = list(sections)[-1:] if sections else []
    after = f" after section {last[0]!r}" if last else " before its first section"
    return f"{after} (every later section is missing)"


def _usable(out: ProbeOutput) -> bool:
    return any(m.value is not None for m in out.measurements)


def _partial(out: ProbeOutput) -> str:
    """What the parser made of the output that did arrive, for a cut result's message."""
    if out.message:
        return f"; what arrived says: {out.message}"
    return "; partial output kept" if _usable(out) else ""


def result_from_commands(
    spec: ProbeSpec,
    host: str,
    params: Mapping[str, JSONValue],
    commands: list[CommandResult],
) -> ProbeResult:
    """Derive the ProbeResult from raw command results (pure: also used by re-parsing)."""
    by_step = {c.step: c for c in commands}
    main = by_step.get("main")
    started = min((c.started_at for c in commands), default=datetime.now(timezone.utc))
    duration = round(sum(c.duration_s for c in commands), 6)
    base = {
        "probe_id": spec.id,
        "host": host,
        "started_at": started,
        "duration_s": duration,
        "command_ids": [c.id for c in commands],
        "params": dict(params),
    }
    if main is None:
        return ProbeResult(
            status=ProbeStatus.ERROR, substatus=SubStatus.COMMAND_FAILED, message="no main command", **base
        )
    timed_out = is_timeout(main, spec)
    interrupted = main.error == "interrupted" or bool(main.note and "interrupted" in main.note)
    if main.exit_code is None and not timed_out and not main.stdout:
        sub = SubStatus.INTERRUPTED if interrupted else SubStatus.UNREACHABLE
        return ProbeResult(
            status=ProbeStatus.ERROR,
            substatus=sub,
            message=f"the script did not run to completion: {main.error or 'no exit status'}",
            remediation=spec.remediation.get(sub.value),
            **base,
        )
    sections = split_sections(main.stdout)
    unfinished = main.exit_code is None and not timed_out and not interrupted
    parse_in = ProbeInput(spec=spec, host=host, commands=by_step, sections=sections, params=dict(params))
    try:
        out = PROBES[spec.parser].from_sections(parse_in)
    except Exception as err:  # a parser bug must never crash the audit
        return ProbeResult(
            status=ProbeStatus.ERROR,
            substatus=SubStatus.PARSE_ERROR,
            message=f"parser {spec.parser!r} failed: {type(err).__name__}: {err}",
            **base,
        )
    if interrupted:  # always re-run by --resume; what did arrive is kept for the record
        return ProbeResult(
            status=ProbeStatus.ERROR,
            substatus=SubStatus.INTERRUPTED,
            message="interrupted before the probe finished"
            + (" (partial output kept)" if _usable(out) else ""),
            measurements=out.measurements,
            findings=out.findings,
            facts=out.facts,
            **base,
        )
    if timed_out:  # a timeout is a timeout: never ok, whatever arrived before the cut (kept, as partial)
        return ProbeResult(
            status=ProbeStatus.ERROR,
            substatus=SubStatus.TIMEOUT,
            message=f"cut at its {spec.timeout_s:g} s timeout{_where_cut(sections)}" + _partial(out),
            remediation=spec.remediation.get(SubStatus.TIMEOUT.value),
            measurements=out.measurements,
            findings=out.findings,
            facts=out.facts,
            **base,
        )
    if unfinished:  # no exit status: killed by a signal, or the connection dropped
        return ProbeResult(
            status=ProbeStatus.ERROR,
            substatus=SubStatus.UNREACHABLE,
            message=f"the script did not run to completion ({main.error or 'no exit status'})"
            f"{_where_cut(sections)}" + _partial(out),
            remediation=spec.remediation.get(SubStatus.UNREACHABLE.value),
            measurements=out.measurements,
            findings=out.findings,
            facts=out.facts,
            **base,
        )
    message = out.message
    remediation = out.remediation
    if remediation is None and out.substatus is not None:
        remediation = spec.remediation.get(out.substatus.value)
    return ProbeResult(
        status=out.status,
        substatus=out.substatus,
        message=message,
        remediation=remediation,
        measurements=out.measurements,
        findings=out.findings,
        facts=out.facts,
        **base,
    )

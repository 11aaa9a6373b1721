"""storage_object probe (opt-in): PUT and GET throughput of one object with the AWS CLI.

Sections are described in ``probes/storage_object/run.sh``. ``put`` and ``get`` start with the script's
own ``seconds=<wall> rc=<exit>`` line, then what ``aws s3 cp --no-progress`` printed. Mapping
(:func:`measure`): storage.s3_bw {op, object_bytes, endpoint} = object_bytes / seconds in GiB/s, only for
an operation that exited 0 (a failed one is a finding, not a speed); storage.s3_leftover = objects still
listed after the deletion. The endpoint label is scheme://host[:port] as the plan shows it (the script
drops any user:password@ part and query string). No credential ever reaches the output: the AWS CLI
reads its own, and its messages hold none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..models import Finding, JSONValue, Measurement, ProbeStatus, Severity, SubStatus, Unit
from .base import FileKind, Measured, ProbeInput, ProbeOutput, Section, script_error
from .evidence import with_remediation

_TIMED = re.compile(r"^seconds=(?P<s>\d+(?:\.\d+)?) rc=(?P<rc>-?\d+)\s*$")


def _kv(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            out.setdefault(key.strip(), value.strip())
    return out


def timed(sec: Section) -> tuple[float | None, int | None, str]:
    """(seconds, exit status, the CLI's last line) of a put/get section."""
    lines = sec.text.splitlines()
    m = _TIMED.match(lines[0]) if lines else None
    if not m:
        return None, None, ""
    rest = [ln.strip() for ln in lines[1:] if ln.strip()]
    return float(m.group("s")), int(m.group("rc")), rest[-1][:300] if rest else ""


def measure(
    plan: Mapping[str, str],
    ops: Mapping[str, Section],
    leftover: Section | None,
    remediation: Mapping[str, str],
) -> Measured:
    ms: list[Measurement] = []
    findings: list[Finding] = []
    size = plan.get("object_bytes", "")
    nbytes = int(size) if size.isdigit() else None
    for op in ("put", "get"):
        if op not in ops:
            continue
        seconds, rc, last = timed(ops[op])
        ok = rc == 0 and seconds and nbytes
        value = round(nbytes / seconds / 2**30, 6) if ok and nbytes and seconds else None
        ms.append(
            Measurement(
                metric="storage.s3_bw",
                value=value,
                unit=Unit.GIBPS,
                labels={"op": op, "object_bytes": size, "endpoint": plan.get("endpoint", "") or "aws"},
            )
        )
        if not ok:
            findings.append(
                Finding(
                    code="op-failed",
                    severity=Severity.MEDIUM,
                    message=f"{op.upper()} of s3://{plan.get('bucket')}/{plan.get('key')} failed"
                    + (f" (exit {rc}): {last}" if rc is not None else ""),
                )
            )
    if leftover is not None and leftover.rc == 0:
        left = [ln for ln in leftover.text.splitlines() if ln.strip()]
        ms.append(Measurement(metric="storage.s3_leftover", value=len(left), unit=Unit.COUNT))
        if left:
            findings.append(
                Finding(
                    code="leftover", severity=Severity.MEDIUM, message=f"test object left: {plan.get('key')}"
                )
            )
    return Measured(ms, with_remediation(findings, remediation))


def from_sections(inp: ProbeInput) -> ProbeOutput:
    s = inp.sections
    rem = inp.spec.remediation
    if (unsupported := script_error(s)) is not None:
        return unsupported
    plan = _kv(s["plan"].text) if "plan" in s else {}
    facts: dict[str, JSONValue] = {"plan": dict(plan)}
    if plan.get("skipped"):
        return ProbeOutput(
            status=ProbeStatus.SKIPPED,
            substatus=SubStatus.NOT_APPLICABLE,
            message=plan["skipped"],
            facts=facts,
        )
    if "aws" in s and s["aws"].missing:
        return ProbeOutput(
            status=ProbeStatus.SKIPPED,
            substatus=SubStatus.NOT_INSTALLED,
            message="the AWS CLI (aws) is not installed on the host",
            remediation=rem.get("aws-missing"),
            facts=facts,
        )
    ops: dict[str, Section] = {op: s[op] for op in ("put", "get") if op in s}
    measured = measure(plan, ops, s.get("leftover"), rem)
    speeds = [m for m in measured.measurements if m.metric == "storage.s3_bw" and m.value is not None]
    if not speeds:
        return ProbeOutput(
            status=ProbeStatus.ERROR,
            substatus=SubStatus.COMMAND_FAILED,
            message=measured.findings[0].message if measured.findings else "no transfer was timed",
            remediation=rem.get("op-failed"),
            measurements=measured.measurements,
            findings=measured.findings,
            facts=facts,
        )
    return ProbeOutput(
        status=ProbeStatus.OK,
        message=", ".join(f"{m.labels['op'].upper()} {float(m.value or 0):.3g} GiB/s" for m in speeds),
        measurements=measured.measurements,
        findings=measured.findings,
        facts=facts,
    )


FILES: tuple[FileKind, ...] = ()

"""``sacct``: the default table, ``--format`` tables, ``-p`` and ``-P`` (``--parsable2``)."""

from __future__ import annotations

import re

from pydantic import Field

from .._paste import is_prompt, unwrapped_detect, unwrapped_input
from ..base import ParsedOutput, ParseError
from ._common import text_lines
from .jobs import SchedulerJob, column_targets, is_job_id, job_row, keep_last

_DETECT_SACCT_RE1 = re.compile(
    r"^\s*JobID(Raw)?[\s|]+.*\b(JobName|State|Elapsed|ExitCode|Partition|Account)\b", re.M
)
_DETECT_SACCT_RE2 = re.compile(r"^-{6,} ", re.M)
_PARSE_SACCT_RE1 = re.compile(r"(^|[\s|])JobID(Raw)?([\s|]|$)", re.I)
_PARSE_SACCT_RE2 = re.compile(r"\s*-+( +-+)*\s*")
_PARSE_SACCT_RE3 = re.compile(r"-+")


class SacctOutput(ParsedOutput):
    jobs: list[SchedulerJob] = Field(default_factory=list)
    columns: list[str] = Field(default_factory=list)
    parsable: bool = Field(default=False, description="-p / -P output ('|' separated).")
    accounting_disabled: bool = Field(
        default=False, description="sacct said 'Slurm accounting storage is disabled'."
    )


_SACCT_FIELD_MAP = {
    "JOBID": "job_id",
    "JOBIDRAW": "job_id",
    "JOBNAME": "name",
    "PARTITION": "partition",
    "STATE": "state",
    "EXITCODE": "exit_code",
    "ELAPSED": "elapsed",
}


@unwrapped_input
def parse_sacct(text: str) -> SacctOutput:
    """Parse ``sacct`` output: the default table, ``--format`` tables, ``-p`` and ``-P`` (``--parsable2``)."""
    kind = "sacct"
    lines = text_lines(kind, text)
    warnings: list[str] = []
    if any("accounting storage is disabled" in line.lower() for line in lines[:20]):
        return SacctOutput.model_construct(
            accounting_disabled=True, warnings=["sacct: Slurm accounting storage is disabled"]
        )
    header = None
    for index, line in enumerate(lines[:100]):
        if _PARSE_SACCT_RE1.search(line):
            header = index
            break
    if header is None:
        raise ParseError(kind, "no header line with a JobID column (expected sacct output)")
    for line in lines[:header]:
        if line.strip() and not is_prompt(line):
            warnings.append(f"ignored before the header: {line.strip()[:120]}")
    head = lines[header]
    jobs: list[SchedulerJob] = []
    headers = 0  # header lines read (several when runs were pasted one after the other)
    if "|" in head:
        columns = head.strip().split("|")
        if columns and columns[-1] == "":
            columns = columns[:-1]
        block = columns
        targets = column_targets(block, _SACCT_FIELD_MAP)
        for number, line in enumerate(lines[header:], start=header + 1):
            first = line.lstrip()[:1]
            if not first or (not first.isdigit() and is_prompt(line)):
                continue
            values = line.split("|")
            if len(values) == len(block) + 1 and values[-1] == "":
                values = values[:-1]
            if not first.isdigit() and _PARSE_SACCT_RE1.search(line):
                headers += 1
                block = values
                targets = column_targets(block, _SACCT_FIELD_MAP)
                continue
            if len(values) != len(block):
                warnings.append(f"line {number}: {len(values)} fields for {len(block)} columns, skipped")
                continue
            job = _job(dict(zip(block, values, strict=True)), targets, None, number, warnings)
            if job:
                jobs.append(job)
        _repeated(headers, warnings)
        return SacctOutput.model_construct(
            jobs=keep_last(jobs, "sacct", warnings), columns=columns, parsable=True, warnings=warnings
        )
    columns = head.split()
    block = columns
    spans: list[tuple[int, int]] | None = None
    widths: dict[str, int] = {}
    targets = column_targets(columns, _SACCT_FIELD_MAP)
    expect_dashes = False
    for number, line in enumerate(lines[header:], start=header + 1):
        first = line.lstrip()[:1]
        if not first or (not first.isdigit() and is_prompt(line)):
            continue
        if not first.isdigit() and _PARSE_SACCT_RE1.search(line):
            headers += 1
            block = line.split()
            targets = column_targets(block, _SACCT_FIELD_MAP)
            spans, widths, expect_dashes = None, {}, True
            continue
        if expect_dashes:
            expect_dashes = False
            if _PARSE_SACCT_RE2.fullmatch(line):
                spans = [(m.start(), m.end()) for m in _PARSE_SACCT_RE3.finditer(line)]
                if len(spans) != len(block):
                    warnings.append("the dashes line does not match the header; reading by whitespace")
                    spans = None
                widths = {c: (e - s) for c, (s, e) in zip(block, spans, strict=True)} if spans else {}
                continue
        row = _fixed_row(line, block, spans)
        if row is None:
            warnings.append(f"line {number}: cannot split into {len(block)} columns, skipped")
            continue
        job = _job(dict(zip(block, row, strict=True)), targets, widths, number, warnings)
        if job:
            jobs.append(job)
    _repeated(headers, warnings)
    if any(job.truncated for job in jobs):
        warnings.append(
            "some fields were cut by sacct's column width (ending in '+'); use -P for full values"
        )
    return SacctOutput.model_construct(
        jobs=keep_last(jobs, "sacct", warnings), columns=columns, parsable=False, warnings=warnings
    )


def _job(
    values: dict[str, str],
    targets: dict[str, str | None],
    widths: dict[str, int] | None,
    number: int,
    warnings: list[str],
) -> SchedulerJob | None:
    """A row as a job, when its job id is one (a dashes line, a stray word is not a job)."""
    job = job_row(values, targets, widths)
    if job is not None and not is_job_id(job.job_id.rstrip("+")):
        warnings.append(f"line {number}: {job.job_id[:40]!r} is not a job id, skipped")
        return None
    return job


def _repeated(headers: int, warnings: list[str]) -> None:
    if headers > 1:
        warnings.append(
            f"{headers} sacct listings in one output (a header line each): their rows are read together"
        )


def _fixed_row(line: str, columns: list[str], spans: list[tuple[int, int]] | None) -> list[str] | None:
    tokens = line.split()
    if len(tokens) == len(columns):
        return tokens
    if spans is None:
        return None
    values = []
    for i, (s, e) in enumerate(spans):
        end = spans[i + 1][0] if i + 1 < len(spans) else max(len(line), e)
        values.append(line[s:end].strip())
    # reject a slicing that cut through a value (a value overflowed its column)
    for s, _ in spans[1:]:
        if 0 < s < len(line) and line[s - 1] != " " and line[s] != " ":
            return None
    return values


@unwrapped_detect
def detect_sacct(text: str) -> float:
    if not isinstance(text, str):
        return 0.0
    head = text[:4000]
    if "accounting storage is disabled" in head:
        return 0.7
    if _DETECT_SACCT_RE1.search(head):
        return 0.95 if _DETECT_SACCT_RE2.search(head) or "|" in head else 0.8
    return 0.0

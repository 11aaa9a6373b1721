"""``squeue``: the default and ``-l`` tables, and ``-o``/``-O`` formats with a header."""

from __future__ import annotations

import re

from pydantic import Field

from .._text import first_match
from ..base import ParsedOutput, ParseError
from ._common import split_row, text_lines
from .jobs import SchedulerJob, column_targets, job_row

_DETECT_SQUEUE_RE1 = re.compile(r"^\s*JOBID\s+PARTITION\s+NAME\s+USER\s+(ST|STATE)\b", re.M)
_DETECT_SQUEUE_RE2 = re.compile(r"^\s*JOBID\b.*\b(ST|STATE|NODELIST\(REASON\)|PARTITION)\b", re.M)


class SqueueOutput(ParsedOutput):
    jobs: list[SchedulerJob] = Field(default_factory=list)
    columns: list[str] = Field(default_factory=list)


_SQUEUE_FIELD_MAP = {
    "JOBID": "job_id",
    "NAME": "name",
    "PARTITION": "partition",
    "ST": "state",
    "STATE": "state",
    "TIME": "elapsed",
}
_SQUEUE_CODES = {
    "BF": "BOOT_FAIL",
    "CA": "CANCELLED",
    "CD": "COMPLETED",
    "CF": "CONFIGURING",
    "CG": "COMPLETING",
    "DL": "DEADLINE",
    "F": "FAILED",
    "NF": "NODE_FAIL",
    "OOM": "OUT_OF_MEMORY",
    "PD": "PENDING",
    "PR": "PREEMPTED",
    "R": "RUNNING",
    "RD": "RESV_DEL_HOLD",
    "RF": "REQUEUE_FED",
    "RH": "REQUEUE_HOLD",
    "RQ": "REQUEUED",
    "RS": "RESIZING",
    "RV": "REVOKED",
    "SI": "SIGNALING",
    "SE": "SPECIAL_EXIT",
    "SO": "STAGE_OUT",
    "ST": "STOPPED",
    "S": "SUSPENDED",
    "TO": "TIMEOUT",
}


def parse_squeue(text: str) -> SqueueOutput:
    """Parse ``squeue`` output: the default and ``-l`` tables, and ``-o``/``-O`` formats with a header."""
    kind = "squeue"
    lines = text_lines(kind, text)
    warnings: list[str] = []
    header = None
    for index, line in enumerate(lines[:50]):
        tokens = [t.upper() for t in line.split()]
        if "JOBID" in tokens or "JOB_ID" in tokens or "JOBID|" in line.upper():
            header = index
            break
    if header is None:
        raise ParseError(kind, "no header line with a JOBID column (expected squeue output)")
    head = lines[header]
    jobs: list[SchedulerJob] = []
    if "|" in head:
        columns = [c.strip() for c in head.split("|")]
        rows = [[v.strip() for v in line.split("|")] for line in lines[header + 1 :] if line.strip()]
    else:
        columns = head.split()
        rows = []
        for number, line in enumerate(lines[header + 1 :], start=header + 2):
            if not line.strip():
                continue
            spacey = tuple(c for c in (columns[-1].upper(),) if "REASON" in c or "NODELIST" in c)
            values = split_row(line, columns, spacey or (columns[-1].upper(),))
            if values is None:
                warnings.append(
                    f"line {number}: {len(line.split())} fields for {len(columns)} columns, skipped"
                )
                continue
            rows.append(values)
    targets = column_targets(columns, _SQUEUE_FIELD_MAP)
    for values in rows:
        if len(values) != len(columns):
            warnings.append(f"row {values[:1]}: {len(values)} fields for {len(columns)} columns, skipped")
            continue
        job = job_row(dict(zip(columns, values, strict=True)), targets, None, _SQUEUE_CODES)
        if job is not None:
            jobs.append(job)
    return SqueueOutput.model_construct(jobs=jobs, columns=columns, warnings=warnings)


def detect_squeue(text: str) -> float:
    return first_match(text, ((_DETECT_SQUEUE_RE1, 0.95), (_DETECT_SQUEUE_RE2, 0.7)))

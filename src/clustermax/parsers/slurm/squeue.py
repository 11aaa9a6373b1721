"""``squeue``: the default and ``-l`` tables, and ``-o``/``-O`` formats with a header."""

from __future__ import annotations

import re

from pydantic import Field

from .._paste import is_prompt, unwrapped_detect, unwrapped_input
from .._text import ctime_to_iso, first_match
from ..base import ParsedOutput, ParseError
from ._common import split_row, text_lines
from .jobs import CLUSTER_LINE, SchedulerJob, column_targets, is_job_id, job_row, keep_last

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


def _tokens(line: str, piped: bool) -> list[str]:
    return [c.strip() for c in line.split("|")] if piped else line.split()


@unwrapped_input
def parse_squeue(text: str) -> SqueueOutput:
    """Parse ``squeue`` output: the default and ``-l`` tables, and ``-o``/``-O`` formats with a header.

    A listing may repeat itself: ``squeue -i`` prints a date line and the header before every iteration,
    people paste several runs one after the other (each after its prompt line), and ``squeue -M a,b``
    prints a ``CLUSTER: name`` line and a header per cluster. Each header starts a new snapshot of its
    cluster's queue; the jobs of the last snapshot of each cluster are reported (a warning says how
    many earlier ones were left out), every job once.
    """
    kind = "squeue"
    warnings: list[str] = []
    lines = text_lines(kind, text)
    header = None
    cluster: str | None = None
    for index, line in enumerate(lines[:50]):
        tokens = [t.upper() for t in line.split()]
        if "JOBID" in tokens or "JOB_ID" in tokens or "JOBID|" in line.upper():
            header = index
            break
        m = CLUSTER_LINE.match(line.strip())
        if m:
            cluster = m.group(1)
    if header is None:
        raise ParseError(kind, "no header line with a JOBID column (expected squeue output)")
    head = lines[header]
    piped = "|" in head
    columns = _tokens(head, piped)
    if piped and columns and columns[-1] == "":
        columns = columns[:-1]
    head_key = [c.upper() for c in columns]
    targets = column_targets(columns, _SQUEUE_FIELD_MAP)
    id_col = next((i for i, c in enumerate(head_key) if c in ("JOBID", "JOB_ID", "ARRAY_JOB_ID")), 0)
    spacey = tuple(c for c in (columns[-1].upper(),) if "REASON" in c or "NODELIST" in c)
    # snapshots: (cluster, jobs, when); a header or an iteration's date line starts a new one
    snapshots: list[tuple[str | None, list[SchedulerJob], str | None]] = [(cluster, [], None)]
    when: str | None = None
    for index in range(header - 1, -1, -1):
        if ctime_to_iso(lines[index].strip()):
            when = lines[index].strip()
            snapshots[0] = (cluster, [], when)
            break
    pending_new = False  # a date line or prompt was seen: the next header starts a snapshot
    for number, line in enumerate(lines[header + 1 :], start=header + 2):
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped[0].isdigit():  # a job row starts with its id; anything else may be a boundary
            m = CLUSTER_LINE.match(stripped)
            if m:
                cluster = m.group(1)
                pending_new = True
                continue
            if ctime_to_iso(stripped):
                when = stripped
                pending_new = True
                continue
            if is_prompt(stripped) or stripped.split()[0] == "squeue":
                pending_new = True
                continue
            if [t.upper() for t in _tokens(stripped, piped)][: len(head_key)] == head_key:
                snapshots.append((cluster, [], when))
                pending_new = False
                continue
        if pending_new:
            snapshots.append((cluster, [], when))
            pending_new = False
        values = _tokens(line, piped) if piped else split_row(line, columns, spacey or (columns[-1].upper(),))
        if piped and values is not None and len(values) == len(columns) + 1 and values[-1] == "":
            values = values[:-1]
        if values is None or len(values) != len(columns):
            got = len(values) if values is not None else len(line.split())
            warnings.append(f"line {number}: {got} fields for {len(columns)} columns, skipped")
            continue
        if not is_job_id(values[id_col]):
            warnings.append(f"line {number}: {values[id_col][:40]!r} is not a job id, skipped")
            continue
        job = job_row(dict(zip(columns, values, strict=True)), targets, None, _SQUEUE_CODES)
        if job is not None:
            job.cluster = snapshots[-1][0]
            snapshots[-1][1].append(job)
    last: dict[str | None, tuple[list[SchedulerJob], str | None]] = {}
    for snap_cluster, jobs, snap_when in snapshots:
        last[snap_cluster] = (jobs, snap_when)
    dropped = len(snapshots) - len(last)
    if dropped:
        at = [w for _, w in last.values() if w]
        warnings.append(
            f"{len(snapshots)} listings of the queue in one output (repeated headers, squeue -i iterations):"
            f" the jobs of the last one{f' ({at[-1]})' if at else ''} are reported,"
            f" {dropped} earlier one(s) left out"
        )
    found = [job for jobs, _ in last.values() for job in jobs]
    return SqueueOutput.model_construct(
        jobs=keep_last(found, kind, warnings), columns=columns, warnings=warnings
    )


@unwrapped_detect
def detect_squeue(text: str) -> float:
    return first_match(text, ((_DETECT_SQUEUE_RE1, 0.95), (_DETECT_SQUEUE_RE2, 0.7)))

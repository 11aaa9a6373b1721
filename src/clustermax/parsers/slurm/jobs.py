"""The job rows ``sacct`` and ``squeue`` print, as one row type.

:class:`SchedulerJob` is a plain dataclass (a 10,000-job listing makes one per row), serialised by pydantic
as the ``jobs`` field of :class:`~.sacct.SacctOutput` and :class:`~.squeue.SqueueOutput`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import Field

_JOB_RE1 = re.compile(r"^[\d_+\[\]-]+\.")


@dataclass(slots=True)
class SchedulerJob:
    job_id: Annotated[str, Field(description="Job id as printed (1234, 1234_5, 1234.batch, 1234+0 ...).")]
    name: str | None = None
    partition: str | None = None
    state: Annotated[str | None, Field(description="Long state name (squeue short codes expanded).")] = None
    exit_code: Annotated[str | None, Field(description="ExitCode as printed, e.g. '0:0'.")] = None
    elapsed: Annotated[str | None, Field(description="Elapsed (sacct) or TIME (squeue) as printed.")] = None
    truncated: Annotated[list[str], Field(description="Fields cut by the column width ('+').")] = field(
        default_factory=list
    )
    is_step: Annotated[bool, Field(description="A job step row (1234.batch, 1234.0).")] = False
    fields: Annotated[dict[str, str], Field(description="Every column, keyed by header name.")] = field(
        default_factory=dict
    )
    cluster: Annotated[
        str | None, Field(description="The cluster of a multi-cluster listing ('CLUSTER: name' blocks, -M).")
    ] = None


JOB_ID = re.compile(r"^\d{1,20}(?:_(?:\d{1,20}|\[[^\]\s]*\]))?(?:\+\d{1,9})?(?:\.[A-Za-z0-9_+-]+)?$")
"""A Slurm job id as squeue and sacct print it: 1234, 1234_5, 1234_[1-9%2], 1234+0 (a het job component),
1234.batch, 1234.0, 1234+0.extern (steps)."""


def is_job_id(text: str) -> bool:
    """:data:`JOB_ID`, with the common forms (1234, 1234.batch) checked without the regex."""
    head, dot, step = text.partition(".")
    if head.isdigit() and len(head) <= 20 and (not dot or (step.isalnum() and step.isascii())):
        return True
    return JOB_ID.match(text) is not None


CLUSTER_LINE = re.compile(r"^CLUSTER: (\S+)\s*$")
"""The line ``squeue -M`` / ``sinfo -M`` print before each cluster's block."""


def keep_last(jobs: list[SchedulerJob], kind: str, warnings: list[str]) -> list[SchedulerJob]:
    """One row per job (cluster, job id): the last row printed for it wins, at its first place; a warning
    says how many were listed more than once."""
    ids = [job.job_id for job in jobs]
    if len(set(ids)) == len(ids):
        return jobs  # the usual case, one C-level pass
    seen: dict[tuple[str | None, str], int] = {}
    out: list[SchedulerJob] = []
    repeated = 0
    for job in jobs:
        key = (job.cluster, job.job_id)
        if key in seen:
            out[seen[key]] = job
            repeated += 1
            continue
        seen[key] = len(out)
        out.append(job)
    if repeated:
        warnings.append(
            f"{repeated} {kind} row(s) repeat a job listed earlier: one row per job, the last kept"
        )
    return out


def column_targets(columns: list[str], mapping: dict[str, str]) -> dict[str, str | None]:
    """Field each header column maps to (looked up once per output, not once per row and column)."""
    return {column: mapping.get(column.upper()) for column in columns}


def job_row(
    values: dict[str, str],
    targets: dict[str, str | None],
    widths: dict[str, int] | None,
    states: dict[str, str] | None = None,
) -> SchedulerJob | None:
    """One row as a job (None without a job id); ``states`` expands short state codes (squeue's)."""
    data: dict[str, str | None] = {}
    truncated: list[str] = []
    for column, value in values.items():
        target = targets[column]
        if widths is not None and value.endswith("+") and len(value) >= widths.get(column, 1 << 30):
            truncated.append(target or column)
        if target and target not in data:
            data[target] = value if value != "" else None
    job_id = data.get("job_id")
    if not job_id:
        return None
    state = data.get("state")
    if states is not None and state and state.upper() in states:
        state = states[state.upper()]
    return SchedulerJob(
        job_id,
        data.get("name"),
        data.get("partition"),
        state,
        data.get("exit_code"),
        data.get("elapsed"),
        truncated,
        bool(_JOB_RE1.match(job_id)),
        dict(values),
    )

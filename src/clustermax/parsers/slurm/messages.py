"""What ``sbatch``, ``srun`` and ``salloc`` print about a job (stdout and stderr, any order)."""

from __future__ import annotations

import re

from pydantic import Field

from .._paste import unwrapped_detect, unwrapped_input
from .._text import first_match
from ..base import ParsedOutput, ParseError
from ._common import Item, text_lines

_DETECT_SLURM_MESSAGES_RE1 = re.compile(r"Submitted batch job \d+")
_DETECT_SLURM_MESSAGES_RE2 = re.compile(r"^(salloc|srun|sbatch): ", re.M)
_DETECT_SLURM_MESSAGES_RE3 = re.compile(r"\s*\d+(;\S+)?\s*")


class SlurmEvent(Item):
    event: str = Field(
        description=(
            "submitted, pending, queued, allocated, granted, nodes-ready, step-created, relinquished, "
            "revoked, terminated, cancelled, node-not-available, error"
        )
    )
    job_id: str | None = None
    message: str = Field(description="The line as printed.")


class SlurmMessagesOutput(ParsedOutput):
    job_id: str | None = Field(default=None, description="First job id seen (submitted / allocation).")
    cluster: str | None = Field(default=None, description="Cluster from 'sbatch --parsable' 'id;cluster'.")
    events: list[SlurmEvent] = Field(default_factory=list)
    errors: list[str] = Field(
        default_factory=list, description="'sbatch: error: ...' lines, text after error:."
    )


_JOB = r"(?P<job>\d+(?:[_+]\d+)?)"
_MESSAGE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("submitted", re.compile(rf"Submitted batch job {_JOB}(?: on cluster (?P<cluster>\S+))?")),
    ("pending", re.compile(rf"Pending job allocation {_JOB}")),
    ("queued", re.compile(rf"\bjob {_JOB} queued and waiting for resources", re.I)),
    ("allocated", re.compile(rf"\bjob {_JOB} has been allocated resources", re.I)),
    ("granted", re.compile(rf"Granted job allocation {_JOB}")),
    ("nodes-ready", re.compile(r"Nodes (?P<nodes>\S+) are ready for job(?: {_JOB})?")),
    ("step-created", re.compile(rf"Step created for (?:job |StepId=){_JOB}")),
    ("relinquished", re.compile(rf"Relinquishing job allocation {_JOB}")),
    ("revoked", re.compile(rf"Job allocation {_JOB} has been revoked", re.I)),
    ("terminated", re.compile(rf"Force Terminated (?:JobId=|job ){_JOB}")),
    ("cancelled", re.compile(rf"\*\*\* (?:JOB|STEP) {_JOB}(?:\.\S+)? ON \S+ CANCELLED")),
    ("node-not-available", re.compile(r"Required node not available")),
]
_PARSABLE = re.compile(rf"^{_JOB}(?:;(?P<cluster>\S+))?$")
_ERROR = re.compile(r"^(?:(?P<tool>sbatch|srun|salloc|slurmstepd)(?:-\S+)?: )?error: (?P<text>.*)$")


@unwrapped_input
def parse_slurm_messages(text: str) -> SlurmMessagesOutput:
    """Parse what sbatch, srun and salloc print about a job (stdout and stderr, any order)."""
    kind = "slurm-messages"
    lines = text_lines(kind, text)
    events: list[SlurmEvent] = []
    errors: list[str] = []
    cluster = None
    nonempty = [line.strip() for line in lines if line.strip()]
    for line in nonempty:
        m_err = _ERROR.match(line)
        if m_err and (m_err.group("tool") or line.startswith("error:")):
            errors.append(m_err.group("text").strip())
            events.append(SlurmEvent(event="error", job_id=None, message=line))
            continue
        for event, pattern in _MESSAGE_PATTERNS:
            m = pattern.search(line)
            if m:
                job = m.groupdict().get("job")
                if event == "submitted" and m.groupdict().get("cluster"):
                    cluster = m.group("cluster")
                events.append(SlurmEvent(event=event, job_id=job, message=line))
                break
    if not events and len(nonempty) == 1:
        m = _PARSABLE.match(nonempty[0])
        if m:
            cluster = m.group("cluster")
            events.append(SlurmEvent(event="submitted", job_id=m.group("job"), message=nonempty[0]))
    if not events:
        raise ParseError(kind, "no sbatch/srun/salloc message found (e.g. 'Submitted batch job N')")
    job_id = next((e.job_id for e in events if e.job_id), None)
    last_job = job_id
    filled: list[SlurmEvent] = []
    for e in events:
        if e.job_id:
            last_job = e.job_id
        elif e.event == "nodes-ready":
            e = e.model_copy(update={"job_id": last_job})
        filled.append(e)
    return SlurmMessagesOutput(job_id=job_id, cluster=cluster, events=filled, errors=errors)


@unwrapped_detect
def detect_slurm_messages(text: str) -> float:
    found = first_match(text, ((_DETECT_SLURM_MESSAGES_RE1, 0.95), (_DETECT_SLURM_MESSAGES_RE2, 0.8)))
    if not found and isinstance(text, str) and _DETECT_SLURM_MESSAGES_RE3.fullmatch(text[:4000]):
        return 0.2  # a bare job id (sbatch --parsable)
    return found


# --- client errors (scontrol, sinfo, srun) ---------------------------------------------------------

_CONTROLLER_DOWN = re.compile(
    r"Unable to contact slurm controller|Zero Bytes were transmitted or received|"
    r"Socket timed out on send/recv|Connection refused|slurm_load_\w+ error",
    re.IGNORECASE,
)
_BUSY = re.compile(
    r"Immediate execution impossible|Unable to allocate resources: .*(busy|not available|"
    r"Requested node configuration is not available)|Required node not available|"
    r"Job allocation \d+ has been revoked",
    re.IGNORECASE,
)


def controller_unreachable(text: str) -> bool:
    """The error text of a Slurm client says slurmctld did not answer (down, unreachable, timed out)."""
    return bool(_CONTROLLER_DOWN.search(text))


def allocation_busy(text: str) -> bool:
    """srun/salloc could not get the nodes now (busy, not available, revoked): a busy cluster, not a fault."""
    return bool(_BUSY.search(text))

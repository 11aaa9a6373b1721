"""``scontrol -o show job <id>``: the fields time-to-first-job reads, and Slurm's timestamps."""

from __future__ import annotations

import re
from datetime import datetime

_JOB_FIELD = re.compile(
    r"(?:^|\s)(?P<key>JobState|SubmitTime|StartTime|EndTime|NodeList|ExitCode|Reason)=(?P<v>\S*)"
)
_UNSET_TIMES = ("Unknown", "None", "N/A", "(null)")


def job_fields(text: str) -> dict[str, str]:
    """JobState, SubmitTime, StartTime, EndTime, NodeList, ExitCode and Reason of one job line."""
    return {m.group("key"): m.group("v") for m in _JOB_FIELD.finditer(text)}


def slurm_time(value: str | None) -> datetime | None:
    """``2024-05-01T12:00:03`` (slurmctld's local time, 1 s resolution); None for Unknown/None/N/A."""
    if not value or value in _UNSET_TIMES:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None

"""What the collect stage produces: raw command results, measurements, probe results."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from pydantic import Field

from .common import FrozenModel, JSONValue, ScalarValue, Unit


class CommandResult(FrozenModel):
    """One command run on one host, kept verbatim in the bundle."""

    id: str = Field(description="Unique id within the bundle: '<host>/<probe>/<step>'.")
    host: str = Field(description="Host name as the audit knows it (inventory name or alias).")
    probe_id: str = Field(description="Probe that ran the command.")
    step: str = Field(default="main", description="Step of the probe (most probes have one).")
    command: str = Field(description="The command line run on the host (the script itself goes on stdin).")
    script_sha256: str | None = Field(default=None, description="SHA-256 of the script sent on stdin.")
    exit_code: int | None = Field(
        description="Exit status; null when the command never finished (timeout, interrupt, transport error)."
    )
    stdout: str = Field(default="", description="Standard output (UTF-8, undecodable bytes replaced).")
    stderr: str = Field(default="", description="Standard error (UTF-8, undecodable bytes replaced).")
    started_at: datetime = Field(description="When the command started (UTC).")
    duration_s: float = Field(description="Wall time of the command in seconds.")
    timed_out: bool = Field(default=False, description="True when the command was cut at its timeout.")
    stdout_truncated: bool = Field(default=False, description="True when stdout hit the output cap.")
    stderr_truncated: bool = Field(default=False, description="True when stderr hit the output cap.")
    note: str | None = Field(default=None, description="Anything worth knowing about this result.")
    error: str | None = Field(default=None, description="Transport error, when the command could not run.")


NCCL_BAND_MIN_BYTES = 16 * 1024 * 1024
NCCL_BAND_MAX_BYTES = 512 * 1024 * 1024
"""The message-size band (16 MiB to 512 MiB, ClusterMAX 1.0: the sizes that matter for real training) that
``nccl.busbw_band_mean`` averages over; the probes measure it and the reports shade it, from here alone."""


class Measurement(FrozenModel):
    """One measured value with its unit. ``value`` is null when the metric was not measured."""

    metric: str = Field(description="Metric name, as declared by a probe spec (e.g. 'gpu.count').")
    value: ScalarValue = Field(description="The value; null means not measured (never 0).")
    unit: Unit = Field(description="Unit of the value.")
    host: str | None = Field(default=None, description="Host it belongs to; null for cluster-wide values.")
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Parameters that produced it (message size, ranks, run index, GPU index ...).",
    )


class ProbeStatus(str, Enum):
    OK = "ok"
    FAILED = "failed"  # the probe ran and the cluster is bad
    ERROR = "error"  # we could not measure (see substatus)
    SKIPPED = "skipped"  # not applicable / not selected / not installed


class SubStatus(str, Enum):
    UNREACHABLE = "unreachable"
    AUTH = "auth"
    HOST_KEY = "host-key"
    TIMEOUT = "timeout"
    NOT_INSTALLED = "not-installed"
    UNSUPPORTED = "unsupported"
    NOT_APPLICABLE = "not-applicable"
    NO_PERMISSION = "no-permission"
    PARSE_ERROR = "parse-error"
    INTERRUPTED = "interrupted"
    COMMAND_FAILED = "command-failed"
    NOT_RUN = "not-run"
    """A Kubernetes pod could not run on the node (its GPUs are in use): unknown, never a node failure."""
    NOT_ALLOCATED = "not-allocated"  # the scheduler gave no slot on the node (drained, busy): not run


class Severity(str, Enum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


class Finding(FrozenModel):
    """Something a probe found wrong (or worth noting) on a host, with what to do about it."""

    code: str = Field(description="Stable finding code, e.g. 'gpu.xid.79'.")
    severity: Severity
    host: str | None = Field(default=None, description="Host concerned; null for cluster-wide findings.")
    message: str = Field(description="One sentence saying what was found.")
    remediation: str | None = Field(default=None, description="What to do about it.")


class ProbeResult(FrozenModel):
    """The outcome of one probe on one host (or on the cluster, for scheduler probes)."""

    probe_id: str
    host: str = Field(description="Host name, or 'cluster' for probes that run through the scheduler.")
    status: ProbeStatus
    substatus: SubStatus | None = None
    message: str = Field(default="", description="Why the probe has this status, in one sentence.")
    remediation: str | None = None
    started_at: datetime
    duration_s: float
    command_ids: list[str] = Field(default_factory=list, description="Ids of the raw command results.")
    params: dict[str, JSONValue] = Field(default_factory=dict, description="Parameters the probe ran with.")
    measurements: list[Measurement] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    facts: dict[str, JSONValue] = Field(
        default_factory=dict,
        description="Structured facts for the planner (e.g. discovered compute nodes).",
    )

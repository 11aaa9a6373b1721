"""The result bundle: every raw output and every parsed measurement of one audit or import."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .common import FrozenModel, JSONValue
from .results import CommandResult, Measurement, ProbeResult

SCHEMA_VERSION = 1
"""Bump when the bundle format changes incompatibly; loaders migrate or refuse older ones clearly."""

HostRole = Literal["local", "login", "compute", "imported"]
HostState = Literal[
    "ok", "unreachable", "auth", "host-key", "timeout", "interrupted", "not-attempted", "not-allocated"
]
HostReach = Literal["ssh", "scheduler", "local"]


class HostRecord(FrozenModel):
    """A host the audit covered (or tried to)."""

    name: str = Field(description="Name as the audit knows it (inventory name, ssh alias, or hostname).")
    address: str | None = Field(default=None, description="Address connected to (after ssh_config).")
    user: str | None = Field(default=None, description="Remote user name.")
    port: int | None = Field(default=None, description="SSH port.")
    role: HostRole
    via: str | None = Field(default=None, description="Jump host used to reach it, if any.")
    state: HostState = Field(default="not-attempted", description="Connection outcome.")
    error: str | None = Field(default=None, description="Why the host could not be audited, if it could not.")
    connect_time_s: float | None = Field(default=None, description="Seconds to connect and authenticate.")
    reach: HostReach | None = Field(
        default=None,
        description="How its probes reached it: ssh (a connection), scheduler (a task of the audit's srun "
        "step, or a Kubernetes pod), local (this machine); null when nothing reached it.",
    )
    reach_id: str | None = Field(
        default=None,
        description="The scheduler's name for the run that reached it (reach: scheduler): the Slurm job id "
        "or the Kubernetes pod's name.",
    )
    note: str | None = Field(
        default=None, description="How it was reached when that is worth knowing (e.g. SSH refused, so srun)."
    )


class SchedulerStep(FrozenModel):
    """One scheduler job that ran the node probes of an audit (one srun step, one task per node)."""

    scheduler: Literal["slurm"] = "slurm"
    job_id: str | None = Field(default=None, description="Slurm job id (null when nothing was allocated).")
    tag: str = Field(description="Job name the step ran under (what the queue check looks for).")
    nodes: list[str] = Field(description="Nodes the step asked for.")
    ran: list[str] = Field(default_factory=list, description="Nodes whose task started.")
    not_run: dict[str, str] = Field(
        default_factory=dict, description="Nodes left out or not allocated, with why (unknown, not failed)."
    )
    srun: list[str] = Field(description="The srun command line (argv) run on the login node.")
    script_sha256: str = Field(description="SHA-256 of the login-side script (stdin of bash -s).")
    stream_sha256: str = Field(description="SHA-256 of the stream every task got on stdin.")
    exit_code: int | None = Field(default=None, description="srun's exit status (null when it never ended).")
    srun_stderr: str = Field(default="", description="srun's own messages (capped).")
    queue_clean: bool | None = Field(
        default=None, description="Nothing of the step was left in the queue afterwards (null: not checked)."
    )
    left_in_queue: str = Field(default="", description="What squeue still showed after the cancel.")
    started_at: datetime
    duration_s: float


class Target(FrozenModel):
    """What was audited."""

    cluster: str = Field(description="Cluster name (inventory, --cluster, or the host name).")
    provider: str | None = Field(default=None, description="Provider name, when known.")
    platform: Literal["slurm", "kubernetes", "bare", "unknown"] = Field(
        default="unknown", description="Orchestration detected on the login node."
    )
    profile_override: dict[str, JSONValue] | None = Field(
        default=None, description="Hardware profile forced by the inventory (GPU model, fabric, NICs)."
    )


class Origin(FrozenModel):
    """Where and with what the bundle was made."""

    tool_version: str
    python: str
    platform: str = Field(description="OS of the machine that ran clustermax.")
    run_from: str | None = Field(default=None, description="Host name of the machine that ran clustermax.")
    command: str | None = Field(default=None, description="The clustermax command line (no secrets).")


class ImportedFile(FrozenModel):
    """One file given to `clustermax import`, recognised or not."""

    path: str = Field(description="File name as given (relative, as typed).")
    sha256: str
    kind: str | None = Field(default=None, description="Parser kind used, or null when unrecognised.")
    status: Literal["imported", "unrecognised", "parse-error"]
    reason: str | None = None
    host: str | None = None


class RubricRef(FrozenModel):
    """Identifies a rubric exactly."""

    id: str
    version: str
    sha256: str = Field(description="SHA-256 of the rubric file's bytes.")
    references_sha256: str | None = Field(
        default=None, description="SHA-256 of the hardware reference table the rubric was scored with."
    )
    versions_sha256: str | None = Field(
        default=None, description="SHA-256 of the minimum-versions table the version floors were judged with."
    )


class Bundle(BaseModel):
    """A result bundle (bundle.json). Built up during collection, then written atomically."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = Field(default=SCHEMA_VERSION, description="Bundle format version.")
    kind: Literal["audit", "import"] = "audit"
    origin: Origin
    target: Target
    started_at: datetime
    ended_at: datetime | None = None
    complete: bool = Field(default=False, description="False while running, or when interrupted.")
    options: dict[str, JSONValue] = Field(default_factory=dict, description="Audit options as given.")
    hosts: list[HostRecord] = Field(default_factory=list)
    commands: list[CommandResult] = Field(default_factory=list, description="Every raw command result.")
    results: list[ProbeResult] = Field(default_factory=list, description="Every probe result.")
    steps: list[SchedulerStep] = Field(
        default_factory=list, description="Scheduler jobs that ran node probes (--reach scheduler or auto)."
    )
    imports: list[ImportedFile] = Field(
        default_factory=list, description="Files read by `clustermax import`."
    )
    rubric: RubricRef | None = Field(default=None, description="Rubric the audit scored with, if any.")

    def measurements(self) -> Iterator[Measurement]:
        """Every measurement of every probe result, in order."""
        for result in self.results:
            yield from result.measurements

    def command(self, command_id: str) -> CommandResult | None:
        for cmd in self.commands:
            if cmd.id == command_id:
                return cmd
        return None

"""Probe specifications, loaded from probes/<id>/probe.yaml (files we own: extra keys are errors)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .common import FrozenModel, JSONValue, Unit

ProbeScope = Literal["host", "login", "node", "cluster"]
"""Where a probe runs.

* ``host``: on every audited host (login and compute, or the single target).
* ``login``: once, on the login node (or the single target).
* ``node``: on every compute (GPU) node, or the single target when there is no cluster.
* ``cluster``: once, from the login node, through the scheduler (multi-node work).
"""

ProbeCategory = Literal[
    "system",
    "scheduler",
    "orchestration",
    "gpu",
    "networking",
    "fabric",
    "monitoring",
    "lifecycle",
    "storage",
]


class MetricSpec(FrozenModel):
    name: str = Field(description="Metric name, dotted (e.g. 'nccl.allreduce.busbw_peak').")
    unit: Unit
    description: str
    labels: list[str] = Field(default_factory=list, description="Label keys the measurements carry.")


class ParamSpec(FrozenModel):
    type: Literal["int", "float", "str", "bool", "list"]
    default: JSONValue = None
    description: str


class EndpointSpec(FrozenModel):
    """An HTTP endpoint on the host, fetched through the SSH connection (port forwarding), never exposed."""

    name: str = Field(description="Step name of the fetch in the bundle (e.g. 'dcgm-exporter').")
    port_param: str = Field(description="Name of the probe parameter that holds the port.")
    path: str = Field(default="/metrics", description="HTTP path to GET on 127.0.0.1:<port> of the host.")


class ProbeSpec(FrozenModel):
    id: str = Field(description="Equals the folder name under probes/.")
    title: str
    description: str = Field(description="What it measures, in a sentence or two.")
    category: ProbeCategory
    scope: ProbeScope
    requires: list[Literal["slurm", "kubernetes", "nvidia-smi", "bare"]] = Field(
        default_factory=list, description="Platform conditions; the probe is skipped when one is not met."
    )
    default: bool = Field(default=True, description="Run by a plain `clustermax audit`.")
    timeout_s: float = Field(gt=0, description="Hard timeout of the remote command.")
    script: str = Field(default="run.sh", description="Script file in the probe folder, sent on stdin.")
    files: list[str] = Field(
        default_factory=list,
        description="Extra files of the probe folder sent along with the script (inside the same stdin "
        "stream); the script finds them under $CMX_FILES, a folder of its scratch directory.",
    )
    parser: str = Field(
        description="Probe module that reads its output: a key of clustermax.probes.registry.PROBES "
        "(the probe's own id for every shipped probe)."
    )
    metrics: list[MetricSpec]
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    endpoints: list[EndpointSpec] = Field(
        default_factory=list,
        description="HTTP endpoints fetched after the script, through the SSH connection.",
    )
    remediation: dict[str, str] = Field(
        default_factory=dict, description="Remediation text per finding code (or per substatus)."
    )
    cost: dict[str, str] = Field(
        default_factory=dict, description="Documented cost on the cluster: wall time and GPU time per node."
    )

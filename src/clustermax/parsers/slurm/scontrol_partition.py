"""``scontrol show partition``: multi-line records or ``-o``."""

from __future__ import annotations

import re

from pydantic import Field

from .._paste import unwrapped_detect, unwrapped_input
from .._text import first_match
from ..base import ParsedOutput, ParseError
from ._common import Item, int_or_none, named_records, null, tres_gpus, tres_map

_DETECT_SCONTROL_PARTITION_RE1 = re.compile(r"^\s*PartitionName=\S+", re.M)
_NONE = re.compile(r"No partitions in the system", re.IGNORECASE)


class SlurmPartition(Item):
    name: str
    state: str | None = None
    default: bool | None = None
    max_time: str | None = None
    default_time: str | None = None
    nodes: str | None = Field(default=None, description="Nodes= hostlist expression.")
    total_cpus: int | None = None
    total_nodes: int | None = None
    def_mem_per_gpu: int | None = Field(default=None, description="DefMemPerGPU in MB when shown.")
    def_cpu_per_gpu: int | None = None
    def_mem_per_cpu: int | None = None
    tres: dict[str, str] = Field(default_factory=dict)
    gpus_total: int | None = Field(default=None, description="gres/gpu from TRES when shown.")
    fields: dict[str, str] = Field(default_factory=dict)


class ScontrolPartitionOutput(ParsedOutput):
    partitions: list[SlurmPartition] = Field(default_factory=list)


@unwrapped_input
def parse_scontrol_partition(text: str) -> ScontrolPartitionOutput:
    """Parse ``scontrol show partition`` (multi-line or ``-o``)."""
    kind = "scontrol-partition"
    parts: list[SlurmPartition] = []
    warnings: list[str] = []
    for name, fields in named_records(kind, text, "PartitionName", "scontrol show partition", warnings):
        defaults = tres_map(fields.get("JobDefaults"))
        for key in ("DefMemPerGPU", "DefCpuPerGPU"):
            if key in fields and key not in defaults:
                defaults[key] = fields[key]
        default = fields.get("Default")
        tres = tres_map(fields.get("TRES"))
        mem_per_cpu = int_or_none(fields.get("DefMemPerCPU"))
        parts.append(
            SlurmPartition(
                name=name,
                state=null(fields.get("State")),
                default=None if default is None else default.strip().upper() == "YES",
                max_time=null(fields.get("MaxTime")),
                default_time=null(fields.get("DefaultTime")),
                nodes=null(fields.get("Nodes")),
                total_cpus=int_or_none(fields.get("TotalCPUs")),
                total_nodes=int_or_none(fields.get("TotalNodes")),
                def_mem_per_gpu=int_or_none(defaults.get("DefMemPerGPU")),
                def_cpu_per_gpu=int_or_none(defaults.get("DefCpuPerGPU")),
                def_mem_per_cpu=mem_per_cpu,
                tres=tres,
                gpus_total=tres_gpus(tres),
                fields=fields,
            )
        )
    if not parts:
        raise ParseError(kind, "PartitionName= records had no partition names")
    return ScontrolPartitionOutput(partitions=parts, warnings=warnings)


@unwrapped_detect
def detect_scontrol_partition(text: str) -> float:
    return first_match(text, ((_DETECT_SCONTROL_PARTITION_RE1, 0.95),))


def lists_none(text: str) -> bool:
    """The text says the cluster has no partitions (``No partitions in the system``) or is empty."""
    return not text.strip() or _NONE.search(text) is not None

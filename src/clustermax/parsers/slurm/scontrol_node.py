"""``scontrol show node``: multi-line records or ``-o`` (one line per node)."""

from __future__ import annotations

import re

from pydantic import Field

from .._paste import unwrapped_detect, unwrapped_input
from ..base import ParsedOutput, ParseError
from ._common import (
    GresEntry,
    Item,
    gpu_summary,
    int_or_none,
    is_unavailable_state,
    named_records,
    null,
    parse_gres,
    tres_gpus,
    tres_map,
)

_DETECT_SCONTROL_NODE_RE1 = re.compile(r"^\s*NodeName=\S+", re.M)
_PARSE_SCONTROL_NODE_RE1 = re.compile(r"\[(?P<user>[^@\]]+)@(?P<time>[^\]]+)\]\s*$")
_NONE = re.compile(r"No nodes in the system", re.IGNORECASE)


class SlurmNode(Item):
    name: str
    state: str | None = Field(default=None, description="State as printed, e.g. IDLE+DRAIN, DOWN*, MIXED.")
    unavailable: bool | None = Field(
        default=None, description="Down, drained/draining, failing, invalid, unknown or not responding."
    )
    gpu_count: int | None = Field(default=None, description="GPUs from Gres (0 when Gres has no gpu).")
    gpu_type: str | None = Field(default=None, description="GPU GRES type(s), comma separated.")
    gpus_allocated: int | None = Field(
        default=None, description="From AllocTRES gres/gpu or GresUsed; null when Slurm does not track it."
    )
    cpus_total: int | None = None
    cpus_allocated: int | None = None
    real_memory_mb: int | None = None
    partitions: list[str] = Field(default_factory=list)
    reason: str | None = Field(default=None, description="Reason text as printed, with any [user@time].")
    reason_user: str | None = None
    reason_time: str | None = None
    slurm_version: str | None = Field(default=None, description="Version= of the node's slurmd.")
    gres: list[GresEntry] = Field(default_factory=list)
    cfg_tres: dict[str, str] = Field(default_factory=dict)
    alloc_tres: dict[str, str] = Field(default_factory=dict)
    fields: dict[str, str] = Field(default_factory=dict, description="Every Key=Value of the record.")


class ScontrolNodeOutput(ParsedOutput):
    nodes: list[SlurmNode] = Field(default_factory=list)


@unwrapped_input
def parse_scontrol_node(text: str) -> ScontrolNodeOutput:
    """Parse ``scontrol show node`` (multi-line records or ``-o`` one line per node)."""
    kind = "scontrol-node"
    warnings: list[str] = []
    nodes: list[SlurmNode] = []
    for name, fields in named_records(kind, text, "NodeName", "scontrol show node", warnings):
        gres_text = fields.get("Gres")
        gres = parse_gres(gres_text)
        cfg = tres_map(fields.get("CfgTRES"))
        alloc = tres_map(fields.get("AllocTRES"))
        if gres_text is not None:
            gpu_count, gpu_type = gpu_summary(gres)
        elif tres_gpus(cfg) is not None:
            gpu_count, gpu_type = tres_gpus(cfg), None
        else:
            gpu_count, gpu_type = None, None
        gpus_alloc = tres_gpus(alloc)
        if gpus_alloc is None and "GresUsed" in fields:
            used, _ = gpu_summary(parse_gres(fields["GresUsed"]))
            gpus_alloc = used
        if gpus_alloc is None and "AllocTRES" in fields and tres_gpus(cfg) is not None:
            gpus_alloc = 0  # GPUs are tracked (CfgTRES has gres/gpu) and none is allocated
        reason = null(fields.get("Reason"))
        reason_user = reason_time = None
        if reason:
            m = _PARSE_SCONTROL_NODE_RE1.search(reason)
            if m:
                reason_user, reason_time = m.group("user"), m.group("time")
        state = null(fields.get("State"))
        memory = int_or_none(fields.get("RealMemory"))
        nodes.append(
            SlurmNode(
                name=name,
                state=state,
                unavailable=is_unavailable_state(state),
                gpu_count=gpu_count,
                gpu_type=gpu_type,
                gpus_allocated=gpus_alloc,
                cpus_total=int_or_none(fields.get("CPUTot")),
                cpus_allocated=int_or_none(fields.get("CPUAlloc")),
                real_memory_mb=memory,
                partitions=[p for p in (null(fields.get("Partitions")) or "").split(",") if p],
                reason=reason,
                reason_user=reason_user,
                reason_time=reason_time,
                slurm_version=null(fields.get("Version")),
                gres=gres,
                cfg_tres=cfg,
                alloc_tres=alloc,
                fields=fields,
            )
        )
    if not nodes:
        raise ParseError(kind, "NodeName= records had no node names")
    return ScontrolNodeOutput(nodes=nodes, warnings=warnings)


@unwrapped_detect
def detect_scontrol_node(text: str) -> float:
    if not isinstance(text, str):
        return 0.0
    head = text[:4000]
    if _DETECT_SCONTROL_NODE_RE1.search(head):
        return 0.95 if ("CPUTot=" in head or "State=" in head) else 0.5
    return 0.0


# -------------------------------------------------------------------------------- scontrol partition


def lists_none(text: str) -> bool:
    """The text says the cluster has no nodes (``No nodes in the system``) or is empty."""
    return not text.strip() or _NONE.search(text) is not None

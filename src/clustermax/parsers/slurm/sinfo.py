"""``sinfo``: default, ``-s``, ``-l``, ``-N``, ``-N -l``, ``-R``, ``-o``/``-O`` with a header.

Rows are plain dataclasses (a 10,000-node ``sinfo -N`` makes one per node): built and updated with
ordinary attribute assignments, serialised by pydantic as fields of :class:`SinfoOutput`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import Field

from .._paste import unwrapped_detect, unwrapped_input
from .._text import first_match
from ..base import ParsedOutput, ParseError
from ._common import header_index, int_or_none, null, split_row, state_key, text_lines

_DETECT_SINFO_RE1 = re.compile(r"^\s*PARTITION\s+AVAIL\s+TIMELIMIT", re.M)
_DETECT_SINFO_RE2 = re.compile(r"^\s*NODELIST\s+NODES\s+PARTITION\s+STATE", re.M)
_DETECT_SINFO_RE3 = re.compile(r"^\s*REASON\s+USER\s+TIMESTAMP\s+NODELIST", re.M)
_DETECT_SINFO_RE4 = re.compile(r"^\s*(PARTITION|NODELIST|HOSTNAMES)\b.*\b(STATE|GRES|AVAIL|NODES)\b", re.M)


@dataclass(slots=True)
class SinfoPartition:
    name: Annotated[str, Field(description="Partition name without the '*' default marker.")]
    default: Annotated[bool, Field(description="True when sinfo marked it with '*'.")]
    avail: Annotated[str | None, Field(description="AVAIL column: up, down, drain, inact.")] = None
    timelimit: Annotated[str | None, Field(description="TIMELIMIT as printed (may be cut by sinfo).")] = None
    nodes_by_state: Annotated[
        dict[str, int],
        Field(
            description="Node count per state (lower case, suffix flags removed); -s gives allocated/idle/"
            "other."
        ),
    ] = field(default_factory=dict)
    nodes_total: Annotated[int | None, Field(description="Nodes in the partition (sum over rows or T).")] = (
        None
    )
    nodelists: Annotated[list[str], Field(description="NODELIST values as printed (hostlists).")] = field(
        default_factory=list
    )


@dataclass(slots=True)
class SinfoNode:
    name: Annotated[str, Field(description="Node name (or hostlist expression when sinfo grouped nodes).")]
    partitions: list[str] = field(default_factory=list)
    state: Annotated[str | None, Field(description="State as printed (lower case, flags kept).")] = None
    cpus: str | None = None
    memory_mb: int | None = None
    gres: str | None = None
    gres_used: str | None = None
    reason: str | None = None


@dataclass(slots=True)
class SinfoReason:
    reason: str
    user: str | None = None
    timestamp: str | None = None
    nodelist: str | None = None


class SinfoOutput(ParsedOutput):
    partitions: list[SinfoPartition] = Field(default_factory=list)
    nodes: list[SinfoNode] | None = Field(
        default=None, description="Per-node rows (sinfo -N, or formats whose first column is a node list)."
    )
    reasons: list[SinfoReason] | None = Field(default=None, description="sinfo -R rows.")
    columns: list[str] = Field(default_factory=list, description="Header columns as printed.")


_SINFO_COLUMNS = {
    "PARTITION",
    "AVAIL",
    "TIMELIMIT",
    "NODES",
    "STATE",
    "NODELIST",
    "NODES(A/I/O/T)",
    "NODES(A/I)",
    "CPUS",
    "CPUS(A/I/O/T)",
    "S:C:T",
    "SOCKETS",
    "CORES",
    "THREADS",
    "MEMORY",
    "TMP_DISK",
    "WEIGHT",
    "AVAIL_FE",
    "AVAIL_FEATURES",
    "ACTIVE_FEATURES",
    "REASON",
    "HOSTNAMES",
    "GRES",
    "GRES_USED",
    "JOB_SIZE",
    "ROOT",
    "OVERSUBS",
    "GROUPS",
    "USER",
    "TIMESTAMP",
    "CPU_LOAD",
    "FREE_MEM",
    "ALLOCMEM",
    "NODE_ADDR",
    "VERSION",
    "PRIO_TIER",
    "DEFAULTTIME",
    "STATECOMPACT",
    "CLUSTER",
}
_SPACEY = ("REASON",)
_SINFO_AVAIL = {"up", "down", "drain", "inact", "inactive", "n/a"}


@unwrapped_input
def parse_sinfo(text: str) -> SinfoOutput:
    """Parse ``sinfo``: default, ``-s``, ``-l``, ``-N``, ``-N -l``, ``-R``, ``-o``/``-O`` with a header."""
    kind = "sinfo"
    lines = text_lines(kind, text)
    warnings: list[str] = []
    h = header_index(lines, _SINFO_COLUMNS, (), 2)
    if h is None:
        return _sinfo_headerless(lines)
    columns = [c.upper() for c in lines[h].split()]
    rows: list[dict[str, str]] = []
    for number, line in enumerate(lines[h + 1 :], start=h + 2):
        if not line.strip():
            continue
        values = split_row(line, columns, _SPACEY)
        if values is None:
            warnings.append(f"line {number}: {len(line.split())} fields for {len(columns)} columns, skipped")
            continue
        rows.append(dict(zip(columns, values, strict=True)))
    counts = {"STATE", "NODES", "NODES(A/I/O/T)", "NODES(A/I)", "STATECOMPACT"}
    if rows and "PARTITION" in columns and "REASON" not in columns and not counts & set(columns):
        warnings.append(
            f"the columns ({' '.join(lines[h].split())}) include no node state or count: no node counts"
        )
    return _sinfo_from_rows(columns, rows, warnings, lines[h].split())


def _sinfo_headerless(lines: list[str]) -> SinfoOutput:
    rows: list[dict[str, str]] = []
    columns = ["PARTITION", "AVAIL", "TIMELIMIT", "NODES", "STATE", "NODELIST"]
    for line in lines:
        tokens = line.split()
        if len(tokens) == 6 and tokens[1].lower() in _SINFO_AVAIL and tokens[3].isdigit():
            rows.append(dict(zip(columns, tokens, strict=True)))
    if not rows:
        raise ParseError("sinfo", "no sinfo header line (PARTITION/NODELIST ...) and no default-format rows")
    return _sinfo_from_rows(columns, rows, ["no header line: read as the default sinfo format"], columns)


def _sinfo_from_rows(
    columns: list[str], rows: list[dict[str, str]], warnings: list[str], printed: list[str]
) -> SinfoOutput:
    partitions: dict[str, SinfoPartition] = {}
    node_oriented = columns[0] in ("NODELIST", "HOSTNAMES") or "PARTITION" not in columns
    nodes: dict[str, SinfoNode] = {}
    reasons: list[SinfoReason] | None = None
    if columns[:1] == ["REASON"] or ("REASON" in columns and "USER" in columns and "TIMESTAMP" in columns):
        reasons = []
    for row in rows:
        if reasons is not None:
            reasons.append(
                SinfoReason(
                    reason=row.get("REASON", ""),
                    user=null(row.get("USER")),
                    timestamp=null(row.get("TIMESTAMP")),
                    nodelist=null(row.get("NODELIST") or row.get("HOSTNAMES")),
                )
            )
            continue
        pname_raw = row.get("PARTITION")
        if pname_raw:
            default = pname_raw.endswith("*")
            pname = pname_raw.rstrip("*")
            part = partitions.get(pname)
            if part is None:
                part = partitions[pname] = SinfoPartition(pname, default)
            part.default = part.default or default
            avail = row.get("AVAIL")
            if avail:
                part.avail = avail.lower()
            timelimit = row.get("TIMELIMIT")
            if timelimit:
                part.timelimit = timelimit
            _add_counts(part, row, warnings)
            nl = row.get("NODELIST") or row.get("HOSTNAMES")
            if nl and not node_oriented and nl not in part.nodelists:
                part.nodelists.append(nl)
        if node_oriented:
            name = row.get("NODELIST") or row.get("HOSTNAMES")
            if not name:
                continue
            key = f"{name}|{row.get('NODE_ADDR', '')}|{len(nodes)}" if "NODELIST" not in row else name
            node = nodes.get(key)
            if node is None:
                node = nodes[key] = SinfoNode(name)
            if pname_raw:
                pname = pname_raw.rstrip("*")
                if pname not in node.partitions:
                    node.partitions.append(pname)
            state = row.get("STATE")
            if state:
                node.state = state.lower()
            node.cpus = row.get("CPUS", node.cpus)
            memory = row.get("MEMORY")
            if memory:
                node.memory_mb = int_or_none(memory)
            if "GRES" in row:
                node.gres = null(row.get("GRES"))
            if "GRES_USED" in row:
                node.gres_used = null(row.get("GRES_USED"))
            reason = null(row.get("REASON"))
            if reason:
                node.reason = reason
    return SinfoOutput.model_construct(
        partitions=list(partitions.values()),
        nodes=list(nodes.values()) if node_oriented else None,
        reasons=reasons,
        columns=printed,
        warnings=warnings,
    )


def _add_counts(part: SinfoPartition, row: dict[str, str], warnings: list[str]) -> None:
    aiot = row.get("NODES(A/I/O/T)")
    if aiot is not None:
        numbers = [int_or_none(x) for x in aiot.split("/")]
        if len(numbers) == 4 and all(n is not None for n in numbers):
            a, i, o, t = (n or 0 for n in numbers)
            for label, number in (("allocated", a), ("idle", i), ("other", o)):
                part.nodes_by_state[label] = part.nodes_by_state.get(label, 0) + number
            part.nodes_total = (part.nodes_total or 0) + t
        else:
            warnings.append(f"partition {part.name}: unreadable NODES(A/I/O/T) {aiot!r}")
        return
    count = int_or_none(row.get("NODES")) if "NODES" in row else (1 if "STATE" in row else None)
    state = row.get("STATE")
    if count is None:
        if "NODES" in row:
            warnings.append(f"partition {part.name}: unreadable NODES {row.get('NODES')!r}")
        return
    if state:
        key = state_key(state)
        part.nodes_by_state[key] = part.nodes_by_state.get(key, 0) + count
    part.nodes_total = (part.nodes_total or 0) + count


def _custom_header(text: str) -> bool:
    """An ``sinfo -o/-O`` header: every token a sinfo column name, a partition or node column among them,
    and a row under it with as many fields."""
    lines = text[:4000].split("\n")
    for i, line in enumerate(lines[:-1]):
        tokens = [t.upper() for t in line.split()]
        if (
            len(tokens) >= 2
            and all(t in _SINFO_COLUMNS for t in tokens)
            and {"PARTITION", "NODELIST", "HOSTNAMES"} & set(tokens)
        ):
            return len(lines[i + 1].split()) == len(tokens)
    return False


@unwrapped_detect
def detect_sinfo(text: str) -> float:
    if isinstance(text, str) and _custom_header(text) and not _DETECT_SINFO_RE4.search(text[:4000]):
        return 0.7
    return first_match(
        text,
        (
            (_DETECT_SINFO_RE1, 0.95),
            (_DETECT_SINFO_RE2, 0.95),
            (_DETECT_SINFO_RE3, 0.9),
            (_DETECT_SINFO_RE4, 0.6),
        ),
    )

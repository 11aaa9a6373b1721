"""Parsers for Slurm command output: sinfo, scontrol show node/partition/config, sacct, squeue, and the
messages sbatch/srun/salloc print.

Every ``parse_*`` function is pure (text in, model out) and raises only :class:`ParseError`. Formats are
taken from the Slurm man pages (sinfo/squeue ``-o``/``-O`` field headers, sacct ``--format`` and
``-p``/``-P``), not from one version's output: column order is read from the header line, never assumed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from ._text import bounded_int, construct
from .base import ParsedOutput, ParseError

__all__ = [
    "GresEntry",
    "SacctOutput",
    "SchedulerJob",
    "ScontrolConfigOutput",
    "ScontrolNodeOutput",
    "ScontrolPartitionOutput",
    "SinfoNode",
    "SinfoOutput",
    "SinfoPartition",
    "SinfoReason",
    "SlurmEvent",
    "SlurmMessagesOutput",
    "SlurmNode",
    "SlurmPartition",
    "SqueueOutput",
    "detect_sacct",
    "detect_scontrol_config",
    "detect_scontrol_node",
    "detect_scontrol_partition",
    "detect_sinfo",
    "detect_slurm_messages",
    "detect_squeue",
    "is_unavailable_state",
    "parse_gres",
    "parse_sacct",
    "parse_scontrol_config",
    "parse_scontrol_node",
    "parse_scontrol_partition",
    "parse_sinfo",
    "parse_slurm_messages",
    "parse_squeue",
]


# precompiled (were re.<fn>(pattern, ...) calls in the functions named)
_TO_INT_RE1 = re.compile(r"[+-]?\d{1,30}")
_IS_UNAVAILABLE_STATE_RE1 = re.compile(r"[+\s]")
_DETECT_SINFO_RE1 = re.compile(r"^\s*PARTITION\s+AVAIL\s+TIMELIMIT", re.M)
_DETECT_SINFO_RE2 = re.compile(r"^\s*NODELIST\s+NODES\s+PARTITION\s+STATE", re.M)
_DETECT_SINFO_RE3 = re.compile(r"^\s*REASON\s+USER\s+TIMESTAMP\s+NODELIST", re.M)
_DETECT_SINFO_RE4 = re.compile(r"^\s*(PARTITION|NODELIST|HOSTNAMES)\b.*\b(STATE|GRES|AVAIL|NODES)\b", re.M)
_DETECT_SCONTROL_NODE_RE1 = re.compile(r"^\s*NodeName=\S+", re.M)
_DETECT_SCONTROL_CONFIG_RE1 = re.compile(r"^Configuration data as of ", re.M)
_DETECT_SACCT_RE1 = re.compile(
    r"^\s*JobID(Raw)?[\s|]+.*\b(JobName|State|Elapsed|ExitCode|Partition|Account)\b", re.M
)
_DETECT_SQUEUE_RE1 = re.compile(r"^\s*JOBID\s+PARTITION\s+NAME\s+USER\s+(ST|STATE)\b", re.M)
_DETECT_SQUEUE_RE2 = re.compile(r"^\s*JOBID\b.*\b(ST|STATE|NODELIST\(REASON\)|PARTITION)\b", re.M)
_DETECT_SLURM_MESSAGES_RE1 = re.compile(r"Submitted batch job \d+")
_DETECT_SLURM_MESSAGES_RE2 = re.compile(r"^(salloc|srun|sbatch): ", re.M)
_DETECT_SLURM_MESSAGES_RE3 = re.compile(r"\s*\d+(;\S+)?\s*")
_PARSE_GRES_RE1 = re.compile(r"^(?P<body>[^(]*)\((?P<detail>[^)]*)\)?\s*$")
_DETECT_SCONTROL_PARTITION_RE1 = re.compile(r"^\s*PartitionName=\S+", re.M)
_PARSE_SCONTROL_CONFIG_RE1 = re.compile(r"^Configuration data as of (.+)$")
_PARSE_SCONTROL_CONFIG_RE2 = re.compile(r"^Slurmctld\(.*\) at .* is ")
_DETECT_SCONTROL_CONFIG_RE2 = re.compile(
    r"^(SLURM_VERSION|SlurmctldPort|SelectType|AuthType|ClusterName)\s+=", re.M
)
_PARSE_SACCT_RE1 = re.compile(r"(^|[\s|])JobID(Raw)?([\s|]|$)", re.I)
_PARSE_SACCT_RE2 = re.compile(r"\s*-+( +-+)*\s*")
_PARSE_SCONTROL_NODE_RE1 = re.compile(r"\[(?P<user>[^@\]]+)@(?P<time>[^\]]+)\]\s*$")
_JOB_RE1 = re.compile(r"^[\d_+\[\]-]+\.")
_PARSE_SACCT_RE3 = re.compile(r"-+")
_DETECT_SACCT_RE2 = re.compile(r"^-{6,} ", re.M)


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------------------------------- helpers


def _lines(kind: str, text: object) -> list[str]:
    if not isinstance(text, str):
        raise ParseError(kind, f"expected text, got {type(text).__name__}")
    cleaned = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    lines = cleaned.split("\n")
    if not any(line.strip() for line in lines):
        raise ParseError(kind, "empty output")
    return lines


def _to_int(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    if _TO_INT_RE1.fullmatch(value):
        return int(value)
    return None


def _null(value: str | None) -> str | None:
    """Slurm prints '(null)', 'N/A', 'NONE' or nothing for unset values."""
    if value is None:
        return None
    value = value.strip()
    if value == "" or value.lower() in ("(null)", "n/a", "none", "(null type)"):
        return None
    return value


_UNAVAILABLE_WORDS = ("DOWN", "DRAIN", "DRNG", "FAIL", "INVAL", "NOT_RESPONDING", "NO_RESPOND", "UNK")


def is_unavailable_state(state: str | None) -> bool | None:
    """Whether a node state (as scontrol or sinfo prints it) means the node cannot take jobs.

    Down, drain/drained/draining, fail/failing, invalid, unknown, or not responding (a ``*`` suffix).
    ``None`` when the state is unknown.
    """
    if state is None or not state.strip():
        return None
    upper = state.strip().upper()
    if upper.endswith("*"):
        return True
    parts = _IS_UNAVAILABLE_STATE_RE1.split(upper.rstrip("~#!%$@^-*"))
    return any(part.startswith(word) for part in parts for word in _UNAVAILABLE_WORDS)


# sinfo state suffixes (man sinfo, NODE STATE CODES): * not responding, ~ powered off, # powering up,
# ! pending power down, % powering down, $ maintenance reservation, @ pending reboot, ^ rebooting, - planned
_STATE_SUFFIXES = "*~#!%$@^-"


# sinfo's short state names (man sinfo, %t) and their long forms (%T); nodes_by_state uses the long ones
_SHORT_STATES = {
    "alloc": "allocated",
    "comp": "completing",
    "drain": "drained",
    "drng": "draining",
    "failg": "failing",
    "futr": "future",
    "mix": "mixed",
    "npc": "perfctrs",
    "plnd": "planned",
    "pow_dn": "powered_down",
    "pow_up": "powering_up",
    "resv": "reserved",
    "unk": "unknown",
    "boot": "rebooting",
}


def _state_key(state: str) -> str:
    base = state.strip().lower().rstrip(_STATE_SUFFIXES) or state.strip().lower()
    return _SHORT_STATES.get(base, base)


def _split_gres(value: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current = ""
    for char in value:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part.strip() for part in parts if part.strip()]


class GresEntry(_Item):
    name: str = Field(description="GRES name, e.g. 'gpu', 'shard', 'mps'.")
    type: str | None = Field(default=None, description="GRES type, e.g. 'h100'; null when untyped.")
    count: int | None = Field(
        default=None, description="Count; null when Slurm did not print one we can read."
    )
    detail: str | None = Field(default=None, description="What followed in parentheses: S:0-1, IDX:0-3 ...")


_GRES_COUNT = re.compile(r"^(\d+)([KMGTP]?)$", re.IGNORECASE)
_GRES_SCALE = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4, "P": 1024**5}


def parse_gres(value: str | None) -> list[GresEntry]:
    """Parse a GRES string such as ``gpu:h100:8(S:0-1),nvme:1`` or ``gpu:8`` (never raises)."""
    value = _null(value)
    if value is None:
        return []
    entries: list[GresEntry] = []
    for part in _split_gres(value):
        detail = None
        m = _PARSE_GRES_RE1.match(part)
        if m:
            part, detail = m.group("body").strip(), m.group("detail")
        fields = [f for f in part.split(":") if f != ""]
        if not fields:
            continue
        name = fields[0]
        rest = [f for f in fields[1:] if f.lower() != "no_consume"]
        count: int | None = None
        gtype: str | None = None
        if rest:
            cm = _GRES_COUNT.match(rest[-1])
            if cm:
                n = bounded_int(cm.group(1))  # None (count unknown) for a digit run no count has
                count = n * _GRES_SCALE[cm.group(2).upper()] if n is not None else None
                gtype = ":".join(rest[:-1]) or None
            else:
                gtype = ":".join(rest)
                count = 1
        else:
            count = 1
        entries.append(GresEntry(name=name, type=gtype, count=count, detail=detail))
    return entries


def _gpu_summary(entries: list[GresEntry]) -> tuple[int | None, str | None]:
    gpus = [e for e in entries if e.name.lower() == "gpu"]
    if not gpus:
        return 0, None
    counts = [e.count for e in gpus]
    total = None if any(c is None for c in counts) else sum(c for c in counts if c is not None)
    types = sorted({e.type for e in gpus if e.type})
    return total, ",".join(types) if types else None


def _tres(value: str | None) -> dict[str, str]:
    value = _null(value)
    if value is None:
        return {}
    out: dict[str, str] = {}
    for part in value.split(","):
        key, sep, val = part.partition("=")
        if sep and key.strip():
            out[key.strip()] = val.strip()
    return out


def _tres_gpus(tres: dict[str, str]) -> int | None:
    if "gres/gpu" in tres:
        return _to_int(tres["gres/gpu"])
    typed = [_to_int(v) for k, v in tres.items() if k.startswith("gres/gpu:")]
    if typed and all(v is not None for v in typed):
        return sum(v for v in typed if v is not None)
    return None


# --- key=value records (scontrol show node/partition) -----------------------------------------------

_KEY = re.compile(r"(?:(?<=\s)|^)([A-Z][A-Za-z0-9_]*(?:\[\d+\])?)=")
_LAST_ON_LINE = ("Reason", "OS", "Comment", "Extra")


def _kv_line(line: str, one_line_record: bool) -> list[tuple[str, str]]:
    """Split one line of ``Key=Value Key=Value`` pairs; values may contain spaces (OS, Reason)."""
    # fast path, one C-level split: ['before', key1, value1, key2, value2, ...]; a value runs to the
    # next key, exactly as below, unless a key takes the rest of the line (Reason, OS, ...)
    parts = _KEY.split(line)
    keys = parts[1::2]
    if not any(k in _LAST_ON_LINE for k in keys):
        return [(k, v.strip()) for k, v in zip(keys, parts[2::2], strict=True)]
    pairs: list[tuple[str, str]] = []
    matches = list(_KEY.finditer(line))
    i = 0
    while i < len(matches):
        m = matches[i]
        key = m.group(1)
        if key == "Reason" or (key in _LAST_ON_LINE and not one_line_record):
            pairs.append((key, line[m.end() :].strip()))
            break
        end = matches[i + 1].start() if i + 1 < len(matches) else len(line)
        pairs.append((key, line[m.end() : end].strip()))
        i += 1
    return pairs


def _records(lines: list[str], first_key: str) -> list[list[tuple[str, str]]]:
    records: list[list[tuple[str, str]]] = []
    start = re.compile(rf"^\s*{first_key}=")
    current: list[tuple[str, str]] | None = None
    # a record ends at a blank line unless the next text is still indented (24.05 prints an empty
    # indented line before Reason=); next_indented[i]: the next non-blank line after i is indented
    next_indented = [False] * (len(lines) + 1)
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index]
        next_indented[index] = line[:1].isspace() if line.strip() else next_indented[index + 1]
    for index, line in enumerate(lines):
        if not line.strip():
            if not next_indented[index + 1]:
                current = None
            continue
        if start.match(line):
            current = []
            records.append(current)
            one_line = len(_KEY.findall(line)) > 8
            current.extend(_kv_line(line.strip(), one_line))
        elif current is not None:
            current.extend(_kv_line(line.strip(), False))  # [] for a line without a key
    return records


# ---------------------------------------------------------------------------------------------- sinfo


class SinfoPartition(_Item):
    name: str = Field(description="Partition name without the '*' default marker.")
    default: bool = Field(description="True when sinfo marked it with '*'.")
    avail: str | None = Field(default=None, description="AVAIL column: up, down, drain, inact.")
    timelimit: str | None = Field(default=None, description="TIMELIMIT as printed (may be cut by sinfo).")
    nodes_by_state: dict[str, int] = Field(
        default_factory=dict,
        description="Node count per state (lower case, suffix flags removed); -s gives allocated/idle/other.",
    )
    nodes_total: int | None = Field(default=None, description="Nodes in the partition (sum over rows or T).")
    nodelists: list[str] = Field(default_factory=list, description="NODELIST values as printed (hostlists).")


class SinfoNode(_Item):
    name: str = Field(description="Node name (or hostlist expression when sinfo grouped nodes).")
    partitions: list[str] = Field(default_factory=list)
    state: str | None = Field(default=None, description="State as printed (lower case, flags kept).")
    cpus: str | None = None
    memory_mb: int | None = None
    gres: str | None = None
    gres_used: str | None = None
    reason: str | None = None


class SinfoReason(_Item):
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


def _header_index(lines: list[str], known: set[str], required: Iterable[str], minimum: int) -> int | None:
    req = set(required)
    for index, line in enumerate(lines[:50]):
        tokens = line.split()
        if not tokens:
            continue
        upper = [t.upper() for t in tokens]
        hits = sum(1 for t in upper if t in known)
        if hits >= minimum and hits >= len(tokens) // 2 and (not req or req & set(upper)):
            return index
    return None


def _split_row(line: str, columns: list[str], spacey: Iterable[str]) -> list[str] | None:
    tokens = line.split()
    n = len(columns)
    if len(tokens) == n:
        return tokens
    spacey_idx = [i for i, c in enumerate(columns) if c.upper() in spacey]
    idx = spacey_idx[0] if spacey_idx else n - 1
    if len(tokens) > n:
        left = tokens[:idx]
        right_count = n - idx - 1
        right = tokens[len(tokens) - right_count :] if right_count else []
        middle = tokens[idx : len(tokens) - right_count]
        return [*left, " ".join(middle), *right]
    return None


def parse_sinfo(text: str) -> SinfoOutput:
    """Parse ``sinfo``: default, ``-s``, ``-l``, ``-N``, ``-N -l``, ``-R``, ``-o``/``-O`` with a header."""
    kind = "sinfo"
    lines = _lines(kind, text)
    warnings: list[str] = []
    h = _header_index(lines, _SINFO_COLUMNS, (), 2)
    if h is None:
        return _sinfo_headerless(lines)
    columns = [c.upper() for c in lines[h].split()]
    rows: list[dict[str, str]] = []
    for number, line in enumerate(lines[h + 1 :], start=h + 2):
        if not line.strip():
            continue
        values = _split_row(line, columns, _SPACEY)
        if values is None:
            warnings.append(f"line {number}: {len(line.split())} fields for {len(columns)} columns, skipped")
            continue
        rows.append(dict(zip(columns, values, strict=True)))
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


# the node fields every row assigns (whether or not the row has the column)
_SINFO_NODE_ROW_FIELDS = ("cpus", "memory_mb", "gres", "gres_used", "reason")


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
                    user=_null(row.get("USER")),
                    timestamp=_null(row.get("TIMESTAMP")),
                    nodelist=_null(row.get("NODELIST") or row.get("HOSTNAMES")),
                )
            )
            continue
        # Hot loop: the models are updated through their __dict__ (plain assignments, as pydantic's
        # __setattr__ does without validate_assignment) and their fields-set, without a
        # __setattr__ call per field and row.
        pname_raw = row.get("PARTITION")
        if pname_raw:
            default = pname_raw.endswith("*")
            pname = pname_raw.rstrip("*")
            part = partitions.get(pname)
            if part is None:
                part = SinfoPartition(name=pname, default=default)
                partitions[pname] = part
                part.__pydantic_fields_set__.add("default")
            pd = part.__dict__
            pd["default"] = pd["default"] or default
            avail = row.get("AVAIL")
            if avail:
                pd["avail"] = avail.lower()
                part.__pydantic_fields_set__.add("avail")
            timelimit = row.get("TIMELIMIT")
            if timelimit:
                pd["timelimit"] = timelimit
                part.__pydantic_fields_set__.add("timelimit")
            _add_counts(part, row, warnings)
            nl = row.get("NODELIST") or row.get("HOSTNAMES")
            if nl and not node_oriented and nl not in pd["nodelists"]:
                pd["nodelists"].append(nl)
        if node_oriented:
            name = row.get("NODELIST") or row.get("HOSTNAMES")
            if not name:
                continue
            key = f"{name}|{row.get('NODE_ADDR', '')}|{len(nodes)}" if "NODELIST" not in row else name
            node = nodes.get(key)
            if node is None:
                node = SinfoNode(name=name)
                nodes[key] = node
                node.__pydantic_fields_set__.update(_SINFO_NODE_ROW_FIELDS)
            nd = node.__dict__
            if pname_raw:
                pname = pname_raw.rstrip("*")
                if pname not in nd["partitions"]:
                    nd["partitions"].append(pname)
            state = row.get("STATE")
            if state:
                nd["state"] = state.lower()
                node.__pydantic_fields_set__.add("state")
            nd["cpus"] = row.get("CPUS", nd["cpus"])
            memory = row.get("MEMORY")
            if memory:
                nd["memory_mb"] = _to_int(memory)
            if "GRES" in row:
                nd["gres"] = _null(row.get("GRES"))
            if "GRES_USED" in row:
                nd["gres_used"] = _null(row.get("GRES_USED"))
            reason = _null(row.get("REASON"))
            if reason:
                nd["reason"] = reason
    return SinfoOutput(
        partitions=list(partitions.values()),
        nodes=list(nodes.values()) if node_oriented else None,
        reasons=reasons,
        columns=printed,
        warnings=warnings,
    )


def _add_counts(part: SinfoPartition, row: dict[str, str], warnings: list[str]) -> None:
    aiot = row.get("NODES(A/I/O/T)")
    if aiot is not None:
        numbers = [_to_int(x) for x in aiot.split("/")]
        if len(numbers) == 4 and all(n is not None for n in numbers):
            a, i, o, t = (n or 0 for n in numbers)
            for label, number in (("allocated", a), ("idle", i), ("other", o)):
                part.nodes_by_state[label] = part.nodes_by_state.get(label, 0) + number
            _set_total(part, t)
        else:
            warnings.append(f"partition {part.name}: unreadable NODES(A/I/O/T) {aiot!r}")
        return
    count = _to_int(row.get("NODES")) if "NODES" in row else (1 if "STATE" in row else None)
    state = row.get("STATE")
    if count is None:
        if "NODES" in row:
            warnings.append(f"partition {part.name}: unreadable NODES {row.get('NODES')!r}")
        return
    if state:
        key = _state_key(state)
        part.nodes_by_state[key] = part.nodes_by_state.get(key, 0) + count
    _set_total(part, count)


def _set_total(part: SinfoPartition, add: int) -> None:
    # part.nodes_total += add, without pydantic's __setattr__ (no validation on assignment here)
    d = part.__dict__
    d["nodes_total"] = (d["nodes_total"] or 0) + add
    part.__pydantic_fields_set__.add("nodes_total")


def detect_sinfo(text: str) -> float:
    if not isinstance(text, str):
        return 0.0
    head = text[:4000]
    if _DETECT_SINFO_RE1.search(head):
        return 0.95
    if _DETECT_SINFO_RE2.search(head):
        return 0.95
    if _DETECT_SINFO_RE3.search(head):
        return 0.9
    if _DETECT_SINFO_RE4.search(head):
        return 0.6
    return 0.0


# ------------------------------------------------------------------------------------- scontrol node


class SlurmNode(_Item):
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


def parse_scontrol_node(text: str) -> ScontrolNodeOutput:
    """Parse ``scontrol show node`` (multi-line records or ``-o`` one line per node)."""
    kind = "scontrol-node"
    lines = _lines(kind, text)
    records = _records(lines, "NodeName")
    if not records:
        raise ParseError(kind, "no 'NodeName=' record found (expected output of scontrol show node)")
    warnings: list[str] = []
    nodes: list[SlurmNode] = []
    for record in records:
        fields: dict[str, str] = {}
        for key, value in record:
            fields.setdefault(key, value)
        name = fields.get("NodeName", "").strip()
        if not name:
            warnings.append("a NodeName= record without a name was skipped")
            continue
        gres_text = fields.get("Gres")
        gres = parse_gres(gres_text)
        cfg = _tres(fields.get("CfgTRES"))
        alloc = _tres(fields.get("AllocTRES"))
        if gres_text is not None:
            gpu_count, gpu_type = _gpu_summary(gres)
        elif _tres_gpus(cfg) is not None:
            gpu_count, gpu_type = _tres_gpus(cfg), None
        else:
            gpu_count, gpu_type = None, None
        gpus_alloc = _tres_gpus(alloc)
        if gpus_alloc is None and "GresUsed" in fields:
            used, _ = _gpu_summary(parse_gres(fields["GresUsed"]))
            gpus_alloc = used
        if gpus_alloc is None and "AllocTRES" in fields and _tres_gpus(cfg) is not None:
            gpus_alloc = 0  # GPUs are tracked (CfgTRES has gres/gpu) and none is allocated
        reason = _null(fields.get("Reason"))
        reason_user = reason_time = None
        if reason:
            m = _PARSE_SCONTROL_NODE_RE1.search(reason)
            if m:
                reason_user, reason_time = m.group("user"), m.group("time")
        state = _null(fields.get("State"))
        memory = _to_int(fields.get("RealMemory"))
        nodes.append(
            SlurmNode(
                name=name,
                state=state,
                unavailable=is_unavailable_state(state),
                gpu_count=gpu_count,
                gpu_type=gpu_type,
                gpus_allocated=gpus_alloc,
                cpus_total=_to_int(fields.get("CPUTot")),
                cpus_allocated=_to_int(fields.get("CPUAlloc")),
                real_memory_mb=memory,
                partitions=[p for p in (_null(fields.get("Partitions")) or "").split(",") if p],
                reason=reason,
                reason_user=reason_user,
                reason_time=reason_time,
                slurm_version=_null(fields.get("Version")),
                gres=gres,
                cfg_tres=cfg,
                alloc_tres=alloc,
                fields=fields,
            )
        )
    if not nodes:
        raise ParseError(kind, "NodeName= records had no node names")
    return ScontrolNodeOutput(nodes=nodes, warnings=warnings)


def detect_scontrol_node(text: str) -> float:
    if not isinstance(text, str):
        return 0.0
    head = text[:4000]
    if _DETECT_SCONTROL_NODE_RE1.search(head):
        return 0.95 if ("CPUTot=" in head or "State=" in head) else 0.5
    return 0.0


# -------------------------------------------------------------------------------- scontrol partition


class SlurmPartition(_Item):
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


def parse_scontrol_partition(text: str) -> ScontrolPartitionOutput:
    """Parse ``scontrol show partition`` (multi-line or ``-o``)."""
    kind = "scontrol-partition"
    lines = _lines(kind, text)
    records = _records(lines, "PartitionName")
    if not records:
        raise ParseError(
            kind, "no 'PartitionName=' record found (expected output of scontrol show partition)"
        )
    parts: list[SlurmPartition] = []
    warnings: list[str] = []
    for record in records:
        fields: dict[str, str] = {}
        for key, value in record:
            fields.setdefault(key, value)
        name = fields.get("PartitionName", "").strip()
        if not name:
            warnings.append("a PartitionName= record without a name was skipped")
            continue
        defaults = _tres(fields.get("JobDefaults"))
        for key in ("DefMemPerGPU", "DefCpuPerGPU"):
            if key in fields and key not in defaults:
                defaults[key] = fields[key]
        default = fields.get("Default")
        tres = _tres(fields.get("TRES"))
        mem_per_cpu = _to_int(fields.get("DefMemPerCPU"))
        parts.append(
            SlurmPartition(
                name=name,
                state=_null(fields.get("State")),
                default=None if default is None else default.strip().upper() == "YES",
                max_time=_null(fields.get("MaxTime")),
                default_time=_null(fields.get("DefaultTime")),
                nodes=_null(fields.get("Nodes")),
                total_cpus=_to_int(fields.get("TotalCPUs")),
                total_nodes=_to_int(fields.get("TotalNodes")),
                def_mem_per_gpu=_to_int(defaults.get("DefMemPerGPU")),
                def_cpu_per_gpu=_to_int(defaults.get("DefCpuPerGPU")),
                def_mem_per_cpu=mem_per_cpu,
                tres=tres,
                gpus_total=_tres_gpus(tres),
                fields=fields,
            )
        )
    if not parts:
        raise ParseError(kind, "PartitionName= records had no partition names")
    return ScontrolPartitionOutput(partitions=parts, warnings=warnings)


def detect_scontrol_partition(text: str) -> float:
    if not isinstance(text, str):
        return 0.0
    return 0.95 if _DETECT_SCONTROL_PARTITION_RE1.search(text[:4000]) else 0.0


# ----------------------------------------------------------------------------------- scontrol config


class ScontrolConfigOutput(ParsedOutput):
    settings: dict[str, str] = Field(default_factory=dict, description="Every 'Key = Value' line, verbatim.")
    sections: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="Plugin sections ('Cgroup Support Configuration:' ...) by title."
    )
    configuration_time: str | None = Field(default=None, description="From 'Configuration data as of ...'.")
    slurm_version: str | None = None
    cluster_name: str | None = None
    topology_plugin: str | None = None
    health_check_program: str | None = None
    health_check_interval: str | None = None
    prolog: str | None = None
    epilog: str | None = None
    def_mem_per_gpu: int | None = None
    def_cpu_per_gpu: int | None = None
    def_mem_per_cpu: int | None = None
    accounting_storage_type: str | None = None
    mpi_default: str | None = None
    select_type: str | None = None
    scheduler_parameters: str | None = None
    gres_types: str | None = None
    controllers: list[str] = Field(default_factory=list, description="'Slurmctld(primary) at x is UP' lines.")


_CONFIG_LINE = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_\[\]\.\-/]*)\s*=\s?(?P<value>.*)$")


def parse_scontrol_config(text: str) -> ScontrolConfigOutput:
    """Parse ``scontrol show config`` (also ``scontrol show config | grep ...`` fragments)."""
    kind = "scontrol-config"
    lines = _lines(kind, text)
    settings: dict[str, str] = {}
    sections: dict[str, dict[str, str]] = {}
    section: str | None = None
    when = None
    controllers: list[str] = []
    warnings: list[str] = []
    for line in lines:
        stripped = line.strip()
        if not stripped:
            continue
        m_head = _PARSE_SCONTROL_CONFIG_RE1.match(stripped)
        if m_head:
            when = m_head.group(1).strip()
            section = None
            continue
        if _PARSE_SCONTROL_CONFIG_RE2.match(stripped):
            controllers.append(stripped)
            continue
        m = _CONFIG_LINE.match(stripped)
        if m:
            key, value = m.group("key"), m.group("value").strip()
            if section is None:
                if key in settings and settings[key] != value:
                    warnings.append(f"{key} appears twice; the first value is kept")
                settings.setdefault(key, value)
            else:
                sections[section].setdefault(key, value)
            continue
        if stripped.endswith(":") or stripped.endswith("Configuration"):
            section = stripped.rstrip(":").strip()
            sections.setdefault(section, {})
            continue
    if not settings:
        raise ParseError(kind, "no 'Key = Value' line found (expected output of scontrol show config)")
    if when is None and "SLURM_VERSION" not in settings:
        warnings.append("no 'Configuration data as of' header and no SLURM_VERSION: output may be partial")

    def get(key: str) -> str | None:
        value = settings.get(key)
        if value is None or value.strip() in ("", "(null)"):
            return None
        return value.strip()

    job_defaults = _tres(settings.get("JobDefaults"))
    return ScontrolConfigOutput(
        settings=settings,
        sections=sections,
        configuration_time=when,
        slurm_version=get("SLURM_VERSION"),
        cluster_name=get("ClusterName"),
        topology_plugin=get("TopologyPlugin"),
        health_check_program=get("HealthCheckProgram"),
        health_check_interval=get("HealthCheckInterval"),
        prolog=get("Prolog"),
        epilog=get("Epilog"),
        def_mem_per_gpu=_to_int(get("DefMemPerGPU") or job_defaults.get("DefMemPerGPU")),
        def_cpu_per_gpu=_to_int(get("DefCpuPerGPU") or job_defaults.get("DefCpuPerGPU")),
        def_mem_per_cpu=_to_int(get("DefMemPerCPU")),
        accounting_storage_type=get("AccountingStorageType"),
        mpi_default=get("MpiDefault"),
        select_type=get("SelectType"),
        scheduler_parameters=get("SchedulerParameters"),
        gres_types=get("GresTypes"),
        controllers=controllers,
        warnings=warnings,
    )


def detect_scontrol_config(text: str) -> float:
    if not isinstance(text, str):
        return 0.0
    head = text[:6000]
    if _DETECT_SCONTROL_CONFIG_RE1.search(head):
        return 0.98
    hits = len(_DETECT_SCONTROL_CONFIG_RE2.findall(head))
    return min(0.9, 0.3 * hits)


# ------------------------------------------------------------------------------------ sacct / squeue


class SchedulerJob(_Item):
    job_id: str = Field(description="Job id as printed (1234, 1234_5, 1234.batch, 1234+0 ...).")
    name: str | None = None
    partition: str | None = None
    state: str | None = Field(default=None, description="Long state name (squeue short codes expanded).")
    exit_code: str | None = Field(default=None, description="ExitCode as printed, e.g. '0:0'.")
    elapsed: str | None = Field(default=None, description="Elapsed (sacct) or TIME (squeue) as printed.")
    truncated: list[str] = Field(default_factory=list, description="Fields cut by the column width ('+').")
    is_step: bool = Field(default=False, description="A job step row (1234.batch, 1234.0).")
    fields: dict[str, str] = Field(default_factory=dict, description="Every column, keyed by header name.")


class SacctOutput(ParsedOutput):
    jobs: list[SchedulerJob] = Field(default_factory=list)
    columns: list[str] = Field(default_factory=list)
    parsable: bool = Field(default=False, description="-p / -P output ('|' separated).")
    accounting_disabled: bool = Field(
        default=False, description="sacct said 'Slurm accounting storage is disabled'."
    )


class SqueueOutput(ParsedOutput):
    jobs: list[SchedulerJob] = Field(default_factory=list)
    columns: list[str] = Field(default_factory=list)


_SACCT_FIELD_MAP = {
    "JOBID": "job_id",
    "JOBIDRAW": "job_id",
    "JOBNAME": "name",
    "PARTITION": "partition",
    "STATE": "state",
    "EXITCODE": "exit_code",
    "ELAPSED": "elapsed",
}
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


def _targets(columns: list[str], mapping: dict[str, str]) -> dict[str, str | None]:
    """Field each header column maps to (looked up once per output, not once per row and column)."""
    return {column: mapping.get(column.upper()) for column in columns}


def _job(
    values: dict[str, str], targets: dict[str, str | None], widths: dict[str, int] | None
) -> SchedulerJob | None:
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
    # every value is already of its field's type (str / None / list[str] / bool / dict[str, str]):
    # build the model without a validation pass per job
    return construct(
        SchedulerJob,
        {
            "job_id": job_id,
            "name": data.get("name"),
            "partition": data.get("partition"),
            "state": data.get("state"),
            "exit_code": data.get("exit_code"),
            "elapsed": data.get("elapsed"),
            "truncated": truncated,
            "is_step": bool(_JOB_RE1.match(job_id)),
            "fields": dict(values),
        },
    )


def parse_sacct(text: str) -> SacctOutput:
    """Parse ``sacct`` output: the default table, ``--format`` tables, ``-p`` and ``-P`` (``--parsable2``)."""
    kind = "sacct"
    lines = _lines(kind, text)
    warnings: list[str] = []
    if any("accounting storage is disabled" in line.lower() for line in lines[:20]):
        return SacctOutput(accounting_disabled=True, warnings=["sacct: Slurm accounting storage is disabled"])
    header = None
    for index, line in enumerate(lines[:100]):
        if _PARSE_SACCT_RE1.search(line):
            header = index
            break
    if header is None:
        raise ParseError(kind, "no header line with a JobID column (expected sacct output)")
    for line in lines[:header]:
        if line.strip():
            warnings.append(f"ignored before the header: {line.strip()[:120]}")
    head = lines[header]
    jobs: list[SchedulerJob] = []
    if "|" in head:
        columns = head.strip().split("|")
        if columns and columns[-1] == "":
            columns = columns[:-1]
        targets = _targets(columns, _SACCT_FIELD_MAP)
        for number, line in enumerate(lines[header + 1 :], start=header + 2):
            if not line.strip():
                continue
            values = line.split("|")
            if len(values) == len(columns) + 1 and values[-1] == "":
                values = values[:-1]
            if len(values) != len(columns):
                warnings.append(f"line {number}: {len(values)} fields for {len(columns)} columns, skipped")
                continue
            job = _job(dict(zip(columns, values, strict=True)), targets, None)
            if job:
                jobs.append(job)
        return SacctOutput(jobs=jobs, columns=columns, parsable=True, warnings=warnings)
    columns = head.split()
    spans: list[tuple[int, int]] | None = None
    start = header + 1
    if start < len(lines) and _PARSE_SACCT_RE2.fullmatch(lines[start] or "x"):
        spans = [(m.start(), m.end()) for m in _PARSE_SACCT_RE3.finditer(lines[start])]
        start += 1
        if len(spans) != len(columns):
            warnings.append("the dashes line does not match the header; reading by whitespace")
            spans = None
    widths = {c: (e - s) for c, (s, e) in zip(columns, spans, strict=True)} if spans else {}
    targets = _targets(columns, _SACCT_FIELD_MAP)
    for number, line in enumerate(lines[start:], start=start + 1):
        if not line.strip():
            continue
        row = _fixed_row(line, columns, spans)
        if row is None:
            warnings.append(f"line {number}: cannot split into {len(columns)} columns, skipped")
            continue
        job = _job(dict(zip(columns, row, strict=True)), targets, widths)
        if job:
            jobs.append(job)
    if any(job.truncated for job in jobs):
        warnings.append(
            "some fields were cut by sacct's column width (ending in '+'); use -P for full values"
        )
    return SacctOutput(jobs=jobs, columns=columns, parsable=False, warnings=warnings)


def _fixed_row(line: str, columns: list[str], spans: list[tuple[int, int]] | None) -> list[str] | None:
    tokens = line.split()
    if len(tokens) == len(columns):
        return tokens
    if spans is None:
        return None
    values = []
    for i, (s, e) in enumerate(spans):
        end = spans[i + 1][0] if i + 1 < len(spans) else max(len(line), e)
        values.append(line[s:end].strip())
    # reject a slicing that cut through a value (a value overflowed its column)
    for s, _ in spans[1:]:
        if 0 < s < len(line) and line[s - 1] != " " and line[s] != " ":
            return None
    return values


def detect_sacct(text: str) -> float:
    if not isinstance(text, str):
        return 0.0
    head = text[:4000]
    if "accounting storage is disabled" in head:
        return 0.7
    if _DETECT_SACCT_RE1.search(head):
        return 0.95 if _DETECT_SACCT_RE2.search(head) or "|" in head else 0.8
    return 0.0


def parse_squeue(text: str) -> SqueueOutput:
    """Parse ``squeue`` output: the default and ``-l`` tables, and ``-o``/``-O`` formats with a header."""
    kind = "squeue"
    lines = _lines(kind, text)
    warnings: list[str] = []
    header = None
    for index, line in enumerate(lines[:50]):
        tokens = [t.upper() for t in line.split()]
        if "JOBID" in tokens or "JOB_ID" in tokens or "JOBID|" in line.upper():
            header = index
            break
    if header is None:
        raise ParseError(kind, "no header line with a JOBID column (expected squeue output)")
    head = lines[header]
    jobs: list[SchedulerJob] = []
    if "|" in head:
        columns = [c.strip() for c in head.split("|")]
        rows = [[v.strip() for v in line.split("|")] for line in lines[header + 1 :] if line.strip()]
    else:
        columns = head.split()
        rows = []
        for number, line in enumerate(lines[header + 1 :], start=header + 2):
            if not line.strip():
                continue
            spacey = tuple(c for c in (columns[-1].upper(),) if "REASON" in c or "NODELIST" in c)
            values = _split_row(line, columns, spacey or (columns[-1].upper(),))
            if values is None:
                warnings.append(
                    f"line {number}: {len(line.split())} fields for {len(columns)} columns, skipped"
                )
                continue
            rows.append(values)
    targets = _targets(columns, _SQUEUE_FIELD_MAP)
    for values in rows:
        if len(values) != len(columns):
            warnings.append(f"row {values[:1]}: {len(values)} fields for {len(columns)} columns, skipped")
            continue
        job = _job(dict(zip(columns, values, strict=True)), targets, None)
        if job is None:
            continue
        if job.state and job.state.upper() in _SQUEUE_CODES:
            job = job.model_copy(update={"state": _SQUEUE_CODES[job.state.upper()]})
        jobs.append(job)
    return SqueueOutput(jobs=jobs, columns=columns, warnings=warnings)


def detect_squeue(text: str) -> float:
    if not isinstance(text, str):
        return 0.0
    head = text[:4000]
    if _DETECT_SQUEUE_RE1.search(head):
        return 0.95
    if _DETECT_SQUEUE_RE2.search(head):
        return 0.7
    return 0.0


# ---------------------------------------------------------------------------------- slurm messages


class SlurmEvent(_Item):
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


def parse_slurm_messages(text: str) -> SlurmMessagesOutput:
    """Parse what sbatch, srun and salloc print about a job (stdout and stderr, any order)."""
    kind = "slurm-messages"
    lines = _lines(kind, text)
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


def detect_slurm_messages(text: str) -> float:
    if not isinstance(text, str):
        return 0.0
    head = text[:4000]
    if _DETECT_SLURM_MESSAGES_RE1.search(head):
        return 0.95
    if _DETECT_SLURM_MESSAGES_RE2.search(head):
        return 0.8
    if _DETECT_SLURM_MESSAGES_RE3.fullmatch(head):
        return 0.2
    return 0.0


def most_common(values: Iterable[str | None]) -> str | None:
    """The most frequent non-null value (ties: first seen)."""
    counts = Counter(v for v in values if v)
    return counts.most_common(1)[0][0] if counts else None

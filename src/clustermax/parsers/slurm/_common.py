"""What the Slurm parsers share: line splitting, Slurm's null words, node states, GRES and TRES strings,
``Key=Value`` records (scontrol), header-aligned tables (sinfo, squeue) and the job rows of sacct/squeue."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from .._text import bounded_int
from ..base import ParseError

_TO_INT_RE1 = re.compile(r"[+-]?\d{1,30}")
_IS_UNAVAILABLE_STATE_RE1 = re.compile(r"[+\s]")
_PARSE_GRES_RE1 = re.compile(r"^(?P<body>[^(]*)\((?P<detail>[^)]*)\)?\s*$")


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------------------------------- helpers


def text_lines(kind: str, text: object) -> list[str]:
    if not isinstance(text, str):
        raise ParseError(kind, f"expected text, got {type(text).__name__}")
    cleaned = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    lines = cleaned.split("\n")
    if not any(line.strip() for line in lines):
        raise ParseError(kind, "empty output")
    return lines


def int_or_none(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    if _TO_INT_RE1.fullmatch(value):
        return int(value)
    return None


def null(value: str | None) -> str | None:
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


def state_key(state: str) -> str:
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


class GresEntry(Item):
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
    value = null(value)
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


def gpu_summary(entries: list[GresEntry]) -> tuple[int | None, str | None]:
    gpus = [e for e in entries if e.name.lower() == "gpu"]
    if not gpus:
        return 0, None
    counts = [e.count for e in gpus]
    total = None if any(c is None for c in counts) else sum(c for c in counts if c is not None)
    types = sorted({e.type for e in gpus if e.type})
    return total, ",".join(types) if types else None


def tres_map(value: str | None) -> dict[str, str]:
    value = null(value)
    if value is None:
        return {}
    out: dict[str, str] = {}
    for part in value.split(","):
        key, sep, val = part.partition("=")
        if sep and key.strip():
            out[key.strip()] = val.strip()
    return out


def tres_gpus(tres: dict[str, str]) -> int | None:
    if "gres/gpu" in tres:
        return int_or_none(tres["gres/gpu"])
    typed = [int_or_none(v) for k, v in tres.items() if k.startswith("gres/gpu:")]
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


def records(lines: list[str], first_key: str) -> list[list[tuple[str, str]]]:
    """The ``Key=Value`` pairs of each record starting with ``first_key=`` (NodeName, PartitionName)."""
    found: list[list[tuple[str, str]]] = []
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
            found.append(current)
            one_line = len(_KEY.findall(line)) > 8
            current.extend(_kv_line(line.strip(), one_line))
        elif current is not None:
            current.extend(_kv_line(line.strip(), False))  # [] for a line without a key
    return found


def named_records(
    kind: str, text: object, first_key: str, command: str, warnings: list[str]
) -> list[tuple[str, dict[str, str]]]:
    """(name, every Key=Value) of each ``first_key=`` record of ``scontrol show node|partition`` output;
    a record without a name is skipped with a warning. ParseError when there is no record at all."""
    found = records(text_lines(kind, text), first_key)
    if not found:
        raise ParseError(kind, f"no '{first_key}=' record found (expected output of {command})")
    named: list[tuple[str, dict[str, str]]] = []
    for record in found:
        fields: dict[str, str] = {}
        for key, value in record:
            fields.setdefault(key, value)
        name = fields.get(first_key, "").strip()
        if not name:
            warnings.append(f"a {first_key}= record without a name was skipped")
            continue
        named.append((name, fields))
    return named


# --- tables with a header line (sinfo, squeue) ------------------------------------------------------


def header_index(lines: list[str], known: set[str], required: Iterable[str], minimum: int) -> int | None:
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


def split_row(line: str, columns: list[str], spacey: Iterable[str]) -> list[str] | None:
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


def most_common(values: Iterable[str | None]) -> str | None:
    """The most frequent non-null value (ties: first seen)."""
    counts = Counter(v for v in values if v)
    return counts.most_common(1)[0][0] if counts else None

"""nccl-tests / rccl-tests logs (any collective, any release) -> :class:`NcclTestsOutput`.

Formats handled (see docs/parsers-gpu.md):

* the column header decides the columns: ``size count type [redop] [root] time algbw busbw
  #wrong|error`` repeated for out-of-place and in-place; very old builds print a float ``error``
  column and no ``redop``/``root`` (all_gather) or ``root`` without ``redop`` (broadcast);
  rccl-tests may append extra columns (ignored);
* every line may carry an ``mpirun --tag-output`` (``[1,0]<stdout>:``) or ``srun -l`` (``0: ``)
  prefix; ``NCCL INFO`` lines, MPI help messages and shell noise between rows are skipped;
* the newest header (``# nccl-tests version ...``, ``# Collective test starting: ...``);
* several runs concatenated in one file: every run is in ``runs``; the top-level fields are
  those of the first run, and a warning says so.

busbw is checked against algbw x the documented factor (nccl-tests doc/PERFORMANCE.md) and the
printed "Avg bus bandwidth" against the mean recomputed from the rows; disagreements are warnings.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, fields
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from ._paste import unwrapped_detect, unwrapped_input
from ._text import fast_float, normalize, to_float
from .base import ParsedOutput, ParseError

KIND = "nccl-tests"

Collective = Literal[
    "all_reduce", "all_gather", "reduce_scatter", "alltoall", "broadcast", "reduce", "sendrecv"
]
COLLECTIVES: tuple[str, ...] = (
    "all_reduce",
    "all_gather",
    "reduce_scatter",
    "alltoall",
    "broadcast",
    "reduce",
    "sendrecv",
)


def busbw_factor(collective: str | None, ranks: int | None) -> float | None:
    """busbw / algbw per nccl-tests doc/PERFORMANCE.md; None when it cannot be known."""
    if collective is None or ranks is None or ranks < 1:
        return None
    n = ranks
    if collective == "all_reduce":
        return 2 * (n - 1) / n
    if collective in ("reduce_scatter", "all_gather", "alltoall"):
        return (n - 1) / n
    if collective in ("broadcast", "reduce", "sendrecv"):
        return 1.0
    return None


@dataclass(slots=True)
class NcclRow:
    """One message size of one run. GB/s as printed; in-place fields null when the log has none.

    A plain dataclass (a 10,000-size log makes one per row), serialised by pydantic as a field of
    :class:`NcclRun`; its fields are the columns in the order of ``_FIELDS``."""

    size_bytes: int
    count: int | None
    dtype: str | None
    redop: str | None
    root: int | None
    oop_time_us: float | None
    oop_algbw_gbps: float | None
    oop_busbw_gbps: float | None
    oop_wrong: Annotated[
        int | None, Field(description="#wrong; null when the log has a float 'error' column or none.")
    ]
    oop_error: Annotated[float | None, Field(description="Old builds' float 'error' column.")] = None
    ip_time_us: float | None = None
    ip_algbw_gbps: float | None = None
    ip_busbw_gbps: float | None = None
    ip_wrong: int | None = None
    ip_error: float | None = None


class _RunFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    impl: Literal["nccl-tests", "rccl-tests"] = Field(default="nccl-tests", description="Which test suite.")
    collective: Collective | None = Field(default=None, description="Null when the log does not tell.")
    ranks: int | None = Field(default=None, description="Ranks in the device list; null without one.")
    nodes: int | None = Field(default=None, description="Distinct hosts in the device list.")
    hosts: list[str] = Field(default_factory=list, description="Hosts in the device list, in order.")
    gpu_model: str | None = None
    nccl_version: str | None = Field(default=None, description="NCCL (or RCCL) library version.")
    nccl_tests_version: str | None = None
    min_bytes: int | None = None
    max_bytes: int | None = Field(default=None, description="maxBytes of the '# nThread' line (-e).")
    rows: list[NcclRow] = Field(default_factory=list)
    avg_busbw_gbps: float | None = Field(default=None, description="The printed 'Avg bus bandwidth' footer.")
    avg_busbw_computed_gbps: float | None = Field(
        default=None,
        description="Mean busbw over every printed value (out-of-place and in-place), as nccl-tests.",
    )
    peak_busbw_gbps: float | None = Field(default=None, description="Max busbw over all rows, oop and ip.")
    max_size_bytes: int | None = None
    busbw_at_max_size_gbps: float | None = Field(default=None, description="Out-of-place busbw at max size.")
    wrong_total: int | None = Field(default=None, description="Sum of #wrong; null when no #wrong column.")
    out_of_bounds_ok: bool | None = None
    out_of_bounds_values: int | None = None
    busbw_factor: float | None = Field(default=None, description="busbw/algbw factor used for the check.")
    busbw_mismatch_rows: int = Field(
        default=0, description="Rows whose printed busbw disagrees with the factor."
    )
    failure: str | None = Field(
        default=None,
        description="The test's own abort line (\"Test CUDA failure common.cu:941 'system not yet"
        " initialized'\"), without the host prefix; null when the run printed none.",
    )


class NcclRun(_RunFields):
    """One run of one collective."""


class NcclTestsOutput(ParsedOutput, _RunFields):
    """Parsed nccl-tests log. Top-level run fields describe the first run; ``runs`` has them all."""

    runs: list[NcclRun] = Field(default_factory=list, description="Every run in the file, in order.")


# ---------------------------------------------------------------------------------------------

_DEVICE = re.compile(
    r"^#?\s*Rank\s+(\d{1,9})\s+(?:Group\s+\d+\s+)?Pid\s+\d+\s+on\s+(\S+)\s+device\s+(\d+)\s+\[([^\]]*)\]\s*(.*?)\s*$"
)
_NTHREAD = re.compile(r"minBytes\s+(\d{1,20})\s+maxBytes\s+(\d{1,20})\b")
_NAMES = r"(all_reduce|all_gather|reduce_scatter|alltoall|broadcast|reduce|sendrecv|gather|scatter|hypercube)"
# the binary anywhere in a line (a command, a path, a shell trace), with a NAME_SUFFIX build's suffix
# (all_gather_perf_mpi); "reduce" cannot match inside "all_reduce" (no word boundary after "_")
_PERF_NAME = re.compile(rf"\b{_NAMES}_perf(?:_[A-Za-z0-9]+)?\b")
_BINARY = re.compile(rf"^{_NAMES}_perf(?:_[A-Za-z0-9]+)?$")
_STARTING = re.compile(r"Collective test (?:starting|concluded):\s*(\S+)")
_TESTS_VERSION = re.compile(r"nccl-tests version\s+(\S+)(?:.*?nccl-library=(\d+))?")
_NCCL_VERSION = re.compile(r"\b(?:NCCL|RCCL) version\s*:?\s*(\d+\.\d+\.\d+)")
_OOB = re.compile(r"Out of bounds values\s*:\s*(\d{1,20})\s+(\w+)")
_AVG = re.compile(r"Avg bus bandwidth\s*:\s*(\S+)")
# nccl-tests' abort: "<host>: Test CUDA failure common.cu:941 'system not yet initialized'" (CUDA, NCCL,
# HIP in rccl-tests), then " .. <host> pid <n>: Test failure common.cu:891" as it unwinds
_FAILURE = re.compile(
    r"\bTest (?:(?:CUDA|NCCL|HIP|MPI|CURAND) )?failure\s+[\w./-]{1,200}:\d{1,9}(?:\s+'[^']{0,300}')?"
)
_INT_RE = re.compile(r"-?[0-9]{1,20}$")  # wider is garbage (and int() refuses > 4300 digits)


def _uint(s: str) -> bool:
    return len(s) <= 20 and s.isascii() and s.isdigit()


def _code_to_version(code: str) -> str | None:
    """nccl-library=23003 -> '2.30.3' (NCCL_VERSION_CODE since 2.9: major*10000+minor*100+patch)."""
    try:
        n = int(code)
    except ValueError:
        return None
    if n >= 10000:
        return f"{n // 10000}.{(n // 100) % 100}.{n % 100}"
    if n >= 1000:
        return f"{n // 1000}.{(n // 100) % 10}.{n % 100}"
    return None


class _Columns:
    """Positions of the fields in a data row, from the header (or guessed from a row)."""

    __slots__ = ("blocks", "lead", "lead_pos", "min_width", "size_first", "spans", "width", "wrong_is_error")

    def __init__(self, lead: list[str], blocks: list[list[str]]) -> None:
        self.lead = lead
        self.blocks = blocks
        self.wrong_is_error = [("error" in b) for b in blocks]
        self.lead_pos = {name: i for i, name in enumerate(lead)}
        # rows are readable once wide enough when the size is their first token (checked by the caller)
        self.size_first = bool(blocks) and self.lead_pos.get("size") == 0
        spans: list[tuple[int | None, int | None, int | None, int | None, bool]] = []
        pos = len(lead)
        for block, is_error in zip(blocks, self.wrong_is_error, strict=False):
            idx = {name: pos + k for k, name in enumerate(block)}
            spans.append(
                (
                    idx.get("time"),
                    idx.get("algbw"),
                    idx.get("busbw"),
                    idx.get("wrong", idx.get("error")),
                    is_error,
                )
            )
            pos += len(block)
        self.spans = spans
        self.width = pos
        self.min_width = len(lead) + (len(blocks[0]) if blocks else 0)


def _columns_from_header(tokens: list[str]) -> _Columns | None:
    names = [t.lower().lstrip("#") or "wrong" for t in tokens]
    names = ["wrong" if t in ("wrong",) else t for t in names]
    if "time" not in names:
        return None
    first = names.index("time")
    lead = names[:first]
    if not lead or lead[0] != "size":
        return None
    rest = names[first:]
    blocks: list[list[str]] = []
    current: list[str] = []
    for name in rest:
        if name == "time" and current:
            blocks.append(current)
            current = []
        if name in ("time", "algbw", "busbw", "wrong", "error"):
            current.append(name)
    if current:
        blocks.append(current)
    blocks = blocks[:2]
    return _Columns(lead, blocks)


def _guess_columns(ntok: int) -> _Columns:
    block_new = ["time", "algbw", "busbw", "wrong"]
    if ntok >= 13:
        return _Columns(["size", "count", "type", "redop", "root"], [block_new, block_new])
    if ntok == 12:
        return _Columns(["size", "count", "type", "redop"], [block_new, block_new])
    if ntok == 11:
        return _Columns(["size", "count", "type"], [block_new, block_new])
    return _Columns(["size", "count", "type", "redop", "root"], [block_new])


class _Run:
    def __init__(self) -> None:
        self.collective: str | None = None
        self.devices: list[tuple[int, str, str]] = []
        self.columns: _Columns | None = None
        self.rows: list[str] = []  # the readable row lines, converted in _finish
        self.widths: list[int] = []  # their token counts
        self.avg: float | None = None
        self.oob_ok: bool | None = None
        self.oob_values: int | None = None
        self.min_bytes: int | None = None
        self.max_bytes: int | None = None
        self.nccl_version: str | None = None
        self.tests_version: str | None = None
        self.rccl = False
        self.footer = False
        self.warnings: list[str] = []
        self.guessed = False
        self.started = False
        self.blank: list[str] = []  # optional header columns left blank in every row (realigned)
        self.failure: str | None = None  # the first "Test ... failure" line

    def empty(self) -> bool:
        return not (self.rows or self.devices or self.columns or self.started or self.failure)


def _readable(tokens: list[str], cols: _Columns) -> bool:
    """Whether a data row yields a result: wide enough for the first block and an unsigned size.

    (The first block always fits when the row has min_width tokens, so a row that passes here
    converts to at least the out-of-place block in _build_rows.)"""
    if not cols.blocks or len(tokens) < cols.min_width:
        return False
    i = cols.lead_pos.get("size")
    return i is not None and _uint(tokens[i])


_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(NcclRow))
"""The value columns a row is built from, in NcclRow's field order."""
_INT_LIST = re.compile(r"-?[0-9]{1,20}(?: -?[0-9]{1,20})*")


def _float_col(strs: list[str]) -> list[float | None]:
    """fast_float over a column: one C-level map for the usual all-numbers, all-finite column."""
    try:
        vals: list[float | None] = list(map(float, strs))
    except ValueError:
        return [fast_float(s) for s in strs]
    total = sum(vals)  # type: ignore[arg-type]
    if total - total == 0.0:  # no NaN / infinity in the column (an overflowing sum only takes the slow path)
        return vals
    return [v if v is not None and v - v == 0.0 else None for v in vals]


def _uint_col(strs: list[str]) -> list[int | None]:
    """int() of the ASCII-digit tokens of a column, None for the others."""
    joined = "".join(strs)
    if joined.isdigit() and joined.isascii() and len(joined) <= 20 * len(strs):
        try:
            return list(map(int, strs))
        except ValueError:  # one token over int()'s digit limit: check them one by one
            pass
    return [int(s) if _uint(s) else None for s in strs]


def _build_rows(lines: list[str], widths: list[int], cols: _Columns) -> tuple[list[NcclRow], list[list[Any]]]:
    """Readable row lines (and their token counts) -> NcclRow objects and the 15 value columns, in
    _FIELDS order.

    Converts column by column (C-level split / slice / map) instead of value by value: when every
    row has the same width (the usual case) all rows are split at once and a column is a slice of
    that flat token list. The result is the same as converting every row on its own."""
    n_rows = len(lines)
    lasts = [max(i for i in span[:4] if i is not None) for span in cols.spans[:2]]
    width = widths[0]
    if widths.count(width) == n_rows:
        flat = " ".join(lines).split()

        def column(i: int, present: list[bool] | None) -> list[str]:
            return flat[i::width]

        masks: list[list[bool] | None] = [None if last < width else [] for last in lasts]
    else:
        token_rows = [line.split() for line in lines]

        def column(i: int, present: list[bool] | None) -> list[str]:
            if present is None:
                return [t[i] for t in token_rows]
            return [t[i] for t, p in zip(token_rows, present, strict=True) if p]

        masks = [[last < w for w in widths] for last in lasts]
        masks = [None if all(m) else m for m in masks]  # type: ignore[arg-type]

    none_col: list[Any] = [None] * n_rows
    lp = cols.lead_pos
    out: list[list[Any]] = [_uint_col(column(lp["size"], None))]
    i = lp.get("count")
    out.append(none_col if i is None else _uint_col(column(i, None)))
    for name in ("type", "redop"):
        i = lp.get(name)
        out.append(none_col if i is None else column(i, None))
    i = lp.get("root")
    if i is None:
        out.append(none_col)
    else:
        root_s = column(i, None)
        if _INT_LIST.fullmatch(" ".join(root_s)):
            out.append(list(map(int, root_s)))
        else:
            out.append([int(s) if _INT_RE.match(s) else None for s in root_s])
    for (t_i, a_i, b_i, w_i, is_error), present in zip(cols.spans[:2], masks, strict=False):
        if present is not None and not any(present):
            out += [none_col] * 5
            continue
        n_sel = n_rows if present is None else sum(present)
        none_sel: list[Any] = [None] * n_sel
        block: list[list[Any]] = [
            none_sel if i is None else _float_col(column(i, present)) for i in (t_i, a_i, b_i)
        ]
        if w_i is None:
            block += [none_sel, none_sel]
        elif is_error:
            block += [none_sel, _float_col(column(w_i, present))]
        else:
            block += [_uint_col(column(w_i, present)), none_sel]
        if present is not None:  # scatter back: rows without this block get None
            for j, c in enumerate(block):
                it = iter(c)
                block[j] = [next(it) if p else None for p in present]
        out.extend(block)
    while len(out) < len(_FIELDS):
        out.append(none_col)
    rows = [NcclRow(*values) for values in zip(*out, strict=True)]
    return rows, out


_OPS = frozenset({"sum", "prod", "max", "min", "avg", "mulsum", "premulsum", "none"})
"""What nccl-tests prints in the redop column (``none`` for a collective without a reduction)."""
_TYPE_BYTES = {
    "int8": 1,
    "uint8": 1,
    "char": 1,
    "f8e4m3": 1,
    "f8e5m2": 1,
    "fp8_e4m3": 1,
    "fp8_e5m2": 1,
    "half": 2,
    "float16": 2,
    "bfloat16": 2,
    "int32": 4,
    "uint32": 4,
    "int": 4,
    "float": 4,
    "float32": 4,
    "int64": 8,
    "uint64": 8,
    "double": 8,
    "float64": 8,
}
"""Bytes per element of the type names nccl-tests and rccl-tests print."""


def _fit(tokens: list[str], cols: _Columns) -> tuple[_Columns, str | None]:
    """The columns of a row one token short of its header: an optional ``redop`` or ``root`` column the
    rows leave blank (older alltoall builds print a redop header over empty cells) is dropped, so the
    values after it are read under their own names, never shifted under the previous one."""
    if len(tokens) != cols.width - 1 or not cols.blocks:
        return cols, None
    for name in ("redop", "root"):
        i = cols.lead_pos.get(name)
        if i is None:
            continue
        token = tokens[i]
        fits = token.lower() in _OPS if name == "redop" else _INT_RE.match(token) is not None
        if not fits:
            return _Columns([c for c in cols.lead if c != name], cols.blocks), name
    return cols, None


@dataclass(frozen=True, slots=True)
class _Shape:
    """What the table of one run says about its collective and rank count."""

    collective: str | None  # a modelled collective, or None when the table cannot tell
    phrase: str  # how to say it ("all_gather (or alltoall: ...)", "gather or scatter")
    evidence: str  # what was read ("redop none, root -1, size = count x 4 B x 16, busbw/algbw = 0.9375")
    ranks: int | None  # from size / (count x type size), or from busbw / algbw
    ranks_how: str


def _ranks_from_ratio(collective: str, alg: float, bus: float) -> int | None:
    """n from busbw = algbw x factor(n), when the printed two decimals are precise enough to tell n."""
    f = bus / alg
    df = 0.005 * (1 + f) / alg  # both printed with 2 decimals
    if collective == "all_reduce":
        if f >= 2:
            return None
        n, dn = 2 / (2 - f), 2 * df / (2 - f) ** 2
    elif collective in ("reduce_scatter", "all_gather", "alltoall"):
        if f >= 1:
            return None
        n, dn = 1 / (1 - f), df / (1 - f) ** 2
    else:
        return None
    k = round(n)
    return k if k >= 1 and abs(n - k) <= 0.25 and dn <= 0.25 else None


def _shape(run: _Run, data: list[list[Any]]) -> _Shape | None:
    """Read the collective from the table's shape (nccl-tests' common.cu prints, per size:
    size = max(send, receive bytes), count = the per-rank element count, the op name or ``none``, the
    root or -1): a reduction op says all_reduce, reduce_scatter or reduce; a root >= 0 says a rooted
    collective; size = count x type size x n says one of the n-way collectives (all_gather,
    reduce_scatter, alltoall) and n itself."""
    cols = run.columns
    sizes: list[int | None] = data[0]
    if cols is None or not sizes:
        return None
    counts, types, redops, roots = data[1], data[2], data[3], data[4]
    has_redop, has_root = "redop" in cols.lead, "root" in cols.lead
    # set() first: a 10,000-row run has a handful of distinct values (C-level, not a Python loop per row)
    ops = {str(v).lower() for v in set(redops) if v} if has_redop else set()
    reducing = bool(ops - {"none"})
    rooted = has_root and max((r for r in set(roots) if r is not None), default=-1) >= 0
    parts = [
        ("redop " + "/".join(sorted(ops)))
        if ops
        else ("redop blank" if "redop" in run.blank else "no redop"),
        ("root " + ("0+" if rooted else "-1")) if has_root else "no root",
    ]
    q: int | None = None
    largest = max(filter(None, sizes), default=None)  # the row of the largest size tells most precisely
    best = sizes.index(largest) if largest is not None else None
    if best is not None and counts[best] and types[best] in _TYPE_BYTES:
        width = _TYPE_BYTES[types[best]]
        qf = (sizes[best] or 0) / (counts[best] * width)
        if qf >= 0.99 and abs(qf - round(qf)) < 0.01:
            q = round(qf)
            parts.append(f"size = count x {width} B" + (f" x {q}" if q > 1 else ""))
    top: tuple[float, float] | None = None  # (algbw, busbw) of the highest algbw, out-of-place or in-place
    for alg, bus in ((data[6], data[7]), (data[11], data[12])):
        peak = max(filter(None, alg), default=None)
        if peak is not None and peak > 0:
            at = bus[alg.index(peak)]
            if at is not None and (top is None or (peak, at) > top):
                top = (peak, at)
    if top is not None:
        parts.append(f"busbw/algbw = {top[1] / top[0]:.4f}")
    name: str | None
    phrase = ""
    if rooted:
        name = ("reduce" if reducing else "broadcast") if q in (None, 1) else None
        phrase = name or "gather or scatter (not modelled)"
    elif reducing:
        if q is None:
            name = None if top is None else ("all_reduce" if top[1] >= top[0] else "reduce_scatter")
        else:
            name = "all_reduce" if q == 1 else "reduce_scatter"
    elif q is not None and q > 1:
        if "redop" in run.blank:
            name = "alltoall"  # older builds print no op under a redop header only for alltoall
        else:
            name = "all_gather"
            if has_redop:  # newer builds print "none" for both: their tables are alike
                phrase = "all_gather (or alltoall: their tables are alike)"
    elif q == 1 and top is not None and abs(top[1] - top[0]) <= 0.011 + 0.002 * top[1]:
        name = "sendrecv"
    elif q is None and not has_redop and not has_root:
        name = "all_gather"  # the old all_gather header: neither redop nor root
    else:
        name = None
    ranks: int | None = None
    how = ""
    if name in ("all_gather", "reduce_scatter", "alltoall") and q is not None and q > 1:
        ranks, how = q, f"size = count x type size x {q}"
    elif name is not None and top is not None:
        ranks = _ranks_from_ratio(name, top[0], top[1])
        how = f"busbw/algbw = {top[1] / top[0]:.4f}"
    return _Shape(name, phrase or (name or ""), ", ".join(parts), ranks, how)


def _finish(run: _Run) -> NcclRun:
    warnings = run.warnings
    hosts: list[str] = []
    seen: set[str] = set()
    for _, host, _ in run.devices:
        if host not in seen:
            seen.add(host)
            hosts.append(host)
    indices = sorted({r for r, _, _ in run.devices})
    complete = bool(indices) and indices[-1] == len(indices) - 1
    model = Counter(name for _, _, name in run.devices if name).most_common(1)
    collective: Collective | None = _as_collective(run.collective)
    if run.rows and run.columns is not None:
        rows, data = _build_rows(run.rows, run.widths, run.columns)
    else:
        rows, data = [], [[] for _ in _FIELDS]
    shape = _shape(run, data) if rows else None
    if run.collective is not None and collective is None:
        warnings.append(
            f"collective {run.collective}: not one clustermax models ({', '.join(COLLECTIVES)});"
            " busbw is not checked against a factor"
        )
    elif collective is None and shape is not None and shape.collective is not None:
        collective = _as_collective(shape.collective)
        warnings.append(
            f"collective not named in the log: inferred from the table ({shape.evidence}) as {shape.phrase}"
        )
    elif collective is None and shape is not None:
        warnings.append(f"collective not named in the log and the table cannot tell it ({shape.evidence})")
    elif (
        collective is not None
        and shape is not None
        and shape.collective is not None
        and shape.collective != collective
        and {shape.collective, collective} != {"all_gather", "alltoall"}
    ):
        warnings.append(
            f"the log names {collective} but the table's shape says {shape.phrase} ({shape.evidence})"
        )
    table_ranks = shape.ranks if shape is not None and shape.collective == collective else None
    ranks = indices[-1] + 1 if indices else None
    nodes: int | None = len(hosts) if complete else None
    if indices and not complete:
        said = f"device list incomplete ({len(indices)} line(s), highest rank {indices[-1]})"
        if table_ranks is not None and table_ranks > indices[-1]:
            ranks = table_ranks
            warnings.append(f"{said}: {ranks} ranks from the table ({shape.ranks_how if shape else ''})")
        else:
            warnings.append(f"{said}: ranks taken as {ranks}")
        warnings.append(f"node count unknown: the incomplete device list names {len(hosts)} host(s)")
    elif table_ranks is not None and ranks is None:
        ranks = table_ranks
        warnings.append(
            f"no device list: {ranks} ranks inferred from the table ({shape.ranks_how if shape else ''})"
        )
    elif table_ranks is not None and ranks is not None and table_ranks != ranks:
        warnings.append(
            f"the device list has {ranks} ranks but the table says {table_ranks}"
            f" ({shape.ranks_how if shape else ''}); the device list is kept"
        )
    sizes: list[int | None] = data[0]
    oop_alg, oop_bus, oop_wrong = data[6], data[7], data[8]
    ip_alg, ip_bus, ip_wrong = data[11], data[12], data[13]
    factor = busbw_factor(collective, ranks)
    mismatches = 0
    first_bad: str | None = None
    values: list[float] = [v for pair in zip(oop_bus, ip_bus, strict=True) for v in pair if v is not None]
    if factor is not None:
        for size, oa, ob, ia, ib in zip(sizes, oop_alg, oop_bus, ip_alg, ip_bus, strict=True):
            for alg, bus in ((oa, ob), (ia, ib)):
                if alg is None or bus is None:
                    continue
                expected = alg * factor
                # both printed with 2 decimals: algbw's rounding is scaled by the factor
                if abs(expected - bus) > 0.011 + 0.005 * factor + 0.002 * bus:
                    mismatches += 1
                    if first_bad is None:
                        first_bad = f"size {size}: printed {bus:g}, algbw x factor = {expected:.2f}"
    if mismatches:
        warnings.append(
            f"busbw disagrees with algbw x {factor:.4f} (doc/PERFORMANCE.md factor for {collective} "
            f"with {ranks} ranks) in {mismatches} value(s); first at {first_bad}"
        )
    computed = round(sum(values) / len(values), 4) if values else None
    if run.avg is not None and computed is not None:
        if abs(run.avg - computed) > 0.01 + 0.005 * abs(computed):
            warnings.append(
                f"printed Avg bus bandwidth {run.avg:g} differs from the mean of the rows {computed:g}"
            )
    peak = max(values) if values else None
    max_size = max((s for s in sizes if s is not None), default=None)
    at_max: float | None = None
    if max_size is not None:
        for size, bus in zip(sizes, oop_bus, strict=True):
            if size == max_size:
                at_max = bus
    wrongs = [w for pair in zip(oop_wrong, ip_wrong, strict=True) for w in pair if w is not None]
    if rows and not run.footer:
        warnings.append(
            "no 'Out of bounds values' / 'Avg bus bandwidth' footer: the run may have been cut short"
        )
    if rows and run.guessed:
        warnings.append("no column header before the rows: columns were inferred from the row width")
    if not rows and run.failure:
        warnings.append(f"no result rows: the test aborted ({run.failure})")
    elif not rows and (run.devices or run.columns):
        warnings.append("no result rows: the run ended before printing any")
    return NcclRun.model_construct(
        impl="rccl-tests" if run.rccl else "nccl-tests",
        collective=collective,
        ranks=ranks,
        nodes=nodes or None,
        hosts=hosts,
        gpu_model=model[0][0] if model else None,
        nccl_version=run.nccl_version,
        nccl_tests_version=run.tests_version,
        min_bytes=run.min_bytes,
        max_bytes=run.max_bytes,
        rows=rows,
        avg_busbw_gbps=run.avg,
        avg_busbw_computed_gbps=computed,
        peak_busbw_gbps=peak,
        max_size_bytes=max_size,
        busbw_at_max_size_gbps=at_max,
        wrong_total=sum(wrongs) if wrongs else None,
        out_of_bounds_ok=run.oob_ok,
        out_of_bounds_values=run.oob_values,
        busbw_factor=round(factor, 6) if factor is not None else None,
        busbw_mismatch_rows=mismatches,
        failure=run.failure,
    )


@unwrapped_input
def parse_nccl_tests(text: str) -> NcclTestsOutput:
    """Parse an nccl-tests / rccl-tests log. Raises :class:`ParseError` when it is not one."""
    if not isinstance(text, str):
        raise ParseError(KIND, "expected text")
    text = normalize(text)
    runs: list[_Run] = []
    run = _Run()
    pending_collective: str | None = None
    pending_version: str | None = None
    rccl_seen = False

    def new_run() -> _Run:
        nonlocal run
        if not run.empty():
            runs.append(run)
        run = _Run()
        run.rccl = rccl_seen
        return run

    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        c0 = line[0]
        if "0" <= c0 <= "9":  # a data row (the hot path: keep it lean)
            tokens = line.split()
            t0 = tokens[0]
            if not (t0.isdigit() and t0.isascii()):
                continue
            cols = run.columns
            if cols is None:
                if len(tokens) < 8 or not _looks_numeric_row(tokens):
                    continue
                if run.footer:
                    new_run()
                run.columns = cols = _guess_columns(len(tokens))
                run.guessed = True
            elif run.footer:
                # rows after a footer without a new header: a new run with the same columns
                new_run().columns = cols
            n = len(tokens)
            if not run.rows and n == cols.width - 1:
                fitted, blank = _fit(tokens, cols)
                if blank is not None:
                    run.columns = cols = fitted
                    run.blank.append(blank)
                    run.warnings.append(
                        f"the header has a {blank} column the rows leave blank: values read under their"
                        " own column names"
                    )
            if not (n >= cols.min_width and cols.size_first) and not _readable(tokens, cols):
                run.warnings.append(f"unreadable row skipped: {line[:80]}")
                continue
            if run.collective is None and pending_collective is not None:
                run.collective = pending_collective
            if run.nccl_version is None and pending_version is not None:
                run.nccl_version = pending_version
            run.rows.append(line)
            run.widths.append(n)
            continue
        body = line[1:].strip() if c0 == "#" else line
        if not body:
            continue
        b0 = body[:4]
        if b0 == "size" or b0 == "Size":
            tokens = body.split()
            lowered = [t.lower() for t in tokens]
            if "count" in lowered and "time" in lowered:
                cols_h = _columns_from_header(tokens)
                if cols_h is not None:
                    if run.rows or run.footer:
                        new_run()
                    run.columns = cols_h
                continue
        elif b0 == "Rank":
            m = _DEVICE.match(body)
            if m:
                if run.rows or run.footer:
                    new_run()
                run.devices.append((int(m.group(1)), m.group(2), m.group(5)))
                continue
        elif b0 == "nThr":
            if run.rows or run.footer or run.devices:
                new_run()
            run.started = True
            m2 = _NTHREAD.search(body)
            if m2:
                run.min_bytes, run.max_bytes = int(m2.group(1)), int(m2.group(2))
            if run.collective is None and pending_collective is not None:
                run.collective = pending_collective
            if pending_version and run.nccl_version is None:
                run.nccl_version = pending_version
            continue
        elif b0 == "Out ":
            m3 = _OOB.search(body)
            if m3:
                run.oob_values = int(m3.group(1))
                run.oob_ok = m3.group(2).upper() == "OK"
                run.footer = True
                continue
        elif b0 == "Avg ":
            m4 = _AVG.search(body)
            if m4:
                run.avg = to_float(m4.group(1))
                run.footer = True
                continue
        elif b0 == "Coll":
            m5 = _STARTING.search(body)
            if m5:
                name = _collective_name(m5.group(1))
                if "starting" in body:
                    if run.rows or run.footer or run.devices or run.started:
                        new_run()
                    run.started = True
                    run.collective = name
                    if pending_version:
                        run.nccl_version = run.nccl_version or pending_version
                elif run.collective is None:
                    run.collective = name
                pending_collective = None
                continue
        elif b0 == "nccl" and body.startswith("nccl-tests version"):
            m6 = _TESTS_VERSION.search(body)
            if m6:
                if run.rows or run.footer:
                    new_run()
                run.tests_version = m6.group(1)
                if m6.group(2):
                    pending_version = _code_to_version(m6.group(2))
                    run.nccl_version = pending_version
            continue
        # any other line: launcher commands, NCCL INFO, version banners, shell noise
        if "failure" in line and run.failure is None:
            m9 = _FAILURE.search(line)
            if m9:
                run.failure = m9.group(0)
                continue
        if "_perf" in line:
            m7 = _PERF_NAME.search(line)
            if m7:
                name = m7.group(1)
                if run.rows or run.footer:
                    new_run()
                    pending_collective = name
                elif run.started or run.devices:
                    run.collective = run.collective or name
                else:
                    pending_collective = name
                    run.collective = name
        if "version" in line.lower():
            if "rccl" in line.lower():
                rccl_seen = True
                run.rccl = True
            m8 = _NCCL_VERSION.search(line)
            if m8:
                if run.nccl_version is None:
                    run.nccl_version = m8.group(1)
                pending_version = pending_version or m8.group(1)
    if not run.empty():
        runs.append(run)

    runs = [r for r in runs if r.rows or r.devices or r.columns or r.footer or (r.failure and r.started)]
    if not runs or not any(r.rows or r.columns or r.devices or r.failure for r in runs):
        raise ParseError(
            KIND,
            "expected nccl-tests output (a '#  size  count  type ... busbw' header and result rows);"
            " found none",
        )
    finished = [_finish(r) for r in runs]
    first = finished[0]
    warnings: list[str] = []
    for i, r in enumerate(runs):
        for w in r.warnings:
            warnings.append(f"run {i}: {w}" if len(finished) > 1 else w)
    if len(finished) > 1:
        warnings.append(f"{len(finished)} runs in one file: top-level fields describe run 0; see 'runs'")
    data = {name: getattr(first, name) for name in _RunFields.model_fields}
    return NcclTestsOutput.model_construct(warnings=warnings, runs=finished, **data)


def _as_collective(name: str | None) -> Collective | None:
    for c in get_args(Collective):
        if name == c:
            return c  # type: ignore[no-any-return]
    return None


def _collective_name(binary: str) -> str | None:
    """The collective of an nccl-tests binary name or path (``/opt/nccl-tests/build/all_reduce_perf``,
    ``all_gather_perf_mpi`` of a ``NAME_SUFFIX=_mpi`` build), modelled or not; None for anything else."""
    m = _BINARY.match(binary.rsplit("/", 1)[-1])
    return m.group(1) if m else None


def _looks_numeric_row(tokens: list[str]) -> bool:
    return _uint(tokens[1]) and not _uint(tokens[2][:1])


_HEADER_LINE = re.compile(r"^#?\s*size\s+count\s+type\b.*\btime\s+algbw\s+busbw\b", re.M | re.I)
_DATA_ROW = re.compile(r"^\s*\d{1,20}\s+\d{1,20}\s+[A-Za-z]\w*(?:\s+\S+){4,}\s*$", re.M)
_FOOTER = re.compile(r"^#?\s*(?:Avg bus bandwidth\s*:|Out of bounds values\s*:)", re.M)
_NTHREAD_LINE = re.compile(r"^#\s*nThreads?\s+\d+\s+nGpus\s+\d+\s+minBytes\s+\d+", re.M)


@unwrapped_detect
def detect_nccl_tests(text: str) -> float:
    """Confidence from structure: the column header (``size count type ... time algbw busbw``) with result
    rows under it (0.95); rows with the footer (0.9, a paste without the header); the ``# nThread``
    line with rows, device lines or the test's own abort line (0.8). Words such as "busbw" in prose are
    not enough."""
    if not isinstance(text, str):
        return 0.0
    head = text[:200_000]
    rows = _DATA_ROW.search(head) is not None
    if rows and _HEADER_LINE.search(head):
        return 0.95
    if rows and _FOOTER.search(head):
        return 0.9
    if _NTHREAD_LINE.search(head) and (rows or _DEVICE_ANY.search(head) or _FAILURE.search(head)):
        return 0.8
    return 0.0


_DEVICE_ANY = re.compile(
    r"^#?\s*Rank\s+\d{1,9}\s+(?:Group\s+\d+\s+)?Pid\s+\d+\s+on\s+\S+\s+device\s+\d+", re.M
)

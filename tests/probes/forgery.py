"""Forged nccl-tests logs, made in code from the real recorded ones (tests/data/nccl-tests).

A provider who wants a better rating edits a real log: scales busbw, claims more ranks, speeds up the
times. Each function here makes one such edit to the text of a real fixture, row by row, keeping every
other byte; what it returns is the forged log, never stored. A fixture whose data rows do not line up
with their column header token by token (a blank redop column) is not edited (None).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "nccl-tests"

_PREFIX = re.compile(r"^(\s*(?:\d{1,5}:\s+|\[\d+,\d+\]<std(?:out|err)>:\s*)?)(.*)$")


def real_logs() -> list[Path]:
    """Every recorded real nccl-tests / rccl-tests log."""
    return sorted(p for p in DATA.iterdir() if p.suffix in (".log", ".txt"))


@dataclass
class Table:
    """Where time / algbw / busbw sit in a log's data rows (token indexes, out-of-place then in-place)."""

    time: list[int]
    algbw: list[int]
    busbw: list[int]
    width: int


def _header(tokens: list[str]) -> Table | None:
    names = [t.lstrip("#") for t in tokens if t.lstrip("#")]
    if "size" not in names or "time" not in names:
        return None
    names = names[names.index("size") :]
    idx = {n: [i for i, x in enumerate(names) if x == n] for n in ("time", "algbw", "busbw")}
    if not all(idx.values()):
        return None
    return Table(idx["time"], idx["algbw"], idx["busbw"], len(names))


RowEdit = Callable[[list[str], Table], list[str]]


def _fmt(value: float, like: str) -> str:
    decimals = len(like.split(".")[1]) if "." in like else 0
    return f"{value:.{decimals}f}".rjust(len(like))


def edit_rows(text: str, edit: RowEdit) -> str | None:
    """``text`` with every data row passed through ``edit`` (tokens, table) -> tokens; None when no row
    lines up with its header."""
    out: list[str] = []
    table: Table | None = None
    edited = 0
    for line in text.split("\n"):
        m = _PREFIX.match(line)
        assert m is not None
        prefix, body = m.group(1), m.group(2)
        tokens = body.split()
        if body.lstrip().startswith("#") and "algbw" in body and "time" in body:
            table = _header(body.replace("#", " # ").split())
        elif table is not None and tokens and tokens[0].isdigit() and len(tokens) == table.width:
            try:
                [float(tokens[i]) for i in table.time + table.algbw + table.busbw]
            except ValueError:
                out.append(line)
                continue
            new = edit(tokens, table)
            if new != tokens:
                edited += 1
            # keep the row's spacing: each token right-aligned in the width it had
            spans = [(mm.start(), mm.end()) for mm in re.finditer(r"\S+", body)]
            chars = list(body)
            for (start, end), old, value in sorted(zip(spans, tokens, new, strict=True), reverse=True):
                if old != value:
                    width = end - start
                    chars[start:end] = list(value.rjust(width) if len(value) <= width else value)
            line = prefix + "".join(chars)
        out.append(line)
    return "\n".join(out) if edited else None


def scale_busbw(factor: float) -> RowEdit:
    """busbw x factor in both blocks (algbw and time as printed)."""

    def edit(tokens: list[str], t: Table) -> list[str]:
        new = list(tokens)
        for i in t.busbw:
            new[i] = _fmt(float(tokens[i]) * factor, tokens[i])
        return new

    return edit


def scale_bandwidths(factor: float) -> RowEdit:
    """algbw and busbw x factor (time as printed): the figures no longer follow size / time."""

    def edit(tokens: list[str], t: Table) -> list[str]:
        new = list(tokens)
        for i in t.algbw + t.busbw:
            new[i] = _fmt(float(tokens[i]) * factor, tokens[i])
        return new

    return edit


def copy_out_of_place() -> RowEdit:
    """The in-place block replaced by a copy of the out-of-place one."""

    def edit(tokens: list[str], t: Table) -> list[str]:
        new = list(tokens)
        if len(t.time) < 2:
            return new
        for col in (t.time, t.algbw, t.busbw):
            new[col[1]] = tokens[col[0]]
        return new

    return edit


def consistent_speedup(factor: float, busbw_per_algbw: float) -> RowEdit:
    """A careful forgery: every time / factor, algbw recomputed as size / time and busbw as algbw x the
    collective's factor, printed as nccl-tests prints them; the table agrees with itself, only the
    hardware can tell."""

    def edit(tokens: list[str], t: Table) -> list[str]:
        new = list(tokens)
        size = int(tokens[0])
        for ti, ai, bi in zip(t.time, t.algbw, t.busbw, strict=True):
            time_us = float(tokens[ti]) / factor
            alg = size / time_us / 1e3 if time_us > 0 else 0.0
            new[ti] = (
                f"{time_us:7.2f}"
                if time_us < 100
                else (f"{time_us:7.1f}" if time_us < 10000 else f"{time_us:7.0f}")
            )
            new[ai] = f"{alg:6.2f}"
            new[bi] = f"{alg * busbw_per_algbw:6.2f}"
        return new

    return edit


def drop_ranks(text: str, keep: int) -> str | None:
    """The device list cut to its first ``keep`` ranks (the table as printed): the log now claims fewer
    ranks than the figures were measured with. None when the log has no such list."""
    lines = text.split("\n")
    rank = re.compile(r"#?\s*Rank\s+(\d+)\s")
    out = []
    dropped = 0
    for line in lines:
        body = _PREFIX.match(line)
        assert body is not None
        m = rank.search(body.group(2))
        if m and int(m.group(1)) >= keep:
            dropped += 1
            continue
        out.append(line)
    return "\n".join(out) if dropped else None

"""Small text helpers shared by the tool-output parsers (pure, fast, never raising).

Other parsers may import from here: :func:`normalize` (line endings, ANSI escapes, NUL bytes), and the
lenient number converters :func:`to_float` / :func:`to_int` that map ``N/A``, ``[Not Supported]``,
NaN and infinities to ``None`` (an absent value is null, never 0), and :func:`bounded_int` for ids,
indices, counts and byte sizes captured by a regex (``int()`` raises ValueError past 4300 digits).
Launcher prefixes and other wrappers around a tool's output are removed by :mod:`._paste`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

NA_WORDS = frozenset(
    {"n/a", "na", "none", "-", "", "[n/a]", "[not supported]", "not supported", "[unknown error]", "unknown"}
)


def normalize(text: str) -> str:
    """Unify line endings and drop ANSI colour escapes and NUL bytes."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    if "\x00" in text:
        text = text.replace("\x00", "")
    return text


def _printed(value: str | None) -> str | None:
    """The value stripped; None for nothing and for the words tools print for "no value"."""
    if value is None:
        return None
    s = value.strip()
    return None if s.lower() in NA_WORDS else s


def to_float(value: str | None) -> float | None:
    """Parse a number the way tools print it; None for N/A-like words, NaN, infinities, garbage."""
    s = _printed(value)
    if s is None:
        return None
    try:
        f = float(s)
    except ValueError:
        return None
    if math.isnan(f) or math.isinf(f):
        return None
    return f


def to_int(value: str | None) -> int | None:
    """Parse an integer (also "12.0" or "0x1f"); None when it is not one."""
    s = _printed(value)
    if s is None:
        return None
    try:
        return int(s, 0) if s.lower().startswith("0x") else int(s)
    except ValueError:
        f = to_float(s)
        if f is None or not f.is_integer() or abs(f) > 2**63:
            return None
        return int(f)


def bounded_int(value: str | None, max_digits: int = 20) -> int | None:
    """``int(value)`` for an optionally signed run of at most ``max_digits`` ASCII digits, else None.

    Ids, indices, counts and byte sizes never need more than 20 digits (2**64 has 20); a longer run
    is not a real value, and ``int()`` raises ValueError (not a ParseError) past 4300 digits."""
    if not value:
        return None
    digits = value[1:] if value[0] in "+-" else value
    if not digits or len(digits) > max_digits or not (digits.isascii() and digits.isdigit()):
        return None
    return int(value)


def leading_number(value: str | None) -> float | None:
    """The number at the start of ``value`` ("700.00 W" -> 700.0, "30C" -> 30.0, "N/A" -> None)."""
    if value is None:
        return None
    m = _LEADING_NUMBER.match(value.strip())
    if m is None:
        return None
    # a matched number is never an N/A word: to_float reduces to float() and the finiteness check
    try:
        f = float(m.group(0))
    except ValueError:
        return None
    return f if f - f == 0.0 else None


_LEADING_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def one_line(text: str, limit: int = 160) -> str:
    """A short single-line excerpt of ``text`` for error messages."""
    s = " ".join(text.split())
    return s if len(s) <= limit else s[: limit - 3] + "..."


_INF = float("inf")


def fast_float(s: str) -> float | None:
    """:func:`to_float` with a fast path for plain numbers (the common case in big tables)."""
    try:
        f = float(s)
    except ValueError:
        return None
    if f != f or f == _INF or f == -_INF:
        return None
    return f


_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}


def ctime_to_iso(raw: str) -> str | None:
    """'Wed Jul 31 23:14:18 2024' -> '2024-07-31T23:14:18' (None when it is not that shape)."""
    parts = raw.split()
    if len(parts) != 5:
        return None
    month = _MONTHS.get(parts[1])
    day, year = parts[2], parts[4]
    if month is None or len(day) > 2 or len(year) != 4 or not (day.isdigit() and year.isdigit()):
        return None
    if len(parts[3]) != 8:
        return None
    return f"{parts[4]}-{month:02d}-{int(parts[2]):02d}T{parts[3]}"


def first_match(text: object, rules: Sequence[tuple[re.Pattern[str], float]], head: int = 4000) -> float:
    """A detector: the confidence of the first rule whose pattern occurs in the first ``head`` characters
    of ``text`` (0.0 for none, and for anything that is not text)."""
    if not isinstance(text, str):
        return 0.0
    start = text[:head]
    for pattern, confidence in rules:
        if pattern.search(start):
            return confidence
    return 0.0

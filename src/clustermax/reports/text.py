"""Text helpers shared by the renderers: control-sequence stripping and number formatting."""

from __future__ import annotations

from typing import Any

# The escaping itself lives in the one output sanitiser (clustermax.sanitize), shared by every output.
from ..sanitize import clean, clean_tree, needs_clean_json, one_line

__all__ = [
    "clean",
    "clean_tree",
    "fmt_duration",
    "fmt_param",
    "fmt_pct",
    "fmt_size",
    "fmt_value",
    "needs_clean_json",
    "one_line",
]


def fmt_value(value: Any, unit: str | None = None) -> str:
    """A value for people: None is 'not measured', floats get sensible precision, units appended."""
    if value is None:
        return "not measured"
    if isinstance(value, bool):
        text = "yes" if value else "no"
        return text
    if isinstance(value, float):
        if value != value:  # NaN
            return "not measured"
        magnitude = abs(value)
        if magnitude >= 100:
            text = f"{value:,.0f}"
        elif magnitude >= 10:
            text = f"{value:.1f}"
        elif magnitude >= 1:
            text = f"{value:.2f}"
        else:
            text = f"{value:.3g}"
    elif isinstance(value, (list, tuple)):
        text = ", ".join(str(v) for v in value)
    elif isinstance(value, dict):
        text = ", ".join(f"{k}={v}" for k, v in value.items())
    else:
        text = str(value)
    if unit and unit not in ("text", "bool", "version", "count"):
        sep = "" if unit == "%" else " "
        return f"{text}{sep}{unit}"
    return text


def fmt_size(size_bytes: float) -> str:
    """Message size in binary units, the way nccl-tests users talk about it (16M, 512M, 8G)."""
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    value = float(size_bytes)
    for unit in units:
        if abs(value) < 1024 or unit == units[-1]:
            return f"{value:g} {unit}" if unit != "B" else f"{int(value)} B"
        value /= 1024
    return f"{value:g} TiB"  # pragma: no cover - loop always returns


def fmt_pct(fraction: float | None) -> str:
    return "not measured" if fraction is None else f"{fraction * 100:.0f}%"


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def fmt_param(value: Any) -> str:
    """A probe parameter as recorded: lists joined by commas, empty text as '""', null as 'null'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(fmt_param(v) for v in value) or "[]"
    if isinstance(value, dict):
        return ",".join(f"{k}:{fmt_param(v)}" for k, v in value.items()) or "{}"
    if value == "":
        return '""'
    return str(value)

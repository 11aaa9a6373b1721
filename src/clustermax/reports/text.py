"""Text helpers shared by the renderers: control-sequence stripping and number formatting."""

from __future__ import annotations

import re
from typing import Any

# ANSI/VT escape sequences: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), and two-byte escapes.
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC, terminated by BEL or ST (or cut short)
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC strings
    r"|\x1b[@-Z\\-_]"  # two-byte escapes
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
# What is left after the sequences are gone: C0 controls except tab and newline, DEL, C1 controls,
# and the Unicode bidi overrides that can make a line read differently from what it holds.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """Remove terminal control sequences and control characters (keeps tab and newline).

    Every string that reaches a report went through this: remote output may hold ANSI colour codes,
    cursor movements or title-setting sequences, and XML (JUnit) forbids most control characters.
    """
    if not text or (text.isprintable() if "\n" not in text and "\t" not in text else _lines_printable(text)):
        return text
    return _CONTROL.sub("", _ANSI.sub("", text.replace("\r\n", "\n")))


def _lines_printable(text: str) -> bool:
    return all(line.isprintable() for line in text.replace("\t", " ").split("\n"))


# In JSON text (as pydantic writes it), C0 controls other than tab and newline appear as \u00XX, \b, \f
# or \r escapes; DEL, C1 controls and bidi overrides appear raw. A hit may be a false positive (an escaped
# backslash before 'u001b'); that only costs the full clean.
_DIRTY_JSON = re.compile(r"\\(?:u00[01][0-9a-fA-F]|[bfr])|[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean_tree(value: Any) -> Any:
    """:func:`clean` every string (and dict key) in a JSON-like tree."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, list):
        return [clean_tree(v) for v in value]
    if isinstance(value, dict):
        return {clean(k) if isinstance(k, str) else k: clean_tree(v) for k, v in value.items()}
    return value


def needs_clean_json(dumped: str) -> bool:
    """True when a JSON document may hold a string that :func:`clean` would change."""
    return _DIRTY_JSON.search(dumped) is not None


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~^$])")


def md_escape(text: object, limit: int = 400) -> str:
    """Inline-safe Markdown: control sequences gone, one line, HTML entities for <>&, a backslash before
    Markdown punctuation (so a value cannot open a heading, a link or a table cell)."""
    flat = one_line(clean(str(text)), limit)
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", flat)


def safe_line(text: object, limit: int = 400) -> str:
    """A value for a terminal: control sequences and characters gone, on one line."""
    return one_line(clean(str(text)), limit)


def one_line(text: str | None, limit: int = 400) -> str:
    """Collapse whitespace to one line and cut overly long text (with an ellipsis)."""
    if not text:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


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

"""The one output sanitiser: every string that came from a cluster or a bundle goes through it on its way
to a person.

Remote text may hold terminal escape sequences (a title change, a screen clear, a fake prompt), control
characters, bidi overrides that make a line read differently from what it holds, newlines that forge a
line of output or a Markdown heading, and markup (``<img onerror>``). What each output needs:

* terminal lines (audit progress, the audit summary, ``score`` tables and ``--explain``, error messages):
  :func:`term`: sequences and controls removed, whitespace (newlines included) folded to single spaces;
* multi-line text kept as text (report models, JUnit/XML, whose serialiser then escapes markup):
  :func:`clean` and :func:`clean_tree`: sequences and controls removed, tab and newline kept;
* Markdown (reports, ``score --format markdown``): :func:`md`: one line, ``<>&`` as entities, Markdown
  punctuation backslash-escaped (no heading, link, image, table cell break or HTML can be forged);
* HTML: the report model is :func:`clean`-ed, then Jinja2 autoescaping (and pygal's XML serialiser for
  the charts) escapes it; nothing remote is inserted as markup;
* CSV: :func:`csv_cell`: a cell that a spreadsheet would run as a formula gets a leading quote;
* Prometheus text exposition (``--format prometheus``): :func:`prom_label`: one clean line, with
  backslash, double quote and line feed escaped as the exposition format's label values need.
"""

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
# Line and paragraph separators (and NEL, already a C1 control) break lines in some terminals/editors.
_BREAKS = re.compile("[\u2028\u2029]")


def clean(text: str) -> str:
    """Remove terminal control sequences and control characters (keeps tab and newline)."""
    if not text or (text.isprintable() if "\n" not in text and "\t" not in text else _lines_printable(text)):
        return text
    return _BREAKS.sub("\n", _CONTROL.sub("", _ANSI.sub("", text.replace("\r\n", "\n"))))


def _lines_printable(text: str) -> bool:
    return all(line.isprintable() for line in text.replace("\t", " ").split("\n"))


# In JSON text (as pydantic writes it), C0 controls other than tab and newline appear as \u00XX, \b, \f
# or \r escapes; DEL, C1 controls and bidi overrides appear raw. A hit may be a false positive (an escaped
# backslash before 'u001b'); that only costs the full clean.
_DIRTY_JSON = re.compile(r"\\(?:u00[01][0-9a-fA-F]|[bfr])|[\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


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


def one_line(text: str | None, limit: int = 400) -> str:
    """Collapse whitespace to one line and cut overly long text (with an ellipsis)."""
    if not text:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def term(text: object, limit: int = 2000) -> str:
    """One terminal-safe line: no escape sequence, no control character, no line break."""
    if text is None:
        return ""
    raw = text if isinstance(text, str) else str(text)
    if raw.isprintable() and len(raw) <= limit:
        return raw
    return one_line(clean(raw), limit)


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~^$])")


def md(text: object, limit: int = 400) -> str:
    """Inline-safe Markdown: one line, HTML entities for <>&, backslash before Markdown punctuation."""
    flat = one_line(clean(str(text)), limit)
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", flat)


def prom_label(text: object, limit: int = 400) -> str:
    r"""A Prometheus label value (text exposition format): sequences and controls removed, one line,
    then backslash, double quote and line feed escaped (``\\``, ``\"``, ``\n``)."""
    flat = one_line(clean("" if text is None else str(text)), limit)
    return flat.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """Neutralise a spreadsheet formula (OWASP CSV injection): prefix it with a quote; numbers stay."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value

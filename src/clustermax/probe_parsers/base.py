"""Contract of probe parsers: one probe's raw output on one host -> measurements and findings.

Probe scripts print their tools' outputs in sections (see ``probes/_lib/prelude.sh``)::

    @@CMX:BEGIN nvidia-smi-q@@
    ...verbatim output...
    @@CMX:END nvidia-smi-q rc=0@@

A section whose command is not installed ends with ``rc=127 missing=<tool>``. Standard error of
a section, when not empty, follows as a section named ``<name>!stderr``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..models import CommandResult, Finding, JSONValue, Measurement, ProbeSpec, ProbeStatus, SubStatus

_BEGIN = re.compile(r"^@@CMX:BEGIN (?P<name>[^@\s]+)@@$")
_END = re.compile(r"^@@CMX:END (?P<name>[^@\s]+) rc=(?P<rc>-?\d+)(?: missing=(?P<missing>[^@\s]+))?@@$")


@dataclass(frozen=True)
class Section:
    name: str
    text: str
    rc: int | None
    """Exit status of the section's command; None when the END marker never came (cut output)."""
    missing: str | None = None
    """The tool that was not installed, when the section could not run."""

    @property
    def ok(self) -> bool:
        return self.rc == 0


def split_sections(stdout: str) -> dict[str, Section]:
    """Split a probe's stdout into its sections. Text outside sections is ignored.

    A section cut off before its END marker (timeout, output cap) is kept with ``rc=None``.
    When a name repeats, the last one wins.
    """
    sections: dict[str, Section] = {}
    current: str | None = None
    lines: list[str] = []
    for line in stdout.split("\n"):
        if current is None:
            m = _BEGIN.match(line)
            if m:
                current, lines = m.group("name"), []
            continue
        m_end = _END.match(line)
        if m_end and m_end.group("name") == current:
            text = "\n".join(lines)
            # the prelude always adds one newline before END; drop it
            text = text[:-1] if text.endswith("\n") else text
            sections[current] = Section(current, text, int(m_end.group("rc")), m_end.group("missing"))
            current = None
            continue
        lines.append(line)
    if current is not None:
        sections[current] = Section(current, "\n".join(lines), None)
    return sections


@dataclass(frozen=True)
class ProbeParseInput:
    """Everything a probe parser may look at. Pure data: re-parsing a bundle rebuilds it."""

    spec: ProbeSpec
    host: str
    commands: dict[str, CommandResult]
    """Raw results by step: 'main' (the script) and one per HTTP endpoint of the spec."""
    sections: dict[str, Section]
    """Sections of the 'main' step's stdout."""
    params: dict[str, JSONValue]


@dataclass
class ProbeParseOutput:
    status: ProbeStatus = ProbeStatus.OK
    substatus: SubStatus | None = None
    message: str = ""
    remediation: str | None = None
    measurements: list[Measurement] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    facts: dict[str, JSONValue] = field(default_factory=dict)

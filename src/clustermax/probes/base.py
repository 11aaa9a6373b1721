"""The contract of a probe module: what it is given, what it returns, and how it is declared.

Probe scripts print their tools' outputs in sections (see ``probes/_lib/prelude.sh``)::

    @@CMX:BEGIN nvidia-smi-q@@
    ...verbatim output...
    @@CMX:END nvidia-smi-q rc=0@@

A section whose command is not installed ends with ``rc=127 missing=<tool>``. Standard error of
a section, when not empty, follows as a section named ``<name>!stderr``.

Every probe id has one module in :mod:`clustermax.probes` (``clustermax/probes/<id>.py``), listed in
:data:`clustermax.probes.registry.PROBES`. The module provides (see :class:`ProbeModule`):

* ``from_sections(inp: ProbeInput) -> ProbeOutput``: one run of the probe on one host (its sections,
  parameters and raw commands) read with the tool parsers of :mod:`clustermax.parsers`, then mapped by
  the module's ``measure()``, plus what only a run knows (status, message, facts);
* ``measure(...)``: typed tool output -> measurements and findings. It is the only mapping from tool
  output to metrics: ``from_sections`` (audit and ``--reparse``) and the module's :data:`FILES`
  entries (``clustermax import``) both call it;
* ``FILES``: the parser kinds whose files ``clustermax import`` files under this probe, each with the
  function that maps the parsed files (through ``measure()``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from ..models import CommandResult, Finding, JSONValue, Measurement, ProbeSpec, ProbeStatus, SubStatus
from ..parsers.base import ParsedOutput

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
class ProbeInput:
    """Everything ``from_sections`` may look at. Pure data: re-parsing a bundle rebuilds it."""

    spec: ProbeSpec
    host: str
    commands: dict[str, CommandResult]
    """Raw results by step: 'main' (the script) and one per HTTP endpoint of the spec."""
    sections: dict[str, Section]
    """Sections of the 'main' step's stdout."""
    params: dict[str, JSONValue]


@dataclass
class ProbeOutput:
    """What one run of a probe (or the files of one import) gave, before it becomes a ProbeResult."""

    status: ProbeStatus = ProbeStatus.OK
    substatus: SubStatus | None = None
    message: str = ""
    remediation: str | None = None
    measurements: list[Measurement] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    facts: dict[str, JSONValue] = field(default_factory=dict)


def script_error(sections: dict[str, Section]) -> ProbeOutput | None:
    """The run's own ``error`` section (the script found it could not run here: no scheduler, no tool it
    needs) as an unsupported result with that text; None when there is none."""
    if "error" not in sections:
        return None
    return ProbeOutput(
        status=ProbeStatus.ERROR, substatus=SubStatus.UNSUPPORTED, message=sections["error"].text.strip()
    )


class Measured(NamedTuple):
    """What ``measure()`` returns: the measurements and findings of some typed tool output."""

    measurements: list[Measurement]
    findings: list[Finding]


@dataclass(frozen=True)
class ImportedOutput:
    """One file given to ``clustermax import``, parsed: the evidence the FILES mappings read."""

    kind: str
    """Parser kind (``nccl-tests``, ``scontrol-node`` ...)."""
    parsed: ParsedOutput
    host: str
    """The host the file belongs to (``--host``, the host the output names, or ``imported``)."""
    text: str
    """The file's text as stored in the bundle."""


@dataclass(frozen=True)
class ImportContext:
    """What a FILES mapping may know besides its own files; part of the bundle, so re-parsing agrees."""

    profile: Mapping[str, JSONValue] | None = None
    """The bundle's ``target.profile_override``."""
    others: Sequence[ImportedOutput] = ()
    """Every parsed file of the import (an nvidia-smi output's expected GPU count can come from an
    imported ``scontrol show node``)."""
    remediation: Mapping[str, str] = field(default_factory=dict)
    """The probe spec's remediation texts, by finding code."""


FileMeasure = Callable[[Sequence[ImportedOutput], ImportContext], Measured]


@dataclass(frozen=True)
class FileKind:
    """A parser kind whose files ``clustermax import`` files under the probe that declares it."""

    kind: str
    measure: FileMeasure
    """The parsed files of one result -> measurements and findings (through the probe's measure())."""
    grouped: bool = False
    """The files of this kind in one import form one result (the runs of one benchmark)."""
    context_kinds: frozenset[str] = frozenset()
    """Kinds of the import's other files that ``measure`` reads (as ``ImportContext.others``)."""
    content_host: Callable[[ParsedOutput], str | None] | None = None
    """The host a file of this kind belongs to when the output names it (an nccl-tests device list);
    ``--host`` wins, ``imported`` when neither says."""
    section: str | None = None
    """The section of the probe's own output that holds this tool's text (None: no probe script prints
    it; the kind is evidence only ``clustermax import`` brings). The audit and import paths are
    compared on it (tests/probes/test_audit_import_agree.py)."""


def unmeasured(files: Sequence[ImportedOutput], context: ImportContext) -> Measured:
    """For kinds that are evidence of a probe (kept in the bundle, parser warnings reported) but carry
    no metric of it (squeue, job-submission messages)."""
    return Measured([], [])


class ProbeModule(Protocol):
    """What every module of :mod:`clustermax.probes` named after a probe id provides (checked by mypy
    where :data:`clustermax.probes.registry.PROBES` lists the modules)."""

    @property
    def FILES(self) -> Sequence[FileKind]:
        """Parser kinds whose files ``clustermax import`` maps through this probe."""

    def from_sections(self, inp: ProbeInput) -> ProbeOutput:
        """One run of the probe on one host -> its output (never raises for bad tool output)."""

"""What the ``measure()`` functions share: how a tool's reading is held in a probe's evidence, and how a
finding gets the remediation text of its probe.

A slot of an evidence holds the typed reading of one tool (``Slot[NvidiaSmiOutput]``), None when the tool
ran but its output cannot be read (its metrics are then null: not measured), or :data:`NOT_COLLECTED`
when the tool is not part of the evidence at all (its metrics are left out). A probe run whose output has
no section for a tool and an import without a file of it are the same case.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from typing import Final, TypeVar, Union

from ..models import Finding, Measurement, ScalarValue, Unit
from ..parsers.base import ParseError
from .base import FileMeasure, ImportContext, ImportedOutput, Measured


class NotCollected(Enum):
    """A tool output that is not part of some evidence: the probe did not run the tool (its section is
    not in the output: skipped, or the output was cut before it) or the import has no file of it. Its
    metrics are left out; a tool that ran but whose output cannot be read gives null (not measured)."""

    NOT_COLLECTED = "not collected"


NOT_COLLECTED: Final = NotCollected.NOT_COLLECTED

T = TypeVar("T")
P = TypeVar("P")
Slot = Union[T, None, NotCollected]  # noqa: UP007 (a generic alias; X | Y cannot take a TypeVar here)
"""A tool output in some evidence: its typed reading, None (ran, unreadable) or NOT_COLLECTED."""


def readable(slot: Slot[T]) -> T | None:
    """The reading of a slot, None when it was not read (unreadable or not collected)."""
    return None if isinstance(slot, NotCollected) else slot


def parsed_or_none(parse: Callable[[str], P], text: str) -> P | None:
    """``parse(text)``; None when the text is not that tool's output (the parser raised ParseError)."""
    try:
        return parse(text)
    except ParseError:
        return None


def measurements_of(values: Mapping[str, tuple[ScalarValue, Unit]], host: str | None) -> list[Measurement]:
    """One measurement per metric of ``values`` (metric -> (value, unit)), in order, on ``host``."""
    return [Measurement(metric=m, value=v, unit=u, host=host) for m, (v, u) in values.items()]


def with_remediation(findings: Sequence[Finding], remediation: Mapping[str, str]) -> list[Finding]:
    """``findings`` with the probe spec's remediation text of their code (``slurm.no-pmix`` and
    ``no-pmix`` both read the key ``no-pmix``); a finding that has a text keeps it."""
    out = []
    for f in findings:
        if f.remediation is None:
            text = remediation.get(f.code) or remediation.get(f.code.split(".", 1)[-1])
            f = f.model_copy(update={"remediation": text}) if text is not None else f
        out.append(f)
    return out


E = TypeVar("E")


def one_file(
    evidence_of: Callable[[ImportedOutput, ImportContext], E],
    measure: Callable[[E, str, Mapping[str, str]], Measured],
) -> FileMeasure:
    """The FILES mapping of a kind whose files are one result each: the file read as the probe's
    evidence (what the probe has when that file is all it could read), then the probe's measure()."""

    def mapping(files: Sequence[ImportedOutput], context: ImportContext) -> Measured:
        return measure(evidence_of(files[0], context), files[0].host, context.remediation)

    return mapping

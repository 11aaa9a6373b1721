"""The contract every tool-output parser follows.

A parser is a pure function ``parse(text: str) -> <ParsedOutput subclass>``. It raises
:class:`ParseError` (and nothing else) when the text is not what it expects; when the text is
partly usable it returns what it found and lists ``warnings``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field


class ParseError(ValueError):
    """The text is not output of the expected tool. ``str(err)`` is one line saying what was expected."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


class ParsedOutput(BaseModel):
    """Base of every parser result. Keys of subclasses are a public contract: add, never rename."""

    model_config = ConfigDict(extra="forbid")

    warnings: list[str] = Field(default_factory=list, description="What could not be parsed, and why.")


@dataclass(frozen=True)
class ParserInfo:
    """A registered parser kind: its parse function and its detector (see :mod:`.registry`)."""

    kind: str
    description: str
    parse: Callable[[str], ParsedOutput]
    """Text -> model; raises :class:`ParseError` only."""
    detect: Callable[[str], float]
    """Confidence in [0, 1] that a text is this kind's output (0: not at all)."""

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
    """A registered parser kind."""

    kind: str
    description: str
    target: str
    """'module:function' of the parse function, imported lazily (keeps `clustermax --help` fast)."""
    detect_target: str
    """'module:function' returning a confidence in [0, 1] that a text is this kind's output."""

    def load(self) -> Callable[[str], ParsedOutput]:
        return _load(self.target)  # type: ignore[return-value]

    def load_detect(self) -> Callable[[str], float]:
        return _load(self.detect_target)  # type: ignore[return-value]


def _load(target: str) -> object:
    import importlib

    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr)

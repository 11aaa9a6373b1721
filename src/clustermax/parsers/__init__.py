"""Pure parsers: text printed by tools we do not control -> typed pydantic models."""

from .base import ParsedOutput, ParseError, ParserInfo

__all__ = ["ParseError", "ParsedOutput", "ParserInfo"]

"""A probe module that always raises: proves a parser bug cannot crash an audit."""

from __future__ import annotations

from clustermax.probes.base import FileKind, ProbeInput, ProbeOutput

FILES: tuple[FileKind, ...] = ()


def from_sections(inp: ProbeInput) -> ProbeOutput:
    raise RuntimeError(f"boom on {inp.host}")

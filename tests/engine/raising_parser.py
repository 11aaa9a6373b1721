"""A probe parser that always raises: proves a parser bug cannot crash an audit."""

from __future__ import annotations

from clustermax.probe_parsers import ProbeParseInput, ProbeParseOutput


def parse(inp: ProbeParseInput) -> ProbeParseOutput:
    raise RuntimeError(f"boom on {inp.host}")

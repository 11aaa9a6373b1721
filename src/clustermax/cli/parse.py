"""`clustermax parse`: one tool output -> one JSON object.

Module-level imports stay light (typer + stdlib): parsers load only when a command runs.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ..errors import EXIT_USAGE, UsageError


def register(app: typer.Typer) -> None:
    """Add `parse` to the app."""
    app.command("parse")(parse_command)


def _read(file: str) -> str:
    from ..safeio import MAX_INPUT_BYTES, read_bytes

    if file == "-":
        data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        if len(data) > MAX_INPUT_BYTES:
            raise UsageError(f"<stdin>: more than {MAX_INPUT_BYTES // 2**20} MiB; clustermax reads no more")
    else:  # bounded: a regular file (not a FIFO or a device) of at most 256 MiB
        data = read_bytes(file, what="file", limit=MAX_INPUT_BYTES)
    return data.decode("utf-8", errors="replace")


def parse_command(
    kind: Annotated[str | None, typer.Argument(help="Parser kind (see --list).")] = None,
    file: Annotated[str | None, typer.Argument(help="File to parse, or - for standard input.")] = None,
    list_kinds: Annotated[bool, typer.Option("--list", help="Print the parser kinds and exit.")] = False,
) -> None:
    """Parse one tool output (KIND FILE) and print it as one JSON object."""
    from ..parsers.base import ParseError
    from ..parsers.registry import PARSERS, get_parser

    if list_kinds:
        width = max(len(k) for k in PARSERS)
        for name, info in PARSERS.items():
            typer.echo(f"{name:<{width}}  {info.description}")
        return
    if kind is None or file is None:
        raise UsageError(
            "parse needs KIND and FILE", hint="clustermax parse --list shows the kinds; FILE may be -"
        )
    try:
        parser = get_parser(kind).parse
    except ParseError as err:
        raise UsageError(str(err), hint="clustermax parse --list shows the kinds") from err
    text = _read(file)
    try:
        parsed = parser(text)
    except ParseError as err:
        where = "<stdin>" if file == "-" else file
        typer.echo(f"error: {where}: {err}", err=True)
        raise typer.Exit(EXIT_USAGE) from err
    typer.echo(parsed.model_dump_json(indent=2))

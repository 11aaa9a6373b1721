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
    if file == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            with open(file, "rb") as fh:
                data = fh.read()
        except OSError as err:
            raise UsageError(f"{file}: cannot read: {err.strerror or err}", hint="check the path") from err
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

"""`clustermax parse`: one tool output -> one JSON object.

Module-level imports stay light (typer + stdlib): parsers load only when a command runs.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ..errors import EXIT_USAGE, UsageError
from ._help import command


def register(app: typer.Typer) -> None:
    """Add `parse` to the app."""
    command(
        app,
        "parse",
        summary="Parse one tool output file into one JSON object.",
        examples=(
            "clustermax parse --list",
            "clustermax parse nccl-tests all_reduce_perf.log",
            "nvidia-smi -q | clustermax parse nvidia-smi -",
        ),
    )(parse_command)


def _list_kinds(value: bool) -> None:
    """``--list``: print the parser kinds and exit (before KIND and FILE are asked for)."""
    if not value:
        return
    from ..parsers.registry import PARSERS

    width = max(len(k) for k in PARSERS)
    for name, info in PARSERS.items():
        typer.echo(f"{name:<{width}}  {info.description}")
    raise typer.Exit(0)


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
    kind: Annotated[
        str, typer.Argument(metavar="KIND", help="Parser kind (--list shows them).", show_default=False)
    ],
    file: Annotated[
        str,
        typer.Argument(metavar="FILE", help="File to parse, or - for standard input.", show_default=False),
    ],
    list_kinds: Annotated[
        bool,
        typer.Option("--list", is_eager=True, callback=_list_kinds, help="Print the parser kinds and exit."),
    ] = False,
) -> None:
    """Parse one tool output (KIND FILE) and print it as one JSON object (the keys are a public contract:
    docs/parsers-gpu.md, docs/parsers-cluster.md)."""
    from ..parsers.base import ParseError
    from ..parsers.registry import get_parser

    try:
        parser = get_parser(kind).parse
    except ParseError as err:
        from ..parsers.registry import PARSERS
        from ._help import did_you_mean

        hint = did_you_mean(kind, list(PARSERS), "clustermax parse --list shows the kinds")
        raise UsageError(str(err), hint=hint) from err
    text = _read(file)
    try:
        parsed = parser(text)
    except ParseError as err:
        where = "<stdin>" if file == "-" else file
        typer.echo(f"error: {where}: {err}", err=True)
        raise typer.Exit(EXIT_USAGE) from err
    typer.echo(parsed.model_dump_json(indent=2))

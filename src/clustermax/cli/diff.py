"""`clustermax diff OLD NEW`: what changed between two audits.

Only typer and the standard library at module level (``clustermax --help`` stays fast): the diff and its
renderers load inside the command. Exit codes: 0 ok, 2 usage error (one line), 4 unexpected error.
"""

from __future__ import annotations

import sys
import typing
from enum import Enum
from pathlib import Path

import typer

from ._help import command


class DiffFormat(str, Enum):
    terminal = "terminal"
    markdown = "markdown"
    html = "html"
    json = "json"


_RUBRIC = typer.Option(
    None, "--rubric", metavar="FILE", help="Rubric YAML (default: the built-in clustermax-v1 rubric)."
)
_DIFF_FORMAT = typer.Option(DiffFormat.terminal, "--format", "-f", help="Output format.")
_OUT = typer.Option(
    None, "--out", "-o", metavar="FILE", help="Write the output to this file (default: stdout)."
)
_OLD = typer.Argument(
    ..., metavar="OLD", help="The older bundle (bundle.json or its directory).", show_default=False
)
_NEW = typer.Argument(..., metavar="NEW", help="The newer bundle.", show_default=False)


def _write(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from ..safeio import atomic_write

    atomic_write(out, text.encode("utf-8"))
    typer.echo(f"wrote {out}", err=True)


def _render_diff(result: typing.Any, fmt: DiffFormat) -> str:
    from ..diff import render

    return {
        DiffFormat.terminal: render.terminal,
        DiffFormat.markdown: render.markdown,
        DiffFormat.html: render.html,
        DiffFormat.json: render.as_json,
    }[fmt](result)


def diff_command(
    old: Path = _OLD,
    new: Path = _NEW,
    rubric: Path | None = _RUBRIC,
    fmt: DiffFormat = _DIFF_FORMAT,
    out: Path | None = _OUT,
) -> None:
    """What changed between two audits: tier range, verdicts, metrics beyond their run-to-run spread,
    findings, probes, and per node (new Xid codes, driver versions, GPUs lost); nodes added or gone."""
    from ..bundle.io import load_bundle
    from ..diff import diff_bundles
    from ..scoring import load_rubric

    rub = load_rubric(rubric)
    result = diff_bundles(load_bundle(old), load_bundle(new), rub)
    _write(_render_diff(result, fmt), out)


def register(app: typer.Typer) -> None:
    """Add `diff` to the app."""
    command(
        app,
        "diff",
        summary="What changed between two audits: verdicts, metrics, nodes.",
        examples=(
            "clustermax diff audit1 audit2",
            "clustermax diff audit1/bundle.json audit2/bundle.json --format html --out diff.html",
            "clustermax diff audit1 audit2 --format json",
        ),
    )(diff_command)

"""`clustermax import`: files of tool output gathered by hand -> an import bundle (DIR/bundle.json).

The module is named ``import_`` because ``import`` is a Python keyword. Module-level imports stay light
(typer + stdlib): parsers and probes load only when the command runs.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ..errors import EXIT_USAGE, UsageError


def register(app: typer.Typer) -> None:
    """Add `import` to the app."""
    app.command("import")(import_command)


def import_command(
    files: Annotated[list[str], typer.Argument(help="Files of tool output (any mix of kinds).")],
    provider: Annotated[str, typer.Option("--provider", help="Provider name.")],
    cluster: Annotated[str, typer.Option("--cluster", help="Cluster name.")],
    out: Annotated[str, typer.Option("--out", help="Output folder; bundle.json is written there.")],
    kind: Annotated[
        str | None, typer.Option("--kind", help="Parser kind for every file (default: detect).")
    ] = None,
    host: Annotated[
        str | None, typer.Option("--host", help="Host of the files (default: from content).")
    ] = None,
    profile: Annotated[
        list[str] | None,
        typer.Option(
            "--profile",
            metavar="KEY=VALUE",
            help="Hardware profile to score against (repeatable): gpu_model, gpus_per_node, fabric, "
            "nic_count, nic_rate_gbps; e.g. --profile gpu_model=H100-SXM --profile fabric=infiniband-ndr. "
            "gpus_per_node is also every nvidia-smi output's expected GPU count (else an imported "
            "scontrol show node's GRES, else unknown).",
        ),
    ] = None,
) -> None:
    """Import tool outputs gathered by hand into a result bundle (DIR/bundle.json).

    With SOURCE_DATE_EPOCH set, every timestamp is that instant and the machine is not recorded, so the
    same files give the same bundle.json.
    """
    from ..bundle.from_files import import_files, source_date_epoch
    from ..bundle.io import write_bundle
    from ..parsers.base import ParseError
    from ..parsers.registry import get_parser

    if kind is not None:
        try:
            get_parser(kind)
        except ParseError as err:
            raise UsageError(str(err), hint="clustermax parse --list shows the kinds") from err
    override = _profile_override(profile or [])
    fixed = source_date_epoch()
    command_line = "clustermax import " + " ".join(sys.argv[2:]) if len(sys.argv) > 2 else "clustermax import"
    outcome = import_files(
        files,
        provider=provider,
        cluster=cluster,
        kind=kind,
        host=host,
        command_line=command_line,
        profile=override,
        now=(lambda: fixed) if fixed is not None else None,
        reproducible=fixed is not None,
    )
    for item in outcome.bundle.imports:
        what = item.kind or "-"
        where = f" host={item.host}" if item.host else ""
        reason = f": {item.reason}" if item.reason else ""
        typer.echo(f"{item.status:<12} {what:<18} {item.path}{where}{reason}")
    if outcome.imported == 0:
        typer.echo("error: no file could be imported; nothing written", err=True)
        raise typer.Exit(EXIT_USAGE)
    path = write_bundle(outcome.bundle, out)
    typer.echo(f"wrote {path} ({outcome.imported} of {len(files)} file(s) imported)")


def _profile_override(pairs: list[str]) -> dict[str, str | int | float] | None:
    """--profile KEY=VALUE options -> Bundle.target.profile_override, checked against the references."""
    if not pairs:
        return None
    from ..resources import rubrics_dir
    from ..scoring.references import profile_override_from_pairs
    from ..scoring.validate import load_references

    refs, problems = load_references(rubrics_dir() / "references.yaml")
    if refs is None:
        raise UsageError(f"cannot check --profile: {problems[0].message}")
    try:
        return profile_override_from_pairs(pairs, refs)
    except ValueError as err:
        raise UsageError(
            f"--profile: {err}", hint="e.g. --profile gpu_model=H100-SXM --profile fabric=infiniband-ndr"
        ) from err

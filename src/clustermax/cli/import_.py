"""`clustermax import`: files of tool output gathered by hand -> an import bundle (DIR/bundle.json).

The module is named ``import_`` because ``import`` is a Python keyword. Module-level imports stay light
(typer + stdlib): parsers and probes load only when the command runs.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ..errors import EXIT_USAGE, UsageError
from ._help import command


def register(app: typer.Typer) -> None:
    """Add `import` to the app."""
    command(
        app,
        "import",
        summary="Turn tool outputs gathered by hand into a result bundle.",
        examples=(
            "clustermax import --provider Acme --cluster a1 -o imported nccl.log nvidia-smi.txt",
            "clustermax import --provider Acme --cluster a1 -o imported --kind sinfo=nodes.txt *.log",
            "clustermax import --provider Acme --cluster a1 -o imp --profile fabric=infiniband-ndr *.log",
        ),
    )(import_command)


def import_command(
    files: Annotated[
        list[str],
        typer.Argument(metavar="FILE", help="Files of tool output (any mix of kinds).", show_default=False),
    ],
    provider: Annotated[str, typer.Option("--provider", metavar="NAME", help="Provider name.")],
    cluster: Annotated[str, typer.Option("--cluster", metavar="NAME", help="Cluster name.")],
    out: Annotated[
        str,
        typer.Option("--out", "-o", metavar="DIR", help="Output folder; bundle.json is written there."),
    ],
    kind: Annotated[
        list[str] | None,
        typer.Option(
            "--kind",
            metavar="KIND|KIND=FILE",
            help="Parser kind: KIND for every file, or KIND=FILE for one file (repeatable); files without "
            "one are recognised by their structure (clustermax parse --list shows the kinds).",
        ),
    ] = None,
    host: Annotated[
        str | None,
        typer.Option("--host", metavar="HOST", help="Host of the files (default: from content)."),
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
    """Import tool outputs gathered by hand (logs a provider sent) into a result bundle
    (DIR/bundle.json) that scores, reports and compares like an audit's.

    With SOURCE_DATE_EPOCH set, every timestamp is that instant and the machine is not recorded, so the
    same files give the same bundle.json.
    """
    from ..bundle.from_files import import_files, source_date_epoch
    from ..bundle.io import write_bundle

    every, per_file = _kinds(kind or [], files)
    override = _profile_override(profile or [])
    fixed = source_date_epoch()
    command_line = "clustermax import " + " ".join(sys.argv[2:]) if len(sys.argv) > 2 else "clustermax import"
    outcome = import_files(
        files,
        provider=provider,
        cluster=cluster,
        kind=every,
        kinds=per_file,
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
        states = [item.status for item in outcome.bundle.imports]
        counted = ", ".join(f"{states.count(s)} {s}" for s in ("unrecognised", "parse-error") if s in states)
        typer.echo(f"error: no file could be imported ({counted}); nothing written", err=True)
        typer.echo(
            "  hint: a file gets a kind only when its structure is that tool's output;"
            " --kind KIND=FILE forces one (clustermax parse --list shows the kinds)",
            err=True,
        )
        raise typer.Exit(EXIT_USAGE)
    path = write_bundle(outcome.bundle, out)
    typer.echo(f"wrote {path} ({outcome.imported} of {len(files)} file(s) imported)")


def _kinds(values: list[str], files: list[str]) -> tuple[str | None, dict[str, str]]:
    """--kind values -> (the kind of every file, {file: kind}); UsageError for an unknown kind, a FILE
    that is not among the files, or two kinds for every file."""
    import os

    from ..parsers.base import ParseError
    from ..parsers.registry import PARSERS, get_parser
    from ._help import did_you_mean

    every: str | None = None
    per_file: dict[str, str] = {}
    by_path = {os.path.normpath(os.path.abspath(f)): f for f in files}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep and "=" not in value:
            try:
                get_parser(value)
            except ParseError as err:
                hint = did_you_mean(value, list(PARSERS), "clustermax parse --list shows the kinds")
                raise UsageError(str(err), hint=hint) from err
            if every is not None and every != value:
                raise UsageError(
                    f"--kind {every} and --kind {value}: one kind for every file at most",
                    hint="give the kind of single files as --kind KIND=FILE",
                )
            every = value
            continue
        if name not in PARSERS:
            raise UsageError(
                f"--kind {value}: unknown kind {name!r}",
                hint=did_you_mean(name, list(PARSERS), "clustermax parse --list shows the kinds"),
            )
        given = path if path in files else by_path.get(os.path.normpath(os.path.abspath(path)))
        if given is None:
            raise UsageError(
                f"--kind {value}: {path} is not one of the files to import",
                hint="name the file as it is given among FILES",
            )
        per_file[given] = name
    return every, per_file


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

"""`clustermax probes list`: the probes shipped with clustermax.

Only typer and the standard library are imported at module level (``clustermax --help`` stays fast).
"""

from __future__ import annotations

import typing

import typer

from ._help import command, group

if typing.TYPE_CHECKING:
    from ..models import ProbeSpec

probes_app = group(
    "probes",
    summary="Probes shipped with clustermax.",
    help="Probes shipped with clustermax: what each runs where, what it needs and what it measures.",
    examples=("clustermax probes list", "clustermax probes list --json"),
)


def register(app: typer.Typer) -> None:
    """Add the `probes` group to the app."""
    app.add_typer(probes_app, name="probes")


def _load_specs() -> dict[str, ProbeSpec]:
    from ..probes.specs import load_probe_specs

    return load_probe_specs()


@command(
    probes_app,
    "list",
    summary="Show every probe: what it needs and what it measures.",
    examples=("clustermax probes list", "clustermax probes list --json > probes.json"),
)
def probes_list(
    as_json: bool = typer.Option(False, "--json", help="Print the probe specs as JSON."),
) -> None:
    """Show every probe: id, category, scope, what it requires and what it measures."""
    import json

    specs = _load_specs()
    if as_json:
        typer.echo(json.dumps([s.model_dump(mode="json") for s in specs.values()], indent=2))
        return
    rows = [
        (
            s.id,
            s.category,
            s.scope,
            ",".join(s.requires) or "-",
            "yes" if s.default else "no",
            f"{s.timeout_s:g}s",
        )
        for s in specs.values()
    ]
    header = ("PROBE", "CATEGORY", "SCOPE", "REQUIRES", "DEFAULT", "TIMEOUT")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    typer.echo("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    for spec, row in zip(specs.values(), rows, strict=True):
        typer.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        typer.echo(f"    {spec.title}: {' '.join(spec.description.split())}")
        typer.echo(f"    measures: {', '.join(m.name for m in spec.metrics)}")

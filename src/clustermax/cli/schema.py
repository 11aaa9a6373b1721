"""`clustermax schema`: the JSON Schema of the bundle, the inventory, a probe spec or a score.

Only typer and the standard library are imported at module level (``clustermax --help`` stays fast).
"""

from __future__ import annotations

import typer

SCHEMAS = ("bundle", "inventory", "probe", "score")


def register(app: typer.Typer) -> None:
    """Add `schema` to the app."""
    app.command("schema")(schema)


def schema(
    which: str = typer.Argument("bundle", metavar="[bundle|inventory|probe|score]", help="Which schema."),
) -> None:
    """Print the JSON Schema of the bundle, the inventory, a probe spec, or a score."""
    import json

    from ..errors import UsageError

    if which not in SCHEMAS:
        raise UsageError(f"unknown schema {which!r}", hint=f"choose one of: {', '.join(SCHEMAS)}")
    from pydantic import BaseModel

    from ..models import Bundle, Inventory, ProbeSpec, ScoreResult

    models: dict[str, type[BaseModel]] = {
        "bundle": Bundle,
        "inventory": Inventory,
        "probe": ProbeSpec,
        "score": ScoreResult,
    }
    model = models[which]
    typer.echo(json.dumps(model.model_json_schema(), indent=2, sort_keys=False))

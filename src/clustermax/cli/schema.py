"""`clustermax schema`: the JSON Schema of the bundle, the inventory, a probe spec or a score.

Only typer and the standard library are imported at module level (``clustermax --help`` stays fast).
"""

from __future__ import annotations

from enum import Enum

import typer

from ._help import command


class Schema(str, Enum):
    bundle = "bundle"
    inventory = "inventory"
    probe = "probe"
    score = "score"


SCHEMAS = tuple(s.value for s in Schema)


def register(app: typer.Typer) -> None:
    """Add `schema` to the app."""
    command(
        app,
        "schema",
        summary="Print the JSON Schema of a bundle, inventory, probe spec or score.",
        examples=("clustermax schema bundle", "clustermax schema inventory > inventory.schema.json"),
    )(schema)


_WHICH = typer.Argument(Schema.bundle, metavar="KIND", help="Which schema.")


def schema(which: Schema = _WHICH) -> None:
    """Print the JSON Schema of the bundle, the inventory, a probe spec, or a score."""
    import json

    from pydantic import BaseModel

    from ..models import Bundle, Inventory, ProbeSpec, ScoreResult

    models: dict[str, type[BaseModel]] = {
        "bundle": Bundle,
        "inventory": Inventory,
        "probe": ProbeSpec,
        "score": ScoreResult,
    }
    model = models[which.value]
    typer.echo(json.dumps(model.model_json_schema(), indent=2, sort_keys=False))

"""Read back what `clustermax score --format json` wrote (a JSON list of ScoreResult objects).

Every object carries ``schema_version`` (models.score.SCORE_SCHEMA_VERSION). A score written by an older
clustermax, whose single ``tier`` was decided on the measured criteria alone (version 1: no
``schema_version`` field, a ``gates_failed`` list), or by a newer one, is refused with a message saying
what to do, never misread: a tier means something else across versions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import ConfigError
from ..models.score import SCORE_SCHEMA_VERSION, ScoreResult


def _version(item: Any) -> int | None:
    if not isinstance(item, dict):
        return None
    version = item.get("schema_version")
    if isinstance(version, int) and not isinstance(version, bool):
        return version
    if "gates_failed" in item and "tier" in item:
        return 1  # before the field existed
    return None


def read_scores(path: str | Path) -> list[ScoreResult]:
    """The scores in a score JSON file; ConfigError (exit 2) naming the file and the fix otherwise."""
    p = Path(path)
    try:
        data = json.loads(p.read_bytes())
    except FileNotFoundError:
        raise ConfigError(p, None, "score file not found", hint="check the path") from None
    except (OSError, ValueError) as err:
        raise ConfigError(p, None, f"not a score JSON file: {str(err).splitlines()[0]}") from err
    items = data if isinstance(data, list) else [data]
    out = []
    for index, item in enumerate(items):
        version = _version(item)
        where = f"score {index + 1} of {len(items)}" if len(items) > 1 else "the score"
        if version is None:
            raise ConfigError(
                p,
                None,
                f"{where} is not a clustermax score (no schema_version)",
                hint="give a file written by `clustermax score --format json`",
            )
        if version < SCORE_SCHEMA_VERSION:
            raise ConfigError(
                p,
                None,
                f"{where} has score schema_version {version}, older than this clustermax reads "
                f"({SCORE_SCHEMA_VERSION}): it has one tier decided on the measured criteria alone, not the "
                "tier range (floor, ceiling, rated) of today",
                hint="score the bundle again: clustermax score BUNDLE --format json",
            )
        if version > SCORE_SCHEMA_VERSION:
            raise ConfigError(
                p,
                None,
                f"{where} has score schema_version {version}, newer than this clustermax reads "
                f"({SCORE_SCHEMA_VERSION})",
                hint="upgrade clustermax (pip install -U clustermax)",
            )
        try:
            out.append(ScoreResult.model_validate(item))
        except ValidationError as err:
            first = err.errors()[0]
            loc = ".".join(str(x) for x in first["loc"])
            raise ConfigError(p, None, f"{where} is not a valid score: {loc}: {first['msg']}") from err
    return out

"""Read and write bundle.json: the one place a bundle goes to disk and comes back.

:func:`write_bundle` writes ``DIR/bundle.json`` atomically (temporary file, fsync, rename): the audit
engine calls it at every checkpoint and at the end, ``clustermax import`` once. :func:`load_bundle`
reads a bundle (bundle.json, or the directory holding it) for scoring, reports and ``--resume``.

Bundles of another schema version are refused with a clear message: there is no older format to
migrate from yet (SCHEMA_VERSION 1 is the first). When a format change lands, its migration goes in
:data:`MIGRATIONS` (version -> function that upgrades the raw JSON by one version).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import ConfigError
from ..models.bundle import SCHEMA_VERSION, Bundle

BUNDLE_FILE = "bundle.json"

MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}
"""from-version -> upgrade to from-version + 1 (on the raw JSON object)."""

_VERSION_PROBE = b'"schema_version"'


def bundle_path(path: str | Path) -> Path:
    p = Path(path)
    if p.is_dir():
        p = p / BUNDLE_FILE
    return p


def _check_version(data: Any, path: Path) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ConfigError(path, None, "not a clustermax bundle (the JSON is not an object)")
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ConfigError(
            path,
            None,
            "not a clustermax bundle (no integer schema_version)",
            hint="give a bundle.json written by clustermax",
        )
    while version != SCHEMA_VERSION:
        if version > SCHEMA_VERSION:
            raise ConfigError(
                path,
                None,
                f"bundle schema_version {version} is newer than this clustermax reads ({SCHEMA_VERSION})",
                hint="upgrade clustermax (pip install -U clustermax) to score it",
            )
        migrate = MIGRATIONS.get(version)
        if migrate is None:
            raise ConfigError(
                path,
                None,
                f"bundle schema_version {version} is older than {SCHEMA_VERSION} and cannot be migrated",
                hint="re-run the audit, or `clustermax import` its raw outputs again, with this version",
            )
        data = migrate(data)
        version = data["schema_version"]
    result: dict[str, Any] = data
    return result


def load_bundle(path: str | Path) -> Bundle:
    """Read and validate a bundle; ConfigError (exit 2) with a clear message on anything wrong."""
    p = bundle_path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError as err:
        hint = f"a bundle directory must hold {BUNDLE_FILE}" if Path(path).is_dir() else "check the path"
        raise ConfigError(p, None, "bundle not found", hint=hint) from err
    except OSError as err:
        raise ConfigError(p, None, f"cannot read the bundle: {err.strerror or err}") from err
    # fast path: the current schema validates straight from bytes (pydantic-core parses the JSON)
    try:
        bundle = Bundle.model_validate_json(raw)
        if bundle.schema_version == SCHEMA_VERSION:
            return bundle
    except ValidationError:
        pass  # report it below, after the schema version check (an old bundle fails here too)
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        line = getattr(err, "lineno", None)
        raise ConfigError(p, line, f"not valid JSON: {getattr(err, 'msg', err)}") from err
    data = _check_version(data, p)
    try:
        return Bundle.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        raise ConfigError(
            p,
            None,
            f"invalid bundle: {loc}: {first['msg']} ({err.error_count()} problem(s))",
            hint="the file may be damaged or written by an incompatible tool",
        ) from err


def write_bundle(bundle: Bundle, directory: str | Path) -> Path:
    """Write ``DIR/bundle.json`` atomically (temporary file, fsync, os.replace); returns its path.

    ``directory`` is created when missing.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    path = out / BUNDLE_FILE
    tmp = out / f".{BUNDLE_FILE}.{os.getpid()}.{threading.get_ident()}.tmp"
    text = bundle.model_dump_json(indent=2)
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path

"""Read and write bundle.json: the one place a bundle goes to disk and comes back.

:func:`write_bundle` writes ``DIR/bundle.json`` atomically (safeio.atomic_write): the audit
engine calls it at every checkpoint and at the end, ``clustermax import`` once. :func:`load_bundle`
reads a bundle (bundle.json, or the directory holding it) for scoring, reports and ``--resume``.

Bundles of another schema version are refused with a clear message: there is no older format to
migrate from yet (SCHEMA_VERSION 1 is the first). When a format change lands, its migration goes in
:data:`MIGRATIONS` (version -> function that upgrades the raw JSON by one version).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import ConfigError
from ..models.bundle import SCHEMA_VERSION, Bundle
from ..safeio import (
    atomic_write,
    bundle_bad_number,
    max_bundle_bytes,
    number_text,
    parse_json,
    read_bytes,
    write_error,
)

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


def _bounded(bundle: Bundle, path: Path) -> Bundle:
    """Refuse NaN, infinities and numbers beyond 2^63 anywhere in the bundle (no measurement is one)."""
    bad = bundle_bad_number(bundle)
    if bad is not None:
        where, value = bad
        raise ConfigError(path, None, f"invalid bundle: {where}: {number_text(value)} is out of range",
                          hint="the file may be damaged or forged")  # fmt: skip
    return bundle


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large tree of new objects is built.

    Validating a bundle allocates hundreds of thousands of objects that all stay alive; each allocation
    threshold reached starts a collection that walks them all again, for nothing (a 1,000-node bundle
    validates 2-3x faster without). Nothing is leaked: the collector runs again afterwards."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def load_bundle(path: str | Path) -> Bundle:
    """Read and validate a bundle; ConfigError (exit 2) with a clear message on anything wrong."""
    p = bundle_path(path)
    try:  # bounded: a regular file (not a FIFO or /dev/zero), at most the bundle cap
        raw = read_bytes(p, what="bundle", limit=max_bundle_bytes())
    except ConfigError:
        if not os.path.lexists(p):
            hint = f"a bundle directory must hold {BUNDLE_FILE}" if Path(path).is_dir() else "check the path"
            raise ConfigError(p, None, "bundle not found", hint=hint) from None
        raise
    # fast path: the current schema validates straight from bytes (pydantic-core parses the JSON)
    try:
        with no_cyclic_gc():
            bundle = Bundle.model_validate_json(raw)
        if bundle.schema_version == SCHEMA_VERSION:
            return _bounded(bundle, p)
    except ValidationError:
        pass  # report it below, after the schema version check (an old bundle fails here too)
    data = parse_json(raw, p, what="bundle")  # numbers and nesting bounded; errors name the file
    data = _check_version(data, p)
    try:
        return _bounded(Bundle.model_validate(data), p)
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
    """Write ``DIR/bundle.json`` atomically (a new temporary file created with O_EXCL|O_NOFOLLOW, fsync,
    rename; see :func:`clustermax.safeio.atomic_write`); returns its path. ``directory`` is created when
    missing. A refused target (a link, a device) or a failed write is an OutputError (exit 2)."""
    out = Path(directory)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise write_error(out, err, "bundle folder") from err
    # the JSON as bytes straight from pydantic-core (what model_dump_json decodes to a str): a large
    # bundle's text is not copied into a str and back
    data = bundle.__pydantic_serializer__.to_json(bundle, indent=2) + b"\n"
    return atomic_write(out / BUNDLE_FILE, data, what="bundle")

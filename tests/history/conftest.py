"""Fixtures of the history tests: a real PostgreSQL server for the session, a fresh database per test,
and the CLI as a real process."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require
from tests.infra.postgres import Server, missing_requirements, running_server

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent / "clustermax"
BUNDLES = ROOT / "tests" / "data" / "bundles"
_names = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    require("PostgreSQL test server", missing_requirements())
    with running_server() as server:
        yield server


@pytest.fixture
def pg_url(pg_server: Server) -> str:
    return pg_server.create_database(f"cmx_test_{os.getpid()}_{next(_names)}")


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on an SQLite file and on a real PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "history.sqlite")
    request.applymarker(pytest.mark.postgres)
    return str(request.getfixturevalue("pg_url"))


def cmx(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI (no CLUSTERMAX_DB from the caller's environment unless given)."""
    base = {k: v for k, v in os.environ.items() if k != "CLUSTERMAX_DB"}
    return subprocess.run(
        [str(BIN), *args], capture_output=True, text=True, timeout=300, env={**base, **(env or {})},
        cwd=cwd or ROOT, check=False,
    )  # fmt: skip


def import_bundle(out: Path, *args: str) -> Path:
    """`clustermax import` with a fixed clock (SOURCE_DATE_EPOCH): a bundle from recorded real outputs."""
    proc = cmx("import", "--out", str(out), *args, env={"SOURCE_DATE_EPOCH": "1767225600"})
    assert proc.returncode == 0, proc.stderr
    return out

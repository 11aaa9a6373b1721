# ruff: noqa: E501  (expected messages are whole lines of the real output)
"""The history database itself: migrations from the first schema (with data), the head matching the
migrations, and concurrent writers in real processes (two audits and a CI job) on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from clustermax.bundle.io import load_bundle
from clustermax.history import HistoryDB, schema
from clustermax.history import db as dbmod
from clustermax.history.summary import pack
from clustermax.scoring import score_bundle
from tests.history.conftest import BIN, BUNDLES, ROOT, cmx

GOLDEN = sorted(p for p in BUNDLES.iterdir() if p.is_dir())


def test_head_is_the_migrations_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(dbmod.__file__).with_name("migrations")))
    script = ScriptDirectory.from_config(cfg)
    assert script.get_heads() == [schema.HEAD]
    assert [r.revision for r in reversed(list(script.walk_revisions()))] == list(schema.KNOWN_REVISIONS)


def test_migrated_schema_is_the_declared_one(db_url: str) -> None:
    with HistoryDB.open(db_url, create=True) as db:
        inspector = sa.inspect(db.engine)
        for table in schema.metadata.sorted_tables:
            assert {c["name"] for c in inspector.get_columns(table.name)} == set(table.columns.keys()), (
                table.name
            )
        assert db.revision() == schema.HEAD


def test_upgrade_from_the_first_schema_keeps_and_backfills(db_url: str) -> None:
    """A database made at revision 0001 with bundles in it: opening it migrates forward and fills the key
    metrics of the bundles already stored."""
    target = dbmod.resolve(db_url)
    engine = dbmod._engine(target)
    bundle = load_bundle(BUNDLES / "h100-healthy-ndr")
    raw = (BUNDLES / "h100-healthy-ndr" / "bundle.json").read_bytes()
    score = score_bundle(bundle)
    with engine.connect() as raw_conn:
        conn = raw_conn.execution_options(cmx_write=True)
        with conn.begin():
            dbmod.upgrade_to(conn, "0001")
            conn.execute(
                sa.text(
                    "INSERT INTO bundles (sha256, cluster, provider, kind, started_at, complete, hosts, tool_version,"
                    " raw, raw_size, raw_sha256, added_at) VALUES (:sha, 'h100-ndr', 'example-h100', 'import',"
                    " :t, :c, 1, '0.1.0', :raw, :n, 'x', :t)"
                ),
                {
                    "sha": score.bundle_sha256,
                    "t": bundle.started_at.replace(tzinfo=None),
                    "c": True,
                    "raw": pack(raw),
                    "n": len(raw),
                },
            )
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0001"
        assert not sa.inspect(conn).has_table("metrics")
    engine.dispose()
    with HistoryDB.open(db_url, create=False) as db:
        assert db.revision() == schema.HEAD
        rows = db.audits()
        assert [(r["cluster"], r["sha256"]) for r in rows] == [("h100-ndr", score.bundle_sha256)]
        metrics = {m["name"]: m for m in db.metrics_of([rows[0]["id"]])[rows[0]["id"]]}
        assert metrics["gpu.count"]["value"] == 8
        assert metrics["nccl.busbw_peak_median"]["value"] == pytest.approx(338.82)
        assert metrics["gpu.driver_version"]["text"] == "565.57.01"
        assert db.raw(rows[0]["id"]) == raw
        added = db.add(raw, bundle, score)  # the same bundle again: no duplicate
        assert not added.new and db.count() == 1


def _integrity(db_url: str) -> None:
    if "://" not in db_url:
        with sqlite3.connect(db_url) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.slow
def test_two_audits_and_a_ci_job_at_once(db_url: str, tmp_path: Path) -> None:
    """Real processes at once on one fresh database (so the first migration races too): two `audit --local
    --history` and a CI job adding the golden bundles, plus two more adders racing on the same bundles."""
    env = {"CLUSTERMAX_DB": db_url}
    base = {k: v for k, v in os.environ.items() if k != "CLUSTERMAX_DB"}
    jobs = [
        [str(BIN), "audit", "--local", "--history", "-q", "--out", str(tmp_path / "audit1")],
        [str(BIN), "audit", "--local", "--history", "-q", "--out", str(tmp_path / "audit2")],
        [str(BIN), "history", "add", *map(str, GOLDEN)],
        [str(BIN), "history", "add", *map(str, reversed(GOLDEN))],
        [str(BIN), "score", "--history", *map(str, GOLDEN)],
    ]
    procs = [
        subprocess.Popen(
            j, cwd=ROOT, env={**base, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for j in jobs
    ]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)  # reads both pipes: a full pipe never blocks a job
        results.append((p.returncode, out, err))
    for (rc, _out, err), job in zip(results, jobs, strict=True):
        assert rc == 0, f"{job}: {err}"
    _integrity(db_url)
    listed = json.loads(cmx("history", "list", "--limit", "100", "-f", "json", env=env).stdout)
    shas = [r["sha256"] for r in listed]
    assert len(shas) == len(set(shas)) == len(GOLDEN) + 2  # every audit landed once, every golden bundle once
    host = socket.gethostname()
    assert sum(1 for r in listed if r["kind"] == "audit") == 2, [r["cluster"] for r in listed]
    assert {r["cluster"] for r in listed if r["kind"] == "audit"} == {host}
    added = sum(err.count("history: added audit") for _, _, err in results)
    assert added == len(GOLDEN) + 2  # and exactly one process said "added" for each


def test_an_audit_with_a_bad_database_fails_before_it_starts(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    db.write_bytes(b"this is not an sqlite file at all" * 100)
    out = tmp_path / "audit"
    proc = cmx("audit", "--local", "--history", "-q", "--out", str(out), "--db", str(db))
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: {db} is not a clustermax history database")
    assert not out.exists()


def test_script_runs_without_database_server() -> None:
    """The installed CLI reads CLUSTERMAX_DB; nothing here needs a server (guards the README example)."""
    proc = subprocess.run(
        [sys.executable, "-m", "clustermax", "history", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0 and "add" in proc.stdout and "export" in proc.stdout

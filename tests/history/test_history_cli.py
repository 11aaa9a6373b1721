# ruff: noqa: E501  (expected messages are whole lines of the real output)
"""`clustermax history ...`, `score --history`, `score --baseline` through the real CLI, on an SQLite file and
on a real PostgreSQL database (the same tests, parametrized), and the failures that must be one line."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.history.conftest import BUNDLES, ROOT, cmx, import_bundle

GOLDEN = sorted(str(p) for p in BUNDLES.iterdir() if p.is_dir())


def _gpu_pair(tmp_path: Path) -> tuple[Path, Path]:
    args = [
        "--provider",
        "dfch",
        "--cluster",
        "sys0",
        "--host",
        "sys0",
        "--kind",
        "nvidia-smi",
        "--profile",
        "gpus_per_node=4",
    ]
    old = import_bundle(tmp_path / "old", *args, "tests/data/history-pairs/rtxpro6000x4-610-table.txt")
    new = import_bundle(tmp_path / "new", *args, "tests/data/history-pairs/rtxpro6000x4-610-gpu1-lost.txt")
    return old, new


def test_add_list_show_export_diff(db_url: str, tmp_path: Path) -> None:
    proc = cmx("history", "add", *GOLDEN, "--db", db_url)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("history: added audit") == len(GOLDEN)
    again = cmx("history", "add", GOLDEN[0], "--db", db_url)  # stored once, by its sha256
    assert again.returncode == 0 and "history: already stored audit 1 of h100-sick" in again.stderr

    listed = cmx("history", "list", "--db", db_url)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[0].split() == [
        "id",
        "started",
        "(UTC)",
        "cluster",
        "provider",
        "kind",
        "hosts",
        "tier",
        "score",
        "coverage",
        "sha256",
    ]
    assert listed.stdout.rstrip().endswith(f"{len(GOLDEN)} audit(s)")
    one = json.loads(cmx("history", "list", "--db", db_url, "--cluster", "h100-ndr", "-f", "json").stdout)
    assert [(r["cluster"], r["provider"], r["tier_floor"], r["tier_ceiling"], r["score"]) for r in one] == [
        ("h100-ndr", "example-h100", "underperforming", "gold", 75.34)
    ]
    by_provider = json.loads(
        cmx("history", "list", "--db", db_url, "--provider", "example-gh200", "-f", "json").stdout
    )
    assert [r["cluster"] for r in by_provider] == ["gh200-2node"]

    old, new = _gpu_pair(tmp_path)
    assert cmx("score", str(old), "--history", "--db", db_url).returncode == 0
    assert cmx("score", str(new), "--history", "--db", db_url, "-f", "json").returncode == 0
    shown = cmx("history", "show", "sys0", "--db", db_url)
    assert shown.returncode == 0, shown.stderr
    rows = shown.stdout.splitlines()
    assert rows[0] == "sys0: 2 audit(s)"
    assert rows[1].split() == [
        "id",
        "started",
        "(UTC)",
        "tier",
        "score",
        "coverage",
        "hosts",
        "GPUs",
        "Xid",
        "crit",
        "ECC",
        "unc",
        "busbw",
        "GB/s",
        "TTFJ",
        "s",
        "driver",
    ]
    assert [r.split()[-6] for r in rows[2:]] == ["4", "3"]  # the GPU count column, oldest first
    html = tmp_path / "show.html"
    assert cmx("history", "show", "sys0", "--db", db_url, "-f", "html", "-o", str(html)).returncode == 0
    page = html.read_text()
    assert page.startswith("<!doctype html>") and "<svg" in page and "<script" not in page

    diffed = cmx("history", "diff", "sys0", "--db", db_url)
    assert diffed.returncode == 0, diffed.stderr
    assert "  sys0: GPUs 4 -> 3 (worse); gpu.count_ok true -> false (worse);" in diffed.stdout

    newest = json.loads(cmx("history", "list", "--db", db_url, "--cluster", "sys0", "-f", "json").stdout)[0]
    exported = tmp_path / "exported"
    exported.mkdir()
    proc = cmx("history", "export", newest["sha256"][:10], "--db", db_url, "--out", str(exported))
    assert proc.returncode == 0, proc.stderr
    assert (exported / "bundle.json").read_bytes() == (new / "bundle.json").read_bytes()
    assert (
        subprocess.run(
            [
                str(Path(sys.executable).parent / "clustermax"),
                "history",
                "export",
                str(newest["id"]),
                "--db",
                db_url,
            ],
            capture_output=True,
            check=True,
            cwd=ROOT,
        ).stdout
        == (new / "bundle.json").read_bytes()
    )


def test_baseline_gate(db_url: str, tmp_path: Path) -> None:
    old, new = _gpu_pair(tmp_path)
    same = cmx("score", str(old), "--baseline", str(old))
    assert same.returncode == 0, same.stderr
    assert f"baseline: {old}: no regression against {old}" in same.stderr
    worse = cmx("score", str(new), "--baseline", str(old))
    assert worse.returncode == 1
    assert worse.stderr.splitlines()[-6:] == [
        f"baseline: {new} regressed against {old}:",
        "  - criterion gpu-count-ok (All expected GPUs visible): pass -> fail on sys0",
        "  - criterion gpu-idle-temperature (GPUs cool at idle): pass -> fail on sys0",
        "  - gpu.count: 4 -> 3 (-25.0%) on sys0",
        "  - critical finding gpu-missing appeared on sys0: 3 of 4 expected GPUs are visible",
        f"error: regressed against the baseline: {new} (4 regression(s))",
    ]
    better = cmx("score", str(old), "--baseline", str(new))
    assert better.returncode == 0, better.stderr
    # from the database: the newest other audit of the same cluster
    assert cmx("history", "add", str(old), "--db", db_url).returncode == 0
    latest = cmx("score", str(new), "--baseline", "latest", "--db", db_url)
    assert latest.returncode == 1
    assert "  - gpu.count: 4 -> 3 (-25.0%) on sys0" in latest.stderr
    none = cmx("score", "tests/data/bundles/h100-smi-only", "--baseline", "latest", "--db", db_url)
    assert none.returncode == 2
    assert "error: --baseline latest: no other audit of one-table in " in none.stderr


def test_fabric_manager_down_fails_the_gate_on_its_abort_not_on_lost_numbers(tmp_path: Path) -> None:
    """NCCL aborted (Fabric Manager down): the bandwidth it did not measure is unknown, not a regression;
    the abort it printed is a high finding that appeared, and that is one."""
    profile = [
        "--provider",
        "example-h100",
        "--cluster",
        "h100-ndr",
        "--profile",
        "gpu_model=H100-SXM",
        "--profile",
        "fabric=infiniband-ndr",
        "--profile",
        "nic_count=8",
        "--profile",
        "gpus_per_node=8",
    ]
    old = import_bundle(
        tmp_path / "old",
        *profile,
        "tests/data/nccl-tests/h100-2node-allreduce-mpirun.log",
        "tests/data/nvidia-smi/h100x8-565-table.txt",
    )
    new = import_bundle(
        tmp_path / "new",
        *profile,
        "tests/data/history-pairs/h100x8-fabric-manager-down-issue264.log",
        "tests/data/nvidia-smi/h100x8-565-table.txt",
    )
    proc = cmx("score", str(new), "--baseline", str(old))
    assert proc.returncode == 1, proc.stderr
    assert (
        "baseline: no longer measured (not failed): criterion nccl-inter-busbw: pass -> not measured"
        in proc.stderr
    )
    assert proc.stderr.splitlines()[-2:] == [
        "  - high finding run-failed appeared: nccl-tests on unknown node(s), run 1, failed:"
        " Test CUDA failure common.cu:941 'system not yet initialized'",
        f"error: regressed against the baseline: {new} (1 regression(s))",
    ]


def test_missing_database_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "none.sqlite"
    for args in (
        ["history", "list"],
        ["history", "show", "x"],
        ["history", "diff", "x"],
        ["history", "export", "1"],
    ):
        proc = cmx(*args, "--db", str(db))
        assert proc.returncode == 2, args
        assert proc.stderr.splitlines()[0] == f"error: no history database at {db}"
        assert "Traceback" not in proc.stderr
    assert not db.exists()  # reading never creates it
    default = cmx("history", "list", env={"XDG_DATA_HOME": str(tmp_path / "xdg")})
    assert (
        default.stderr.splitlines()[0]
        == f"error: no history database at {tmp_path}/xdg/clustermax/history.sqlite"
    )
    assert cmx("history", "add", GOLDEN[0], env={"XDG_DATA_HOME": str(tmp_path / "xdg")}).returncode == 0
    assert (tmp_path / "xdg" / "clustermax" / "history.sqlite").is_file()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    assert cmx("history", "add", GOLDEN[0], "--db", str(db)).returncode == 0
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    old, _ = _gpu_pair(tmp_path)
    before = (old / "bundle.json").read_bytes()
    proc = cmx("score", str(old), "--history", "--db", str(db))
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-2:] == [
        f"error: the history database {db} has schema revision 0099, newer than this clustermax knows (it knows "
        "up to 0002)",
        f"  hint: the bundle is safe at {old}; add it later with: clustermax history add {old} (upgrade clustermax "
        "(pip install -U clustermax) to use it)",
    ]
    assert (old / "bundle.json").read_bytes() == before


def test_locked_too_long_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    assert cmx("history", "add", GOLDEN[0], "--db", str(db)).returncode == 0
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3,sys,time; c=sqlite3.connect(sys.argv[1], isolation_level=None); "
            "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(30)",
            str(db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        start = time.monotonic()
        proc = cmx("history", "add", GOLDEN[1], "--db", str(db), env={"CLUSTERMAX_DB_TIMEOUT": "1"})
        assert time.monotonic() - start < 20
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0] == (
        f"error: the history database {db} stayed locked by another process for more than 1 s"
    )
    assert cmx("history", "add", GOLDEN[1], "--db", str(db)).returncode == 0  # and it works once free


@pytest.mark.postgres
def test_unreachable_postgres_hides_the_password(pg_url: str) -> None:
    url = pg_url.replace("cmx@", "cmx:s3cret-pw@").replace("port=", "port=1")
    proc = cmx("history", "list", "--db", url)
    assert proc.returncode == 2
    assert "s3cret-pw" not in proc.stderr and "cmx:***@" in proc.stderr
    assert proc.stderr.startswith("error: cannot reach the history database postgresql://cmx:***@")
    assert len(proc.stderr.splitlines()) == 2  # the line and its hint


@pytest.mark.postgres
def test_missing_postgres_database(pg_url: str) -> None:
    url = pg_url.replace("/cmx_test_", "/no_such_db_")
    proc = cmx("history", "add", GOLDEN[0], "--db", url)
    assert proc.returncode == 2
    assert 'database "no_such_db_' in proc.stderr and "does not exist" in proc.stderr


def test_help_stays_light() -> None:
    code = "import sys; from clustermax.cli import app; print(sorted(m for m in ('sqlalchemy', 'alembic', 'psycopg') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"

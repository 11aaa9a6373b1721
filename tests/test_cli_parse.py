"""`clustermax parse`: the real CLI in a subprocess, exact fragments and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clustermax", *args], input=stdin, capture_output=True, text=True, timeout=60
    )


def test_list() -> None:
    r = run("parse", "--list")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    kinds = [line.split()[0] for line in lines]
    assert kinds[:5] == ["nccl-tests", "nvidia-smi", "nvidia-smi-topo", "dcgmi-diag", "xid"]
    assert "nccl-tests          nccl-tests / rccl-tests logs, any collective" in lines


def test_parse_file_prints_one_json_object() -> None:
    r = run("parse", "nccl-tests", str(DATA / "nccl-tests" / "h100-2node-allreduce-mpirun.log"))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["collective"] == "all_reduce" and out["ranks"] == 16
    assert out["peak_busbw_gbps"] == 338.82 and out["avg_busbw_gbps"] == 70.742
    assert out["rows"][0]["size_bytes"] == 8 and out["rows"][0]["ip_wrong"] == 0
    assert out["warnings"] == []


def test_parse_stdin() -> None:
    text = (DATA / "nvidia-smi" / "h100x8-565-table.txt").read_text()
    r = run("parse", "nvidia-smi", "-", stdin=text)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["format"] == "table" and out["gpu_count"] == 8 and out["driver_version"] == "565.57.01"


def test_absent_values_are_null() -> None:
    r = run("parse", "nvidia-smi", str(DATA / "nvidia-smi" / "gb10-580-domain-000F-table.txt"))
    gpu = json.loads(r.stdout)["gpus"][0]
    assert gpu["memory_total_mib"] is None and gpu["power_limit_w"] is None and gpu["power_draw_w"] == 105.0


def test_partial_input_lists_warnings() -> None:
    r = run("parse", "nvidia-smi", str(DATA / "nvidia-smi" / "titanrtx4-520-q-elided.txt"))
    assert r.returncode == 0
    assert "'Attached GPUs' says 4 but 2 GPU section(s) were found" in json.loads(r.stdout)["warnings"]


def test_unparseable_exits_2_with_one_line() -> None:
    r = run("parse", "dcgmi-diag", "-", stdin="this is not dcgmi output\n")
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr == (
        "error: <stdin>: dcgmi-diag: expected 'dcgmi diag' output: a '| Diagnostic | Result |' table with"
        " test rows; found none\n"
    )
    assert "Traceback" not in r.stderr


def test_wrong_kind_for_the_file_exits_2() -> None:
    path = DATA / "xid" / "dmesg-T-akash-43-31-94.log"
    r = run("parse", "nvidia-smi-topo", str(path))
    assert r.returncode == 2
    assert r.stderr.startswith(f"error: {path}: nvidia-smi-topo: expected 'nvidia-smi topo -m' output")
    assert len(r.stderr.strip().splitlines()) == 1


def test_unknown_kind_and_missing_file() -> None:
    r = run("parse", "nvidia-smu", "x.txt")
    assert r.returncode == 2
    assert r.stderr.startswith("error: nvidia-smu: unknown kind; known kinds: dcgmi-diag, ibstat,")
    assert "hint: did you mean 'nvidia-smi'? (clustermax parse --list shows the kinds)" in r.stderr
    r = run("parse", "xid", "/no/such/file.log")
    assert r.returncode == 2
    assert r.stderr.startswith("error: /no/such/file.log: cannot read: No such file or directory")


def test_missing_arguments() -> None:
    r = run("parse", "xid")
    assert r.returncode == 2
    assert r.stderr == "error: clustermax parse: Missing argument 'FILE' (see clustermax parse --help)\n"

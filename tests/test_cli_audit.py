"""`clustermax audit`, `probes list` and `schema` through the real CLI (subprocesses of the entry point)."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clustermax.models import Bundle, ProbeStatus
from clustermax.probes.specs import load_probe_specs
from tests.infra.cluster import TestCluster

CLI = str(Path(sys.executable).parent / "clustermax")


def run(
    *args: str, cwd: Path | None = None, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout, env=env, check=False
    )


def test_local_audit_writes_a_bundle_and_prints_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run("audit", "--local", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    bundle = Bundle.model_validate_json((out / "bundle.json").read_text())
    assert bundle.complete and bundle.kind == "audit"
    assert [(h.name, h.role, h.state) for h in bundle.hosts] == [(socket.gethostname(), "local", "ok")]
    sysinfo = next(r for r in bundle.results if r.probe_id == "system_info")
    assert sysinfo.status == ProbeStatus.OK
    values = {m.metric: m.value for m in sysinfo.measurements}
    assert values["system.hostname"] == socket.gethostname()
    assert values["system.cpu_count"] == os.cpu_count()
    assert {r.probe_id for r in bundle.results} == {p for p, s in load_probe_specs().items() if s.default}
    assert bundle.options["mode"] == "local"
    assert bundle.origin.command == f"clustermax audit --local --out {out}"
    assert f"clustermax audit of {socket.gethostname()} (platform " in proc.stdout
    assert f"Bundle: {out / 'bundle.json'}" in proc.stdout
    assert "system_info" in proc.stdout and "Hosts:" in proc.stdout
    assert len((out / "journal.jsonl").read_text().splitlines()) >= 2 + len(bundle.results)
    # scored with the default rubric, reports next to the bundle
    assert bundle.rubric is not None and bundle.rubric.id
    assert "Tier: " in proc.stdout and f"rubric {bundle.rubric.id}" in proc.stdout
    assert (out / "report.md").stat().st_size > 0 and (out / "report.html").stat().st_size > 0
    assert f"Reports: {out / 'report.md'}, {out / 'report.html'}" in proc.stdout


def test_bad_rubric_fails_before_auditing(tmp_path: Path) -> None:
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text("id: [unclosed\n")
    proc = run("audit", "--local", "--rubric", str(rubric), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and str(rubric) in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "o" / "journal.jsonl").exists()


def test_default_out_dir_is_timestamped_and_announced(tmp_path: Path) -> None:
    proc = run("audit", "--local", "--probes", "system_info", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    dirs = list(tmp_path.glob("clustermax-audit-*"))
    assert len(dirs) == 1 and len(dirs[0].name) == len("clustermax-audit-YYYYmmdd-HHMMSS")
    assert f"writing to {dirs[0]}" in proc.stderr
    bundle = Bundle.model_validate_json((dirs[0] / "bundle.json").read_text())
    assert {r.probe_id for r in bundle.results} == {"scheduler_detect", "system_info"}
    # the same directory is not silently overwritten
    again = run("audit", "--local", "--out", str(dirs[0]))
    assert again.returncode == 2 and "already holds an audit" in again.stderr and "--resume" in again.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ((), "say what to audit"),
        (("--local", "--probes", "nope"), "unknown probe 'nope'"),
        (("--local", "--param", "gpu_health.dcgm_level=high"), "expected an integer"),
        (("--local", "--param", "gpu_health.nope=1"), "has no parameter 'nope'"),
        (("--local", "--param", "garbage"), "expected PROBE.KEY=VALUE"),
        (("--local", "somehost"), "say what to audit"),
    ],
)
def test_usage_errors_exit_2_without_traceback(args: tuple[str, ...], fragment: str, tmp_path: Path) -> None:
    proc = run("audit", *args, "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert fragment in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ")


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("cluster: c\nlogin:\n  host: a\n  port: [1\n", 4, "invalid YAML"),
        ("cluster: c\nlogin:\n  host: a\n  port: ssh\n", 4, "login.port"),
        (
            "cluster: c\nlogin: a\ncompute:\n  - b\n  - {host: c, expected_gpus: -1}\n",
            5,
            "compute[1].expected_gpus",
        ),
        ("cluster: c\nlogin: a\nprobes:\n  gpu_health:\n    dcgm_level: high\n", 5, "expected an integer"),
        ("cluster: c\nlogin: a\ncompute: sometimes\n", 3, "compute: expected 'discover'"),
        ("- just\n- a list\n", 1, "an inventory is a mapping"),
        ("cluster: c\n", None, "needs a 'login' host"),
        (
            "cluster: c\nlogin: a\ncompute:\n  - a\n  - {name: b, host: x}\n  - {name: b, host: y}\n",
            6,
            "used twice",
        ),
        (
            "cluster: c\nlogin: a\ndefaults:\n  user: x\n  reach: sometimes\n",
            5,
            "defaults.reach: Input should be 'auto', 'ssh' or 'scheduler'",
        ),
    ],
)
def test_malformed_inventory_is_one_line_with_file_and_line(
    tmp_path: Path, text: str, line: int | None, fragment: str
) -> None:
    inv = tmp_path / "cluster.yaml"
    inv.write_text(text)
    proc = run("audit", "--inventory", str(inv), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    where = f"{inv}:{line}:" if line else f"{inv}:"
    assert lines[0].startswith(f"error: {where}"), lines[0]
    assert fragment in lines[0]
    assert not (tmp_path / "o" / "bundle.json").exists()


def test_probes_list_shows_every_probe() -> None:
    proc = run("probes", "list")
    assert proc.returncode == 0
    specs = load_probe_specs()
    rows = {
        line.split()[0]: line.split()
        for line in proc.stdout.splitlines()
        if line and not line.startswith(" ")
    }
    assert rows["PROBE"][:3] == ["PROBE", "CATEGORY", "SCOPE"]
    for pid, spec in specs.items():
        assert rows[pid][1:3] == [spec.category, spec.scope]
        assert f"measures: {', '.join(m.name for m in spec.metrics)}" in proc.stdout
    as_json = json.loads(run("probes", "list", "--json").stdout)
    assert [p["id"] for p in as_json] == list(specs)


def test_probes_show_gives_parameters_units_where_and_cost() -> None:
    spec = load_probe_specs()["monitoring"]
    proc = run("probes", "show", "monitoring")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert text.startswith(f"monitoring: {spec.title}\n")
    assert "monitoring.dcgm_exporter_port (int, default 9400): Port of the DCGM exporter on the node" in text
    for metric in spec.metrics:
        assert f"  {metric.name}" in text and f"[{metric.unit.value}]" in text
    assert "where: on every compute node: over SSH, or as a task of the audit's one srun step" in text
    assert f"cost: wall_s {spec.cost['wall_s']}; gpu_s {spec.cost['gpu_s']}" in text
    shown = json.loads(run("probes", "show", "ttfj", "--json").stdout)
    assert shown["id"] == "ttfj" and shown["where"].startswith("once, from the login node")
    assert len(shown["script_sha256"]) == 64 and "docs/probes.md" in shown["docs"]
    bad = run("probes", "show", "nope")
    assert bad.returncode == 2 and "unknown probe 'nope'" in bad.stderr and "gpu_health" in bad.stderr


def test_schema_outputs() -> None:
    bundle = json.loads(run("schema").stdout)
    assert bundle["title"] == "Bundle" and "results" in bundle["properties"]
    assert json.loads(run("schema", "bundle").stdout) == bundle
    inventory = json.loads(run("schema", "inventory").stdout)
    assert inventory["title"] == "Inventory" and {"cluster", "login", "compute", "probes"} <= set(
        inventory["properties"]
    )
    assert json.loads(run("schema", "probe").stdout)["title"] == "ProbeSpec"
    bad = run("schema", "nope")
    assert bad.returncode == 2 and "'nope' is not one of bundle, inventory, probe, score" in bad.stderr


def _inventory(c: TestCluster, path: Path, extra: str = "") -> Path:
    hosts = "\n".join(f"  - {{name: {h.name}, host: {h.ip}}}" for h in c.nodes)
    path.write_text(
        f"cluster: testcluster\nprovider: local\nlogin: {{name: login1, host: {c.login.ip}}}\n"
        f"compute:\n{hosts}\ndefaults: {{user: {c.user}, identity_file: {c.key}}}\n"
        f"known_hosts: [{c.known_hosts}]\n{extra}"
    )
    return path


@pytest.mark.sshd
def test_inventory_audit_and_unknown_key_warning(sshd_hosts: TestCluster, tmp_path: Path) -> None:
    inv = _inventory(
        sshd_hosts, tmp_path / "inv.yaml", "colour: blue\nprofile: {gpu_model: H100-SXM, nic_count: 8}\n"
    )
    proc = run("audit", "--inventory", str(inv), "--probes", "system_info", "--out", str(tmp_path / "o"))
    assert proc.returncode == 0, proc.stderr
    assert f"{inv}:10: warning: unknown key 'colour' ignored" in proc.stderr
    bundle = Bundle.model_validate_json((tmp_path / "o" / "bundle.json").read_text())
    assert bundle.target.cluster == "testcluster" and bundle.target.provider == "local"
    assert bundle.target.profile_override == {"gpu_model": "H100-SXM", "nic_count": 8}
    assert [h.state for h in bundle.hosts] == ["ok"] * 4
    assert len([r for r in bundle.results if r.probe_id == "system_info" and r.status == ProbeStatus.OK]) == 4


@pytest.mark.sshd
def test_unreachable_cluster_exits_3(sshd_hosts: TestCluster, tmp_path: Path) -> None:
    proc = run(
        "audit",
        f"{sshd_hosts.user}@{sshd_hosts.subnet}.1:1",
        "--probes",
        "system_info",
        "--out",
        str(tmp_path / "o"),
    )
    assert proc.returncode == 3, proc.stderr
    bundle = Bundle.model_validate_json((tmp_path / "o" / "bundle.json").read_text())
    assert bundle.hosts[0].state == "unreachable"
    assert all(r.substatus and r.substatus.value == "unreachable" for r in bundle.results)


@pytest.mark.sshd
def test_sigint_leaves_a_partial_bundle_that_resume_completes(
    sshd_hosts: TestCluster, tmp_path: Path
) -> None:
    c = sshd_hosts
    inv = _inventory(c, tmp_path / "inv.yaml")
    out = tmp_path / "out"
    slow = c.bin_dir / "lscpu"  # first on PATH in every SSH session: system_info's lscpu now hangs
    slow.write_text('#!/bin/sh\nsleep 60\nexec /usr/bin/lscpu "$@"\n')
    slow.chmod(0o755)
    try:
        proc = subprocess.Popen(
            [CLI, "audit", "--inventory", str(inv), "--probes", "system_info", "--out", str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        journal = out / "journal.jsonl"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if journal.exists() and '"kind": "result"' in journal.read_text():
                break
            time.sleep(0.1)
        time.sleep(1.0)  # system_info is now hanging in lscpu on the hosts
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
        assert time.monotonic() - t0 < 20
        assert proc.returncode == 130, stderr
        assert "--resume" in stderr
        partial = Bundle.model_validate_json((out / "bundle.json").read_text())
        assert not partial.complete
        assert "INCOMPLETE" in stdout
        sysinfo = [r for r in partial.results if r.probe_id == "system_info"]
        assert all(r.status != ProbeStatus.OK for r in sysinfo)
    finally:
        slow.unlink()
    # the printed command finishes it: the audit directory, and what was audited named again
    hint = stderr.split("Finish it with: ", 1)[1].strip()
    assert hint == f"clustermax audit --resume {out} --inventory {inv}"
    done = run(*shlex.split(hint)[1:])
    assert done.returncode == 0, done.stderr
    bundle = Bundle.model_validate_json((out / "bundle.json").read_text())
    assert bundle.complete
    assert bundle.started_at == partial.started_at
    ok = [r.host for r in bundle.results if r.probe_id == "system_info" and r.status == ProbeStatus.OK]
    assert sorted(ok) == ["login1", "node1", "node2", "node3"]
    detect = [r for r in bundle.results if r.probe_id == "scheduler_detect"]
    assert detect == [r for r in partial.results if r.probe_id == "scheduler_detect"]  # kept, not re-run


@pytest.mark.sshd
@pytest.mark.slurm
def test_audit_of_a_login_node_discovers_and_jumps_to_compute_nodes(
    testcluster: TestCluster, tmp_path: Path
) -> None:
    out = tmp_path / "o"
    proc = run(
        "audit",
        "login1",
        "--ssh-config",
        str(testcluster.ssh_config),
        "--probes",
        "slurm,system_info",
        "--max-nodes",
        "3",
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    bundle = Bundle.model_validate_json((out / "bundle.json").read_text())
    assert bundle.target.platform == "slurm"
    assert [(h.name, h.role, h.state, h.via) for h in bundle.hosts] == [
        ("login1", "login", "ok", None),
        ("node1", "compute", "ok", "login1"),
        ("node2", "compute", "ok", "login1"),
        ("node3", "compute", "ok", "login1"),
    ]
    names = {
        r.host: next(m.value for m in r.measurements if m.metric == "system.hostname")
        for r in bundle.results
        if r.probe_id == "system_info"
    }
    assert names == {"login1": "login1", "node1": "node1", "node2": "node2", "node3": "node3"}
    assert "auditing 3 of 4 compute nodes" in proc.stderr

"""Crash safety and authority of `clustermax audit`, through the real CLI against real sshd hosts.

SIGKILL of the CLI at a chosen point, a disk that fills up (a small tmpfs), two audits into one
directory, and a resumed audit whose journal was edited to widen trust.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from clustermax.models import Bundle, ProbeStatus
from tests.infra.cluster import TestCluster
from tests.test_safeio import fill, small_tmpfs

pytestmark = pytest.mark.sshd

CLI = str(Path(sys.executable).parent / "clustermax")


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], capture_output=True, text=True, env=env, timeout=timeout, check=False)


def inventory(c: TestCluster, path: Path, compute: str | None = None) -> Path:
    hosts = compute or "\n".join(f"  - {{name: {h.name}, host: {h.ip}}}" for h in c.nodes)
    path.write_text(
        f"cluster: testcluster\nlogin: {{name: login1, host: {c.login.ip}}}\ncompute:\n{hosts}\n"
        f"defaults: {{user: {c.user}, identity_file: {c.key}}}\nknown_hosts: [{c.known_hosts}]\n"
    )
    return path


@contextlib.contextmanager
def slow_on_nodes(c: TestCluster, tool: str, seconds: int) -> Iterator[None]:
    """``tool`` (first on PATH in every session) sleeps first on the compute nodes, not on login1."""
    real = subprocess.run(["which", tool], capture_output=True, text=True, check=True).stdout.strip()
    wrapper = c.bin_dir / tool
    wrapper.write_text(f'#!/bin/sh\n[ "$(uname -n)" = login1 ] || sleep {seconds}\nexec {real} "$@"\n')
    wrapper.chmod(0o755)
    try:
        yield
    finally:
        wrapper.unlink()


def records(journal: Path) -> list[dict[str, object]]:
    """Every line of the journal, each of which must be a whole JSON record."""
    data = journal.read_bytes()
    assert data.endswith(b"\n"), "the journal ends in half a record"
    return [json.loads(line) for line in data.decode().splitlines()]


def results(journal: Path) -> list[dict[str, object]]:
    return [r["data"] for r in records(journal) if r["kind"] == "result"]  # type: ignore[misc]


def wait_for(predicate: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def test_sigkill_mid_audit_leaves_an_incomplete_bundle_and_resume_reruns_nothing(
    sshd_hosts: TestCluster, tmp_path: Path
) -> None:
    c = sshd_hosts
    inv = inventory(c, tmp_path / "inv.yaml")
    out = tmp_path / "out"
    journal = out / "journal.jsonl"
    with slow_on_nodes(c, "lscpu", 60):
        argv = [CLI, "audit", "--inventory", str(inv), "--probes", "system_info", "--out", str(out)]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # the chosen point: the login node's two results are journaled, the compute nodes are running
        wait_for(lambda: journal.exists() and len(results(journal)) == 2 and (out / "bundle.json").exists())
        time.sleep(1.0)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    before = results(journal)
    assert [(r["host"], r["probe_id"]) for r in before] == [
        ("login1", "scheduler_detect"),
        ("login1", "system_info"),
    ]
    partial = Bundle.model_validate_json((out / "bundle.json").read_text())
    assert not partial.complete  # written after the login phase: never "complete"
    done = run("audit", "--resume", str(out), "--inventory", str(inv))
    assert done.returncode == 0, done.stderr
    bundle = Bundle.model_validate_json((out / "bundle.json").read_text())
    assert bundle.complete
    after = results(journal)
    # the resumed run journaled exactly the three missing results; the two journaled ones were kept
    assert len(after) == 5 and after[:2] == before
    assert sorted(r["host"] for r in after[2:]) == ["node1", "node2", "node3"]  # type: ignore[type-var]
    kept = {(r.host, r.probe_id): r for r in bundle.results}
    for r in before:
        assert (
            kept[(r["host"], r["probe_id"])].started_at
            == Bundle.model_validate(  # type: ignore[index]
                {**records(journal)[0]["data"], "results": [r]}  # type: ignore[dict-item]
            )
            .results[0]
            .started_at
        )
    assert all(r.status == ProbeStatus.OK for r in bundle.results)


def test_a_second_audit_into_the_same_directory_fails_at_once(
    sshd_hosts: TestCluster, tmp_path: Path
) -> None:
    c = sshd_hosts
    inv = inventory(c, tmp_path / "inv.yaml")
    out = tmp_path / "out"
    with slow_on_nodes(c, "lscpu", 4):
        argv = [CLI, "audit", "--inventory", str(inv), "--probes", "system_info", "--out", str(out)]
        first = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: (out / "journal.jsonl").exists())
        t0 = time.monotonic()
        second = run("audit", "--inventory", str(inv), "--probes", "system_info", "--out", str(out))
        assert time.monotonic() - t0 < 10
        _, first_err = first.communicate(timeout=120)
    assert second.returncode == 2
    assert second.stderr.startswith(f"error: {out} is in use by another clustermax audit (pid {first.pid})")
    assert first.returncode == 0, first_err
    kinds = [r["kind"] for r in records(out / "journal.jsonl")]
    assert kinds.count("start") == 1 and kinds.count("end") == 1
    assert Bundle.model_validate_json((out / "bundle.json").read_text()).complete
    # resuming while it runs is refused the same way
    with slow_on_nodes(c, "lscpu", 4):
        other = tmp_path / "other"
        argv = [CLI, "audit", "--inventory", str(inv), "--probes", "system_info", "--out", str(other)]
        first = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: (other / "journal.jsonl").exists())
        resumed = run("audit", "--resume", str(other), "--inventory", str(inv))
        first.wait(timeout=120)
    assert resumed.returncode == 2 and "is in use by another clustermax audit" in resumed.stderr


@pytest.mark.parametrize("leave", [8 * 1024, 20 * 1024, 40 * 1024])
def test_a_full_disk_stops_the_audit_with_one_line_and_loses_nothing(
    sshd_hosts: TestCluster, tmp_path: Path, leave: int
) -> None:
    c = sshd_hosts
    inv = inventory(c, tmp_path / "inv.yaml")
    with small_tmpfs(tmp_path / "disk", size="1m") as disk:
        out = disk / "audit"
        filler = fill(disk, leave=leave)
        proc = run("audit", "--inventory", str(inv), "--probes", "system_info", "--out", str(out))
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and "unexpected" not in proc.stderr
        error, hint = proc.stderr.splitlines()[-2:]
        assert error.startswith("error: ") and "no space left on the device while writing the" in error
        assert error.endswith("; the audit stopped")
        resume = hint.split("hint: free some space, then finish it with: ", 1)[1]
        assert resume == f"clustermax audit --resume {out} --inventory {inv}"
        before = results(out / "journal.jsonl")  # every line is a whole record
        assert len(before) < 5
        filler.unlink()
        done = run(*shlex.split(resume)[1:])
        assert done.returncode == 0, done.stderr
        after = results(out / "journal.jsonl")
        assert after[: len(before)] == before and len(after) == 5  # nothing journaled was run again
        bundle = Bundle.model_validate_json((out / "bundle.json").read_text())
        assert bundle.complete and len(bundle.results) == 5


def test_resume_takes_trust_only_from_its_own_command_line(sshd_hosts: TestCluster, tmp_path: Path) -> None:
    c = sshd_hosts
    home = tmp_path / "home"
    home.mkdir()
    own = tmp_path / "own_known_hosts"
    env = {**os.environ, "HOME": str(home), "CLUSTERMAX_KNOWN_HOSTS": str(own), "XDG_CACHE_HOME": str(home)}
    target = f"{c.user}@{c.login.ip}"
    out = tmp_path / "out"
    first = run("audit", target, "-i", str(c.key), "--known-hosts", str(c.known_hosts), "--probes",
                "system_info", "--out", str(out), env=env)  # fmt: skip
    assert first.returncode == 0, first.stderr
    # someone edits the journal: accept any new host key, trust no known_hosts, read this ssh_config
    shadow = tmp_path / "shadow"
    shadow.write_text("Host x\n  HostName y\nroot:$6$secrethash:19000:0:99999:7:::\n")
    journal = out / "journal.jsonl"
    start = records(journal)[0]
    start["data"]["options"].update(  # type: ignore[index]
        accept_new_host_keys=True, known_hosts=[], ssh_config=str(shadow), identity_file=None
    )
    journal.write_text(json.dumps(start) + "\n")
    resumed = run("audit", "--resume", str(out), target, "-i", str(c.key), env=env)
    assert resumed.returncode == 3, resumed.stderr  # the host key is unknown to this command line: refused
    assert "secrethash" not in resumed.stdout + resumed.stderr
    assert "is not in known_hosts; nothing was run" in resumed.stdout
    assert not own.exists()  # no key was recorded
    refused = Bundle.model_validate_json((out / "bundle.json").read_text())
    assert [(h.name, h.state) for h in refused.hosts] == [(c.login.ip, "host-key")]
    other = run("audit", "--resume", str(out), f"{c.user}@{c.nodes[0].ip}", env=env)
    assert other.returncode == 2 and f"is an audit of {target}; name the same to resume it" in other.stderr
    done = run("audit", "--resume", str(out), target, "-i", str(c.key), "--known-hosts", str(c.known_hosts),
               env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert Bundle.model_validate_json((out / "bundle.json").read_text()).complete
    assert not own.exists()


def test_an_inventory_proxy_jump_hop_gets_the_defaults(sshd_hosts: TestCluster, tmp_path: Path) -> None:
    c = sshd_hosts
    home = tmp_path / "home"
    home.mkdir()  # no ~/.ssh: the hop can only authenticate with defaults.identity_file
    inv = inventory(
        c, tmp_path / "inv.yaml", f"  - {{name: node1, host: {c.nodes[0].ip}, proxy_jump: {c.login.ip}}}"
    )
    proc = run("audit", "--inventory", str(inv), "--probes", "system_info", "--out", str(tmp_path / "o"),
               env={**os.environ, "HOME": str(home)})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    bundle = Bundle.model_validate_json((tmp_path / "o" / "bundle.json").read_text())
    assert [(h.name, h.state, h.via) for h in bundle.hosts] == [
        ("login1", "ok", None),
        ("node1", "ok", c.login.ip),
    ]

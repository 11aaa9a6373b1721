"""--reach on the real test cluster: node probes through one srun step when the nodes refuse SSH.

A cluster of its own (its compute nodes' sshd is switched to ``DenyUsers <the audit user>``, as on a
managed Slurm cluster where a tenant reaches a node only through a job), real slurmctld / slurmd, and
GPU tool stand-ins fed with recorded real outputs (tests/probes/standins).
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clustermax.models import Bundle, ProbeResult, ProbeStatus, SubStatus
from tests.conftest import require
from tests.infra.cluster import TestCluster, missing_requirements, running_cluster, sshd_config_text
from tests.probes.standins import Standins, installed_standins

pytestmark = [pytest.mark.sshd, pytest.mark.slurm]

CLI = str(Path(sys.executable).parent / "clustermax")
H100_Q = "captures/h100-fc-2026-11-26/nvidia-smi-q.txt"
A100X4_REMAP = "nvidia-smi/a100x4-555-q-remap-pending.txt"
XID_AKASH = "xid/dmesg-T-akash-43-31-94.log"
PROBES = "slurm,system_info,gpu_health,monitoring,fabric"
NODE_PROBES = {"system_info", "gpu_health", "monitoring", "fabric"}
TIME_VARYING = {"system.uptime"}


@pytest.fixture(scope="module")
def cluster() -> Iterator[TestCluster]:
    require("test cluster (sshd + Slurm)", missing_requirements(slurm=True))
    with running_cluster(nodes=4, slurm=True) as c:
        yield c


@pytest.fixture()
def standins(cluster: TestCluster) -> Iterator[Standins]:
    with installed_standins(cluster) as s:
        s.scenario("default", {"nvidia-smi": [{"match": ["-q"], "file": H100_Q}],
                               "dmesg": [{"match": ["-T"], "file": XID_AKASH}]})  # fmt: skip
        s.scenario("node2", {"nvidia-smi": [{"match": ["-q"], "file": A100X4_REMAP}],
                             "dmesg": [{"match": ["-T"], "file": XID_AKASH}]})  # fmt: skip
        yield s


@contextlib.contextmanager
def nodes_refuse_ssh(c: TestCluster) -> Iterator[None]:
    """Restart every compute node's sshd with ``DenyUsers <audit user>``; put the usual one back after."""
    path_dirs = f"{c.bin_dir}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"

    def restart(suffix: str, extra: str) -> None:
        for host in c.nodes:
            for name, proc in list(c.procs):
                if name.startswith(f"sshd-{host.name}") and proc.poll() is None:
                    proc.terminate()
                    proc.wait(timeout=10)
                    c.procs.remove((name, proc))
            conf = c.base / "run" / f"sshd-{host.name}{suffix}.conf"
            conf.write_text(
                sshd_config_text(c.base, host.ip, 22, host.host_key, path_dirs, c.slurm_conf, extra)
            )
            c.start_sshd(host, conf, f"sshd-{host.name}{suffix}")
        time.sleep(0.5)

    restart("-deny", f"DenyUsers {c.user}")
    try:
        yield
    finally:
        restart("", "")


def squeue(c: TestCluster) -> str:
    return subprocess.run(["squeue", "-h", "-o", "%i %j %T"], capture_output=True, text=True, env=c.env(),
                          check=True).stdout.strip()  # fmt: skip


def audit(c: TestCluster, out: Path, *extra: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, "audit", "login1", "--ssh-config", str(c.ssh_config), "--probes", PROBES, "--out", str(out),
         "--quiet", *extra],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def load(out: Path) -> Bundle:
    return Bundle.model_validate_json((out / "bundle.json").read_text())


def node_results(bundle: Bundle) -> dict[tuple[str, str], ProbeResult]:
    return {(r.host, r.probe_id): r for r in bundle.results if r.host.startswith("node")}


def comparable(r: ProbeResult) -> dict[str, Any]:
    """What a probe result says about its node (not when it ran or how long it took)."""
    return {
        "status": r.status, "substatus": r.substatus, "message": r.message, "params": r.params,
        "findings": r.findings, "facts": r.facts,
        "measurements": [m for m in r.measurements if m.metric not in TIME_VARYING],
    }  # fmt: skip


def test_refused_nodes_get_every_node_probe_through_one_srun_step(
    cluster: TestCluster, standins: Standins, tmp_path: Path
) -> None:
    ssh = audit(cluster, tmp_path / "ssh", "--reach", "ssh")
    assert ssh.returncode == 0, ssh.stderr
    by_ssh = load(tmp_path / "ssh")
    assert {h.name: h.reach for h in by_ssh.hosts} == {
        "login1": "ssh",
        **{f"node{i}": "ssh" for i in range(1, 5)},
    }
    with nodes_refuse_ssh(cluster):
        proc = audit(cluster, tmp_path / "auto")  # --reach auto is the default
        assert proc.returncode == 0, proc.stderr
        refused = audit(cluster, tmp_path / "refused", "--reach", "ssh")
    auto = load(tmp_path / "auto")
    assert auto.complete
    [step] = auto.steps
    assert step.job_id and step.queue_clean is True and step.exit_code == 0
    assert sorted(step.ran) == ["node1", "node2", "node3", "node4"] and step.not_run == {}
    assert "--ntasks-per-node=1" in step.srun and "--nodes=4" in step.srun and "--gres=gpu:8" in step.srun
    nodes = {h.name: h for h in auto.hosts if h.role == "compute"}
    assert all(
        h.state == "ok" and h.reach == "scheduler" and h.reach_id == step.job_id for h in nodes.values()
    )
    assert all(h.note and "SSH refused (auth" in h.note for h in nodes.values())
    # per node, every node probe, the same results as the SSH run of the same stand-ins
    a, b = node_results(auto), node_results(by_ssh)
    assert set(a) == set(b) == {(f"node{i}", p) for i in range(1, 5) for p in NODE_PROBES}
    for key in a:
        assert comparable(a[key]) == comparable(b[key]), key
    assert a[("node2", "gpu_health")].status is ProbeStatus.FAILED  # the recorded A100 with 4 of 8 GPUs
    assert a[("node1", "gpu_health")].message != a[("node2", "gpu_health")].message  # each its own output
    # each task rebuilt its scripts and checked their SHA-256 before running them (a mismatch is an error)
    assert all(c.error is None for c in auto.commands if c.host.startswith("node") and c.step == "main")
    hostnames = {r.host: next(m.value for m in r.measurements if m.metric == "system.hostname")
                 for r in auto.results if r.probe_id == "system_info"}  # fmt: skip
    assert hostnames == {"login1": "login1", **{f"node{i}": f"node{i}" for i in range(1, 5)}}
    assert squeue(cluster) == ""
    # --reach ssh on the same cluster: the nodes are unreachable (auth), nothing measured on them
    assert refused.returncode == 0, refused.stderr
    rb = load(tmp_path / "refused")
    assert {h.name: h.state for h in rb.hosts if h.role == "compute"} == {
        f"node{i}": "auth" for i in range(1, 5)
    }
    assert rb.steps == []
    assert all(r.substatus is SubStatus.AUTH for r in node_results(rb).values())


def test_drained_node_is_not_run_the_rest_measured(cluster: TestCluster, tmp_path: Path) -> None:
    env = cluster.env()
    subprocess.run(["scontrol", "update", "nodename=node3", "state=drain", "reason=cmx test drain"], env=env,
                   check=True, capture_output=True)  # fmt: skip
    try:
        proc = audit(cluster, tmp_path / "o", "--reach", "scheduler", "--probes", "slurm,system_info,fabric")
    finally:
        subprocess.run(["scontrol", "update", "nodename=node3", "state=resume"], env=env, check=True,
                       capture_output=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    bundle = load(tmp_path / "o")
    [step] = bundle.steps
    assert (
        f"Scheduler: job {step.job_id}, 3 of 4 node(s) ran in one srun step, 1 not run; queue clean"
        in proc.stdout
    )
    assert sorted(step.ran) == ["node1", "node2", "node4"]
    assert (
        "node3" in step.not_run
        and "DRAIN" in step.not_run["node3"]
        and "cmx test drain" in step.not_run["node3"]
    )
    hosts = {h.name: h for h in bundle.hosts}
    assert hosts["node3"].state == "not-allocated" and hosts["node3"].reach is None
    res = node_results(bundle)
    for probe in ("system_info", "fabric"):
        r3 = res[("node3", probe)]
        assert (
            r3.status is ProbeStatus.ERROR and r3.substatus is SubStatus.NOT_ALLOCATED
        )  # unknown, not failed
        assert r3.message.startswith("not run: not allocated")
        assert all(res[(n, probe)].status is ProbeStatus.OK for n in ("node1", "node2", "node4"))
    assert squeue(cluster) == ""


def test_hung_task_is_cut_at_its_timeout_while_the_others_finish(
    cluster: TestCluster, tmp_path: Path
) -> None:
    hang = cluster.bin_dir / "lscpu"  # first on PATH in every task: system_info hangs on node2 only
    hang.write_text('#!/bin/sh\n[ "$(hostname)" = node2 ] && sleep 600\nexec /usr/bin/lscpu "$@"\n')
    hang.chmod(0o755)
    try:
        t0 = time.monotonic()
        proc = audit(cluster, tmp_path / "o", "--reach", "scheduler", "--probes", "slurm,system_info,fabric")
        took = time.monotonic() - t0
    finally:
        hang.unlink()
    assert proc.returncode == 0, proc.stderr
    bundle = load(tmp_path / "o")
    res = node_results(bundle)
    cut = res[("node2", "system_info")]
    assert cut.status is ProbeStatus.ERROR and cut.substatus is SubStatus.TIMEOUT, cut.message
    assert all(res[(n, "system_info")].status is ProbeStatus.OK for n in ("node1", "node3", "node4"))
    assert all(res[(n, "fabric")].status is ProbeStatus.OK for n in ("node1", "node2", "node3", "node4"))
    assert took < 30 + 60  # system_info's 30 s timeout, not lscpu's 600 s
    assert squeue(cluster) == ""


def test_interrupt_mid_step_leaves_a_partial_bundle_an_empty_queue_and_resume_runs_only_the_rest(
    cluster: TestCluster, tmp_path: Path
) -> None:
    out = tmp_path / "o"
    marks = cluster.base / "lscpu-marks"  # where the wrapper says which node got how far
    marks.mkdir(exist_ok=True)
    marks.chmod(0o777)
    hang = cluster.bin_dir / "lscpu"  # node2 and node3 hang in system_info; node1 and node4 finish
    hang.write_text(
        f'#!/bin/sh\nh=$(hostname)\ncase "$h" in node2|node3) touch {marks}/hang-$h; sleep 600 ;; esac\n'
        f'/usr/bin/lscpu "$@"\nrc=$?\ntouch {marks}/done-$h\nexit $rc\n'
    )
    hang.chmod(0o755)
    try:
        proc = subprocess.Popen(
            [CLI, "audit", "login1", "--ssh-config", str(cluster.ssh_config), "--reach", "scheduler",
             "--probes", "slurm,system_info", "--out", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60

        def step_running() -> bool:  # the step's job (the slurm probe runs a job of its own before it)
            return any(
                " clustermax-step-" in line and "RUNNING" in line for line in squeue(cluster).splitlines()
            )

        while time.monotonic() < deadline and not step_running():
            time.sleep(0.2)
        assert step_running(), squeue(cluster)
        expected = {"hang-node2", "hang-node3", "done-node1", "done-node4"}
        while time.monotonic() < deadline and not expected <= {p.name for p in marks.iterdir()}:
            time.sleep(0.2)
        assert expected <= {p.name for p in marks.iterdir()}
        time.sleep(2)  # node1 and node4 print their frames; node2 and node3 hang in lscpu
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        hang.unlink()
    assert proc.returncode == 130, stderr
    assert squeue(cluster) == ""
    partial = load(out)
    assert not partial.complete
    [step] = partial.steps
    assert step.queue_clean is True
    res = node_results(partial)
    assert {n for n in ("node1", "node4") if res[(n, "system_info")].status is ProbeStatus.OK} == {
        "node1",
        "node4",
    }
    assert {res[(n, "system_info")].substatus for n in ("node2", "node3")} == {SubStatus.INTERRUPTED}
    hint = stderr.split("Finish it with: ", 1)[1].strip()
    done = subprocess.run([CLI, *hint.split()[1:], "--quiet"], capture_output=True, text=True, timeout=300,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    bundle = load(out)
    assert bundle.complete
    assert len(bundle.steps) == 2 and sorted(bundle.steps[1].nodes) == ["node2", "node3"]
    res2 = node_results(bundle)
    assert all(res2[(f"node{i}", "system_info")].status is ProbeStatus.OK for i in range(1, 5))
    assert res2[("node1", "system_info")] == res[("node1", "system_info")]  # kept, not run again
    assert squeue(cluster) == ""
    journal = [json.loads(line)["kind"] for line in (out / "journal.jsonl").read_text().splitlines()]
    assert journal.count("step") == 2


def test_plan_runs_nothing_on_the_nodes_and_names_the_step_the_audit_runs(
    cluster: TestCluster, standins: Standins, tmp_path: Path
) -> None:
    plan_args = [
        "login1",
        "--ssh-config",
        str(cluster.ssh_config),
        "--probes",
        PROBES,
        "--reach",
        "scheduler",
    ]
    text = subprocess.run([CLI, "audit", *plan_args, "--plan"], capture_output=True, text=True, timeout=120,
                          check=False)  # fmt: skip
    assert text.returncode == 0, text.stderr
    assert "nothing has run on them" in text.stdout and "srun step clustermax-step-" in text.stdout
    proc = subprocess.run([CLI, "audit", *plan_args, "--plan", "--format", "json"], capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert standins.calls() == []  # no GPU tool ran anywhere
    assert squeue(cluster) == ""
    assert not list(tmp_path.iterdir())  # no bundle, no directory
    assert plan["platform"] == "slurm" and plan["compute_nodes"] == ["node1", "node2", "node3", "node4"]
    assert plan["discovery"] == ["scheduler_detect", "slurm"]
    [step] = plan["steps"]
    assert step["nodes"] == ["node1", "node2", "node3", "node4"] and "--ntasks-per-node=1" in step["srun"]
    srun = {(r["host"], r["probe"]): r for r in plan["runs"] if r["through"] == "srun"}
    assert set(srun) == {(f"node{i}", p) for i in range(1, 5) for p in NODE_PROBES}
    # the audit then runs exactly those scripts (same digests) in one step of the same shape
    done = audit(cluster, tmp_path / "o", "--reach", "scheduler")
    assert done.returncode == 0, done.stderr
    bundle = load(tmp_path / "o")
    ran = {(c.host, c.probe_id): c.script_sha256 for c in bundle.commands if c.step == "main"}
    assert {k: r["script_sha256"] for k, r in srun.items()} == {k: ran[k] for k in srun}
    [real] = bundle.steps
    assert [a for a in real.srun if not a.startswith("-J=")] == [
        a for a in step["srun"] if not a.startswith("-J=")
    ]


def test_a_changed_host_key_is_never_worked_around_through_the_scheduler(
    cluster: TestCluster, standins: Standins, tmp_path: Path
) -> None:
    """node1 answers with a key that is not the one known: auto records it host-key, no srun for it."""
    lines = cluster.known_hosts.read_text().splitlines()
    ip1 = next(h.ip for h in cluster.nodes if h.name == "node1")
    ip2 = next(h.ip for h in cluster.nodes if h.name == "node2")
    key2 = next(line.split(" ", 1)[1] for line in lines if line.startswith(f"{ip2} "))
    known = tmp_path / "known_hosts"
    known.write_text("".join(f"{ip1} {key2}\n" if ln.startswith(f"{ip1} ") else f"{ln}\n" for ln in lines))
    config = tmp_path / "ssh_config"
    config.write_text(cluster.ssh_config.read_text().replace(str(cluster.known_hosts), str(known)))
    proc = subprocess.run(
        [CLI, "audit", "login1", "--ssh-config", str(config), "--probes", PROBES,
         "--out", str(tmp_path / "a"), "--quiet"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    bundle = load(tmp_path / "a")
    hosts = {h.name: h for h in bundle.hosts}
    assert hosts["node1"].state == "host-key" and hosts["node1"].reach is None
    assert all(hosts[f"node{i}"].reach == "ssh" for i in range(2, 5))
    assert bundle.steps == []
    results = node_results(bundle)
    assert {results[("node1", p)].substatus for p in NODE_PROBES} == {SubStatus.HOST_KEY}

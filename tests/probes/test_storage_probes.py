"""The storage probes for real: storage_discover on the nodes, storage_fio and storage_smallfiles through
the real Slurm of the test cluster, on a real shared filesystem between the nodes (SSHFS from a storage
host into each node's own mount namespace), 1, 2 and 4 nodes at once; what they leave behind (nothing,
whatever ends them); and how the rubric judges what they measured."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from clustermax.engine.runner import ProbeContext, run_probe
from clustermax.models import Measurement, ProbeResult, ProbeSpec, ProbeStatus, SubStatus
from clustermax.probes.base import ProbeInput, Section
from clustermax.probes.specs import load_probe_spec
from clustermax.probes.storage_fio import from_sections as fio_from_sections
from clustermax.probes.storage_fio import read_worker
from clustermax.resources import probes_dir
from clustermax.scoring import score_bundle
from tests.infra.cluster import Host, TestCluster
from tests.probes.standins import ssh_transport
from tests.scoring import factory as f

LOGIN = ProbeContext(role="login", platform="slurm")
NODE = ProbeContext(role="compute", platform="slurm")


def spec_of(probe: str) -> ProbeSpec:
    return load_probe_spec(probes_dir() / probe)


def run_on(
    cluster: TestCluster,
    host: Host,
    probe: str,
    params: dict[str, Any],
    ctx: ProbeContext,
    spec: ProbeSpec | None = None,
) -> tuple[str, ProbeResult]:
    with ssh_transport(cluster, host) as transport:
        commands, result = run_probe(transport, spec or spec_of(probe), host.name, params, ctx)
    return commands[0].stdout, result


def values(result: ProbeResult, metric: str, **labels: str) -> list[Measurement]:
    return [
        m
        for m in result.measurements
        if m.metric == metric and all(m.labels.get(k) == v for k, v in labels.items())
    ]


def one(result: ProbeResult, metric: str, **labels: str) -> Any:
    found = values(result, metric, **labels)
    assert len(found) == 1, (metric, labels, [(m.labels, m.value) for m in found])
    return found[0].value


def wait_for(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def leftovers(cluster: TestCluster) -> list[str]:
    """Everything in the shared export and in the nodes' local directories (must be empty)."""
    assert cluster.export is not None
    found = [str(p) for p in cluster.export.iterdir()]
    for h in cluster.nodes:
        found += [str(p) for p in (cluster.base / "hosts" / h.name / "local").iterdir()]
    return found


def queue(cluster: TestCluster) -> str:
    return subprocess.run(
        ["squeue", "-h", "-o", "%j"], env=cluster.env(), capture_output=True, text=True, check=False
    ).stdout.strip()


# ------------------------------------------------------------------------------------ storage_discover


@pytest.mark.sshd
@pytest.mark.slurm
def test_discover_finds_the_shared_filesystem_and_the_fstab_entry_that_is_not_mounted(
    storagecluster: TestCluster,
) -> None:
    _, res = run_on(storagecluster, storagecluster.nodes[0], "storage_discover", {}, NODE)
    assert res.status is ProbeStatus.FAILED, res.message  # a missing mount is a failure of the node
    assert one(res, "storage.shared_mounts") == 1
    assert one(res, "storage.mount_type", target="/mnt/shared") == "fuse.sshfs"
    assert one(res, "storage.mounts_expected") == 3  # shared, local, nfs-missing (noauto ones excluded)
    assert one(res, "storage.mounts_missing") == 1
    assert one(res, "storage.mounts_missing_targets") == "/mnt/nfs-missing"
    assert one(res, "storage.shared_unresponsive") == 0
    assert one(res, "storage.home_shared") is False
    (missing,) = [x for x in res.findings if x.code == "mount-missing"]
    assert missing.host == "node1" and "/mnt/nfs-missing (nfs4 from " in missing.message
    assert missing.remediation and missing.remediation.startswith("A filesystem in /etc/fstab")


@pytest.mark.sshd
@pytest.mark.slurm
def test_discover_names_the_node_whose_mount_dropped(storagecluster: TestCluster) -> None:
    node3 = storagecluster.nodes[2]
    local = storagecluster.base / "hosts" / node3.name / "local"
    ns = ["nsenter", "-t", str(node3.holder), "--mount"]
    subprocess.run([*ns, "umount", "/mnt/local"], check=True, capture_output=True)
    try:
        _, res3 = run_on(storagecluster, node3, "storage_discover", {}, NODE)
        _, res2 = run_on(storagecluster, storagecluster.nodes[1], "storage_discover", {}, NODE)
    finally:
        subprocess.run([*ns, "mount", "--bind", str(local), "/mnt/local"], check=True, capture_output=True)
    assert one(res3, "storage.mounts_missing") == 2
    assert one(res3, "storage.mounts_missing_targets") == "/mnt/nfs-missing,/mnt/local"
    assert one(res2, "storage.mounts_missing") == 1
    bundle = f.bundle([f.detect_result("slurm"), res2, res3])
    crit = {c.id: c for c in score_bundle(bundle).criteria}["storage-mounts-present"]
    assert crit.verdict.value == "fail" and crit.hosts == ["node2", "node3"]
    assert crit.host_verdicts == {"node2": "fail", "node3": "fail"}


# ---------------------------------------------------------------------------------------- storage_fio


@pytest.mark.sshd
@pytest.mark.slurm
def test_fio_on_1_2_and_4_nodes_through_srun(storagecluster: TestCluster) -> None:
    params = {
        "node_counts": ["1", "2", "4"],
        "runtime_s": 2,
        "size_mib": 256,
        "numjobs": 2,
        "local_targets": ["/mnt/local"],
        "budget_s": 150,
    }
    started = time.monotonic()
    out, res = run_on(storagecluster, storagecluster.login, "storage_fio", params, LOGIN)
    wall = time.monotonic() - started
    assert res.status is ProbeStatus.OK, res.message
    assert wall < 90, wall
    shared = {"target": "/mnt/shared", "fstype": "fuse.sshfs", "kind": "shared"}
    for n in ("1", "2", "4"):
        for test in ("seqwrite", "seqread", "randread"):
            total = one(res, "storage.fio_bw_aggregate", **shared, test=test, nodes=n)
            assert isinstance(total, float) and total > 0, (n, test)
            per_node = values(res, "storage.fio_bw", **shared, test=test, nodes=n)
            hosts = [m.host for m in per_node]  # Slurm picks the nodes: distinct ones, as many as asked
            assert len(set(hosts)) == int(n) and set(hosts) <= {h.name for h in storagecluster.nodes}
            assert sum(m.value for m in per_node) == pytest.approx(total, rel=1e-4)  # type: ignore[misc]
            per_gpu = one(res, "storage.fio_bw_per_gpu", **shared, test=test, nodes=n, gpus=str(8 * int(n)))
            assert per_gpu == pytest.approx(total / (8 * int(n)), rel=1e-3, abs=1e-6)
        assert one(res, "storage.fio_nodes_failed", target="/mnt/shared", kind="shared", nodes=n) == 0
    for n in ("2", "4"):
        ratio = one(res, "storage.fio_scaling", **shared, test="seqread", nodes=n)
        total_n = one(res, "storage.fio_bw_aggregate", **shared, test="seqread", nodes=n)
        total_1 = one(res, "storage.fio_bw_aggregate", **shared, test="seqread", nodes="1")
        assert ratio == pytest.approx(total_n / (int(n) * total_1), rel=1e-3)
    assert one(res, "storage.fio_iops_aggregate", **shared, test="randread", nodes="4") > 0
    local = values(res, "storage.fio_bw", target="/mnt/local", kind="local", test="seqread", nodes="4")
    assert len(local) == 4 and all(m.labels["fstype"] == "ext4" for m in local)
    assert {m.labels["direct"] for m in values(res, "storage.fio_bw")} == {
        "1"
    }  # SSHFS and ext4 take O_DIRECT
    assert one(res, "storage.fio_leftover") == 0
    assert leftovers(storagecluster) == [] and queue(storagecluster) == ""
    assert "0: #cmx-fio host=node1" in out  # srun -l framing, demultiplexed by task


@pytest.mark.sshd
@pytest.mark.slurm
def test_fio_cut_by_its_timeout_leaves_nothing_behind(storagecluster: TestCluster) -> None:
    spec = spec_of("storage_fio").model_copy(update={"timeout_s": 7.0})
    params = {"node_counts": ["4"], "runtime_s": 4, "local_targets": ["/mnt/local"]}
    out, res = run_on(storagecluster, storagecluster.login, "storage_fio", params, LOGIN, spec=spec)
    assert res.substatus is SubStatus.TIMEOUT, (res.status, res.substatus, res.message)
    ok = wait_for(lambda: leftovers(storagecluster) == [] and queue(storagecluster) == "", 45)
    assert ok, (
        [(p, sorted(os.listdir(p))) for p in leftovers(storagecluster)],
        queue(storagecluster),
        out[-1500:],
        (storagecluster.base / "log" / "slurmd-node2.log").read_text()[-3000:],
    )


def test_fio_missing_on_a_node_is_not_installed_never_failed(tmp_path: Path) -> None:
    # the worker for real, on this machine, with a PATH that has what it needs except fio
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "hostname", "id", "mktemp", "df", "awk", "stat", "rm", "cat", "grep", "timeout"):
        path = shutil.which(tool)
        assert path, tool
        os.symlink(path, bin_dir / tool)
    target = tmp_path / "target"
    target.mkdir()
    worker = (probes_dir() / "storage_fio" / "fio_worker.sh").read_text()
    args = ["tagx", str(target), "2", "64", "2", "16", "32", "libaio", "1"]
    argv = [str(bin_dir / "bash"), "-c", worker, "cmx-fio", *args]
    run = subprocess.run(
        argv, capture_output=True, text=True, env={"PATH": str(bin_dir)}, timeout=30, check=False
    )
    assert run.returncode == 0, run.stderr
    assert read_worker(0, run.stdout).missing_fio
    spec = spec_of("storage_fio")
    sections = {
        "plan": Section("plan", "platform=bare\ngpus_per_node=\n", 0),
        "run-s1-n1-meta": Section("run-s1-n1-meta", f"target={target}\nkind=shared\nnodes=1\n", 0),
        "run-s1-n1": Section("run-s1-n1", run.stdout, 0),
    }
    out = fio_from_sections(ProbeInput(spec=spec, host="cluster", commands={}, sections=sections, params={}))
    assert (out.status, out.substatus) == (ProbeStatus.SKIPPED, SubStatus.NOT_INSTALLED)
    assert out.remediation and "apt-get install fio" in out.remediation and out.measurements == []
    assert list(target.iterdir()) == []


@pytest.mark.sshd
@pytest.mark.slurm
def test_storage_probes_are_not_applicable_on_kubernetes(storagecluster: TestCluster) -> None:
    ctx = ProbeContext(role="login", platform="kubernetes")
    for probe in ("storage_fio", "storage_smallfiles"):
        _, res = run_on(storagecluster, storagecluster.login, probe, {}, ctx)
        assert (res.status, res.substatus) == (ProbeStatus.SKIPPED, SubStatus.NOT_APPLICABLE), probe


# --------------------------------------------------------------------------------- storage_smallfiles


@pytest.mark.sshd
@pytest.mark.slurm
def test_small_files_import_and_visibility_on_1_2_and_4_nodes(storagecluster: TestCluster) -> None:
    params = {"node_counts": ["1", "2", "4"], "files": 300, "deadline_s": 30, "budget_s": 150}
    _, res = run_on(storagecluster, storagecluster.login, "storage_smallfiles", params, LOGIN)
    assert res.status is ProbeStatus.OK, res.message
    base = {"target": "/mnt/shared", "fstype": "fuse.sshfs"}
    for n in ("1", "2", "4"):
        assert one(res, "storage.meta_incomplete", **base, nodes=n) == 0
        for phase in ("create", "stat", "read", "delete"):
            med = one(res, "storage.meta_median_seconds", **base, phase=phase, files="300", nodes=n)
            assert isinstance(med, float) and 0 < med < 30
        nodes = {m.host for m in values(res, "storage.meta_seconds", **base, phase="stat", nodes=n)}
        assert len(nodes) == int(n) and nodes <= {h.name for h in storagecluster.nodes}
        for cache in ("cold", "warm"):
            t = one(
                res, "storage.import_median_seconds", **base, module="stdlib-standin", cache=cache, nodes=n
            )
            assert isinstance(t, float) and 0 < t < 30
    slope = one(res, "storage.meta_slope", **base, phase="stat", files="300", nodes="4")
    s4 = one(res, "storage.meta_median_seconds", **base, phase="stat", files="300", nodes="4")
    s1 = one(res, "storage.meta_median_seconds", **base, phase="stat", files="300", nodes="1")
    assert slope == pytest.approx(s4 / s1, rel=1e-3)
    assert isinstance(
        one(res, "storage.import_slope", **base, module="stdlib-standin", cache="cold", nodes="4"), float
    )
    vis = values(res, "storage.visibility_seconds")
    assert len(vis) == 1 and 0 < vis[0].value < 5  # type: ignore[operator]
    assert vis[0].labels["writer"] != vis[0].labels["reader"]
    assert one(res, "storage.visibility_timeouts", **base) == 0
    assert one(res, "storage.smallfiles_leftover") == 0
    assert values(res, "storage.import_median_seconds", module="torch") == []  # torch is not on the nodes
    assert leftovers(storagecluster) == [] and queue(storagecluster) == ""
    # the rubric: measured small-file criteria are judged; torch's criterion is not measured, never failed
    bundle = f.bundle([f.detect_result("slurm"), res])
    crit = {c.id: c for c in score_bundle(bundle).criteria}
    assert crit["storage-small-files-flat"].verdict.value in ("pass", "warn", "fail")
    assert crit["storage-import-flat"].verdict.value in ("pass", "warn", "fail")
    assert crit["storage-visibility"].verdict.value == "pass"
    assert crit["storage-import-torch"].verdict.value == "not_measured"


@pytest.mark.sshd
@pytest.mark.slurm
def test_small_files_cut_by_the_timeout_leave_nothing_behind(storagecluster: TestCluster) -> None:
    spec = spec_of("storage_smallfiles").model_copy(update={"timeout_s": 5.0})
    params = {"node_counts": ["4"], "files": 20000, "deadline_s": 60, "budget_s": 150}
    _, res = run_on(storagecluster, storagecluster.login, "storage_smallfiles", params, LOGIN, spec=spec)
    assert res.substatus is SubStatus.TIMEOUT, (res.status, res.message)
    assert wait_for(lambda: leftovers(storagecluster) == [] and queue(storagecluster) == "", 30), (
        leftovers(storagecluster),
        queue(storagecluster),
    )

"""The issue-13 probes run for real on the test cluster (real sshd, real Slurm; the nodes share this VM's
file system), and the verdict of every new criterion is checked against what the cluster really has, read
here independently of the probes: no new criterion may pass where the cluster's state says otherwise."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from clustermax.models import Bundle
from clustermax.scoring import load_rubric, score_bundle
from tests.infra.cluster import TestCluster

CLI = str(Path(sys.executable).parent / "clustermax")
FAMILY = (
    "node_software,node_isolation,gpu_stack,rdma_host,vm_guest,access_identity,slurm_health,container_run"
)
USER_PATH = ["/usr/local/bin", "/usr/bin", "/bin"]  # the test user's PATH on the nodes (no sbin)


def _which(tool: str, extra: tuple[str, ...] = ()) -> str | None:
    for d in (*USER_PATH, *extra):
        p = Path(d) / tool
        if p.is_file() and os.access(p, os.X_OK):
            return str(p)
    return None


def truth() -> dict[str, object]:
    """The state of the cluster's nodes, read directly (they are this machine's namespaces)."""
    nvcc = _which("nvcc") or (
        "/usr/local/cuda/bin/nvcc" if os.access("/usr/local/cuda/bin/nvcc", os.X_OK) else None
    )
    cuda = None
    if nvcc:
        out = subprocess.run([nvcc, "--version"], capture_output=True, text=True, check=False).stdout
        m = re.search(r"release (\d+)\.(\d+)", out)
        cuda = (int(m.group(1)), int(m.group(2))) if m else None
    flags = Path("/proc/cpuinfo").read_text()
    virt = subprocess.run(
        ["systemd-detect-virt", "--vm"], capture_output=True, text=True, check=False
    ).stdout.strip()
    ib = Path("/sys/class/infiniband")
    nss = Path("/etc/nsswitch.conf").read_text() if Path("/etc/nsswitch.conf").exists() else ""
    passwd = next((line for line in nss.splitlines() if line.startswith("passwd:")), "")
    release = Path("/etc/os-release").read_text()
    return {
        "cuda": cuda,
        "runc": _which("runc", ("/usr/sbin", "/usr/local/sbin", "/sbin")),
        "docker_daemon": Path("/var/run/docker.sock").exists(),
        "gpu": Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi") is not None,
        "rdma": ib.is_dir() and any(ib.iterdir()),
        "vm": virt not in ("", "none"),
        "vmx": bool(re.search(r"\b(vmx|svm)\b", flags)),
        "ipmi": any(Path(p).exists() for p in ("/dev/ipmi0", "/dev/ipmi/0", "/dev/ipmidev/0")),
        "sudo": _which("sudo") is not None,
        "idp": any(w in passwd.split() for w in ("sss", "ldap", "winbind")),
        "nhc": _which("nhc", ("/usr/sbin",)) is not None,
        "apptainer": _which("apptainer") is not None or _which("singularity") is not None,
        "perf_paranoid": int(Path("/proc/sys/kernel/perf_event_paranoid").read_text()),
        "kptr": int(Path("/proc/sys/kernel/kptr_restrict").read_text()),
        "noble": 'ID=ubuntu' in release and 'VERSION_ID="24.04"' in release,
        "hpc_sdk": any(Path("/opt/nvidia/hpc_sdk").glob("Linux_*/*/compilers/bin/nvc")),
        "kernel_packages": subprocess.run(
            ["dpkg-query", "-W", "linux-image-*"], capture_output=True, text=True, check=False
        ).returncode == 0,
    }  # fmt: skip


def expected(t: dict[str, object]) -> dict[str, set[str]]:
    """The verdicts each new criterion may have on this cluster, given its real state."""
    NA, NM = "not_applicable", "not_measured"
    no_gpu = {NA} if not t["gpu"] else {"pass", "warn", "fail", NM}
    no_rdma = {NA} if not t["rdma"] else {"pass", "warn", "fail", NM}
    cuda = t["cuda"]
    return {
        "cuda-toolkit-security-floor": {NM} if cuda is None else ({"pass"} if cuda >= (13, 1) else {"fail"}),  # type: ignore[operator]
        # Debian's runc is a distro build: a warn, never a pass on the upstream number
        "runc-security-floor": {NM} if not t["runc"] else {"warn"},
        "docker-engine-security-floor": {NM} if not t["docker_daemon"] else {"pass", "fail"},
        "docker-on-workers": {"warn"} if not t["docker_daemon"] else {"pass", "warn"},
        "container-toolkit-security-floor": no_gpu,
        "container-toolkit-installed": no_gpu,
        "dcgm-security-floor": no_gpu,
        "dcgm-exporter-security-floor": no_gpu,
        "dcgm-installed": no_gpu,
        "gdrcopy-ready": no_gpu,
        "gpudirect-dmabuf": no_gpu,
        "gpu-profiling-for-users": no_gpu,
        "ncu-installed": no_gpu,
        "nccl-library-installed": no_gpu,
        "coherent-hbm-not-system-memory": no_gpu,
        "nic-firmware-security-floor": no_rdma,
        "dpu-host-isolation": no_rdma,
        "hca-names-nccl-ready": no_rdma,
        "nccl-ib-qps": no_rdma,
        "pcie-acs-off": no_rdma,
        "kernel-reboot-pending": {NM} if not t["kernel_packages"] else {"pass", "fail"},
        "kernel-cve-floor": {"pass", "warn", "fail"} if t["noble"] else {NM},
        "vmscape-mitigated": {NM} if t["vm"] else {"pass", "fail", NM},
        "bmc-not-tenant-accessible": {"pass"} if not t["ipmi"] else {"pass", "fail"},
        "nested-virt-boundary": {NA} if not t["vm"] else ({"pass"} if not t["vmx"] else {"pass", "warn"}),
        "iommu-passthrough-in-vm": {NA} if not t["vm"] else {NM},  # no GPU or NIC in these guests
        "arm-smmu-cmdqv": {NA} if not t["vm"] else {NM},  # x86
        "external-idp": {"pass"} if t["idp"] else {"warn"},
        "sudo-available": {"warn"} if not t["sudo"] else {"pass", "warn"},
        "user-management": {"warn"} if not t["sudo"] else {"pass", "warn", NM},
        "gpu-modules-available": {"warn"},  # no module system in a login shell here
        "perf-installed": {"pass"} if shutil.which("perf") else {"warn"},
        "perf-user-profiling": {"pass"} if t["perf_paranoid"] <= 1 else {"warn"},  # type: ignore[operator]
        "kernel-symbols-for-perf": {"pass"} if t["kptr"] == 0 else {"warn"},
        "hpc-sdk-installed": {"pass"} if t["hpc_sdk"] else {"warn"},
        "apptainer-available": {"pass"} if t["apptainer"] else {"warn"},
        "nhc-installed": {"pass"} if t["nhc"] else {"warn"},
        "dcgm-in-slurm-health": {NM} if not t["gpu"] else {"pass", "warn", NM},
        "container-image-runs": {NA},  # no pyxis on the test cluster
        "nccl-topo-file-in-container": {NA},
        "kubelet-cpu-manager-static": {NA},  # a Slurm cluster
    }


@pytest.mark.sshd
@pytest.mark.slurm
def test_new_criteria_on_the_test_cluster_agree_with_its_real_state(
    testcluster: TestCluster, tmp_path: Path
) -> None:
    out = tmp_path / "audit"
    proc = subprocess.run(
        [CLI, "audit", "login1", "--ssh-config", str(testcluster.ssh_config), "--probes", f"slurm,{FAMILY}",
         "--out", str(out), "-q", "-f", "json"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    bundle = json.loads((out / "bundle.json").read_text())
    [score] = json.loads(proc.stdout)
    hosts = {h["name"] for h in bundle["hosts"] if h["role"] == "compute"}
    assert len(hosts) == 4
    # every probe ran on every host it is for; none failed to run
    for probe in FAMILY.split(","):
        results = [r for r in bundle["results"] if r["probe_id"] == probe]
        assert results, probe
        assert all(r["status"] in ("ok", "skipped") for r in results), [
            (r["host"], r["message"]) for r in results
        ]
        assert all(r["substatus"] in (None, "not-applicable") for r in results), probe
    allowed = expected(truth())
    verdicts = {c["id"]: c["verdict"] for c in score["criteria"]}
    if not truth()["gpu"]:
        # gpu_stack counted no GPU on any node: over zero subjects no criterion is judged at all
        counts = [
            m["value"] for r in bundle["results"] for m in r["measurements"] if m["metric"] == "gpu.node_gpus"
        ]
        assert counts and set(counts) == {0}, counts
        judged = {cid: v for cid, v in verdicts.items() if v in ("pass", "warn", "fail")}
        assert judged == {}, judged
        # what each probe read is still checked against the cluster's real state: scored without the subject
        # count, the values are judged as an import of the same outputs would be
        for r in bundle["results"]:
            r["measurements"] = [m for m in r["measurements"] if m["metric"] != "gpu.node_gpus"]
        rescored = score_bundle(Bundle.model_validate(bundle), load_rubric(None))
        verdicts = {c.id: c.verdict.value for c in rescored.criteria}
    wrong = {cid: (verdicts[cid], sorted(ok)) for cid, ok in allowed.items() if verdicts[cid] not in ok}
    assert not wrong, wrong
    # the commands ran for real: the node reported this VM's own nvcc, kernel and sysctls
    node = next(r for r in bundle["results"] if r["probe_id"] == "node_software" and r["host"] in hosts)
    by = {m["metric"]: m["value"] for m in node["measurements"]}
    assert by["system.perf_event_paranoid"] == int(Path("/proc/sys/kernel/perf_event_paranoid").read_text())
    cuda = truth()["cuda"]
    if cuda is None:
        assert "software.cuda_toolkit_version" not in by
    else:
        assert str(by["software.cuda_toolkit_version"]).startswith("{}.{}.".format(*cuda))  # type: ignore[str-format]
    isolation = next(r for r in bundle["results"] if r["probe_id"] == "node_isolation" and r["host"] in hosts)
    release = next(m for m in isolation["measurements"] if m["metric"] == "system.kernel_release")
    assert os.uname().release.startswith(release["value"])

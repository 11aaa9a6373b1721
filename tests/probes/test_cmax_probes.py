"""The issue-13 probes' modules: recorded real probe outputs (tests/data/probe_<id>/, captured on the test
cluster and the dev machine) and sections made of recorded real tool outputs go through from_sections();
what a missing subject or tool gives (not applicable, not installed, null) is checked, never a pass."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from clustermax.engine.runner import run_probe
from clustermax.models import ProbeStatus, SubStatus
from clustermax.parsers.hostinfo import NumaNode, RdmaDevice, kernel_packages
from clustermax.parsers.pci import LspciAcs, PciFunction, PciPath
from clustermax.probes import (
    access_identity,
    container_run,
    gpu_stack,
    k8s_node_config,
    node_isolation,
    node_software,
    rdma_host,
    slurm_health,
    vm_guest,
)
from clustermax.probes.base import ProbeInput, ProbeOutput, split_sections
from clustermax.transport.local import LocalTransport
from tests.infra import kube_apiserver
from tests.probes.k8s_helpers import apiserver, kubeconfig_of
from tests.probes.standins import section, spec, values

DATA = Path(__file__).resolve().parents[1] / "data"
CAPTURE = DATA / "captures" / "h100-fc-2026-11-26"


def read(path: str) -> str:
    return (DATA / path).read_text()


def parse(probe: str, stdout: str, params: dict[str, object] | None = None) -> ProbeOutput:
    module = {
        "node_software": node_software,
        "node_isolation": node_isolation,
        "gpu_stack": gpu_stack,
        "rdma_host": rdma_host,
        "vm_guest": vm_guest,
        "access_identity": access_identity,
        "slurm_health": slurm_health,
        "container_run": container_run,
        "k8s_node_config": k8s_node_config,
    }[probe]
    inp = ProbeInput(spec(probe), "n1", {}, split_sections(stdout), dict(params or {}))  # type: ignore[arg-type]
    return module.from_sections(inp)


def one(out: ProbeOutput, metric: str, **labels: str) -> object:
    hits = values(out, metric, **labels)
    assert len(hits) == 1, f"{metric}: {hits}"
    return hits[0]


def metrics(out: ProbeOutput) -> set[str]:
    return {m.metric for m in out.measurements}


def assert_declared(probe: str, out: ProbeOutput) -> None:
    declared = {m.name: m.unit for m in spec(probe).metrics}
    for m in out.measurements:
        assert m.metric in declared and m.unit is declared[m.metric], m
    codes = {f.code for f in out.findings}
    assert codes <= set(spec(probe).remediation), codes


# ------------------------------------------------------------------------------------ node_software


def test_recorded_node_software_on_the_test_cluster() -> None:
    out = parse("node_software", read("probe_node_software/testcluster-node1.stdout"))
    assert out.status is ProbeStatus.OK
    assert_declared("node_software", out)
    assert one(out, "software.cuda_toolkit_version") == "13.0.88"
    # the runc package's own version, so the distro build is visible to the floor
    assert one(out, "containers.runc_version") == "1.1.5+ds1-1+deb12u1"
    # a docker CLI without a daemon: no engine version, and docker is not usable (never a pass)
    assert "containers.docker_server_version" not in metrics(out)
    assert one(out, "containers.docker_usable") is False
    assert [f.code for f in out.findings] == ["docker-unreachable"]
    assert "Cannot connect to the Docker daemon" in out.findings[0].message
    assert one(out, "containers.apptainer") is False and "containers.apptainer_version" not in metrics(out)
    assert one(out, "software.perf") is True and one(out, "software.perf_version") == "6.1.187"
    assert one(out, "system.perf_event_paranoid") == 2 and one(out, "system.kptr_restrict") == 0
    assert one(out, "software.hpc_sdk") is False
    assert "docker engine unreachable" in out.message and "apptainer not installed" in out.message


def test_a_docker_engine_that_answers_and_tools_that_are_missing() -> None:
    out = parse(
        "node_software",
        section("nvcc", "", 127, "nvcc")
        + section("runc", "", 127, "runc")
        + section("docker-client", read("node_software/docker-dash-version-28.2.2.txt"))
        + section("docker-server", read("node_software/docker-version-20.10.21-with-server.txt"))
        + section("apptainer", read("node_software/apptainer-version-1.3.4.txt"))
        + section("perf", "", 127, "perf"),
    )
    assert_declared("node_software", out)
    assert one(out, "containers.docker_server_version") == "20.10.21"
    assert one(out, "containers.docker_usable") is True and out.findings == []
    assert one(out, "containers.apptainer_version", tool="apptainer") == "1.3.4"
    # not installed: no version to judge (its floor is not measured), and perf is false, never unknown
    assert not {"software.cuda_toolkit_version", "containers.runc_version"} & metrics(out)
    assert one(out, "software.perf") is False
    # sections that did not run are left out, not guessed
    assert not {"system.perf_event_paranoid", "software.hpc_sdk"} & metrics(out)


def test_nvcc_that_prints_garbage_is_null_not_a_version() -> None:
    out = parse("node_software", section("nvcc", read("node_software/perf-version-6.1.187.txt")))
    assert one(out, "software.cuda_toolkit_version") is None


# ------------------------------------------------------------------------------------ node_isolation


def test_recorded_node_isolation_of_a_kernel_no_package_holds() -> None:
    out = parse("node_isolation", read("probe_node_isolation/testcluster-node1.stdout"))
    assert_declared("node_isolation", out)
    assert one(out, "system.kernel_reboot_pending") is None  # not measured, where cmax passes
    assert one(out, "system.kernel_release", distro="debian-12") == "6.18.44"
    assert one(out, "security.bmc_in_band") is False and one(out, "security.bmc_tenant_access") is False
    assert "no kernel package" in out.message and "no IPMI device" in out.message


@pytest.mark.parametrize(
    ("running", "pending", "newest"),
    [
        ("4.4.0-62-generic", True, "4.4.0-66-generic"),
        ("4.4.0-66-generic", False, "4.4.0-66-generic"),
        ("4.4.0-66-lowlatency", False, "4.4.0-66-lowlatency"),  # its own flavour only
        ("4.4.0-70-generic", None, None),  # not among the packages: the package manager does not know it
    ],
)
def test_kernel_state_against_real_kernel_package_lists(
    running: str, pending: bool | None, newest: str | None
) -> None:
    packages = kernel_packages(read("node_isolation/kernels-ubuntu-16.04-excerpt.txt"))
    state = node_isolation.kernel_state(f"{running}\n#1 SMP", packages, None)
    assert (state.pending, state.newest) == (pending, newest)


def test_reboot_required_pkgs_names_a_kernel_only_when_it_does() -> None:
    packages = kernel_packages(read("node_isolation/kernels-ubuntu-16.04-excerpt.txt"))
    state = node_isolation.kernel_state(
        "4.4.0-66-generic\n#1", packages, read("node_isolation/reboot-required-pkgs-no-kernel.txt")
    )
    assert state.pending is False


@pytest.mark.parametrize(("line", "exposed"), [("/dev/ipmi0 no-access", False), ("/dev/ipmi0 rw", True)])
def test_an_ipmi_device_is_exposed_only_when_the_audit_user_can_open_it(line: str, exposed: bool) -> None:
    # the two lines run.sh prints for an existing /dev/ipmi0: root-only (crw------- root, the default) or open
    out = parse("node_isolation", section("ipmi-devices", line))
    assert one(out, "security.bmc_in_band") is True
    assert one(out, "security.bmc_tenant_access") is exposed
    assert [f.code for f in out.findings] == (["bmc-exposed"] if exposed else [])


def test_vmscape_is_read_on_bare_metal_only() -> None:
    lines = read("node_isolation/cpu-vulnerabilities-debian12-vm.txt").splitlines()
    vmscape = next(line for line in lines if "/vmscape:" in line).split(":", 1)[1]
    bare = parse("node_isolation", section("virt", "none", 1) + section("vmscape", vmscape))
    assert one(bare, "security.vmscape_mitigated") is True and bare.findings == []
    # in a guest the file describes the guest's kernel, not the hypervisor's: not judged
    guest = parse("node_isolation", section("virt", "kvm") + section("vmscape", vmscape))
    assert "security.vmscape_mitigated" not in metrics(guest)


# ------------------------------------------------------------------------------------ gpu_stack


def test_a_node_without_an_nvidia_gpu_is_not_applicable() -> None:
    out = parse("gpu_stack", read("probe_gpu_stack/testcluster-node1.stdout"))
    assert (out.status, out.substatus) == (ProbeStatus.SKIPPED, SubStatus.NOT_APPLICABLE)
    # only the subject count that makes the GPU criteria not applicable on this node
    assert [(m.metric, m.value) for m in out.measurements] == [("gpu.node_gpus", 0)]


def test_gpu_node_software_from_real_tool_outputs() -> None:
    names = CAPTURE / "nvidia-smi-query-csv-noheader-nounits.txt"
    out = parse(
        "gpu_stack",
        section("pci-gpus", "")
        + section("nvidia-version", (CAPTURE / "proc-driver-version.txt").read_text())
        + section("gpu-names", names.read_text().split(",")[1].strip())
        + section("dcgmi", read("gpu_stack/dcgmi-version-4.7.0.txt"))
        + section("dcgm-package", read("gpu_stack/dpkg-l-dcgm-4.7.0.txt"))
        + section("modules", read("gpu_stack/lsmod-gdrdrv-loaded.txt"))
        + section("kernel", "6.18.44-fc-v657-gpu")
        + section("gdrcopy", "")
        + section("nvidia-params", read("gpu_stack/params-rmprofilingadminonly-1.txt"))
        + section("nccl", "")
        + section("ncu", read("gpu_stack/ncu-version-2024.3.2.txt"))
        + section("nvidia-ctk", read("gpu_stack/nvidia-ctk-1.12.0.txt"))
        + section("nct-package", "")
        + section("cdi", "")
        + section("numa", read("gpu_stack/numactl-H-spr-hbm-16g.txt"))
        + section("boost-slider", read("gpu_stack/boost-slider-gh200-vboost0.txt")),
    )
    assert out.status is ProbeStatus.OK
    assert_declared("gpu_stack", out)
    assert one(out, "gpu.node_gpus") == 1  # no PCI listing here: the GPU nvidia-smi names
    assert one(out, "gpu.dcgm_installed") is True and one(out, "gpu.dcgm_version") == "4.7.0"
    assert one(out, "gpu.gdrcopy_ready") is False  # gdrdrv is loaded, but no libgdrapi in the linker cache
    assert one(out, "gpu.gpudirect_path") == "dma-buf"  # the open kernel module on Linux >= 5.12
    assert one(out, "gpu.profiling_admin_only", source="driver") is True
    assert one(out, "software.ncu") is True and one(out, "software.ncu_version") == "2024.3.2.0"
    assert one(out, "software.nccl_library") is False
    assert one(out, "containers.nvidia_toolkit") is True
    assert one(out, "containers.nvidia_toolkit_version") == "1.12.0"
    assert "gpu.coherent_memory_numa" not in metrics(out)  # an H100: the question does not arise
    assert values(out, "gpu.vboost_max") == [4, 4, 4, 4]
    assert {f.code for f in out.findings} == {"no-gdrcopy"}


def test_dcgm_missing_is_a_finding() -> None:
    out = parse(
        "gpu_stack",
        section("pci-gpus", "")
        + section("nvidia-version", (CAPTURE / "proc-driver-version.txt").read_text())
        + section("dcgmi", "", 127, "dcgmi")
        + section("dcgm-package", "")
        + section("hostengine", ""),
    )
    assert one(out, "gpu.dcgm_installed") is False and "gpu.dcgm_version" not in metrics(out)
    assert [f.code for f in out.findings] == ["no-dcgm"]


def test_coherent_memory_is_judged_on_grace_nodes_only() -> None:
    hbm = [NumaNode(0, "0-71", 480 * 2**20), NumaNode(1, "", 96 * 2**20), NumaNode(2, "", 0)]
    placeholders = [NumaNode(0, "0-71", 480 * 2**20), NumaNode(2, "", 0)]
    gh200 = ["NVIDIA GH200 480GB"]
    assert gpu_stack.coherent_memory_numa(gpu_stack.GpuStackEvidence(gpu_names=gh200, numa=hbm)) is True
    assert (
        gpu_stack.coherent_memory_numa(gpu_stack.GpuStackEvidence(gpu_names=gh200, numa=placeholders))
        is False
    )
    h100 = ["NVIDIA H100 80GB HBM3"]
    assert gpu_stack.coherent_memory_numa(gpu_stack.GpuStackEvidence(gpu_names=h100, numa=hbm)) is None
    assert gpu_stack.coherent_memory_numa(gpu_stack.GpuStackEvidence(gpu_names=gh200, numa=None)) is None


# ------------------------------------------------------------------------------------ rdma_host


def test_a_node_without_rdma_devices_is_not_applicable() -> None:
    out = parse("rdma_host", read("probe_rdma_host/testcluster-node1.stdout"))
    assert (out.status, out.substatus) == (ProbeStatus.SKIPPED, SubStatus.NOT_APPLICABLE)


def _cx7(names: list[str]) -> list[RdmaDevice]:
    # the CA names and firmware of a real ibstat (H20 with ConnectX-7, MT4129 = PCI 15b3:1021)
    return [RdmaDevice(n, "28.43.2026", "0x15b3", "0x1021", None, ["InfiniBand"]) for n in names]


def test_nccl_settings_against_the_fabric_shape() -> None:
    names = [
        line.split()[0]
        for line in read("rdma_host/ibdev2netdev-h100-cx7-ib-cx6-eth.txt").splitlines()
        if line
    ]
    devices = _cx7(names)
    two_tier = rdma_host.RdmaHostEvidence(devices=devices, tiers=2)
    assert rdma_host.qps_fit(two_tier) == (False, "2")
    pinned = rdma_host.RdmaHostEvidence(devices=devices, tiers=2, nccl={"NCCL_IB_QPS_PER_CONNECTION": "4"})
    assert rdma_host.qps_fit(pinned) == (True, "2")
    assert rdma_host.qps_fit(rdma_host.RdmaHostEvidence(devices=devices, tiers=1)) == (True, "1")
    assert rdma_host.qps_fit(rdma_host.RdmaHostEvidence(devices=devices)) == (None, "unknown")
    ms, _ = rdma_host.measure(two_tier, "n1")
    by = {(m.metric, m.labels.get("device", "")): m.value for m in ms}
    assert by[("fabric.hca_firmware", "mlx5_0")] == "28.43.2026"
    assert by[("nccl.hca_selection_ok", "")] is True  # the kernel's mlx5_N names


def test_renamed_hcas_need_nccl_ib_hca() -> None:
    # the names an Azure udev rule gives (ibv_devinfo of azhpc-images#44)
    renamed = [RdmaDevice("rdmaP23800p0s2", "14.25.8102", "0x15b3", None, None, ["Ethernet"])]
    ms, _ = rdma_host.measure(rdma_host.RdmaHostEvidence(devices=renamed), "n1")
    assert next(m.value for m in ms if m.metric == "nccl.hca_selection_ok") is False
    ms, _ = rdma_host.measure(
        rdma_host.RdmaHostEvidence(devices=renamed, nccl={"NCCL_IB_HCA": "rdmaP"}), "n1"
    )
    assert next(m.value for m in ms if m.metric == "nccl.hca_selection_ok") is True


def test_acs_needs_root_and_counts_switch_ports_above_gpus_and_nics() -> None:
    paths = [
        PciPath("gpu", ("0000:00:01.0", "0000:01:00.0", "0000:02:08.0", "0000:05:00.0")),
        PciPath("nic", ("0000:00:01.0", "0000:01:00.0", "0000:02:10.0", "0000:06:00.0")),
    ]
    devices = _cx7(["mlx5_0"])
    as_user = rdma_host.RdmaHostEvidence(devices=devices, paths=paths, root=False)
    assert rdma_host.acs_redirect_ports(as_user) == rdma_host.AcsReading(
        True, None
    )  # needs root: not measured
    on = {"ReqRedir": True, "CmpltRedir": True}
    off = {"ReqRedir": False, "CmpltRedir": False}
    acs = LspciAcs([
        PciFunction("0000:00:01.0", "PCI bridge", "Root Port", on),  # root ports do not count
        PciFunction("0000:01:00.0", "PCI bridge", "Upstream Port", {"ReqRedir": False}),
        PciFunction("0000:02:08.0", "PCI bridge", "Downstream Port", on),
        PciFunction("0000:02:10.0", "PCI bridge", "Downstream Port", off),
        PciFunction("0000:07:00.0", "PCI bridge", "Downstream Port", on),  # above neither a GPU nor a NIC
    ])  # fmt: skip
    as_root = rdma_host.RdmaHostEvidence(devices=devices, paths=paths, root=True, acs=acs)
    assert rdma_host.acs_redirect_ports(as_root) == rdma_host.AcsReading(True, 1)
    no_gpu = rdma_host.RdmaHostEvidence(devices=devices, paths=paths[1:], root=True, acs=acs)
    assert rdma_host.acs_redirect_ports(no_gpu).applies is False


def test_rshim_is_judged_where_a_bluefield_is() -> None:
    bf2 = [RdmaDevice("mlx5_0", "24.33.1048", "0x15b3", "0xa2d6", None, ["Ethernet"])]
    ms, findings = rdma_host.measure(rdma_host.RdmaHostEvidence(devices=bf2, rshim=["/dev/rshim0"]), "n1")
    assert next(m.value for m in ms if m.metric == "security.rshim_exposed") is True
    assert [f.code for f in findings] == ["rshim-exposed"]
    ms, _ = rdma_host.measure(rdma_host.RdmaHostEvidence(devices=bf2), "n1")
    assert next(m.value for m in ms if m.metric == "security.rshim_exposed") is False
    ms, _ = rdma_host.measure(rdma_host.RdmaHostEvidence(devices=_cx7(["mlx5_0"])), "n1")
    assert "security.rshim_exposed" not in {m.metric for m in ms}  # no DPU: nothing to judge


# ------------------------------------------------------------------------------------ vm_guest


def test_recorded_vm_guest_on_the_test_cluster() -> None:
    out = parse("vm_guest", read("probe_vm_guest/testcluster-node1.stdout"))
    assert_declared("vm_guest", out)
    assert one(out, "system.virtualization") == "kvm"
    assert one(out, "security.nested_virt_exposed") is False  # /dev/kvm, but no vmx/svm flag
    assert not {"system.iommu_translated", "system.arm_smmu_cmdqv"} & metrics(out)  # no GPU/NIC, x86


def test_bare_metal_is_not_applicable() -> None:
    out = parse("vm_guest", section("virt", "none", 1) + section("arch", "x86_64"))
    assert (out.status, out.substatus) == (ProbeStatus.SKIPPED, SubStatus.NOT_APPLICABLE)


def test_iommu_translation_of_passed_through_devices() -> None:
    ev = vm_guest.VmGuestEvidence(
        virt="kvm", iommu=[vm_guest.IommuDevice("gpu", "0000:00:05.0", "3", "DMA-FQ")]
    )
    assert vm_guest.translated(ev) is True
    ev = vm_guest.VmGuestEvidence(
        virt="kvm", iommu=[vm_guest.IommuDevice("gpu", "0000:00:05.0", "3", "identity")]
    )
    assert vm_guest.translated(ev) is False
    cmdline = read("vm_guest/cmdline-ubuntu-iommu-pt.txt")
    old_kernel = vm_guest.VmGuestEvidence(
        virt="kvm", cmdline=cmdline, iommu=[vm_guest.IommuDevice("gpu", "x", "3", None)]
    )
    assert vm_guest.translated(old_kernel) is False  # no type file, but iommu=pt
    unknown = vm_guest.VmGuestEvidence(virt="kvm", iommu=[vm_guest.IommuDevice("gpu", "x", "3", None)])
    assert vm_guest.translated(unknown) is None


# ------------------------------------------------------------------------------------ access_identity


def test_recorded_access_on_the_test_cluster_login_node() -> None:
    out = parse("access_identity", read("probe_access_identity/testcluster-login1.stdout"))
    assert_declared("access_identity", out)
    assert one(out, "access.sudo") == "not-installed"
    assert one(out, "access.user_admin") is False
    assert one(out, "access.external_idp") is False and one(out, "access.identity_sources") == "files,systemd"
    assert one(out, "software.modules_system") == "none" and one(out, "software.gpu_modules") == 0
    assert {f.code for f in out.findings} == {"no-idp", "no-gpu-modules"}


def test_recorded_access_as_root() -> None:
    out = parse("access_identity", read("probe_access_identity/local-root.stdout"))
    assert one(out, "access.sudo") == "root" and one(out, "access.user_admin") is True


@pytest.mark.parametrize(
    ("kind", "sudo"),
    [
        ("nopasswd-all", "passwordless-all"),
        ("nopasswd-one-command", "passwordless-some"),
        ("password-required", "password"),
    ],
)
def test_sudo_of_a_member_of_the_sudo_group(kind: str, sudo: str) -> None:
    out = parse(
        "access_identity",
        section("id", "1001\ncmxtest sudo") + section("sudo", read(f"access_identity/sudo-n-l-{kind}.txt")),
    )
    assert one(out, "access.sudo") == sudo


def test_a_user_outside_the_sudo_groups_is_not_asked() -> None:
    out = parse("access_identity", section("id", "1001\ncmxtest"))
    assert one(out, "access.sudo") == "not-in-sudo-group" and one(out, "access.user_admin") is False


# ------------------------------------------------------------------------------------ slurm_health


def test_recorded_slurm_health_on_the_test_cluster() -> None:
    out = parse("slurm_health", read("probe_slurm_health/testcluster-login1.stdout"))
    assert_declared("slurm_health", out)
    assert one(out, "slurm.nhc_installed") is False
    # GPU nodes by GRES but no DCGM on them: whether Slurm runs DCGM is not asked (dcgm-installed says it)
    assert "slurm.healthcheck_uses_dcgm" not in metrics(out)


def test_a_busy_cluster_gives_not_measured() -> None:
    recorded = read("probe_slurm_health/testcluster-login1.stdout")
    head = recorded.split("@@CMX:BEGIN node-files@@")[0]
    # a job step the cluster refused (a real srun error of Slurm 22.05.8)
    refused = section("node-files", "", 1) + section(
        "node-files!stderr", read("slurm-messages/dev-22.05.8-srun-error.txt")
    )
    out = parse("slurm_health", head + refused)
    assert one(out, "slurm.nhc_installed") is None
    assert "did not run: srun: error: Unable to allocate resources" in out.message


# ------------------------------------------------------------------------------------ container_run


def test_without_pyxis_container_runs_are_not_applicable() -> None:
    out = parse("container_run", read("probe_container_run/testcluster-login1.stdout"), {"image": "./x.sqsh"})
    assert (out.status, out.substatus) == (ProbeStatus.SKIPPED, SubStatus.NOT_APPLICABLE)


def test_a_failed_image_import_is_a_fail_with_pyxis_words() -> None:
    out = parse(
        "container_run",
        section("pyxis", "4")
        + section("enroot", read("container_run/enroot-version-3.5.0.txt"))
        + section("topo-host", "")
        + section("container-run", "", 1)
        + section("container-run!stderr", read("container_run/srun-container-image-failed-pyxis127.txt")),
        {"image": "hello-world.sqsh"},
    )
    assert_declared("container_run", out)
    assert one(out, "containers.image_run") is False
    assert one(out, "nccl.topo_file_host") is False and "nccl.topo_file_in_container" not in metrics(out)
    (finding,) = out.findings
    assert (
        finding.code == "image-failed" and "pyxis: child 10028 failed with error code: 1" in finding.message
    )


def test_no_image_configured_is_skipped_not_passed() -> None:
    out = parse("container_run", section("pyxis", "4") + section("topo-host", ""), {"image": ""})
    assert out.status is ProbeStatus.SKIPPED and out.substatus is None
    assert "no container image configured" in out.message
    assert "containers.image_run" not in metrics(out)


# ------------------------------------------------------------------------------------ k8s_node_config


@pytest.mark.skipif(
    shutil.which("kubectl") is None, reason="kubectl not installed (scripts/install-test-deps.sh)"
)
def test_k8s_node_config_against_the_api_server() -> None:
    with apiserver(kube_apiserver.GPU_CLUSTER) as server:
        _, res = run_probe(
            LocalTransport("local"), spec("k8s_node_config"), "local", {"kubeconfig": kubeconfig_of(server)}
        )
    assert res.status is ProbeStatus.OK, res.message
    # NVIDIA's published dcgm-exporter DaemonSet: DCGM 2.2.9, exporter 2.4.1 (both below their floors)
    assert values(res, "k8s.dcgm_exporter_version") == ["2.4.1"]
    assert values(res, "k8s.dcgm_version") == ["2.2.9"]
    # the API server has no node proxy: the kubelet's configuration is not measured, never guessed
    assert values(res, "k8s.cpu_manager_policy", node="nori") == [None]
    assert "not readable on 1" in res.message

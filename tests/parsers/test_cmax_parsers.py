"""The readers of the issue-13 probes (parsers/software.py, hostinfo.py, pci.py, kubelet.py) on recorded real
outputs (tests/data/<probe>/, each with its .source)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clustermax.parsers import hostinfo as h
from clustermax.parsers import software as sw
from clustermax.parsers.kubelet import cpu_manager_policy
from clustermax.parsers.pci import parse_lspci_acs, parse_pci_paths

DATA = Path(__file__).resolve().parents[1] / "data"


def read(path: str) -> str:
    return (DATA / path).read_text()


@pytest.mark.parametrize(
    ("path", "read_version", "expected"),
    [
        ("node_software/nvcc-13.0.88-debian12-pip-wheel.txt", sw.nvcc_release, "13.0.88"),
        ("node_software/runc-1.1.5+ds1-debian12.txt", sw.runc_version, "1.1.5+ds1"),
        ("node_software/runc-1.0.0-rc91-dev.txt", sw.runc_version, "1.0.0-rc91+dev"),
        ("gpu_stack/nvidia-container-runtime-1.13.5-runc-1.2.5.txt", sw.runc_version, "1.2.5"),
        ("node_software/docker-dash-version-28.2.2.txt", sw.docker_client_version, "28.2.2"),
        ("node_software/docker-version-20.10.21-with-server.txt", sw.docker_server_version, "20.10.21"),
        ("node_software/docker-version-28.2.2-no-daemon.txt", sw.docker_server_version, None),
        ("node_software/perf-version-6.1.187.txt", sw.perf_version, "6.1.187"),
        ("gpu_stack/dcgmi-version-4.7.0.txt", sw.dcgmi_version, "4.7.0"),
        ("gpu_stack/dcgmi-v-3.3.5.txt", sw.dcgmi_version, "3.3.5"),
        ("gpu_stack/ncu-version-2024.3.2.txt", sw.ncu_version, "2024.3.2.0"),
        ("gpu_stack/nvidia-ctk-1.12.0.txt", sw.container_toolkit_version, "1.12.0"),
        ("gpu_stack/nvidia-container-runtime-1.13.5-runc-1.2.5.txt", sw.container_toolkit_version, "1.13.5"),
        ("container_run/enroot-version-3.5.0.txt", sw.enroot_version, "3.5.0"),
    ],
)
def test_version_lines_of_real_tools(path: str, read_version: object, expected: str | None) -> None:
    assert read_version(read(path)) == expected  # type: ignore[operator]


def test_versions_are_not_read_from_other_tools_output() -> None:
    nvcc = read("node_software/nvcc-13.0.88-debian12-pip-wheel.txt")
    assert sw.runc_version(nvcc) is None and sw.dcgmi_version(nvcc) is None and sw.ncu_version(nvcc) is None
    assert sw.docker_client_version(read("node_software/runc-1.1.5+ds1-debian12.txt")) is None
    assert sw.enroot_version(read("gpu_stack/dcgmi-v-3.3.5.txt")) is None


def test_apptainer_version_and_tool() -> None:
    found = sw.apptainer_version(read("node_software/apptainer-version-1.3.4.txt"))
    assert found is not None and (found.tool, found.version) == ("apptainer", "1.3.4")


def test_docker_unreachable_says_why_in_docker_words() -> None:
    why = sw.docker_unreachable(read("node_software/docker-version-28.2.2-no-daemon.txt.stderr"))
    assert (
        why
        == "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"
    )


def test_package_rows_of_dpkg_l() -> None:
    packages = sw.package_lines(read("gpu_stack/dpkg-l-dcgm-4.7.0.txt"))
    assert packages["datacenter-gpu-manager-4-core"] == "1:4.7.0-1"
    assert packages["dcgmi"] == "1:4.7.0-1" and len(packages) == 21
    assert sw.strip_epoch(packages["dcgmi"]) == "4.7.0-1"
    recorded = read("probe_node_software/testcluster-node1.stdout")
    section = recorded.split("@@CMX:BEGIN runc-package@@\n")[1].split("\n@@CMX:END")[0]
    assert sw.package_lines(section) == {"runc": "1.1.5+ds1-1+deb12u1"}


def test_dcgm_exporter_image_tags() -> None:
    text = read("k8s-objects/daemonset-dcgm-exporter.yaml")
    image = next(line.split('"')[1] for line in text.splitlines() if "image:" in line)
    found = sw.dcgm_exporter_image(image)
    assert found is not None and (found.dcgm, found.exporter) == ("2.2.9", "2.4.1")
    assert sw.dcgm_exporter_image("nvcr.io/nvidia/cuda:12.4.1-base-ubuntu22.04") is None
    assert sw.dcgm_exporter_image("nvcr.io/nvidia/k8s/dcgm-exporter@sha256:" + "0" * 64) is None


def test_os_release_and_distro_id() -> None:
    fields = h.os_release(read("node_isolation/release-ubuntu-22.04.5.txt"))
    assert h.distro_id(fields) == "ubuntu-22.04"
    debian = h.os_release(
        read("probe_node_software/testcluster-node1.stdout").split("@@CMX:BEGIN os-release@@")[1]
    )
    assert h.distro_id(debian) == "debian-12"


def test_kernel_packages_and_releases() -> None:
    packages = h.kernel_packages(read("node_isolation/kernels-ubuntu-16.04-excerpt.txt"))
    assert len(packages) == 12 and packages[1].release == "4.4.0-66-generic"
    assert h.kernel_packages(read("node_isolation/dpkg-query-linux-image-none.txt")) == []
    rel = h.kernel_release("6.8.0-124-generic")
    assert rel is not None and (rel.base, rel.flavour) == ("6.8.0-124", "-generic")
    vm = h.kernel_release("6.18.44-fc-v1147")
    assert vm is not None and (vm.base, vm.flavour) == ("6.18.44", "-fc-v1147")


def test_numa_nodes_of_numactl() -> None:
    nodes = h.numa_nodes(read("gpu_stack/numactl-H-spr-hbm-16g.txt"))
    assert len(nodes) == 10 and nodes[8].cpus == "" and nodes[8].mem_kb == 16384 * 1024
    assert nodes[0].cpus.startswith("0 1 2")


def test_driver_params_and_nvreg() -> None:
    assert h.driver_params(read("gpu_stack/params-rmprofilingadminonly-1.txt")) == {
        "RmProfilingAdminOnly": "1"
    }
    assert h.restrict_profiling_setting("# options nvidia NVreg_RestrictProfilingToAdminUsers=1\n") is None


def test_boost_sliders_read_not_set() -> None:
    sliders = h.boost_sliders(read("gpu_stack/boost-slider-gh200-vboost0.txt"))
    assert [(s.gpu, s.max_value, s.current) for s in sliders] == [(0, 4, 0), (1, 4, 0), (2, 4, 0), (3, 4, 0)]


def test_nsswitch_and_pam_of_a_local_accounts_host() -> None:
    assert h.nsswitch_sources(read("access_identity/nsswitch-debian12.txt"))["passwd"] == ["files", "systemd"]
    modules = h.pam_modules(read("access_identity/pam-modules-debian12.txt"))
    assert "pam_unix" in modules and not modules & {"pam_sss", "pam_ldap", "pam_krb5"}


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("nopasswd-all", "passwordless-all"),
        ("nopasswd-one-command", "passwordless-some"),
        ("password-required", "password"),
        ("not-in-sudoers", "password"),  # sudo -n cannot tell the two apart: it asks for the password first
    ],
)
def test_sudo_rights_of_sudo_n_l(kind: str, expected: str) -> None:
    assert h.sudo_rights(read(f"access_identity/sudo-n-l-{kind}.txt")).kind == expected


def test_module_listing_columns_and_gpu_modules() -> None:
    listing = h.module_listing(
        "@@module-system lmod /usr/share/lmod/lmod\n"
        + read("access_identity/module-avail-vt-arc-excerpt.txt")
    )
    assert listing is not None and listing.system == "lmod"
    gpu = [n for n in listing.modules if h.GPU_MODULE.match(n)]
    assert gpu and all(not n.startswith("(") for n in listing.modules)
    assert h.module_listing("@@no-module-system\n") == h.ModuleListing(None, [])
    assert h.module_listing("") is None


def test_topology_levels_of_a_real_tree() -> None:
    text = read("probe_slurm/dev-22.05.8-tree-drained.txt")
    tree = "\n".join(line for line in text.splitlines() if line.startswith("SwitchName="))
    assert h.topology_levels(tree) == 2
    assert h.topology_levels(read("rdma_host/scontrol-show-topology-none.txt")) is None


def test_nccl_settings_of_nccl_conf() -> None:
    assert h.nccl_settings(read("rdma_host/nccl-conf-azure-ndv2.txt")) == {
        "NCCL_TOPO_FILE": "/opt/microsoft/ndv2/topo.xml"
    }


def test_lspci_acs_as_root_and_as_user() -> None:
    root = parse_lspci_acs(read("rdma_host/lspci-vvv-debian12-vm-root.txt"))
    assert root.functions and not root.denied and root.switch_ports() == []
    user = parse_lspci_acs(read("rdma_host/lspci-vvv-debian12-vm-user.txt"))
    assert user.denied
    flags = parse_lspci_acs(
        "0000:04:08.0 PCI bridge\n" + read("rdma_host/lspci-acsctl-grep-nccl523.txt").splitlines()[0]
    )
    assert flags.functions[0].redirects and flags.functions[0].acs_ctl == {
        "SrcValid": True, "TransBlk": False, "ReqRedir": True, "CmpltRedir": True,
        "UpstreamFwd": True, "EgressCtrl": False, "DirectTrans": False,
    }  # fmt: skip


def test_pci_paths_keep_the_bdf_chain() -> None:
    (path,) = parse_pci_paths(
        "gpu /sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:08.0/0000:05:00.0"
    )
    assert path.kind == "gpu" and path.ancestors == ("0000:00:01.0", "0000:01:00.0", "0000:02:08.0")


def test_cpu_manager_state_and_configz() -> None:
    assert cpu_manager_policy(read("k8s_node_config/cpu-manager-state-static.txt")) == "static"
    assert (
        cpu_manager_policy(read("k8s-objects/daemonset-dcgm-exporter.yaml")) is None
    )  # not a kubelet answer

"""fabric probe: the parser on recorded real ibstat / nvidia-smi topo -m / driver outputs, and the real script
over SSH with an ibstat stand-in that prints a recorded real output."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from clustermax.engine.runner import ProbeContext, run_probe
from clustermax.models import ProbeStatus
from clustermax.parsers.infiniband import parse_ibstat
from clustermax.probes.base import ProbeInput, split_sections
from clustermax.probes.fabric import from_sections
from tests.infra.cluster import TestCluster
from tests.probes.standins import DATA, Standins, installed_standins, section, spec, ssh_transport, value
from tests.probes.standins import value as metric

SPEC = spec("fabric")
CAPTURE = DATA / "captures" / "h100-fc-2026-11-26"
H20_400G = "ibstat/h20-cx7-400g-ib-deepep-303.txt"
CX6_DOWN = "ibstat/cx6-200g-one-down-nccl-tests-128.txt"
ROCE_100G = "ibstat/cx6dx-100g-roce-l2fwd-nv-6.txt"
TOPO_H100 = "nvidia-smi-topo/h100x8-8nic-spaces-gpu-numa-id.txt"


def run_parser(stdout: str):  # type: ignore[no-untyped-def]
    return from_sections(
        ProbeInput(spec=SPEC, host="n1", commands={}, sections=split_sections(stdout), params={})
    )


def test_single_gpu_host_without_infiniband_has_zero_ports() -> None:
    # the real captures of a 1 x H100 VM: no RDMA device, nvidia-open 580 on Linux 6.18
    out = run_parser(
        section("ib-devices", "")
        + section("ibstat", "", 127, "ibstat")
        + section("modules", "")
        + section("nvidia-version", (CAPTURE / "proc-driver-version.txt").read_text())
        + section("kernel", "6.18.44-fc-v657-gpu")
        + section("nvidia-smi-topo", (CAPTURE / "nvidia-smi-topo-m.txt").read_text())
    )
    assert out.status is ProbeStatus.OK
    assert metric(out, "fabric.ports") == 0 and metric(out, "fabric.nic_count") == 0
    assert metric(out, "fabric.nic_rate") is None  # no NIC: no rate, never 0
    assert metric(out, "fabric.gpudirect_rdma") is True  # dma-buf: Open Kernel Module on Linux >= 5.12
    assert metric(out, "fabric.gpu_nic_pix") == 0
    assert out.findings == []


def test_recorded_probe_output_of_a_bare_h100() -> None:
    out = run_parser((DATA / "probe_fabric" / "h100-fc-bare-local.stdout").read_text())
    assert out.status is ProbeStatus.OK
    assert metric(out, "fabric.ports") == 0 and metric(out, "fabric.nic_count") == 0
    assert metric(out, "fabric.gpudirect_rdma", via="dma-buf") is True
    assert metric(out, "fabric.gpu_nic_pix") == 0


def test_ndr_ports_nic_count_and_rate() -> None:
    out = run_parser(
        section("ib-devices", "mlx5_0")
        + section("ibstat", (DATA / H20_400G).read_text())
        + section("modules", "nvidia_peermem 16384 0 - Live 0x0\nnvidia 11 2 nvidia_peermem")
        + section("nvidia-smi-topo", (DATA / TOPO_H100).read_text())
    )
    assert metric(out, "fabric.ports_active") == metric(out, "fabric.ports")
    assert metric(out, "fabric.nic_rate") == 400.0
    assert metric(out, "fabric.link_layer") == "InfiniBand"
    assert metric(out, "fabric.gpudirect_rdma", via="nvidia_peermem") is True
    assert metric(out, "fabric.firmware", ca="mlx5_0") == "28.43.2026"
    assert metric(out, "fabric.gpu_nic_pix") == 8


def test_port_down_fails_and_names_the_port() -> None:
    out = run_parser(section("ib-devices", "mlx5_0") + section("ibstat", (DATA / CX6_DOWN).read_text()))
    assert out.status is ProbeStatus.FAILED
    assert metric(out, "fabric.ports_down") == 1
    finding = next(f for f in out.findings if f.code == "ports-down")
    assert "mlx5_1/1" in finding.message and finding.remediation == SPEC.remediation["ports-down"]


def test_roce_link_layer() -> None:
    out = run_parser(section("ib-devices", "mlx5_0") + section("ibstat", (DATA / ROCE_100G).read_text()))
    assert metric(out, "fabric.link_layer") == "Ethernet"
    assert metric(out, "fabric.nic_count") == 2 and metric(out, "fabric.nic_rate") == 100.0


def test_unreadable_ibstat_is_unknown_not_zero() -> None:
    # devices exist, but the ibstat section holds no port listing
    out = run_parser(
        section("ib-devices", "mlx5_0") + section("ibstat", "ibpanic: [1234] main: stat of IB device")
    )
    assert metric(out, "fabric.ports") is None


def test_any_port_listing_the_parser_reads_is_measured_and_labelled() -> None:
    # the ports are read as clustermax import reads them, and fabric.ports says which format they came in
    out = run_parser(
        section("ib-devices", "mlx5_0")
        + section("ibstat", (DATA / "ibstat/ibstatus-100g-eth-nccl-1866.txt").read_text())
    )
    assert metric(out, "fabric.ports", source="ibstatus") == 3


def test_read_ibstat_keeps_a_cut_block() -> None:
    # the probe reads ibstat through the shared parser (no reader of its own)
    ports = parse_ibstat((DATA / H20_400G).read_text()).ports
    assert len(ports) >= 2 and all(p.ca.startswith("mlx5_") for p in ports)
    out = run_parser(section("ib-devices", "") + section("nvidia-smi-topo", "not a matrix"))
    assert metric(out, "fabric.gpu_nic_pix") is None


@pytest.fixture()
def standins(testcluster: TestCluster) -> Iterator[Standins]:
    with installed_standins(testcluster, tools=("ibstat", "nvidia-smi")) as s:
        yield s


@pytest.mark.sshd
@pytest.mark.slurm
def test_fabric_over_ssh(testcluster: TestCluster, standins: Standins) -> None:
    standins.scenario(
        "node1",
        {"ibstat": [{"file": H20_400G}], "nvidia-smi": [{"match": ["topo", "-m"], "file": TOPO_H100}]},
    )
    standins.scenario("node2", {"ibstat": [{"file": CX6_DOWN}]})
    results = {}
    for host in testcluster.nodes[:2]:
        with ssh_transport(testcluster, host) as transport:
            commands, result = run_probe(
                transport, SPEC, host.name, {}, ProbeContext(role="compute", platform="slurm")
            )
        assert commands[0].exit_code == 0, commands[0].stderr
        results[host.name] = result
    assert value(results["node1"], "fabric.nic_rate") == 400.0
    assert value(results["node1"], "fabric.gpu_nic_pix") == 8
    assert value(results["node1"], "fabric.gpudirect_rdma") is None  # no NVIDIA driver on the test machine
    assert results["node2"].status is ProbeStatus.FAILED
    assert value(results["node2"], "fabric.ports_down") == 1
    assert value(results["node2"], "fabric.gpu_nic_pix") is None  # no recorded topo for node2: not measured

"""measure/{slurm,k8s,fabric}: parsed real outputs -> measurements named and united as probe.yaml says."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from clustermax.models import Measurement
from clustermax.parsers.infiniband import parse_ibstat
from clustermax.parsers.kubectl import parse_kubectl_nodes, parse_kubectl_version
from clustermax.parsers.slurm import (
    parse_sacct,
    parse_scontrol_config,
    parse_scontrol_node,
    parse_scontrol_partition,
    parse_sinfo,
)
from clustermax.probes.fabric import ibstat_measurements
from clustermax.probes.kubernetes import kubectl_nodes_measurements, kubectl_version_measurements
from clustermax.probes.slurm import (
    sacct_measurements,
    scontrol_config_measurements,
    scontrol_nodes_measurements,
    scontrol_partitions_measurements,
    sinfo_measurements,
    slurm_measurements,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"


def read(kind: str, name: str) -> str:
    return (DATA / kind / name).read_text()


def catalog(probe: str) -> tuple[dict[str, str], set[str]]:
    spec = yaml.safe_load((ROOT / "probes" / probe / "probe.yaml").read_text())
    return {m["name"]: m["unit"] for m in spec["metrics"]}, set(spec.get("remediation", {}))


def by_metric(ms: list[Measurement]) -> dict[str, list[Measurement]]:
    out: dict[str, list[Measurement]] = {}
    for m in ms:
        out.setdefault(m.metric, []).append(m)
    return out


def one(ms: list[Measurement], metric: str) -> object:
    (m,) = by_metric(ms)[metric]
    return m.value


def assert_in_catalog(probe: str, ms: list[Measurement], codes: list[str]) -> None:
    metrics, remediation = catalog(probe)
    for m in ms:
        assert m.metric in metrics, m.metric
        assert m.unit.value == metrics[m.metric], m
        assert m.host == "login1"
    assert set(codes) <= remediation, codes


def test_scontrol_nodes_dev_cluster() -> None:
    ms, findings = scontrol_nodes_measurements(
        parse_scontrol_node(read("scontrol-node", "dev-22.05.8.txt")), "login1"
    )
    assert_in_catalog("slurm", ms, [f.code for f in findings])
    assert one(ms, "slurm.nodes_total") == 4
    assert one(ms, "slurm.nodes_unavailable") == 2  # cpu1 DOWN, gpu3 IDLE+DRAIN
    assert one(ms, "slurm.nodes_unavailable_fraction") == 0.5
    assert one(ms, "slurm.gpu_nodes") == 3 and one(ms, "slurm.gpus_total") == 24
    per_node = by_metric(ms)["slurm.gpus_per_node"]
    assert [(m.labels["node"], m.value) for m in per_node] == [("gpu1", 8), ("gpu2", 8), ("gpu3", 8)]
    assert per_node[0].labels == {"node": "gpu1", "gpu_type": "h100"}
    assert one(ms, "slurm.version") == "22.05.8"
    (finding,) = findings
    assert finding.code == "nodes-unavailable" and "cpu1 DOWN (bad dimm" in finding.message


def test_scontrol_nodes_healthy_node_has_no_finding() -> None:
    ms, findings = scontrol_nodes_measurements(
        parse_scontrol_node(read("scontrol-node", "nano-23.11.11-h100-mixed.txt")), "login1"
    )
    assert findings == [] and one(ms, "slurm.nodes_unavailable") == 0 and one(ms, "slurm.gpus_total") == 8


def test_config_and_partitions_combined() -> None:
    config = parse_scontrol_config(read("scontrol-config", "dev-22.05.8.txt"))
    parts = parse_scontrol_partition(read("scontrol-partition", "dev-22.05.8.txt"))
    ms, findings = slurm_measurements("login1", config=config, partitions=parts)
    assert_in_catalog("slurm", ms, [f.code for f in findings])
    assert one(ms, "slurm.partitions") == 2 and one(ms, "slurm.partitions_up") == 2
    assert one(ms, "slurm.default_partition_set") is True
    assert one(ms, "slurm.def_mem_per_gpu_set") is True and one(ms, "slurm.def_cpu_per_gpu_set") is True
    assert (
        one(ms, "slurm.topology_plugin") == "topology/none" and one(ms, "slurm.topology_configured") is False
    )
    assert one(ms, "slurm.healthcheck_configured") is False
    assert one(ms, "slurm.prolog_configured") is False and one(ms, "slurm.epilog_configured") is False
    assert sorted(f.code for f in findings) == ["no-healthcheck", "no-topology"]


def test_defaults_unset_needs_config_and_partitions() -> None:
    config = parse_scontrol_config(read("scontrol-config", "dev-22.05.8.txt"))
    alone, _ = scontrol_config_measurements(config, "login1")
    assert "slurm.def_mem_per_gpu_set" not in by_metric(alone)  # a partition could still set it
    parts = parse_scontrol_partition(read("scontrol-partition", "nano-23.11-two-partitions.txt"))
    ms, findings = slurm_measurements("login1", config=config, partitions=parts)
    assert one(ms, "slurm.def_mem_per_gpu_set") is True and one(ms, "slurm.def_cpu_per_gpu_set") is False
    assert [f.code for f in findings if f.code == "no-defaults"] == ["no-defaults"]
    p_only, _ = scontrol_partitions_measurements(parts, "login1")
    assert one(p_only, "slurm.def_mem_per_gpu_set") is True
    assert "slurm.def_cpu_per_gpu_set" not in by_metric(p_only)
    assert one(p_only, "slurm.default_partition_set") is False


def test_sinfo_partitions() -> None:
    ms, _ = sinfo_measurements(parse_sinfo(read("sinfo", "arjuna-69-state-flags.txt")), "login1")
    assert_in_catalog("slurm", ms, [])
    assert (one(ms, "slurm.partitions"), one(ms, "slurm.partitions_up")) == (5, 5)
    assert one(ms, "slurm.default_partition_set") is True


def test_sacct_accounting() -> None:
    ok, none = sacct_measurements(parse_sacct(read("sacct", "dev-22.05.8-c-P.txt")), "login1")
    assert one(ok, "slurm.accounting") is True and none == []
    off, findings = sacct_measurements(parse_sacct(read("sacct", "dev-22.05.8-disabled.txt")), "login1")
    assert one(off, "slurm.accounting") is False and [f.code for f in findings] == ["no-accounting"]
    assert_in_catalog("slurm", off, [f.code for f in findings])


def test_kubectl_version_measurements() -> None:
    ms, _ = kubectl_version_measurements(
        parse_kubectl_version(read("kubectl-version", "old-format-skew-hkube-1954.txt")), "login1"
    )
    assert_in_catalog("kubernetes", ms, [])
    assert (one(ms, "k8s.client_version"), one(ms, "k8s.server_version")) == ("v1.26.2", "v1.23.5")
    refused, _ = kubectl_version_measurements(
        parse_kubectl_version(read("kubectl-version", "dev-1.32.4-refused.txt")), "login1"
    )
    assert "k8s.server_version" not in by_metric(refused)


def test_kubectl_nodes_measurements() -> None:
    ms, _ = kubectl_nodes_measurements(
        parse_kubectl_nodes(read("kubectl-nodes", "nodelist-json-k3s-orbstack.json")), "login1"
    )
    assert_in_catalog("kubernetes", ms, [])
    assert (one(ms, "k8s.nodes"), one(ms, "k8s.nodes_ready"), one(ms, "k8s.gpu_nodes")) == (1, 1, 0)
    assert (one(ms, "k8s.gpus_capacity"), one(ms, "k8s.gpus_allocatable")) == (0, 0)
    gpu, _ = kubectl_nodes_measurements(
        parse_kubectl_nodes(read("kubectl-nodes", "describe-hami-477-gpu80.txt")), "login1"
    )
    assert (one(gpu, "k8s.gpus_capacity"), one(gpu, "k8s.gpus_allocatable"), one(gpu, "k8s.gpu_nodes")) == (
        80,
        70,
        1,
    )
    assert "k8s.nodes_ready" not in by_metric(gpu)  # no Conditions shown
    labels, _ = kubectl_nodes_measurements(
        parse_kubectl_nodes(read("kubectl-nodes", "labels-describe-device-plugin-1501.txt")), "login1"
    )
    assert by_metric(labels)["k8s.gpu_product"][0].value == "NVIDIA-H100-80GB-HBM3"
    assert "k8s.nodes" not in by_metric(labels) and "k8s.gpus_capacity" not in by_metric(labels)


def test_fabric_400g_infiniband() -> None:
    parsed = parse_ibstat(read("ibstat", "h20-cx7-400g-ib-deepep-303.txt"))
    ms, findings = ibstat_measurements(parsed, "login1")
    assert_in_catalog("fabric", ms, [f.code for f in findings])
    assert (one(ms, "fabric.ports"), one(ms, "fabric.ports_active"), one(ms, "fabric.ports_down")) == (
        3,
        3,
        0,
    )
    assert (one(ms, "fabric.nic_count"), one(ms, "fabric.nic_rate"), one(ms, "fabric.link_layer")) == (
        2,
        400,
        "InfiniBand",
    )
    rates = {(m.labels["ca"], m.labels["port"]): m.value for m in by_metric(ms)["fabric.port_rate"]}
    assert rates == {("mlx5_0", "1"): 400, ("mlx5_1", "1"): 400, ("mlx5_2", "1"): None}
    assert {m.labels["ca"]: m.value for m in by_metric(ms)["fabric.firmware"]}["mlx5_0"] == "28.43.2026"
    assert findings == []


@pytest.mark.parametrize(
    ("name", "active", "down", "nic_count", "nic_rate", "layer"),
    [
        ("cx6-200g-one-down-nccl-tests-128.txt", 2, 1, 1, 200, "InfiniBand"),
        ("gb10-cx7-roce-one-disabled.txt", 2, 1, 2, 200, "Ethernet"),
        ("cx7-down-polling-gpud-482.txt", 0, 1, None, None, None),
    ],
)
def test_fabric_ports_down(
    name: str, active: int, down: int, nic_count: int | None, nic_rate: int | None, layer: str | None
) -> None:
    ms, findings = ibstat_measurements(parse_ibstat(read("ibstat", name)), "login1")
    assert_in_catalog("fabric", ms, [f.code for f in findings])
    assert (one(ms, "fabric.ports_active"), one(ms, "fabric.ports_down")) == (active, down)
    got = by_metric(ms)
    assert (got["fabric.nic_count"][0].value if "fabric.nic_count" in got else None) == nic_count
    assert (got["fabric.nic_rate"][0].value if "fabric.nic_rate" in got else None) == nic_rate
    assert (got["fabric.link_layer"][0].value if "fabric.link_layer" in got else None) == layer
    assert [f.code for f in findings] == ["ports-down"]


def test_fabric_rate_low_finding() -> None:
    # the real 400G capture with one port's rate halved in test code (a degraded cable)
    text = read("ibstat", "h20-cx7-400g-ib-deepep-303.txt").replace("Rate: 400", "Rate: 200", 1)
    ms, findings = ibstat_measurements(parse_ibstat(text), "login1")
    assert one(ms, "fabric.nic_count") == 1
    assert [f.code for f in findings] == ["rate-low"] and "mlx5_0:1 at 200 Gb/s" in findings[0].message

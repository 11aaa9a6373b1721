"""The slurm, kubernetes and fabric mappings (``measure``): parsed real outputs -> measurements named and
united as probe.yaml says, and findings with the probe's remediation texts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from clustermax.bundle.from_files import import_files
from clustermax.models import Finding, Measurement, Severity
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
from clustermax.probes.kubernetes import K8sEvidence
from clustermax.probes.kubernetes import measure as measure_k8s
from clustermax.probes.slurm import Accounting, SlurmEvidence
from clustermax.probes.slurm import measure as measure_slurm
from clustermax.probes.specs import load_probe_specs

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
SLURM_REMEDIATION = dict(load_probe_specs()["slurm"].remediation)


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


def slurm(host: str = "login1", **evidence: object) -> tuple[list[Measurement], list[Finding]]:
    return measure_slurm(SlurmEvidence(**evidence), host, SLURM_REMEDIATION)  # type: ignore[arg-type]


def test_scontrol_nodes_dev_cluster() -> None:
    ms, findings = slurm(nodes=parse_scontrol_node(read("scontrol-node", "dev-22.05.8.txt")).nodes)
    assert_in_catalog("slurm", ms, [f.code.removeprefix("slurm.") for f in findings])
    assert one(ms, "slurm.nodes_total") == 4
    assert one(ms, "slurm.nodes_unavailable") == 2  # cpu1 DOWN, gpu3 IDLE+DRAIN
    assert one(ms, "slurm.nodes_usable") == 2
    assert one(ms, "slurm.nodes_unavailable_fraction") == 0.5
    assert one(ms, "slurm.gpu_nodes") == 3 and one(ms, "slurm.gpus_total") == 24
    per_node = by_metric(ms)["slurm.gpus_per_node"]
    assert [(m.labels["node"], m.value) for m in per_node] == [("gpu1", 8), ("gpu2", 8), ("gpu3", 8)]
    assert per_node[0].labels == {"node": "gpu1", "gpu_type": "h100"}
    assert one(ms, "slurm.version") == "22.05.8"  # no sinfo --version, no slurm.conf: the slurmd version
    (finding,) = findings
    assert finding.code == "slurm.nodes-unavailable" and finding.severity is Severity.HIGH
    assert "2 of 4 nodes cannot take jobs: cpu1 (DOWN" in finding.message and "bad dimm" in finding.message
    assert finding.remediation == SLURM_REMEDIATION["nodes-unavailable"]
    # only the nodes were read: nothing is said about partitions, accounting, MPI ...
    assert {m.metric for m in ms} <= {m for m in catalog("slurm")[0] if "node" in m or "gpu" in m} | {
        "slurm.version"
    }


def test_nodes_unavailable_threshold_is_one_rule() -> None:
    """2 of 10 nodes down: the import and the probe gave different codes, severities and thresholds
    (nodes-unavailable high above 10 %; slurm.nodes-unavailable medium below 25 %). One rule now."""
    text = read("scontrol-node", "nano-23.11.11-h100-mixed.txt")
    records = [text.replace("hgpn01", f"hgpn{i:02d}") for i in range(1, 11)]  # derived: ten copies
    for i in (3, 7):
        records[i - 1] = records[i - 1].replace("State=MIXED", "State=DOWN*")
    nodes = parse_scontrol_node("\n".join(records)).nodes
    assert len(nodes) == 10
    ms, findings = slurm(nodes=nodes)
    assert one(ms, "slurm.nodes_unavailable_fraction") == 0.2
    (finding,) = findings
    assert (finding.code, finding.severity) == ("slurm.nodes-unavailable", Severity.MEDIUM)


def test_scontrol_nodes_healthy_node_has_no_finding() -> None:
    ms, findings = slurm(
        nodes=parse_scontrol_node(read("scontrol-node", "nano-23.11.11-h100-mixed.txt")).nodes
    )
    assert findings == [] and one(ms, "slurm.nodes_unavailable") == 0 and one(ms, "slurm.gpus_total") == 8


def test_config_and_partitions_combined() -> None:
    config = parse_scontrol_config(read("scontrol-config", "dev-22.05.8.txt"))
    parts = parse_scontrol_partition(read("scontrol-partition", "dev-22.05.8.txt")).partitions
    ms, findings = slurm(config=config, controller_up=True, partitions=parts)
    assert_in_catalog("slurm", ms, [f.code.removeprefix("slurm.") for f in findings])
    assert one(ms, "slurm.controller_up") is True
    assert one(ms, "slurm.partitions") == 2 and one(ms, "slurm.partitions_up") == 2
    assert one(ms, "slurm.default_partition_set") is True
    assert one(ms, "slurm.def_mem_per_gpu_set") is True and one(ms, "slurm.def_cpu_per_gpu_set") is True
    assert (
        one(ms, "slurm.topology_plugin") == "topology/none" and one(ms, "slurm.topology_configured") is False
    )
    assert one(ms, "slurm.healthcheck_configured") is False
    assert one(ms, "slurm.prolog_configured") is False and one(ms, "slurm.epilog_configured") is False
    # the node count is not known here, so a missing topology is reported (it matters from 2 nodes)
    assert sorted(f.code for f in findings) == ["slurm.no-healthcheck", "slurm.no-topology"]


def test_defaults_unset_needs_config_and_partitions() -> None:
    config = parse_scontrol_config(read("scontrol-config", "dev-22.05.8.txt"))
    alone, _ = slurm(config=config)
    assert one(alone, "slurm.def_cpu_per_gpu_set") is None  # the default partition could still set it
    parts = parse_scontrol_partition(read("scontrol-partition", "nano-23.11-two-partitions.txt")).partitions
    ms, findings = slurm(config=config, partitions=parts)
    assert one(ms, "slurm.def_mem_per_gpu_set") is True and one(ms, "slurm.def_cpu_per_gpu_set") is False
    assert [f.code for f in findings if f.code == "slurm.no-defaults"] == ["slurm.no-defaults"]
    p_only, _ = slurm(partitions=parts)
    assert one(p_only, "slurm.def_mem_per_gpu_set") is True
    assert one(p_only, "slurm.def_cpu_per_gpu_set") is None
    assert one(p_only, "slurm.default_partition_set") is False


def test_sinfo_partitions() -> None:
    ms, _ = slurm(sinfo=parse_sinfo(read("sinfo", "arjuna-69-state-flags.txt")))
    assert_in_catalog("slurm", ms, [])
    assert (one(ms, "slurm.partitions"), one(ms, "slurm.partitions_up")) == (5, 5)
    assert one(ms, "slurm.default_partition_set") is True


def test_sacct_accounting() -> None:
    ok, none = slurm(
        accounting=Accounting(not parse_sacct(read("sacct", "dev-22.05.8-c-P.txt")).accounting_disabled)
    )
    assert one(ok, "slurm.accounting") is True and none == []
    off = import_files([str(DATA / "sacct" / "dev-22.05.8-disabled.txt")], provider=None, cluster="c")
    (result,) = off.bundle.results
    assert one(result.measurements, "slurm.accounting") is False
    (finding,) = result.findings
    assert finding.code == "slurm.no-accounting" and "accounting storage is disabled" in finding.message
    assert finding.remediation == SLURM_REMEDIATION["no-accounting"]


def k8s(**evidence: object) -> tuple[list[Measurement], list[Finding]]:
    return measure_k8s(K8sEvidence(**evidence), "login1", {})  # type: ignore[arg-type]


def test_kubectl_version_measurements() -> None:
    ms, _ = k8s(version=parse_kubectl_version(read("kubectl-version", "old-format-skew-hkube-1954.txt")))
    assert_in_catalog("kubernetes", ms, [])
    assert (one(ms, "k8s.client_version"), one(ms, "k8s.server_version")) == ("v1.26.2", "v1.23.5")
    refused, _ = k8s(version=parse_kubectl_version(read("kubectl-version", "dev-1.32.4-refused.txt")))
    assert one(refused, "k8s.server_version") is None  # kubectl answered, the server did not: not measured


def test_kubectl_nodes_measurements() -> None:
    ms, findings = k8s(nodes=parse_kubectl_nodes(read("kubectl-nodes", "nodelist-json-k3s-orbstack.json")))
    assert_in_catalog("kubernetes", ms, [])
    assert (one(ms, "k8s.nodes"), one(ms, "k8s.nodes_ready"), one(ms, "k8s.gpu_nodes")) == (1, 1, 0)
    assert (one(ms, "k8s.gpus_capacity"), one(ms, "k8s.gpus_allocatable")) == (0, 0)
    assert [f.code for f in findings] == ["k8s.no-gpu-nodes"]
    gpu, _ = k8s(nodes=parse_kubectl_nodes(read("kubectl-nodes", "describe-hami-477-gpu80.txt")))
    assert (one(gpu, "k8s.gpus_capacity"), one(gpu, "k8s.gpus_allocatable"), one(gpu, "k8s.gpu_nodes")) == (
        80,
        70,
        1,
    )
    assert one(gpu, "k8s.nodes_ready") is None  # no Conditions shown: not measured
    labels, _ = k8s(
        nodes=parse_kubectl_nodes(read("kubectl-nodes", "labels-describe-device-plugin-1501.txt"))
    )
    assert by_metric(labels)["k8s.gpu_product"][0].value == "NVIDIA-H100-80GB-HBM3"
    assert one(labels, "k8s.nodes") is None and one(labels, "k8s.gpus_capacity") is None


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

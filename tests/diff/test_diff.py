# ruff: noqa: E501  (the expected outputs are whole lines of the real output)
"""`clustermax diff` on the golden bundles and on pairs imported from recorded real outputs, exact text.

The pairs are built with `clustermax import` (SOURCE_DATE_EPOCH fixed) from fixtures under tests/data:
an 8 x H100 node whose fabric manager stopped (nccl-tests issue 264: CUDA 'system not yet initialized'),
a 4-GPU workstation that lost GPU1 (an operations log), a node whose kernel log shows a new Xid 79, and a
driver update. The expected text was read and checked by hand: a change in the output must be deliberate.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.history.conftest import cmx, import_bundle

PAIRS: dict[str, tuple[list[str], list[str]]] = {
    "fabric_manager_down": (
        [
            "--provider",
            "example-h100",
            "--cluster",
            "h100-ndr",
            "--profile",
            "gpu_model=H100-SXM",
            "--profile",
            "fabric=infiniband-ndr",
            "--profile",
            "nic_count=8",
            "--profile",
            "gpus_per_node=8",
            "tests/data/nccl-tests/h100-2node-allreduce-mpirun.log",
            "tests/data/nvidia-smi/h100x8-565-table.txt",
        ],
        [
            "--provider",
            "example-h100",
            "--cluster",
            "h100-ndr",
            "--profile",
            "gpu_model=H100-SXM",
            "--profile",
            "fabric=infiniband-ndr",
            "--profile",
            "nic_count=8",
            "--profile",
            "gpus_per_node=8",
            "tests/data/history-pairs/h100x8-fabric-manager-down-issue264.log",
            "tests/data/nvidia-smi/h100x8-565-table.txt",
        ],
    ),
    "gpu_lost": (
        [
            "--provider",
            "dfch",
            "--cluster",
            "sys0",
            "--host",
            "sys0",
            "--kind",
            "nvidia-smi",
            "--profile",
            "gpus_per_node=4",
            "tests/data/history-pairs/rtxpro6000x4-610-table.txt",
        ],
        [
            "--provider",
            "dfch",
            "--cluster",
            "sys0",
            "--host",
            "sys0",
            "--kind",
            "nvidia-smi",
            "--profile",
            "gpus_per_node=4",
            "tests/data/history-pairs/rtxpro6000x4-610-gpu1-lost.txt",
        ],
    ),
    "new_xid_79": (
        [
            "--provider",
            "lab",
            "--cluster",
            "hgx",
            "--host",
            "node7",
            "--profile",
            "gpus_per_node=8",
            "tests/data/nvidia-smi/h100x8-565-table.txt",
            "tests/data/xid/dmesg-ctime-gpud-13-109.log",
        ],
        [
            "--provider",
            "lab",
            "--cluster",
            "hgx",
            "--host",
            "node7",
            "--profile",
            "gpus_per_node=8",
            "tests/data/nvidia-smi/h100x8-565-table.txt",
            "tests/data/xid/dmesg-fallen-off-bus-no-xid.log",
        ],
    ),
    "driver_update": (
        [
            "--provider",
            "lab",
            "--cluster",
            "hgx",
            "--host",
            "node3",
            "--profile",
            "gpus_per_node=8",
            "tests/data/nvidia-smi/h100x8-560-persistence-off.txt",
        ],
        [
            "--provider",
            "lab",
            "--cluster",
            "hgx",
            "--host",
            "node3",
            "--profile",
            "gpus_per_node=8",
            "tests/data/nvidia-smi/h100x8-565-table.txt",
        ],
    ),
}

EXPECTED: dict[str, str] = {
    "fabric_manager_down": (
        "clustermax diff: h100-ndr (example-h100)\n"
        "  old  2026-01-01 00:00 UTC  import  1 host(s)  evidence 7df19790e080\n"
        "  new  2026-01-01 00:00 UTC  import  1 host(s)  evidence 8f4cab5ce71c\n"
        "Tier: Not rated (Underperforming to Gold) -> Not rated (Underperforming to Platinum): changed\n"
        "  old: Not rated: insufficient evidence (coverage 14%; Bronze needs 25%); between Underperforming and Gold on this evidence\n"
        "  new: Not rated: insufficient evidence (coverage 8%; Bronze needs 25%); between Underperforming and Platinum on this evidence\n"
        "Score 70.8 -> 63.2, coverage 14% -> 8% (rubric clustermax-v1 1.0.0)\n"
        "Criteria (4 changed):\n"
        "  changed  nccl-inter-busbw: pass -> not measured  (Multi-node all-reduce bus bandwidth vs. the fabric's reference)\n"
        "  changed  nccl-inter-busbw-band: warn -> not measured  (Multi-node all-reduce at 16-512 MiB (the 'real-world' band))\n"
        "  changed  nccl-run-spread: pass -> not measured  (All-reduce peak stable across repetitions)\n"
        "  changed  nccl-wrong: pass -> not measured  (nccl-tests found no wrong results)\n"
        "Metrics beyond their tolerance (1, cluster-wide):\n"
        "  changed  nccl.busbw_peak_median{collective=all_reduce impl=nccl-tests nodes=2 ranks=16 scope=inter}: 338.82 GB/s -> not measured\n"
        "Nodes: no change\n"
        "Probes (2 changed):\n"
        "  nccl_allreduce on cluster: ok -> absent\n"
        "  nccl_allreduce on imported: absent -> error/parse-error: nccl-tests: expected nccl-tests output (a '#  size  count  type ... busbw' header and result rows); found none\n"
        "Findings: 0 appeared, 0 resolved\n"
        "Regressions: none\n"
        "No longer measured (6; unknown, not counted as regressions):\n"
        "  - criterion nccl-inter-busbw: pass -> not measured\n"
        "  - criterion nccl-inter-busbw-band: warn -> not measured\n"
        "  - criterion nccl-run-spread: pass -> not measured\n"
        "  - criterion nccl-wrong: pass -> not measured\n"
        "  - nccl.busbw_peak_median{collective=all_reduce impl=nccl-tests nodes=2 ranks=16 scope=inter}: 338.82 GB/s -> not measured\n"
        "  - probe nccl_allreduce on cluster: ok -> absent\n"
    ),
    "gpu_lost": (
        "clustermax diff: sys0 (dfch)\n"
        "  old  2026-01-01 00:00 UTC  import  1 host(s)  evidence 954f64dee6ad\n"
        "  new  2026-01-01 00:00 UTC  import  1 host(s)  evidence c7b8caa44edd\n"
        "Tier: Not rated (Underperforming to Platinum) -> Underperforming (Underperforming): worse\n"
        "  old: Not rated: insufficient evidence (coverage 2%; Bronze needs 25%); between Underperforming and Platinum on this evidence\n"
        "  new: Underperforming: Bronze needs gpu-count-ok to pass; it fails\n"
        "Score 100.0 -> 41.7, coverage 2% -> 2% (rubric clustermax-v1 1.0.0)\n"
        "Criteria (2 changed):\n"
        "  worse    gpu-count-ok: pass -> fail on sys0  (All expected GPUs visible)\n"
        "  worse    gpu-idle-temperature: pass -> fail on sys0  (GPUs cool at idle)\n"
        "Metrics: no cluster-wide value moved beyond its tolerance\n"
        "Nodes:\n"
        "  sys0: GPUs 4 -> 3 (worse); gpu.count_ok true -> false (worse); gpu.power_draw_max 25 W -> 299 W; gpu.temperature_max 36 C -> 87 C (worse); new finding gpu-missing (critical)\n"
        "Findings: 1 appeared, 0 resolved\n"
        "  appeared  critical  sys0  gpu-missing: 3 of 4 expected GPUs are visible\n"
        "Regressions (3):\n"
        "  - criterion gpu-count-ok (All expected GPUs visible): pass -> fail on sys0\n"
        "  - criterion gpu-idle-temperature (GPUs cool at idle): pass -> fail on sys0\n"
        "  - gpu.count: 4 -> 3 (-25.0%) on sys0\n"
    ),
    "new_xid_79": (
        "clustermax diff: hgx (lab)\n"
        "  old  2026-01-01 00:00 UTC  import  1 host(s)  evidence ed3d15862d89\n"
        "  new  2026-01-01 00:00 UTC  import  1 host(s)  evidence 1203261ee406\n"
        "Tier: Not rated (Underperforming to Platinum) -> Not rated (Underperforming to Silver): worse\n"
        "  old: Not rated: insufficient evidence (coverage 10%; Bronze needs 25%); between Underperforming and Platinum on this evidence\n"
        "  new: Not rated: insufficient evidence (coverage 10%; Bronze needs 25%); between Underperforming and Silver on this evidence\n"
        "Score 63.2 -> 47.8, coverage 10% -> 10% (rubric clustermax-v1 1.0.0)\n"
        "Criteria (2 changed):\n"
        "  worse    gpu-fallen-off-bus: pass -> fail on node7  (No GPU fallen off the bus)\n"
        "  worse    gpu-xid-critical: pass -> fail on node7  (No hardware or reset-required Xid events)\n"
        "Metrics: no cluster-wide value moved beyond its tolerance\n"
        "Nodes:\n"
        "  node7: new Xid 79; gpu.fallen_off_bus false -> true (worse); gpu.xid_critical 0 -> 1 (worse); gpu.xid_events 4 -> 1 (better); Xid 13 no longer logged; Xid 109 no longer logged; new finding fallen-off-bus (critical); new finding xid-critical (critical); resolved xid-events (low)\n"
        "Findings: 2 appeared, 1 resolved\n"
        "  appeared  critical  node7  fallen-off-bus: a GPU has fallen off the bus (0000:b3:00.0)\n"
        "  appeared  critical  node7  xid-critical: 1 hardware or reset-required Xid event(s): Xid 79\n"
        "  resolved  low       node7  xid-events: 4 Xid event(s) (Xid 13, 109), none hardware or reset-required\n"
        "Regressions (3):\n"
        "  - criterion gpu-fallen-off-bus (No GPU fallen off the bus): pass -> fail on node7\n"
        "  - criterion gpu-xid-critical (No hardware or reset-required Xid events): pass -> fail on node7\n"
        "  - gpu.xid_critical: 0 -> 1 on node7\n"
    ),
    "driver_update": (
        "clustermax diff: hgx (lab)\n"
        "  old  2026-01-01 00:00 UTC  import  1 host(s)  evidence db48b1d1262a\n"
        "  new  2026-01-01 00:00 UTC  import  1 host(s)  evidence 94d51bcb580c\n"
        "Tier: Not rated (Underperforming to Platinum) -> Not rated (Underperforming to Platinum): unchanged\n"
        "  old: Not rated: insufficient evidence (coverage 8%; Bronze needs 25%); between Underperforming and Platinum on this evidence\n"
        "  new: Not rated: insufficient evidence (coverage 8%; Bronze needs 25%); between Underperforming and Platinum on this evidence\n"
        "Score 61.3 -> 63.2, coverage 8% -> 8% (rubric clustermax-v1 1.0.0)\n"
        "Criteria (1 changed):\n"
        "  better   gpu-persistence-mode: warn -> pass  (GPU persistence mode on)\n"
        "Metrics: no cluster-wide value moved beyond its tolerance\n"
        "Nodes:\n"
        "  node3: CUDA 12.6 -> 12.7; driver 560.35.03 -> 565.57.01 (better); gpu.persistence_mode false -> true (better); gpu.power_draw_max 73 W -> 100 W; gpu.temperature_max 38 C -> 31 C (better); resolved persistence-off (low)\n"
        "Findings: 0 appeared, 1 resolved\n"
        "  resolved  low       node3  persistence-off: persistence mode is off on 8 GPU(s)\n"
        "Regressions: none\n"
    ),
    "golden_healthy_to_failing": (
        "clustermax diff: h100-ndr (example-h100) -> h100-sick (example-h100-bad)\n"
        "  old  2026-01-01 00:00 UTC  import  1 host(s)  evidence 83ce37c29623\n"
        "  new  2026-01-01 00:00 UTC  import  1 host(s)  evidence d29c4746d428\n"
        "warning: these are audits of different clusters: h100-ndr (provider example-h100) and h100-sick (provider example-h100-bad); what differs may be the cluster, not a change\n"
        "Tier: Not rated (Underperforming to Gold) -> Not rated (Underperforming to Silver): worse\n"
        "  old: Not rated: insufficient evidence (coverage 20%; Bronze needs 25%); between Underperforming and Gold on this evidence\n"
        "  new: Not rated: insufficient evidence (coverage 14%; Bronze needs 25%); between Underperforming and Silver on this evidence\n"
        "Score 75.9 -> 57.2, coverage 20% -> 14% (rubric clustermax-v1 1.0.0)\n"
        "Criteria (19 changed):\n"
        "  worse    gpu-persistence-mode: pass -> warn on imported  (GPU persistence mode on)\n"
        "  worse    gpu-power-limit: pass -> fail on imported  (GPU power limit at its rated value)\n"
        "  changed  fabric-gpu-nic-affinity: pass -> not measured  (Every GPU has a NIC on its PCIe switch)\n"
        "  changed  gpu-count-ok: pass -> not measured  (All expected GPUs visible)\n"
        "  changed  gpu-dcgm-diag: not measured -> fail  (dcgmi diag passes)\n"
        "  changed  gpu-ecc-aggregate: not measured -> pass  (Few lifetime uncorrectable ECC errors)\n"
        "  changed  gpu-fallen-off-bus: not measured -> fail  (No GPU fallen off the bus)\n"
        "  changed  gpu-pcie-degraded: not measured -> pass  (PCIe links at full width and generation)\n"
        "  changed  gpu-remapped-rows-failed: not measured -> pass  (No failed row remapping)\n"
        "  changed  gpu-remapped-rows-pending: not measured -> warn  (No row remapping pending)\n"
        "  changed  gpu-throttled: not measured -> pass  (No GPU throttling at idle)\n"
        "  changed  gpu-xid-critical: not measured -> fail  (No hardware or reset-required Xid events)\n"
        "  changed  gpu-xid-events: not measured -> pass  (Few Xid events overall)\n"
        "  changed  nccl-inter-busbw: pass -> not measured  (Multi-node all-reduce bus bandwidth vs. the fabric's reference)\n"
        "  changed  nccl-inter-busbw-band: warn -> not measured  (Multi-node all-reduce at 16-512 MiB (the 'real-world' band))\n"
        "  changed  slurm-default-partition: warn -> not measured  (A default partition is set)\n"
        "  changed  slurm-gpu-defaults: pass -> not measured  (DefMemPerGPU set)\n"
        "  changed  slurm-nodes-available: pass -> not measured  (Nodes available (not down or drained))\n"
        "  changed  slurm-partitions-up: pass -> not measured  (At least one partition is up)\n"
        "Metrics: no cluster-wide value moved beyond its tolerance\n"
        "Nodes:\n"
        "  imported: new Xid 13 (3 events); new Xid 79; new Xid 109; fabric.gpu_nic_pix 8 -> not measured; GPUs 8 -> [4, 8]; gpu.count_ok true -> not measured; CUDA 12.7 -> [12.5, 12.6]; gpu.dcgm_diag{level=unknown} not measured -> fail; gpu.dcgm_failed_tests{level=unknown} not measured -> 1; driver 565.57.01 -> [555.42.02, 560.35.03]; gpu.ecc_uncorrected 0 -> [0, 0]; gpu.ecc_uncorrected_aggregate not measured -> [not measured, 0]; gpu.expected_count 8 -> not measured; gpu.fallen_off_bus not measured -> [false, true]; gpu.memory_total 81559 MiB -> [81559, 81920]; GPU model NVIDIA H100 80GB HBM3 -> [NVIDIA A100-SXM4-80GB, NVIDIA H100 80GB HBM3]; gpu.pcie_degraded not measured -> [not measured, 0]; gpu.persistence_mode true -> [false, true]; gpu.power_draw_max 100 W -> [62.21, 73]; gpu.power_limit 700 W -> [500, 700]; gpu.remapped_rows_failed not measured -> [not measured, 0]; gpu.remapped_rows_pending not measured -> [not measured, 1]; gpu.temperature_max 31 C -> [25, 38]; gpu.throttled not measured -> [not measured, 0]; gpu.xid_critical not measured -> [0, 1]; gpu.xid_events not measured -> [1, 4]; slurm.def_mem_per_gpu_set true -> not measured; slurm.default_partition_set false -> not measured; slurm.gpu_nodes 1 -> not measured; slurm.gpus_per_node{gpu_type=H100 node=hgpn01} 8 -> not measured; slurm.gpus_total 8 -> not measured; slurm.nodes_total 1 -> not measured; slurm.nodes_unavailable 0 -> not measured; slurm.nodes_unavailable_fraction 0 -> not measured; slurm.nodes_usable 1 -> not measured; slurm.partitions 2 -> not measured; slurm.partitions_up 2 -> not measured; Slurm 23.11.11 -> not measured; new finding fallen-off-bus (critical); new finding xid-critical (critical); new finding dcgm-failed (high); new finding remapped-rows-pending (high); new finding persistence-off (low); new finding xid-events (low)\n"
        "Probes (3 changed):\n"
        "  fabric on imported: ok -> absent\n"
        "  gpu_health on cluster: ok -> failed: GPU nodes disagree: NVIDIA A100-SXM4-80GB driver 555.42.02 CUDA 12.5 on imported; NVIDIA H100 80GB HBM3 driver 560.35.03 CUDA 12.6 on imported\n"
        "  slurm on imported: ok -> absent\n"
        "Findings: 7 appeared, 0 resolved\n"
        "  appeared  critical  imported  fallen-off-bus: a GPU has fallen off the bus (0000:b3:00.0)\n"
        "  appeared  critical  imported  xid-critical: 1 hardware or reset-required Xid event(s): Xid 79\n"
        "  appeared  high      imported  dcgm-failed: dcgmi diag failed: GPU Memory (GPU 0, 1, 2, 3, 4, 5, 6, 7)\n"
        "  appeared  high      imported  remapped-rows-pending: row remapping pending on 00000000:9E:00.0\n"
        "  appeared  medium    cluster  versions-mixed: GPU nodes disagree: NVIDIA A100-SXM4-80GB driver 555.42.02 CUDA 12.5 on imported; NVIDIA H100 80GB HBM3 driver 560.35.03 CUDA 12.6 on imported\n"
        "  appeared  low       imported  persistence-off: persistence mode is off on 8 GPU(s)\n"
        "  appeared  low       imported  xid-events: 4 Xid event(s) (Xid 13, 109), none hardware or reset-required\n"
        "Regressions (2):\n"
        "  - criterion gpu-persistence-mode (GPU persistence mode on): pass -> warn on imported\n"
        "  - criterion gpu-power-limit (GPU power limit at its rated value): pass -> fail on imported\n"
        "No longer measured (11; unknown, not counted as regressions):\n"
        "  - criterion fabric-gpu-nic-affinity: pass -> not measured\n"
        "  - criterion gpu-count-ok: pass -> not measured\n"
        "  - criterion nccl-inter-busbw: pass -> not measured\n"
        "  - criterion nccl-inter-busbw-band: warn -> not measured\n"
        "  - criterion slurm-default-partition: warn -> not measured\n"
        "  - criterion slurm-gpu-defaults: pass -> not measured\n"
        "  - criterion slurm-nodes-available: pass -> not measured\n"
        "  - criterion slurm-partitions-up: pass -> not measured\n"
        "  - slurm.nodes_usable: 1 -> not measured on imported\n"
        "  - probe fabric on imported: ok -> absent\n"
        "  - probe slurm on imported: ok -> absent\n"
    ),
    "golden_smi_only_to_healthy": (
        "clustermax diff: one-table (example-smi) -> h100-ndr (example-h100)\n"
        "  old  2026-01-01 00:00 UTC  import  1 host(s)  evidence 964a829cd22d\n"
        "  new  2026-01-01 00:00 UTC  import  1 host(s)  evidence 83ce37c29623\n"
        "warning: these are audits of different clusters: one-table (provider example-smi) and h100-ndr (provider example-h100); what differs may be the cluster, not a change\n"
        "Tier: Not rated (Underperforming to Platinum) -> Not rated (Underperforming to Gold): worse\n"
        "  old: Not rated: insufficient evidence (coverage 8%; Bronze needs 25%); between Underperforming and Platinum on this evidence\n"
        "  new: Not rated: insufficient evidence (coverage 20%; Bronze needs 25%); between Underperforming and Gold on this evidence\n"
        "Score 63.2 -> 75.9, coverage 8% -> 20% (rubric clustermax-v1 1.0.0)\n"
        "Criteria (9 changed):\n"
        "  changed  fabric-gpu-nic-affinity: not measured -> pass  (Every GPU has a NIC on its PCIe switch)\n"
        "  changed  nccl-inter-busbw: not measured -> pass  (Multi-node all-reduce bus bandwidth vs. the fabric's reference)\n"
        "  changed  nccl-inter-busbw-band: not measured -> warn  (Multi-node all-reduce at 16-512 MiB (the 'real-world' band))\n"
        "  changed  nccl-run-spread: not measured -> pass  (All-reduce peak stable across repetitions)\n"
        "  changed  nccl-wrong: not measured -> pass  (nccl-tests found no wrong results)\n"
        "  changed  slurm-default-partition: not measured -> warn  (A default partition is set)\n"
        "  changed  slurm-gpu-defaults: not measured -> pass  (DefMemPerGPU set)\n"
        "  changed  slurm-nodes-available: not measured -> pass  (Nodes available (not down or drained))\n"
        "  changed  slurm-partitions-up: not measured -> pass  (At least one partition is up)\n"
        "Metrics beyond their tolerance (1, cluster-wide):\n"
        "  changed  nccl.busbw_peak_median{collective=all_reduce impl=nccl-tests nodes=2 ranks=16 scope=inter}: not measured -> 338.82 GB/s\n"
        "Nodes:\n"
        "  imported: fabric.gpu_nic_pix not measured -> 8; slurm.def_mem_per_gpu_set not measured -> true; slurm.default_partition_set not measured -> false; slurm.gpu_nodes not measured -> 1; slurm.gpus_per_node{gpu_type=H100 node=hgpn01} not measured -> 8; slurm.gpus_total not measured -> 8; slurm.nodes_total not measured -> 1; slurm.nodes_unavailable not measured -> 0; slurm.nodes_unavailable_fraction not measured -> 0; slurm.nodes_usable not measured -> 1; slurm.partitions not measured -> 2; slurm.partitions_up not measured -> 2; Slurm not measured -> 23.11.11\n"
        "Probes (3 changed):\n"
        "  fabric on imported: absent -> ok\n"
        "  nccl_allreduce on cluster: absent -> ok\n"
        "  slurm on imported: absent -> ok\n"
        "Findings: 0 appeared, 0 resolved\n"
        "Regressions: none\n"
    ),
}


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    base = tmp_path_factory.mktemp("pairs")
    return {
        name: (import_bundle(base / f"{name}-old", *old), import_bundle(base / f"{name}-new", *new))
        for name, (old, new) in PAIRS.items()
    }


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_pairs_from_real_outputs(pairs: dict[str, tuple[Path, Path]], name: str) -> None:
    old, new = pairs[name]
    proc = cmx("diff", str(old), str(new))
    assert proc.returncode == 0, proc.stderr
    # the evidence digest covers the import's command line (its --out folder): the only part that moves
    assert _digest.sub("evidence <sha256>", proc.stdout) == _digest.sub("evidence <sha256>", EXPECTED[name])


_digest = re.compile(r"evidence [0-9a-f]{12}")


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        ("golden_healthy_to_failing", "h100-healthy-ndr", "h100-failing-health"),
        ("golden_smi_only_to_healthy", "h100-smi-only", "h100-healthy-ndr"),
    ],
)
def test_golden_bundles(name: str, old: str, new: str) -> None:
    proc = cmx("diff", f"tests/data/bundles/{old}", f"tests/data/bundles/{new}")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == EXPECTED[name]


def test_same_bundle_changes_nothing() -> None:
    proc = cmx(
        "diff", "tests/data/bundles/h100-healthy-ndr", "tests/data/bundles/h100-healthy-ndr", "-f", "json"
    )
    data = json.loads(proc.stdout)
    assert data["tier_direction"] is None
    for key in (
        "criteria",
        "metrics",
        "findings",
        "probes",
        "nodes",
        "regressions",
        "evidence_lost",
        "warnings",
    ):
        assert data[key] == [], key


def test_formats_agree(pairs: dict[str, tuple[Path, Path]], tmp_path: Path) -> None:
    old, new = pairs["gpu_lost"]
    data = json.loads(cmx("diff", str(old), str(new), "--format", "json").stdout)
    assert data["schema_version"] == 1
    assert [(c["id"], c["before"], c["after"], c["direction"]) for c in data["criteria"]] == [
        ("gpu-count-ok", "pass", "fail", "worse"),
        ("gpu-idle-temperature", "pass", "fail", "worse"),
    ]
    assert data["nodes"][0]["host"] == "sys0" and data["nodes"][0]["worse"] is True
    md = cmx("diff", str(old), str(new), "--format", "markdown").stdout
    assert "| worse | gpu-count-ok | pass | fail | All expected GPUs visible |" in md
    assert (
        "**Tier: Not rated \\(Underperforming to Platinum\\) → Underperforming \\(Underperforming\\): worse**"
        in md
    )
    out = tmp_path / "diff.html"
    proc = cmx("diff", str(old), str(new), "--format", "html", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    page = out.read_text()
    assert page.startswith("<!doctype html>") and "<script" not in page
    assert '<td class="worse">worse</td><td>gpu-count-ok</td><td>pass</td><td>fail</td>' in page


def test_remote_strings_are_escaped(tmp_path: Path) -> None:
    """A host name from the bundle with escapes and markup reaches no output as such."""
    hostile = "node1\x1b]0;pwned\x07<img src=x onerror=alert(1)>"
    old = import_bundle(tmp_path / "old", "--provider", "p", "--cluster", "c", "--host", hostile,
                        "tests/data/nvidia-smi/h100x8-560-persistence-off.txt")  # fmt: skip
    new = import_bundle(tmp_path / "new", "--provider", "p", "--cluster", "c", "--host", hostile,
                        "tests/data/nvidia-smi/h100x8-565-table.txt")  # fmt: skip
    term = cmx("diff", str(old), str(new)).stdout
    assert "\x1b" not in term and "\x07" not in term and "driver 560.35.03 -> 565.57.01 (better)" in term
    assert "<img" not in cmx("diff", str(old), str(new), "-f", "markdown").stdout
    html = cmx("diff", str(old), str(new), "-f", "html").stdout
    assert "<img" not in html and "&lt;img" in html


def test_missing_bundle_is_one_line() -> None:
    proc = cmx("diff", "tests/data/bundles/h100-healthy-ndr", "no/such/bundle")
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: no/such/bundle: bundle not found")
    assert "Traceback" not in proc.stderr

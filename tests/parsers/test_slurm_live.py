"""The Slurm parsers against a real Slurm (the session test cluster): today's output of the installed
Slurm, not only the recorded fixtures."""

from __future__ import annotations

import subprocess

import pytest

from clustermax.parsers.slurm import (
    parse_scontrol_config,
    parse_scontrol_node,
    parse_scontrol_partition,
    parse_sinfo,
    parse_slurm_messages,
    parse_squeue,
)
from clustermax.probes.slurm import SlurmEvidence, measure
from tests.infra.cluster import TestCluster

pytestmark = pytest.mark.slurm


def run(cluster: TestCluster, *argv: str) -> str:
    proc = subprocess.run(argv, env=cluster.env(), capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout + proc.stderr


def test_live_outputs_parse(testcluster: TestCluster) -> None:
    n = len(testcluster.nodes)
    nodes = parse_scontrol_node(run(testcluster, "scontrol", "show", "node"))
    one_line = parse_scontrol_node(run(testcluster, "scontrol", "-o", "show", "node"))
    assert len(nodes.nodes) == len(one_line.nodes) == n
    assert [x.name for x in nodes.nodes] == [x.name for x in one_line.nodes]
    assert all(x.cpus_total and x.state and x.slurm_version for x in nodes.nodes)
    config = parse_scontrol_config(run(testcluster, "scontrol", "show", "config"))
    assert config.slurm_version == nodes.nodes[0].slurm_version
    assert config.configuration_time is not None and len(config.settings) > 100
    parts = parse_scontrol_partition(run(testcluster, "scontrol", "show", "partition"))
    assert parts.partitions and any(p.default for p in parts.partitions)
    sinfo = parse_sinfo(run(testcluster, "sinfo"))
    assert {p.name for p in sinfo.partitions} == {p.name for p in parts.partitions}
    assert sum(p.nodes_total or 0 for p in sinfo.partitions) >= n
    node_rows = parse_sinfo(run(testcluster, "sinfo", "-N", "-l"))
    assert node_rows.nodes is not None and len({x.name for x in node_rows.nodes}) == n
    assert parse_squeue(run(testcluster, "squeue")).warnings == []
    evidence = SlurmEvidence(nodes=nodes.nodes, config=config, partitions=parts.partitions, sinfo=sinfo)
    ms, _ = measure(evidence, "login")
    assert {m.metric: m.value for m in ms}["slurm.nodes_total"] == n


def test_live_sbatch_and_srun_messages(testcluster: TestCluster) -> None:
    # -o /dev/null: the job's output file would otherwise land in the current directory (the checkout)
    submitted = parse_slurm_messages(run(testcluster, "sbatch", "-o", "/dev/null", "--wrap", "true"))
    assert submitted.job_id and submitted.job_id.isdigit()
    assert [e.event for e in submitted.events] == ["submitted"]
    parsable = parse_slurm_messages(
        run(testcluster, "sbatch", "--parsable", "-o", "/dev/null", "--wrap", "true")
    )
    assert parsable.job_id and int(parsable.job_id) > int(submitted.job_id)
    failed = subprocess.run(
        ["srun", "-p", "no-such-partition", "true"],
        env=testcluster.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    out = parse_slurm_messages(failed.stdout + failed.stderr)
    assert failed.returncode != 0 and out.errors and out.job_id is None

"""Cluster-scope results derived from node results, and the SSH connect time kept with the raw output."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from clustermax.bundle.reparse import reparse_bundle
from clustermax.models import Bundle, Measurement, Origin, ProbeResult, ProbeStatus, Target, Unit
from clustermax.probes.base import split_sections
from clustermax.probes.derive import CLUSTER_HOST, is_derived, with_derived
from clustermax.probes.scheduler_detect import connect_time
from tests.infra.cluster import TestCluster

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def gpu_node(host: str, model: str, driver: str, cuda: str) -> ProbeResult:
    return ProbeResult(
        probe_id="gpu_health",
        host=host,
        status=ProbeStatus.OK,
        started_at=T0,
        duration_s=1.0,
        measurements=[
            Measurement(metric="gpu.model", value=model, unit=Unit.TEXT, host=host),
            Measurement(metric="gpu.driver_version", value=driver, unit=Unit.VERSION, host=host),
            Measurement(metric="gpu.cuda_version", value=cuda, unit=Unit.VERSION, host=host),
        ],
    )


def derived_of(results: list[ProbeResult]) -> ProbeResult:
    (derived,) = [r for r in with_derived(results) if is_derived(r)]
    return derived


def test_consistent_nodes_give_one_ok_cluster_result() -> None:
    nodes = [gpu_node(f"node{i}", "NVIDIA H100 80GB HBM3", "580.159.04", "13.0") for i in (1, 2, 3)]
    derived = derived_of(nodes)
    assert derived.host == CLUSTER_HOST and derived.status == ProbeStatus.OK and not derived.findings
    (m,) = derived.measurements
    assert (m.metric, m.value, m.host, m.labels) == (
        "gpu.versions_consistent", True, None, {"nodes": "3", "variants": "1"},
    )  # fmt: skip


def test_mixed_drivers_fail_and_name_the_nodes() -> None:
    nodes = [
        gpu_node("node1", "NVIDIA H100 80GB HBM3", "580.159.04", "13.0"),
        gpu_node("node2", "NVIDIA H100 80GB HBM3", "570.211.01", "12.8"),
    ]
    derived = derived_of(nodes)
    assert derived.status == ProbeStatus.FAILED
    assert derived.measurements[0].value is False
    assert derived.findings[0].code == "versions-mixed"
    assert "570.211.01" in derived.findings[0].message and "node2" in derived.findings[0].message


def test_derived_results_are_recomputed_not_accumulated() -> None:
    nodes = [gpu_node("node1", "A", "1", "2"), gpu_node("node2", "A", "1", "2")]
    once = with_derived(nodes)
    changed = [*once[:1], gpu_node("node2", "A", "9", "2"), *once[2:]]
    twice = with_derived(changed)
    assert len([r for r in twice if is_derived(r)]) == 1
    assert derived_of(twice).measurements[0].value is False


def test_reparse_recomputes_the_derived_result() -> None:
    stale = ProbeResult(
        probe_id="gpu_health",
        host=CLUSTER_HOST,
        status=ProbeStatus.OK,
        started_at=T0,
        duration_s=0.0,
        measurements=[Measurement(metric="gpu.versions_consistent", value=True, unit=Unit.BOOL)],
        facts={"derived_from": ["node1", "node2"]},
    )
    bundle = Bundle(
        origin=Origin(tool_version="0", python="3", platform="linux"),
        target=Target(cluster="c"),
        started_at=T0,
        results=[gpu_node("node1", "A", "1", "2"), gpu_node("node2", "B", "1", "2"), stale],
    )
    again = reparse_bundle(bundle, specs={})
    assert derived_of(again.results).measurements[0].value is False


def test_no_gpu_nodes_no_derived_result() -> None:
    assert with_derived([]) == []
    skipped = gpu_node("node1", "A", "1", "2").model_copy(update={"status": ProbeStatus.SKIPPED})
    assert with_derived([skipped]) == [skipped]  # nvidia-smi absent everywhere: nothing to compare


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0.0873", 0.0873), ("", None), ("nan", None), ("-1", None), ("garbage", None), ("inf", None)],
)
def test_connect_time_section(text: str, expected: float | None) -> None:
    sections = split_sections(f"@@CMX:BEGIN ssh-connect@@\n{text}\n@@CMX:END ssh-connect rc=0@@\n")
    assert connect_time(sections["ssh-connect"]) == expected


@pytest.mark.sshd
def test_audit_records_the_ssh_connect_time_with_the_raw_output(
    sshd_hosts: TestCluster, tmp_path: Path
) -> None:
    out = tmp_path / "o"
    cli = str(Path(sys.executable).parent / "clustermax")
    proc = subprocess.run(
        [cli, "audit", "login1", "--ssh-config", str(sshd_hosts.ssh_config), "--probes", "scheduler_detect",
         "--out", str(out)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    bundle = Bundle.model_validate_json((out / "bundle.json").read_text())
    (host,) = bundle.hosts
    (m,) = [m for m in bundle.measurements() if m.metric == "ssh.connect_time"]
    assert host.connect_time_s is not None and m.value == pytest.approx(host.connect_time_s, abs=1e-3)
    assert 0 < float(m.value or 0) < 30 and m.unit == Unit.SECONDS and m.host == "login1"
    # the number lives in the raw output, so re-parsing keeps it
    again = reparse_bundle(bundle)
    assert [x.value for x in again.measurements() if x.metric == "ssh.connect_time"] == [m.value]

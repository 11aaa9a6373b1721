"""Monitoring endpoints: a real HTTP server inside a test node's namespace, bound to 127.0.0.1:9400 (reachable
only through the SSH connection), serves a recorded real dcgm-exporter /metrics body."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pytest

from clustermax.engine.runner import ProbeContext, run_probe
from clustermax.models import CommandResult, ProbeStatus
from clustermax.parsers.prometheus import exported_names
from clustermax.probes.monitoring import GPU_HEALTH_METRICS, Exporters, measure
from clustermax.probes.result import result_from_commands
from tests.infra.cluster import Host, TestCluster
from tests.probes.k8s_helpers import spec, ssh_transport, value

DCGM = Path(__file__).resolve().parent.parent / "data" / "dcgm-exporter"
PARAMS = {"dcgm_exporter_port": 9400, "node_exporter_port": 9100}


@contextmanager
def exporter_in(host: Host, body: Path, port: int = 9400) -> Iterator[None]:
    """python -m http.server in ``host``'s network namespace, 127.0.0.1:``port``, GET /metrics -> ``body``."""
    root = Path(tempfile.mkdtemp(prefix="cmx-exporter-"))
    shutil.copy(body, root / "metrics")
    log = (root / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            "nsenter",
            f"--net=/run/netns/{host.netns}",
            "python3",
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            str(port),
            "--directory",
            str(root),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    log.close()
    try:
        deadline = time.monotonic() + 10
        while b"Serving HTTP" not in (root / "server.log").read_bytes():
            assert proc.poll() is None and time.monotonic() < deadline, (root / "server.log").read_text()
            time.sleep(0.05)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.sshd
def test_dcgm_exporter_seen_through_ssh_and_node_without_exporters(sshd_hosts: TestCluster) -> None:
    with_exporter, without = sshd_hosts.nodes[0], sshd_hosts.nodes[1]
    with exporter_in(with_exporter, DCGM / "pod-gpu-metrics-exporter-1.4.6.prom"):
        # not reachable from outside the node: the probe can only have seen it through SSH
        with pytest.raises(OSError):
            socket.create_connection((with_exporter.ip, 9400), timeout=1).close()
        with ssh_transport(sshd_hosts, with_exporter) as transport:
            cmds, res = run_probe(
                transport, spec("monitoring"), with_exporter.name, PARAMS, ProbeContext(role="compute")
            )
        with ssh_transport(sshd_hosts, without) as transport:
            _, bare = run_probe(
                transport, spec("monitoring"), without.name, PARAMS, ProbeContext(role="compute")
            )
    by_step = {c.step: c for c in cmds}
    assert by_step["dcgm-exporter"].exit_code == 200
    assert "DCGM_FI_DEV_XID_ERRORS" in by_step["dcgm-exporter"].stdout
    assert res.status == ProbeStatus.OK
    assert value(res, "monitoring.dcgm_exporter") is True
    assert value(res, "monitoring.node_exporter") is False
    # dcgm-exporter 1.4.6 predates row remapping (Ampere): those two are missing, the other 12 exported
    assert value(res, "monitoring.gpu_health_metrics") == len(GPU_HEALTH_METRICS) - 2
    assert value(res, "monitoring.gpu_metrics_missing") == (
        "DCGM_FI_DEV_ROW_REMAP_FAILURE,DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS"
    )
    assert "DCGM_FI_DEV_XID_ERRORS" in value(res, "monitoring.gpu_metrics_exported")
    assert [f.code for f in res.findings] == ["monitoring.no-node-exporter"]

    assert bare.status == ProbeStatus.OK  # absence is a finding, not an error
    assert value(bare, "monitoring.dcgm_exporter") is False
    assert value(bare, "monitoring.gpu_health_metrics") is None
    # the test node has no NVIDIA GPU (its pci-gpus section is empty): no DCGM exporter to miss there
    assert {f.code for f in bare.findings} == {"monitoring.no-node-exporter"}


def test_missing_dcgm_exporter_is_a_finding_on_a_gpu_node_only() -> None:
    gpu_node = measure(Exporters(False, True, set(), gpus=8, dcgm_port=9400), "node3")
    assert [(f.code, f.message) for f in gpu_node.findings] == [
        ("monitoring.no-dcgm-exporter", "no DCGM exporter answered on node3:9400 (this node has 8 GPUs)")
    ]
    unknown = measure(Exporters(False, True, set(), gpus=None, dcgm_port=9400), "node3")  # an older bundle
    assert [f.message for f in unknown.findings] == ["no DCGM exporter answered on node3:9400"]
    assert measure(Exporters(False, True, set(), gpus=0, dcgm_port=9400), "vm").findings == []


@pytest.mark.sshd
def test_configurable_port(sshd_hosts: TestCluster) -> None:
    node = sshd_hosts.nodes[2]
    with exporter_in(node, DCGM / "readme-quickstart-k8s.prom", port=19400):
        with ssh_transport(sshd_hosts, node) as transport:
            _, res = run_probe(
                transport, spec("monitoring"), node.name, {**PARAMS, "dcgm_exporter_port": 19400}
            )
    assert value(res, "monitoring.dcgm_exporter") is True
    # the README sample shows only clocks and memory temperature
    assert value(res, "monitoring.gpu_metrics_exported") == "DCGM_FI_DEV_MEMORY_TEMP"


# --- parser on recorded bodies --------------------------------------------------------------------


def _cmd(step: str, code: int | None, body: str = "", error: str | None = None) -> CommandResult:
    return CommandResult(
        id=f"n/monitoring/{step}",
        host="n",
        probe_id="monitoring",
        step=step,
        command="x",
        exit_code=code,
        stdout=body,
        started_at=datetime.now(timezone.utc),
        duration_s=0.1,
        error=error,
    )


def test_exported_names_of_recorded_bodies() -> None:
    names = exported_names((DCGM / "pod-gpu-metrics-exporter-1.4.6.prom").read_text())
    assert {"DCGM_FI_DEV_XID_ERRORS", "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "DCGM_FI_DEV_GPU_TEMP"} <= names
    readme = exported_names((DCGM / "readme-quickstart-k8s.prom").read_text())
    assert readme == {"DCGM_FI_DEV_SM_CLOCK", "DCGM_FI_DEV_MEM_CLOCK", "DCGM_FI_DEV_MEMORY_TEMP"}


def test_error_page_is_not_an_exporter_and_unknown_stays_unknown() -> None:
    listening = "LISTEN 0 4096 127.0.0.1:9400 0.0.0.0:*\nLISTEN 0 4096 *:9100 *:*"
    main = _cmd("main", 0, f"@@CMX:BEGIN listening@@\n{listening}\n@@CMX:END listening rc=0@@\n")
    res = result_from_commands(
        spec("monitoring"),
        "n",
        PARAMS,
        [
            main,
            _cmd("dcgm-exporter", 404, "404 page not found"),
            _cmd("node-exporter", None, error="channel timed out"),
        ],
    )
    assert value(res, "monitoring.dcgm_exporter") is False  # something answered, not with metrics
    assert value(res, "monitoring.node_exporter") is None  # 9100 listens but did not answer: unknown
    main_9400 = _cmd(
        "main",
        0,
        "@@CMX:BEGIN listening@@\nLISTEN 0 4096 127.0.0.1:9400 0.0.0.0:*\n@@CMX:END listening rc=0@@\n",
    )
    res = result_from_commands(
        spec("monitoring"),
        "n",
        PARAMS,
        [main_9400, _cmd("dcgm-exporter", 200, ""), _cmd("node-exporter", None, error="channel timed out")],
    )
    assert value(res, "monitoring.node_exporter") is False  # nothing listens on 9100
    old = result_from_commands(spec("monitoring"), "n", PARAMS, [main])  # a bundle without endpoint steps
    assert value(old, "monitoring.dcgm_exporter") is None


@pytest.mark.parametrize("cut", [0, 100, 1000, 5000])
def test_truncated_bodies_never_crash(cut: int) -> None:
    body = (DCGM / "pod-gpu-metrics-exporter-1.4.6.prom").read_text()[:cut]
    res = result_from_commands(
        spec("monitoring"), "n", PARAMS, [_cmd("main", 0), _cmd("dcgm-exporter", 200, body)]
    )
    assert value(res, "monitoring.dcgm_exporter") is True
    assert 0 <= value(res, "monitoring.gpu_health_metrics") <= len(GPU_HEALTH_METRICS)

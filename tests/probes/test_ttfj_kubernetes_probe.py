"""Time to first pod: real kubectl creates one-GPU pods on the fake API server, whose pods move through the
phases of a recorded real GPU pod on a timer; every pod is deleted, and the probe proves it."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from clustermax.engine.runner import ProbeContext, run_probe
from clustermax.models import CommandResult, ProbeStatus, SubStatus
from clustermax.probes.result import result_from_commands
from clustermax.probes.ttfj_kubernetes import parse_run_line
from clustermax.transport.local import LocalTransport
from tests.infra import kube_apiserver
from tests.infra.cluster import TestCluster
from tests.probes.k8s_helpers import apiserver, kubeconfig_of, metrics, spec, ssh_transport, value

pytestmark = pytest.mark.skipif(
    shutil.which("kubectl") is None, reason="kubectl not installed (scripts/install-test-deps.sh)"
)

DATA = Path(__file__).resolve().parent.parent / "data" / "probe_kubernetes"


def pods_on(server: kube_apiserver.RunningAPIServer) -> list[str]:
    out = subprocess.run(
        [
            "kubectl",
            "--kubeconfig",
            kubeconfig_of(server),
            "--cache-dir",
            str(server.workdir / "cache"),
            "get",
            "pods",
            "--all-namespaces",
            "-o",
            "name",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return out.stdout.split()


def posts(server: kube_apiserver.RunningAPIServer) -> list[str]:
    return [line for line in server.requests() if line.startswith("POST /api/v1/namespaces/default/pods")]


def test_warm_up_then_timed_runs_and_nothing_left() -> None:
    with apiserver(kube_apiserver.GPU_CLUSTER) as server:
        params = {"kubeconfig": kubeconfig_of(server), "repetitions": 2, "poll_interval_s": 0.1}
        cmds, res = run_probe(LocalTransport("local"), spec("ttfj_kubernetes"), "local", params)
        assert pods_on(server) == []
        assert len(posts(server)) == 3  # warm-up + 2
    assert res.status == ProbeStatus.OK, res.message
    assert [m.labels["run"] for m in metrics(res, "ttfj.pod_total")] == ["1", "2"]  # warm-up not counted
    for m in metrics(res, "ttfj.pod_total"):
        # the server schedules at 0.3 s, runs at 0.6 s and completes at 1.2 s after creation
        assert m.value is not None and 1.2 <= m.value < 10
    for i in ("1", "2"):
        sched, total = value(res, "ttfj.pod_scheduled", run=i), value(res, "ttfj.pod_total", run=i)
        assert 0.3 <= sched <= total
    median = value(res, "ttfj.pod_total_median")
    assert median is not None and 1.2 <= median < 10
    assert value(res, "ttfj.pod_total_spread") >= 0
    assert value(res, "ttfj.pod_failed") == 0
    assert value(res, "ttfj.pods_clean") is True
    run_ids = {
        parse_run_line(line)["name"].rsplit("-", 1)[0]
        for line in cmds[0].stdout.splitlines()
        if line.startswith("run=")
    }
    assert len(run_ids) == 1 and next(iter(run_ids)).startswith("cmx-")  # one unique label per run


def test_unschedulable_pod_times_out_fails_and_is_cleaned() -> None:
    with apiserver(kube_apiserver.GPU_CLUSTER) as server:
        params = {
            "kubeconfig": kubeconfig_of(server),
            "repetitions": 3,
            "gpus": 2,
            "pod_timeout_s": 2,
            "poll_interval_s": 0.2,
        }
        _, res = run_probe(LocalTransport("local"), spec("ttfj_kubernetes"), "local", params)
        assert pods_on(server) == []
        assert len(posts(server)) == 1  # a failed warm-up stops the probe
    assert res.status == ProbeStatus.FAILED
    assert value(res, "ttfj.pod_failed") == 1
    assert value(res, "ttfj.pod_total_median") is None  # not measured, never 0
    assert value(res, "ttfj.pods_clean") is True
    (finding,) = [f for f in res.findings if f.code == "ttfj.pod-failed"]
    assert "Insufficient nvidia.com/gpu" in finding.message


def test_interrupt_deletes_the_pending_pod() -> None:
    with apiserver(kube_apiserver.GPU_CLUSTER) as server:
        stop = threading.Event()
        params = {"kubeconfig": kubeconfig_of(server), "repetitions": 1, "gpus": 4, "pod_timeout_s": 120}

        def interrupt_when_created() -> None:
            deadline = time.monotonic() + 30
            while not posts(server) and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)
            stop.set()

        threading.Thread(target=interrupt_when_created, daemon=True).start()
        t0 = time.monotonic()
        _, res = run_probe(
            LocalTransport("local"), spec("ttfj_kubernetes"), "local", params, ProbeContext(stop=stop)
        )
        assert time.monotonic() - t0 < 60
        assert len(posts(server)) == 1
        assert pods_on(server) == []  # the exit hook deleted it
        assert any(line.startswith("DELETE /api/v1/namespaces/default/pods/") for line in server.requests())
    assert res.status == ProbeStatus.ERROR


def test_no_permission_to_create_pods() -> None:
    with apiserver(kube_apiserver.RESTRICTED_USER) as server:
        _, res = run_probe(
            LocalTransport("local"), spec("ttfj_kubernetes"), "local", {"kubeconfig": kubeconfig_of(server)}
        )
    assert res.status == ProbeStatus.ERROR
    assert res.substatus == SubStatus.NO_PERMISSION
    assert "forbidden" in res.message
    assert value(res, "ttfj.pod_total_median") is None
    assert value(res, "ttfj.pods_clean") is True


@pytest.mark.sshd
def test_over_ssh_on_the_login_node(sshd_hosts: TestCluster) -> None:
    login = sshd_hosts.login
    with apiserver(kube_apiserver.GPU_CLUSTER, netns=login.netns) as server:
        params = {"kubeconfig": kubeconfig_of(server), "repetitions": 1, "poll_interval_s": 0.1}
        with ssh_transport(sshd_hosts, login) as transport:
            cmds, res = run_probe(
                transport,
                spec("ttfj_kubernetes"),
                login.name,
                params,
                ProbeContext(role="login", platform="kubernetes"),
            )
        assert len(posts(server)) == 2
    assert res.status == ProbeStatus.OK, res.message + cmds[0].stderr
    assert value(res, "ttfj.pod_total", run="1") is not None
    assert value(res, "ttfj.pods_clean") is True


def _reparse(stdout: str) -> object:
    cmd = CommandResult(
        id="h/ttfj_kubernetes/main",
        host="h",
        probe_id="ttfj_kubernetes",
        command="bash -s",
        exit_code=0,
        stdout=stdout,
        started_at=datetime.now(timezone.utc),
        duration_s=1.0,
    )
    return result_from_commands(spec("ttfj_kubernetes"), "h", {}, [cmd])


def test_recorded_output_reparses() -> None:
    res = _reparse((DATA / "ttfj-3-runs.out").read_text())
    assert res.status == ProbeStatus.OK  # type: ignore[attr-defined]
    assert value(res, "ttfj.pod_total_median") is not None  # type: ignore[arg-type]
    assert value(res, "ttfj.pods_clean") is True  # type: ignore[arg-type]


def test_cut_before_leftover_check_is_unknown_not_clean() -> None:
    text = (DATA / "ttfj-3-runs.out").read_text()
    res = _reparse(text[: text.index("@@CMX:BEGIN leftover@@")])
    assert value(res, "ttfj.pods_clean") is None  # type: ignore[arg-type]

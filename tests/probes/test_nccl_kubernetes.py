"""nccl_allreduce on Kubernetes: real kubectl creates MPIJobs on the fake API server, which plays the MPI
Operator (launcher and worker pods on a timer) and serves the launcher log recorded from CoreWeave's real H100
MPIJob; every object is deleted on success, timeout and interrupt, and the probe proves it."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time

import pytest

from clustermax.engine.runner import ProbeContext, run_probe
from clustermax.models import ProbeResult, ProbeStatus, SubStatus
from clustermax.probes.result import result_from_commands
from clustermax.transport.local import LocalTransport
from tests.infra import kube_apiserver
from tests.probes.k8s_helpers import apiserver, kubeconfig_of, metrics, spec, value

pytestmark = pytest.mark.skipif(
    shutil.which("kubectl") is None, reason="kubectl not installed (scripts/install-test-deps.sh)"
)

K8S = ProbeContext(role="local", platform="kubernetes")
SWEEP = {"min_bytes": "512M", "max_bytes": "8G", "iters": 5, "warmup_iters": 1, "poll_interval_s": 0.1}


def kubectl_json(server: kube_apiserver.RunningAPIServer, *args: str) -> dict[str, object]:
    out = subprocess.run(
        [
            "kubectl",
            "--kubeconfig",
            kubeconfig_of(server),
            "--cache-dir",
            str(server.workdir / "cache"),
            *args,
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    parsed = json.loads(out.stdout)
    assert isinstance(parsed, dict)
    return parsed


def left_on(server: kube_apiserver.RunningAPIServer) -> list[object]:
    """Every MPIJob and pod in the fake cluster (the probe's and any other)."""
    items = kubectl_json(server, "get", "mpijobs.kubeflow.org,pods", "--all-namespaces")["items"]
    assert isinstance(items, list)
    return items


def posts(server: kube_apiserver.RunningAPIServer) -> list[str]:
    return [
        line
        for line in server.requests()
        if line.startswith("POST /apis/kubeflow.org/v2beta1/namespaces/default/mpijobs")
    ]


def run(server: kube_apiserver.RunningAPIServer, ctx: ProbeContext = K8S, **params: object) -> ProbeResult:
    full = {"kubeconfig": kubeconfig_of(server), **SWEEP, **params}
    _, res = run_probe(LocalTransport("local"), spec("nccl_allreduce"), "local", full, ctx)
    return res


def test_one_and_two_node_mpijobs_parsed_and_cleaned() -> None:
    with apiserver(kube_apiserver.MPI_CLUSTER) as server:
        res = run(server, node_counts=[1, 2, 4], repetitions=1)
        assert left_on(server) == []
        assert len(posts(server)) == 2  # 1 and 2 nodes; the cluster has 2 GPU nodes, so no 4-node run
        logs = [line for line in server.requests() if "/log" in line and line.startswith("GET")]
        assert logs and all("-launcher-" in line for line in logs)
    assert res.status == ProbeStatus.OK, res.message
    plan = res.facts["plan"]
    assert plan["launcher"] == "mpijob" and plan["nodes_available"] == "2" and plan["gpus_per_node"] == "1"
    # 2 nodes x 1 GPU: busbw of the recorded log, labelled as planned
    inter = dict(impl="nccl-tests", scope="inter", nodes="2", ranks="2", run="1")
    assert value(res, "nccl.busbw_peak", **inter) == pytest.approx(386.56)
    assert value(res, "nccl.busbw", size_bytes="536870912", **inter) == pytest.approx(356.01)
    assert value(res, "nccl.wrong", **inter) == 0
    # 1 node x 1 GPU: one rank, so algbw only (busbw is 0 by definition, not measured)
    intra = dict(impl="nccl-tests", scope="intra", nodes="1", ranks="1", run="1")
    assert value(res, "nccl.algbw_peak", **intra) == pytest.approx(195.31)
    assert value(res, "nccl.busbw_peak", **intra) is None
    assert res.facts["k8s_clean"] is True
    assert value(res, "nccl.runs_hung", collective="all_reduce") == 0
    assert {m.labels["scope"] for m in metrics(res, "nccl.algbw_peak")} == {"intra", "inter"}


def test_mpijob_carries_the_sweep_and_a_unique_label() -> None:
    with apiserver(kube_apiserver.MPI_CLUSTER) as server:
        stop = threading.Event()
        seen: list[dict[str, object]] = []

        def grab() -> None:
            deadline = time.monotonic() + 30
            while not seen and time.monotonic() < deadline:
                items = kubectl_json(server, "get", "mpijobs.kubeflow.org")["items"]
                assert isinstance(items, list)
                seen.extend(items)
                time.sleep(0.05)
            stop.set()

        threading.Thread(target=grab, daemon=True).start()
        run(
            server,
            ProbeContext(role="local", platform="kubernetes", stop=stop),
            node_counts=[2],
            run_timeout_s=60,
        )
        assert left_on(server) == []
    (job,) = seen
    meta, spec_ = job["metadata"], job["spec"]
    assert isinstance(meta, dict) and isinstance(spec_, dict)
    assert str(meta["labels"]["clustermax-run"]).startswith("cmx-nccl-")
    workers = spec_["mpiReplicaSpecs"]["Worker"]
    assert workers["replicas"] == 2
    assert workers["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert workers["template"]["metadata"]["labels"] == meta["labels"]
    cmd = spec_["mpiReplicaSpecs"]["Launcher"]["template"]["spec"]["containers"][0]["command"]
    sweep = ["-b", "512M", "-e", "8G", "-f", "2", "-n", "5", "-w", "1", "-g", "1", "-c", "1"]
    assert cmd[:2] == ["/bin/bash", "-c"] and "exec mpirun -np" in cmd[2]
    assert cmd[3:] == ["clustermax", "", "all_reduce_perf", "2", *sweep]  # 2 ranks: one per GPU
    assert spec_["runPolicy"]["backoffLimit"] == 0  # a failed launcher is not retried


def test_without_mpi_operator_skipped_not_installed() -> None:
    with apiserver(kube_apiserver.NO_MPI_OPERATOR) as server:
        res = run(server)
        assert posts(server) == []
    assert res.status == ProbeStatus.SKIPPED
    assert res.substatus == SubStatus.NOT_INSTALLED
    assert "MPI Operator" in res.message
    assert res.remediation == spec("nccl_allreduce").remediation["no-mpi-operator"]


def test_launcher_that_never_finishes_is_cut_hung_and_deleted() -> None:
    with apiserver({**kube_apiserver.MPI_CLUSTER, "mpijob_launcher_hangs": True}) as server:
        t0 = time.monotonic()
        res = run(server, node_counts=[2], repetitions=1, run_timeout_s=3)
        assert time.monotonic() - t0 < 60
        assert len(posts(server)) == 1
        assert left_on(server) == []
        assert any(line.startswith("DELETE /apis/kubeflow.org/v2beta1/") for line in server.requests())
    assert res.status == ProbeStatus.FAILED
    assert value(res, "nccl.runs_hung", collective="all_reduce") == 1
    (hung,) = [f for f in res.findings if f.code == "hung"]
    assert "2 node(s)" in hung.message
    assert metrics(res, "nccl.busbw") == []  # only the header was printed: nothing measured, no zeros
    assert value(res, "nccl.wrong", nodes="2", run="1") is None
    assert res.facts["k8s_clean"] is True


def test_interrupt_deletes_the_mpijob_and_its_pods() -> None:
    with apiserver({**kube_apiserver.MPI_CLUSTER, "mpijob_launcher_hangs": True}) as server:
        stop = threading.Event()

        def interrupt_when_running() -> None:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                pods = kubectl_json(server, "get", "pods")["items"]
                if isinstance(pods, list) and len(pods) == 3:  # 2 workers + launcher
                    break
                time.sleep(0.05)
            time.sleep(0.3)
            stop.set()

        threading.Thread(target=interrupt_when_running, daemon=True).start()
        t0 = time.monotonic()
        res = run(
            server,
            ProbeContext(role="local", platform="kubernetes", stop=stop),
            node_counts=[2],
            run_timeout_s=120,
        )
        assert time.monotonic() - t0 < 60
        assert len(posts(server)) == 1
        assert left_on(server) == []  # the exit hook deleted the MPIJob (and with it its pods)
        assert any(line.startswith("DELETE /apis/kubeflow.org/v2beta1/") for line in server.requests())
    assert res.status == ProbeStatus.ERROR


def test_objects_left_behind_are_reported() -> None:
    """A real run's leftover listing with the run's own pod names put back in (as if delete had failed)."""
    with apiserver(kube_apiserver.MPI_CLUSTER) as server:
        full = {"kubeconfig": kubeconfig_of(server), **SWEEP, "node_counts": [1], "repetitions": 1}
        cmds, res = run_probe(LocalTransport("local"), spec("nccl_allreduce"), "local", full, K8S)
    assert res.facts["k8s_clean"] is True
    out = cmds[0].stdout
    pods = out.split("@@CMX:BEGIN pods-n1-r1@@\n", 1)[1].split("\n@@CMX:END", 1)[0].splitlines()[1:]
    names = "\n".join(f"pod/{line.split()[0]}" for line in pods if line.strip())
    assert "-launcher-" in names and "-worker-0" in names
    empty = "@@CMX:BEGIN leftover@@\n\n@@CMX:END leftover rc=0@@"
    assert empty in out
    left = cmds[0].model_copy(
        update={"stdout": out.replace(empty, f"@@CMX:BEGIN leftover@@\n{names}\n@@CMX:END leftover rc=0@@")}
    )
    again = result_from_commands(spec("nccl_allreduce"), "local", full, [left])
    assert again.facts["k8s_clean"] is False
    (finding,) = [f for f in again.findings if f.code == "leftover"]
    assert "-worker-0" in finding.message and finding.remediation
    cut = cmds[0].model_copy(update={"stdout": out[: out.index("@@CMX:BEGIN leftover@@")]})
    assert "k8s_clean" not in result_from_commands(spec("nccl_allreduce"), "local", full, [cut]).facts

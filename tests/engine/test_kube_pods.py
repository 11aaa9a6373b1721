"""Node probes through one pod per GPU node: real kubectl against the fake API server, whose node-probe
pods print the recorded real output of each probe; real bash runs the pod wrapper."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from clustermax.bundle.io import load_bundle
from clustermax.engine.audit import Audit, AuditRequest, HostSpec
from clustermax.engine.kube_pods import (
    DEFAULT_IMAGE,
    WRAPPER,
    NodePods,
    NodeWork,
    PodOptions,
    PodProbe,
    gpu_usage,
    pod_manifest,
    split_pod_log,
)
from clustermax.engine.runner import build_script
from clustermax.models import CommandResult, ProbeStatus, SubStatus
from clustermax.probes.result import result_from_commands
from clustermax.probes.specs import load_probe_specs
from clustermax.resources import probes_dir
from clustermax.transport.base import Transport
from clustermax.transport.local import LocalTransport
from tests.infra import kube_apiserver
from tests.infra.cluster import TestCluster
from tests.probes.k8s_helpers import apiserver, kubeconfig_of

pytestmark = pytest.mark.skipif(
    shutil.which("kubectl") is None and os.environ.get("CI") != "true",
    reason="kubectl not installed (scripts/install-test-deps.sh)",
)

DATA = Path(__file__).resolve().parent.parent / "data"
GPU_OUT = "probe_gpu_health/h100-fc-bare-local.stdout"
SYS_OUT = "system_info/testcluster-node1.txt"
CLUSTER = {**kube_apiserver.MPI_CLUSTER, "node_pod_outputs": {"gpu_health": GPU_OUT, "system_info": SYS_OUT}}
"""Two recorded one-GPU nodes (nori, nvidia1); node-probe pods print the recorded real outputs."""


def kubectl(server: kube_apiserver.RunningAPIServer, *args: str, stdin: str | None = None) -> str:
    out = subprocess.run(
        [
            "kubectl",
            "--kubeconfig",
            kubeconfig_of(server),
            "--cache-dir",
            str(server.workdir / "cache"),
            *args,
        ],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return out.stdout


def pods_on(server: kube_apiserver.RunningAPIServer) -> list[str]:
    return kubectl(server, "get", "pods", "--all-namespaces", "-o", "name").split()


def hold_gpus(server: kube_apiserver.RunningAPIServer, node: str) -> None:
    """A tenant's long job holding the node's one GPU (the recorded GPU test pod, pinned, sleeping)."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "tenant-training", "namespace": "default"},
        "spec": {
            "nodeName": node,
            "restartPolicy": "OnFailure",
            "containers": [
                {
                    "name": "cuda-vectoradd",
                    "image": "nvidia/samples:vectoradd-cuda11.2.1",
                    "command": ["sleep", "infinity"],
                    "resources": {"limits": {"nvidia.com/gpu": 1}},
                }
            ],
        },
    }
    kubectl(server, "create", "--validate=false", "-f", "-", stdin=json.dumps(pod))
    deadline = time.monotonic() + 10
    while "Running" not in kubectl(server, "get", "pod", "tenant-training", "-o", "jsonpath={.status.phase}"):
        assert time.monotonic() < deadline
        time.sleep(0.1)


def request(server: kube_apiserver.RunningAPIServer, selected: list[str], **pod_kw: object) -> AuditRequest:
    return AuditRequest(
        cluster="k8s",
        login=HostSpec(name="local", role="local"),
        compute=[HostSpec(name="nori", role="compute"), HostSpec(name="nvidia1", role="compute")],
        specs=load_probe_specs(),
        selected=selected,
        platform="kubernetes",
        pods=PodOptions(kubeconfig=kubeconfig_of(server), poll_interval_s=0.1, **pod_kw),  # type: ignore[arg-type]
    )


def connect(host: HostSpec) -> Transport:
    assert host.name == "local", f"{host.name} was reached over SSH, not through its pod"
    return LocalTransport("local")


def as_over_ssh(probe: str, node: str, params: dict, stdout: str) -> CommandResult:  # type: ignore[type-arg]
    spec = load_probe_specs()[probe]
    return CommandResult(
        id=f"{node}/{probe}/main",
        host=node,
        probe_id=probe,
        step="main",
        command="bash -s",
        exit_code=0,
        stdout=stdout,
        stderr="",
        started_at="2026-11-26T15:59:51Z",  # type: ignore[arg-type]
        duration_s=0.2,
    ), spec  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------- pure


def test_the_wrapper_frames_each_probe_exactly(tmp_path: Path) -> None:
    """Real bash runs the pod's command: each script's stdout (even without a final newline), stderr and
    exit status come back apart, byte for byte."""
    recorded = (DATA / GPU_OUT).read_bytes()
    env = {
        "PATH": os.environ["PATH"],
        "CMX_NONCE": "n0nce",
        "CMX_PROBES": "gpu_health odd",
        "CMX_SCRIPT_0": f"cat {DATA / GPU_OUT}\n",
        "CMX_SCRIPT_1": "printf 'no newline'; echo 'to stderr' >&2; exit 3\n",
    }
    wrapper = (probes_dir() / WRAPPER).read_text()
    log = subprocess.run(["bash", "-c", wrapper], env=env, capture_output=True, check=True).stdout
    parts = split_pod_log(log, "n0nce")
    assert list(parts) == ["gpu_health", "odd"]
    assert parts["gpu_health"].stdout == recorded
    assert (parts["gpu_health"].stderr, parts["gpu_health"].exit_code) == (b"", 0)
    odd = parts["odd"]
    assert (odd.stdout, odd.stderr, odd.exit_code) == (b"no newline", b"to stderr\n", 3)
    assert odd.started is not None and odd.ended is not None and odd.ended >= odd.started
    # another nonce's frames (a forged one inside the output) are text, not frames
    assert split_pod_log(log, "other") == {}


def test_a_log_cut_mid_probe_keeps_what_came() -> None:
    log = b"@@CMX:POD n BEGIN a 1.0@@\nout-a@@CMX:POD n STDERR a@@\n@@CMX:POD n END a 0 2.0@@\n"
    log += b"@@CMX:POD n BEGIN b 2.0@@\npartial"
    parts = split_pod_log(log, "n")
    assert parts["a"].stdout == b"out-a" and parts["a"].complete
    assert parts["b"].stdout == b"partial" and not parts["b"].complete and parts["b"].exit_code is None


def test_the_pod_is_pinned_tolerant_and_asks_for_every_gpu() -> None:
    spec = load_probe_specs()["gpu_health"]
    probe = PodProbe(spec, {}, build_script(spec, "gpu-07", {}))
    pod = pod_manifest("cmx-1-0", "gpu-07", 8, [probe], PodOptions(image="reg/img:1"), "cmx-1", "n", "echo")
    text = json.dumps(pod)
    assert '"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["gpu-07"]}]' in text
    assert pod["spec"]["tolerations"] == [{"operator": "Exists"}]  # type: ignore[index, call-overload]
    container = pod["spec"]["containers"][0]  # type: ignore[index, call-overload]
    assert container["image"] == "reg/img:1"
    assert container["resources"]["limits"] == {"nvidia.com/gpu": 8}
    assert {"name": "CMX_SCRIPT_0", "value": probe.script} in container["env"]
    assert pod["spec"]["activeDeadlineSeconds"] > spec.timeout_s  # type: ignore[index, call-overload, operator]


def test_gpu_usage_counts_limits_or_requests_per_container() -> None:
    listing = "n1\t8,8;\nn2\t,2;1,;\nn1\t,;\n\t4,4;\n"
    assert gpu_usage(listing) == {"n1": 8, "n2": 3}


def test_options_refuse_what_is_not_a_kubernetes_name() -> None:
    with pytest.raises(ValueError):
        PodOptions(gpu_resource="nvidia.com/gpu; rm -rf /")
    with pytest.raises(ValueError):
        PodOptions(namespace="Not_A_Namespace")
    with pytest.raises(ValueError):
        PodOptions(image="img:1 --privileged")


# ------------------------------------------------------------------------------ against the API


def test_one_pod_per_node_busy_node_not_run_and_nothing_left(tmp_path: Path) -> None:
    with apiserver(CLUSTER) as server:
        hold_gpus(server, "nvidia1")
        audit = Audit(request(server, ["gpu_health", "system_info"], image="reg.example/cuda:12"), connect,
                      tmp_path / "audit")  # fmt: skip
        bundle = audit.run()
        assert pods_on(server) == ["pod/tenant-training"]  # every node pod is gone, the tenant's stays
        created = [
            line for line in server.requests() if line.startswith("POST /api/v1/namespaces/default/pods")
        ]
        assert len(created) == 2  # the tenant's and one node pod: none for the busy node
    assert load_bundle(tmp_path / "audit").model_dump() == bundle.model_dump()
    assert bundle.complete
    assert bundle.options["node_pods"]["image"] == "reg.example/cuda:12"  # type: ignore[index, call-overload]
    hosts = {h.name: h for h in bundle.hosts}
    assert hosts["nori"].reach == "scheduler" and hosts["nori"].state == "ok"
    assert hosts["nori"].reach_id is not None and hosts["nori"].reach_id.startswith("cmx-")
    res = {(r.host, r.probe_id): r for r in bundle.results}

    # nori: each probe's result is the one the same recorded output gives over SSH
    for probe, path in (("gpu_health", GPU_OUT), ("system_info", SYS_OUT)):
        got = res[("nori", probe)]
        ssh_cmd, spec = as_over_ssh(probe, "nori", got.params, (DATA / path).read_text())  # type: ignore[misc]
        want = result_from_commands(spec, "nori", got.params, [ssh_cmd])
        assert (got.status, got.substatus, got.message) == (want.status, want.substatus, want.message)
        assert got.measurements == want.measurements and got.findings == want.findings
        assert got.facts == want.facts
    cmd = next(c for c in bundle.commands if c.id == "nori/gpu_health/main")
    assert cmd.stdout == (DATA / GPU_OUT).read_text() and cmd.exit_code == 0
    assert cmd.script_sha256 is not None and cmd.command.startswith("bash -s (in pod cmx-")

    # nvidia1: all GPUs held by a tenant pod -> not run, unknown (never failed)
    for probe in ("gpu_health", "system_info"):
        r = res[("nvidia1", probe)]
        assert (r.status, r.substatus) == (ProbeStatus.ERROR, SubStatus.NOT_RUN)
        assert r.message == "not run: node busy (1 of 1 nvidia.com/gpu allocated to other pods)"
    assert hosts["nvidia1"].state == "not-attempted" and hosts["nvidia1"].reach == "scheduler"

    # the cleanup proof is in the bundle: the listing of the run's pods came back empty
    proof = next(c for c in bundle.commands if c.probe_id == "node_pods")
    assert proof.exit_code == 0 and proof.stdout == "" and "-l clustermax-run=cmx-" in proof.command

    # in the report, the busy node is unknown (never failed), with why
    from clustermax.reports.build import health_matrix
    from clustermax.scoring import score_bundle

    rows = {r.host: r for r in health_matrix(bundle, score_bundle(bundle)).rows}
    cells = {c.check: c for c in rows["nvidia1"].cells}
    assert cells["reach"].status == "unknown"
    assert cells["reach"].reason == (
        "not-attempted: not run: node busy (1 of 1 nvidia.com/gpu allocated to other pods)"
    )
    assert all(c.status != "fail" for c in cells.values())
    assert {c.check: c.status for c in rows["nori"].cells}["reach"] == "pass"


def test_interrupt_deletes_every_pod_and_leaves_a_partial_bundle(tmp_path: Path) -> None:
    slow = {**CLUSTER, "pod_timing_s": [0.2, 0.4, 60]}  # the pods run for a minute
    with apiserver(slow) as server:
        stop = threading.Event()
        audit = Audit(request(server, ["gpu_health"]), connect, tmp_path / "audit", stop=stop)

        def interrupt() -> None:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                phases = kubectl(server, "get", "pods", "-A", "-o", "jsonpath={.items[*].status.phase}")
                if phases.split() == ["Running", "Running"]:
                    stop.set()  # Ctrl-C while both pods run
                    return
                time.sleep(0.1)

        t = threading.Thread(target=interrupt)
        t.start()
        t0 = time.monotonic()
        bundle = audit.run()
        t.join()
        assert stop.is_set() and time.monotonic() - t0 < 30
        assert pods_on(server) == []
    assert not bundle.complete
    for node in ("nori", "nvidia1"):
        r = next(r for r in bundle.results if r.host == node)
        assert (r.status, r.substatus) == (ProbeStatus.ERROR, SubStatus.INTERRUPTED)
    proof = next(c for c in bundle.commands if c.probe_id == "node_pods")
    assert proof.exit_code == 0 and proof.stdout == ""
    assert load_bundle(tmp_path / "audit").complete is False


def test_a_pod_that_cannot_be_scheduled_is_node_busy(tmp_path: Path) -> None:
    """The tenant's pod lands between the GPU check and the node pod: unschedulable, given up, deleted."""
    spec = load_probe_specs()["gpu_health"]
    with apiserver(CLUSTER) as server:
        opts = PodOptions(kubeconfig=kubeconfig_of(server), poll_interval_s=0.1, schedule_timeout_s=1.5)
        runner = NodePods(LocalTransport("local"), opts)
        orig = runner._create

        def create_after_tenant(*a, **kw):  # type: ignore[no-untyped-def]
            hold_gpus(server, "nori")
            return orig(*a, **kw)

        runner._create = create_after_tenant  # type: ignore[method-assign]
        outcomes = []
        runner.run([NodeWork("nori", [PodProbe(spec, {}, build_script(spec, "nori", {}))])], outcomes.append)
        assert pods_on(server) == ["pod/tenant-training"]
    (out,) = outcomes
    assert out.state == "not-run"
    (r,) = out.results
    assert r.substatus == SubStatus.NOT_RUN
    assert r.message.startswith(
        "not run: node busy (its pod could not be scheduled: 0/2 nodes are available:"
    )
    assert runner.leftover == []


def test_default_image_is_recorded() -> None:
    assert PodOptions().record()["image"] == DEFAULT_IMAGE


# ------------------------------------------------------------------------------ the command line

CLI = str(Path(sys.executable).parent / "clustermax")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=300, check=False)


def test_pod_options_without_node_pods_are_a_usage_error(tmp_path: Path) -> None:
    proc = cli("audit", "--local", "--pod-image", "reg/img:1", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert "--pod-image and --pod-namespace set up node pods, which are off" in proc.stderr
    bad = cli("audit", "--local", "--node-pods", "--pod-namespace", "Bad_NS", "--out", str(tmp_path / "p"))
    assert bad.returncode == 2 and "namespace 'Bad_NS' is not a Kubernetes namespace name" in bad.stderr
    assert not (tmp_path / "o").exists() and not (tmp_path / "p").exists()


@pytest.mark.sshd
def test_inventory_audit_reaches_the_nodes_through_pods(sshd_hosts: TestCluster, tmp_path: Path) -> None:
    """The login node over real SSH runs kubectl; the GPU nodes (no SSH at all) get one pod each."""
    c = sshd_hosts
    with apiserver(CLUSTER, netns=c.login.netns) as server:
        hold_gpus_in(server, c, "nvidia1")
        inv = tmp_path / "inv.yaml"
        inv.write_text(
            f"cluster: k8s\nplatform: kubernetes\nlogin: {{name: login1, host: {c.login.ip}}}\n"
            "compute: [{name: nori}, {name: nvidia1}]\n"
            f"defaults: {{user: {c.user}, identity_file: {c.key}}}\nknown_hosts: [{c.known_hosts}]\n"
            f"kubernetes: {{node_pods: true, kubeconfig: {kubeconfig_of(server)}}}\n"
        )
        proc = cli("audit", "--inventory", str(inv), "--probes", "gpu_health", "--pod-image", "reg/cuda:12",
                   "--out", str(tmp_path / "o"))  # fmt: skip
        assert proc.returncode in (0, 1), proc.stderr
        assert [p for p in pods_in(server, c) if p != "pod/tenant-training"] == []
    bundle = load_bundle(tmp_path / "o")
    assert bundle.options["node_pods"]["image"] == "reg/cuda:12"  # type: ignore[index, call-overload]
    res = {r.host: r for r in bundle.results if r.probe_id == "gpu_health"}
    assert res["nori"].status == ProbeStatus.OK, res["nori"].message
    assert res["nvidia1"].substatus == SubStatus.NOT_RUN
    proof = next(cmd for cmd in bundle.commands if cmd.probe_id == "node_pods")
    assert proof.exit_code == 0 and proof.stdout == ""
    assert {h.name: h.reach for h in bundle.hosts if h.role == "compute"} == {
        "nori": "scheduler",
        "nvidia1": "scheduler",
    }


def pods_in(server: kube_apiserver.RunningAPIServer, c: TestCluster) -> list[str]:
    out = subprocess.run(
        ["nsenter", f"--net=/run/netns/{c.login.netns}", "kubectl", "--kubeconfig", kubeconfig_of(server),
         "--cache-dir", str(server.workdir / "cache"), "get", "pods", "-A", "-o", "name"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    return out.stdout.split()


def hold_gpus_in(server: kube_apiserver.RunningAPIServer, c: TestCluster, node: str) -> None:
    """:func:`hold_gpus` when the server listens inside the login node's network namespace."""
    pod = json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "tenant-training"},
            "spec": {
                "nodeName": node,
                "containers": [
                    {
                        "name": "cuda-vectoradd",
                        "image": "nvidia/samples:vectoradd-cuda11.2.1",
                        "command": ["sleep", "infinity"],
                        "resources": {"limits": {"nvidia.com/gpu": 1}},
                    }
                ],
            },
        }
    )
    base = ["nsenter", f"--net=/run/netns/{c.login.netns}", "kubectl", "--kubeconfig", kubeconfig_of(server),
            "--cache-dir", str(server.workdir / "cache")]  # fmt: skip
    subprocess.run([*base, "create", "--validate=false", "-f", "-"], input=pod, text=True, check=True,
                   capture_output=True, timeout=30)  # fmt: skip
    deadline = time.monotonic() + 10
    while "Running" not in subprocess.run(
        [*base, "get", "pod", "tenant-training", "-o", "jsonpath={.status.phase}"],
        capture_output=True, text=True, timeout=30, check=False,
    ).stdout:  # fmt: skip
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_a_pod_past_its_deadline_is_cut_and_deleted() -> None:
    """A pod still running at its deadline (schedule bound + each probe's timeout + the kill grace): read
    as far as it got, each probe that never finished a timeout, the pod deleted."""
    spec = load_probe_specs()["gpu_health"].model_copy(update={"timeout_s": 1.0})
    slow = {**CLUSTER, "pod_timing_s": [0.1, 0.2, 600]}
    with apiserver(slow) as server:
        opts = PodOptions(kubeconfig=kubeconfig_of(server), poll_interval_s=0.2, schedule_timeout_s=0.5)
        runner = NodePods(LocalTransport("local"), opts)
        outcomes: list = []  # type: ignore[type-arg]
        t0 = time.monotonic()
        runner.run([NodeWork("nori", [PodProbe(spec, {}, build_script(spec, "nori", {}))])], outcomes.append)
        took = time.monotonic() - t0
        assert pods_on(server) == []
    (out,) = outcomes
    assert out.state == "timeout" and "ran past its deadline" in out.message
    (r,) = out.results
    assert (r.status, r.substatus) == (ProbeStatus.ERROR, SubStatus.TIMEOUT)
    assert 20 < took < 60
    assert runner.leftover == []

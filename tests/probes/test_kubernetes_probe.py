"""The kubernetes probe: real kubectl against the fake API server serving recorded real objects.

Run locally (LocalTransport, kubeconfig passed as a parameter) and over SSH on the test cluster's login
node (the fake API server inside the login node's network namespace, the kubeconfig in the test user's
~/.kube/config), plus the parser on recorded probe outputs.
"""

from __future__ import annotations

import pwd
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from clustermax.engine.runner import ProbeContext, run_probe
from clustermax.models import CommandResult, ProbeStatus, SubStatus
from clustermax.probes.kubernetes import rwx_provisioner
from clustermax.probes.result import result_from_commands
from clustermax.transport.local import LocalTransport
from tests.infra import kube_apiserver
from tests.infra.cluster import TestCluster
from tests.probes.k8s_helpers import apiserver, kubeconfig_of, spec, ssh_transport, value

pytestmark = pytest.mark.skipif(
    shutil.which("kubectl") is None, reason="kubectl not installed (scripts/install-test-deps.sh)"
)

DATA = Path(__file__).resolve().parent.parent / "data" / "probe_kubernetes"


def test_admin_view_of_a_gpu_cluster_locally() -> None:
    with apiserver(kube_apiserver.GPU_CLUSTER) as server:
        _, res = run_probe(
            LocalTransport("local"), spec("kubernetes"), "local", {"kubeconfig": kubeconfig_of(server)}
        )
    assert res.status == ProbeStatus.OK, res.message
    assert value(res, "k8s.server_version") == "v1.19.2"
    assert str(value(res, "k8s.client_version")).startswith("v1.")
    assert value(res, "k8s.nodes") == 1
    assert value(res, "k8s.nodes_ready") == 1
    assert value(res, "k8s.gpu_nodes") == 1
    assert value(res, "k8s.gpus_capacity") == 1
    assert value(res, "k8s.gpus_allocatable") == 1
    assert value(res, "k8s.gpu_product", node="nori") == "NVIDIA-A16-4Q"
    # the recorded node carries GPU Operator labels; the DaemonSets are NVIDIA's published manifests
    assert value(res, "k8s.gpu_operator") is True
    assert value(res, "k8s.device_plugin") is True
    assert value(res, "k8s.dcgm_exporter") is True
    assert value(res, "k8s.mpi_operator") is True  # mpijobs.kubeflow.org is served by discovery
    assert value(res, "k8s.network_operator") is False
    assert value(res, "k8s.default_storage_class") is True
    assert value(res, "k8s.rwx_storage_class") is True
    assert value(res, "k8s.rwx_storage_classes") == "azurefile-standard"
    assert value(res, "k8s.rbac_can_create_pods") is True
    assert value(res, "k8s.rbac_can_list_nodes") is True
    assert res.facts["compute_nodes"] == [{"name": "nori", "address": "0.202.61.70", "gpus": 1}]
    assert res.facts["gpus_per_node"] == 1
    assert (
        "DaemonSet kube-system/nvidia-device-plugin-daemonset"
        in res.facts["k8s_components"]["k8s.device_plugin"]
    )
    assert [f.code for f in res.findings] == ["k8s.no-network-operator"]


def test_restricted_identity_gets_not_measured_instead_of_false() -> None:
    with apiserver(kube_apiserver.RESTRICTED_USER) as server:
        _, res = run_probe(
            LocalTransport("local"), spec("kubernetes"), "local", {"kubeconfig": kubeconfig_of(server)}
        )
        forbidden = [line for line in server.requests() if line.endswith("-> 403")]
    assert res.status == ProbeStatus.OK
    assert any("/api/v1/nodes" in line for line in forbidden)
    assert value(res, "k8s.rbac_can_create_pods") is False
    assert value(res, "k8s.rbac_can_list_nodes") is False
    # what could not be listed is unknown, never 0 or false
    for metric in (
        "k8s.nodes",
        "k8s.gpu_nodes",
        "k8s.gpus_capacity",
        "k8s.gpu_operator",
        "k8s.dcgm_exporter",
        "k8s.default_storage_class",
        "k8s.rwx_storage_class",
    ):
        assert value(res, metric) is None, metric
    assert value(res, "k8s.mpi_operator") is True  # discovery is open to every authenticated user
    assert "compute_nodes" not in res.facts
    assert "k8s.nodes-unreadable" in [f.code for f in res.findings]


def test_no_kubeconfig_is_not_applicable() -> None:
    _, res = run_probe(
        LocalTransport("local"), spec("kubernetes"), "local", {"kubeconfig": "/nonexistent/kubeconfig"}
    )
    assert res.status == ProbeStatus.SKIPPED
    assert res.substatus == SubStatus.NOT_APPLICABLE
    assert value(res, "k8s.server_version") is None


def test_unreachable_api_server_is_an_error_not_a_failure(tmp_path: Path) -> None:
    kc = tmp_path / "kubeconfig"
    kc.write_text(kube_apiserver.kubeconfig_text("http://127.0.0.1:9"))  # discard port: nothing listens
    _, res = run_probe(LocalTransport("local"), spec("kubernetes"), "local", {"kubeconfig": str(kc)})
    assert res.status == ProbeStatus.ERROR
    assert res.substatus == SubStatus.UNREACHABLE
    assert "refused" in res.message


def test_probe_leaves_no_discovery_cache_in_home() -> None:
    home_cache = Path.home() / ".kube" / "cache"
    before = sorted(p.name for p in (home_cache / "discovery").glob("*")) if home_cache.exists() else []
    with apiserver(kube_apiserver.GPU_CLUSTER) as server:
        run_probe(LocalTransport("local"), spec("kubernetes"), "local", {"kubeconfig": kubeconfig_of(server)})
        port = server.url.rsplit(":", 1)[1]
    after = sorted(p.name for p in (home_cache / "discovery").glob("*")) if home_cache.exists() else []
    assert not [p for p in after if p not in before and port in p]


@pytest.mark.sshd
def test_over_ssh_on_the_login_node(sshd_hosts: TestCluster) -> None:
    login = sshd_hosts.login
    home = Path(pwd.getpwnam(sshd_hosts.user).pw_dir)
    kube_dir = home / ".kube"
    created = not kube_dir.exists()
    with apiserver(kube_apiserver.GPU_CLUSTER, netns=login.netns) as server:
        entry = pwd.getpwnam(sshd_hosts.user)
        kube_dir.mkdir(exist_ok=True)
        config = kube_dir / "config"
        assert not config.exists() or created, "refusing to overwrite an existing kubeconfig of the test user"
        config.write_text(kube_apiserver.kubeconfig_text(server.url))
        for p in (kube_dir, config):
            shutil.chown(p, entry.pw_uid, entry.pw_gid)
        try:
            # the API server listens on 127.0.0.1 inside login1 only: kubectl must run there
            with ssh_transport(sshd_hosts, login) as transport:
                cmds, res = run_probe(
                    transport,
                    spec("kubernetes"),
                    login.name,
                    {},
                    ProbeContext(role="login", platform="kubernetes"),
                )
        finally:
            config.unlink(missing_ok=True)
            if created:
                shutil.rmtree(kube_dir, ignore_errors=True)
    assert res.status == ProbeStatus.OK, res.message + cmds[0].stderr
    assert value(res, "k8s.gpu_nodes") == 1
    assert value(res, "k8s.gpu_product", node="nori") == "NVIDIA-A16-4Q"
    assert value(res, "k8s.rbac_can_list_nodes") is True
    assert res.facts["compute_nodes"] == [{"name": "nori", "address": "0.202.61.70", "gpus": 1}]
    assert not (kube_dir / "cache").exists() or not created


# --- the parser on recorded probe outputs ---------------------------------------------------------


def _reparse(stdout: str) -> object:
    cmd = CommandResult(
        id="h/kubernetes/main",
        host="h",
        probe_id="kubernetes",
        command="bash -s",
        exit_code=0,
        stdout=stdout,
        started_at=datetime.now(timezone.utc),
        duration_s=1.0,
    )
    return result_from_commands(spec("kubernetes"), "h", {}, [cmd])


def test_recorded_output_reparses_to_the_same_result() -> None:
    res = _reparse((DATA / "gpu-cluster-admin.out").read_text())
    assert value(res, "k8s.gpu_nodes") == 1
    assert value(res, "k8s.dcgm_exporter") is True
    assert value(res, "k8s.rwx_storage_class") is True


@pytest.mark.parametrize("cut", [200, 2000, 9000])
def test_truncated_output_never_crashes(cut: int) -> None:
    text = (DATA / "gpu-cluster-admin.out").read_text()[:cut]
    res = _reparse(text)
    assert res.status in (ProbeStatus.OK, ProbeStatus.ERROR, ProbeStatus.SKIPPED)  # type: ignore[attr-defined]


def test_kubectl_missing_is_not_installed() -> None:
    res = _reparse("@@CMX:BEGIN kubectl-version@@\n\n@@CMX:END kubectl-version rc=127 missing=kubectl@@\n")
    assert res.status == ProbeStatus.SKIPPED  # type: ignore[attr-defined]
    assert res.substatus == SubStatus.NOT_INSTALLED  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("provisioner", "rwx"),
    [
        ("file.csi.azure.com", True),
        ("kubernetes.io/azure-file", True),
        ("efs.csi.aws.com", True),
        ("nfs.csi.k8s.io", True),
        ("k8s-sigs.io/nfs-subdir-external-provisioner", True),
        ("rook-ceph.cephfs.csi.ceph.com", True),
        ("fsx.csi.aws.com", True),
        ("csi.weka.io", True),
        ("csi.vastdata.com", True),
        ("filestore.csi.storage.gke.io", True),
        ("lustre.csi.azure.com", True),
        ("kubernetes.io/azure-disk", False),
        ("ebs.csi.aws.com", False),
        ("pd.csi.storage.gke.io", False),
        ("rook-ceph.rbd.csi.ceph.com", False),
        ("rancher.io/local-path", False),
    ],
)
def test_rwx_provisioner_list(provisioner: str, rwx: bool) -> None:
    assert (rwx_provisioner(provisioner) is not None) is rwx

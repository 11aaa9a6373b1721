"""kubectl version / node parsers on real outputs (tests/data/kubectl-*/, provenance in .source files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from clustermax.parsers import ParseError
from clustermax.parsers.kubectl import is_gpu_resource, parse_kubectl_nodes, parse_kubectl_version
from clustermax.parsers.registry import detect

DATA = Path(__file__).resolve().parents[1] / "data"


def read(kind: str, name: str) -> str:
    return (DATA / kind / name).read_text()


@pytest.mark.parametrize(
    ("name", "client", "server", "fmt"),
    [
        ("dev-1.32.4-client.txt", "v1.32.4-dispatcher", None, "short"),
        ("dev-1.32.4-client.json", "v1.32.4-dispatcher", None, "json"),
        ("dev-1.32.4-client.yaml", "v1.32.4-dispatcher", None, "yaml"),
        ("dev-1.32.4-refused.txt", "v1.32.4-dispatcher", None, "short"),
        ("dev-1.32.4-refused-server.txt", "v1.32.4-dispatcher", None, "short"),
        ("old-format-skew-hkube-1954.txt", "v1.26.2", "v1.23.5", "go-struct"),
        ("old-format-kubevirt-tutorial-97.txt", "v1.15.0", "v1.14.3", "go-struct"),
        ("old-format-refused-k8s-website-37082.txt", "v1.20.4", None, "go-struct"),
        ("short-k3s-skew-rancher-shell-21.txt", "v1.21.8", "v1.17.17+k3s1", "short"),
        ("oc-4.2-before-openshift-oc-87.txt", "v4.2.0-alpha.0-54-g4afc072", "v1.11.0+d4cacc0", "go-struct"),
        ("oc-4.2-after-openshift-oc-87.txt", "v4.2.0-alpha.0-56-ge6a379d", "v1.11.0+d4cacc0", "short"),
        ("oc-4.1-openshift-origin-23309.txt", "v4.1.0+8b6079e-913", "v1.14.0+bba922f", "short"),
        ("oc-3.6-origin-15571.txt", "v1.6.1+5115d708d7", "v1.7.0+695f48a16f", "oc3"),
    ],
)
def test_kubectl_version_formats(name: str, client: str, server: str | None, fmt: str) -> None:
    out = parse_kubectl_version(read("kubectl-version", name))
    assert (out.client_version, out.server_version, out.format) == (client, server, fmt)
    assert detect(read("kubectl-version", name))[0][0] == "kubectl-version"


def test_kubectl_version_details() -> None:
    skew = parse_kubectl_version(read("kubectl-version", "old-format-skew-hkube-1954.txt"))
    assert skew.kustomize_version == "v4.5.7"
    assert any("version difference between client (1.26) and server (1.23)" in w for w in skew.warnings)
    refused = parse_kubectl_version(read("kubectl-version", "dev-1.32.4-refused.txt"))
    assert refused.server_error is not None and "localhost:8080 was refused" in refused.server_error
    oc3 = parse_kubectl_version(read("kubectl-version", "oc-3.6-origin-15571.txt"))
    assert (oc3.oc_version, oc3.openshift_version) == ("v3.6.0+c4dd4cf", "v3.6.0-rc.0+de23676-359")
    oc4 = parse_kubectl_version(read("kubectl-version", "oc-4.2-after-openshift-oc-87.txt"))
    assert oc4.openshift_version == "4.2.0-0.ci-2019-09-05-164031"


def test_kubectl_version_json_with_server_and_unable_to_connect() -> None:
    client = json.loads(read("kubectl-version", "dev-1.32.4-client.json"))
    both = dict(client, serverVersion=dict(client["clientVersion"], gitVersion="v1.29.6+k3s2"))
    out = parse_kubectl_version(json.dumps(both, indent=2) + "\n")
    assert (out.client_version, out.server_version) == ("v1.32.4-dispatcher", "v1.29.6+k3s2")
    unable = "Client Version: v1.28.2\nKustomize Version: v5.0.4-0.20230601165947-6ce0bf390ce3\n" + (
        "Unable to connect to the server: dial tcp 10.0.0.1:6443: i/o timeout\n"
    )
    out = parse_kubectl_version(unable)
    assert out.client_version == "v1.28.2" and out.server_version is None
    assert out.server_error == "Unable to connect to the server: dial tcp 10.0.0.1:6443: i/o timeout"


@pytest.mark.parametrize("text", ["", "hello\n", '{"foo": 1}', "clientVersion:\n  major: '1'\n"])
def test_kubectl_version_rejects_other_text(text: str) -> None:
    with pytest.raises(ParseError):
        parse_kubectl_version(text)


def test_nodelist_json_from_a_real_api() -> None:
    out = parse_kubectl_nodes(read("kubectl-nodes", "nodelist-json-k3s-orbstack.json"))
    (node,) = out.nodes
    assert (node.name, node.ready, node.gpu_capacity, node.gpu_allocatable, node.gpu_resources) == (
        "orbstack",
        True,
        0,
        0,
        {},
    )
    assert node.labels["kubernetes.io/arch"] == "arm64" and out.format == "json"


def test_nodelist_yaml_equals_json_and_single_node_works() -> None:
    data = json.loads(read("kubectl-nodes", "nodelist-json-k3s-orbstack.json"))
    from_yaml = parse_kubectl_nodes(yaml.safe_dump(data))
    from_json = parse_kubectl_nodes(json.dumps(data))
    assert from_yaml.nodes == from_json.nodes and from_yaml.format == "yaml"
    single = dict(data["items"][0], kind="Node", apiVersion="v1")
    assert parse_kubectl_nodes(json.dumps(single)).nodes == from_json.nodes
    as_list = {"apiVersion": "v1", "kind": "List", "items": [single]}
    assert parse_kubectl_nodes(json.dumps(as_list)).nodes == from_json.nodes


def test_gpu_node_status_yaml_fragment() -> None:
    out = parse_kubectl_nodes(read("kubectl-nodes", "status-yaml-podman-desktop-7778.yaml"))
    (node,) = out.nodes
    assert (node.name, node.gpu_capacity, node.gpu_allocatable) == (None, 1, 1)
    assert node.gpu_resources == {"nvidia.com/gpu": "1"} and out.warnings


def test_describe_node_gpu_resources() -> None:
    (node,) = parse_kubectl_nodes(read("kubectl-nodes", "describe-hami-477-gpu80.txt")).nodes
    assert (node.name, node.gpu_capacity, node.gpu_allocatable) == ("gpu-000-001", 80, 70)
    assert node.capacity["memory"] == "1055950504Ki"
    labels = parse_kubectl_nodes(read("kubectl-nodes", "labels-describe-device-plugin-1501.txt"))
    (lnode,) = labels.nodes
    assert (lnode.gpu_product, lnode.gpu_count_label, lnode.gpu_capacity) == (
        "NVIDIA-H100-80GB-HBM3",
        8,
        None,
    )
    assert lnode.labels["nvidia.com/gpu.machine"] == "PowerEdge-XE9680"


def test_describe_node_excerpt_with_conditions_and_no_gpu() -> None:
    out = parse_kubectl_nodes(read("kubectl-nodes", "describe-gfd-36-conditions.txt"))
    (node,) = out.nodes
    assert (node.name, node.ready, node.gpu_capacity, node.gpu_allocatable) == (None, True, 0, 0)
    assert node.capacity["cpu"] == "128" and out.warnings


def test_mig_resources_are_gpu_resources_but_not_whole_gpus() -> None:
    # a node object built here (not a tool capture) to pin the resource-name rules
    node = {
        "kind": "Node",
        "metadata": {"name": "a100", "labels": {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"}},
        "status": {
            "capacity": {"nvidia.com/mig-1g.10gb": "14", "nvidia.com/mig-3g.40gb": "2", "cpu": "128"},
            "conditions": [{"type": "Ready", "status": "Unknown"}],
        },
    }
    (out,) = parse_kubectl_nodes(json.dumps(node)).nodes
    assert out.gpu_resources == {"nvidia.com/mig-1g.10gb": "14", "nvidia.com/mig-3g.40gb": "2"}
    assert (out.gpu_capacity, out.gpu_allocatable, out.ready) == (0, None, None)


@pytest.mark.parametrize(
    ("resource", "gpu"),
    [
        ("nvidia.com/gpu", True),
        ("nvidia.com/gpu.shared", True),
        ("nvidia.com/mig-1g.10gb", True),
        ("amd.com/gpu", True),
        ("gpu.intel.com/i915", True),
        ("cpu", False),
        ("nvidia.com/hostdev", False),
        ("rdma/rdma_shared_device_a", False),
    ],
)
def test_gpu_resource_names(resource: str, gpu: bool) -> None:
    assert is_gpu_resource(resource) is gpu


def test_amd_and_shared_gpus_in_json() -> None:
    # node objects built here (not tool captures) to pin the AMD and time-slicing resource rules
    node = {
        "kind": "Node",
        "metadata": {"name": "mi300", "labels": {"amd.com/gpu.product-name": "AMD_Instinct_MI300X_OAM"}},
        "status": {"capacity": {"amd.com/gpu": "8", "cpu": "192"}, "allocatable": {"amd.com/gpu": "7"}},
    }
    (out,) = parse_kubectl_nodes(json.dumps(node)).nodes
    assert (out.gpu_capacity, out.gpu_allocatable, out.gpu_product, out.ready) == (
        8,
        7,
        "AMD_Instinct_MI300X_OAM",
        None,
    )
    shared = {
        "kind": "Node",
        "metadata": {"name": "t"},
        "status": {"capacity": {"nvidia.com/gpu.shared": "40"}},
    }
    (s,) = parse_kubectl_nodes(json.dumps(shared)).nodes
    assert (
        s.gpu_capacity == 0
        and s.gpu_resources == {"nvidia.com/gpu.shared": "40"}
        and s.gpu_allocatable is None
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "No resources found\n",
        '{"kind": "PodList", "items": 3}',
        "{ broken json",
        "kind: [\n",
        "just words\n",
    ],
)
def test_kubectl_nodes_rejects_other_text(text: str) -> None:
    with pytest.raises(ParseError):
        parse_kubectl_nodes(text)


@pytest.mark.parametrize(
    "name",
    [
        "nodelist-json-k3s-orbstack.json",
        "describe-hami-477-gpu80.txt",
        "status-yaml-podman-desktop-7778.yaml",
    ],
)
def test_nodes_detection(name: str) -> None:
    assert detect(read("kubectl-nodes", name))[0][0] == "kubectl-nodes"


def test_jq_labels_map_is_a_node_fragment() -> None:
    out = parse_kubectl_nodes((DATA / "kubectl-nodes" / "jq-items-metadata-labels-h100-gfd.json").read_text())
    (node,) = out.nodes
    assert (node.name, node.gpu_product, node.gpu_count_label) == (None, "NVIDIA-H100-80GB-HBM3", 1)
    assert node.gpu_capacity is None and node.ready is None
    assert out.warnings[0].startswith("a node labels map without its node (filtered JSON")


def test_jq_allocatable_map_is_a_node_fragment() -> None:
    out = parse_kubectl_nodes(
        (DATA / "kubectl-nodes" / "jq-allocatable-nvidia-only-vgpu-a10.json").read_text()
    )
    (node,) = out.nodes
    assert node.gpu_resources == {"nvidia.com/NVIDIA_A10-12Q": "4"}
    assert node.gpu_capacity is None and node.gpu_allocatable is None  # which of the two is not told
    assert "capacity or allocatable is not told" in out.warnings[0]
    assert is_gpu_resource("nvidia.com/NVIDIA_A10-12Q") and is_gpu_resource("nvidia.com/GA102GL_A10")
    assert not is_gpu_resource("nvidia.com/rdma_shared_device_a")


def test_jq_stream_of_label_maps_is_one_node_each() -> None:
    one = (DATA / "kubectl-nodes" / "jq-items-metadata-labels-h100-gfd.json").read_text()
    out = parse_kubectl_nodes(one + one.replace("H100-80GB-HBM3", "A100-SXM4-80GB"))
    assert [n.gpu_product for n in out.nodes] == ["NVIDIA-H100-80GB-HBM3", "NVIDIA-A100-SXM4-80GB"]


@pytest.mark.parametrize(
    "name", ["pod-cuda-vectoradd.yaml", "daemonset-dcgm-exporter.yaml", "version-v1.19.2.json"]
)
def test_json_and_yaml_that_are_not_nodes_are_refused(name: str) -> None:
    text = (DATA / "k8s-objects" / name).read_text()
    if name.endswith(".yaml"):
        text = json.dumps(yaml.safe_load(text))
    with pytest.raises(ParseError):
        parse_kubectl_nodes(text)
    assert not [k for k, c in detect(text) if c >= 0.5]

"""Parser of the ``kubernetes`` probe: versions, GPU nodes, GPU software, storage classes, RBAC.

Sections (see ``probes/kubernetes/run.sh``): ``kubectl-version`` (``kubectl version -o json``),
``nodes`` (``kubectl get nodes -o json``), ``api-resources`` (``-o name``), ``workloads``
(kind, namespace, name, labels JSON per line), ``pods`` (namespace, name per line),
``storageclasses`` (``-o json``), ``can-create-pods`` / ``can-list-nodes`` (``kubectl auth can-i``)
and ``can-i-list``.

A component is reported present when any evidence is seen (a DaemonSet/Deployment/pod name or label,
a custom resource type, a node label set by the GPU Operator); absent only when the listings that could
show it all succeeded; not measured (None) when they could not be read (no permission, timeout).

Mapping (``measure``): parsed kubectl output -> measurements (metric names from
``probes/kubernetes/probe.yaml``).

Pure functions returning ``(measurements, findings)``; what the output cannot tell is left out.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..models import Finding, JSONValue, Measurement, ProbeStatus, Severity, SubStatus, Unit
from ..parsers.base import ParseError
from ..parsers.kubectl import (
    KubectlNodesOutput,
    KubectlVersionOutput,
    KubeNode,
    parse_kubectl_nodes,
    parse_kubectl_version,
)
from .base import FileKind, ImportContext, ImportedOutput, Measured, ProbeInput, ProbeOutput, Section

# ------------------------------------------------------------------------------------------ measure

Result = tuple[list[Measurement], list[Finding]]


def kubectl_version_measurements(parsed: KubectlVersionOutput, host: str) -> Result:
    """k8s.client_version and k8s.server_version (each only when printed)."""
    out: list[Measurement] = []
    if parsed.client_version:
        out.append(
            Measurement(
                metric="k8s.client_version", value=parsed.client_version, unit=Unit.VERSION, host=host
            )
        )
    if parsed.server_version:
        out.append(
            Measurement(
                metric="k8s.server_version", value=parsed.server_version, unit=Unit.VERSION, host=host
            )
        )
    return out, []


def kubectl_nodes_measurements(parsed: KubectlNodesOutput, host: str) -> Result:
    """Node counts, ready nodes, GPU nodes, GPUs (capacity / allocatable) and GPU product per node.

    Counts over the cluster need complete node objects: a node given without a name (a fragment)
    contributes GPU figures but makes k8s.nodes unknowable, so k8s.nodes is then left out.
    """
    out: list[Measurement] = []
    nodes = parsed.nodes
    if not nodes:
        return out, []

    def m(metric: str, value: bool | int | str, unit: Unit, **labels: str) -> None:
        out.append(Measurement(metric=metric, value=value, unit=unit, host=host, labels=labels))

    complete = all(n.name for n in nodes)
    if complete:
        m("k8s.nodes", len(nodes), Unit.COUNT)
    if complete and all(n.ready is not None for n in nodes):
        m("k8s.nodes_ready", sum(1 for n in nodes if n.ready), Unit.COUNT)
    caps = [n.gpu_capacity for n in nodes]
    if all(c is not None for c in caps):
        m(
            "k8s.gpu_nodes",
            sum(1 for n in nodes if (n.gpu_capacity or 0) > 0 or _any_gpu(n.gpu_resources)),
            Unit.COUNT,
        )
        m("k8s.gpus_capacity", sum(c or 0 for c in caps), Unit.COUNT)
    allocs = [n.gpu_allocatable for n in nodes]
    if all(a is not None for a in allocs):
        m("k8s.gpus_allocatable", sum(a or 0 for a in allocs), Unit.COUNT)
    for n in nodes:
        if n.gpu_product:
            m("k8s.gpu_product", n.gpu_product, Unit.TEXT, node=n.name or "")
    return out, []


def _any_gpu(resources: dict[str, str]) -> bool:
    for value in resources.values():
        if value.strip().isdigit() and int(value.strip()) > 0:
            return True
    return False


# ------------------------------------------------------------------------------------ from_sections


RWX_PROVISIONERS: tuple[tuple[str, str], ...] = (
    ("nfs", "NFS (nfs.csi.k8s.io, nfs-subdir-external-provisioner, any provisioner named *nfs*)"),
    ("cephfs", "CephFS (cephfs.csi.ceph.com, rook-ceph.cephfs.csi.ceph.com, kubernetes.io/cephfs)"),
    ("lustre", "Lustre (lustre.csi.azure.com, any *lustre*)"),
    ("fsx.csi.aws.com", "Amazon FSx for Lustre"),
    ("exa.csi.ddn.com", "DDN EXAScaler (Lustre)"),
    ("csi.weka.io", "WEKA"),
    ("csi.vastdata.com", "VAST Data"),
    ("file.csi.azure.com", "Azure Files (CSI)"),
    ("kubernetes.io/azure-file", "Azure Files (in-tree)"),
    ("efs.csi.aws.com", "Amazon EFS"),
    ("filestore.csi.storage.gke.io", "Google Cloud Filestore"),
    ("gcsfuse.csi.storage.gke.io", "Cloud Storage FUSE (GKE)"),
    ("kubernetes.io/glusterfs", "GlusterFS (in-tree)"),
    ("spectrumscale.csi.ibm.com", "IBM Storage Scale (GPFS)"),
    ("csi.juicefs.com", "JuiceFS"),
    ("driver.longhorn.io", "Longhorn (RWX through its share manager)"),
)
"""Provisioner name fragments known to offer ReadWriteMany volumes, with what they are.

Block-storage provisioners (EBS, Azure Disk, GCE PD, Ceph RBD, local-path ...) do not; NetApp Trident
and Portworx offer RWX only for some backends/parameters and are not counted.
"""

NODE_COUNT_METRICS = (
    "k8s.nodes",
    "k8s.nodes_ready",
    "k8s.gpu_nodes",
    "k8s.gpus_capacity",
    "k8s.gpus_allocatable",
)


def _has_gpus(node: KubeNode) -> bool:
    """Whole GPUs in capacity, or any other GPU resource (MIG slices, shared GPUs) with a positive count."""
    if (node.gpu_capacity or 0) > 0:
        return True
    return any(v.strip().isdigit() and int(v.strip()) > 0 for v in node.gpu_resources.values())


DEFAULT_CLASS_ANNOTATIONS = (
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
)


@dataclass
class Component:
    """Evidence rules for one piece of GPU software."""

    metric: str
    names: tuple[str, ...]
    """Fragments of DaemonSet/Deployment/pod names."""
    label_values: tuple[str, ...] = ()
    """Values of the app / app.kubernetes.io/name / k8s-app labels."""
    resources: tuple[str, ...] = ()
    """Fully qualified custom resource types (``plural.group``)."""
    node_labels: tuple[str, ...] = ()
    """Node labels whose presence shows the component manages the node."""
    evidence: list[str] = field(default_factory=list)


def components() -> list[Component]:
    return [
        Component(
            "k8s.gpu_operator",
            names=("gpu-operator",),
            label_values=("gpu-operator",),
            resources=("clusterpolicies.nvidia.com",),
            node_labels=("nvidia.com/gpu.deploy.operator-validator",),
        ),
        Component(
            "k8s.device_plugin",
            names=("nvidia-device-plugin", "amdgpu-device-plugin", "amd-gpu-device-plugin"),
            label_values=(
                "nvidia-device-plugin-daemonset",
                "nvidia-device-plugin-ds",
                "nvidia-device-plugin",
            ),
        ),
        Component(
            "k8s.network_operator",
            names=("network-operator",),
            label_values=("network-operator",),
            resources=("nicclusterpolicies.mellanox.com",),
        ),
        Component(
            "k8s.mpi_operator",
            names=("mpi-operator",),
            label_values=("mpi-operator",),
            resources=("mpijobs.kubeflow.org",),
        ),
        Component(
            "k8s.dcgm_exporter",
            names=("dcgm-exporter",),
            label_values=("dcgm-exporter", "nvidia-dcgm-exporter"),
        ),
    ]


_LABEL_KEYS = ("app", "app.kubernetes.io/name", "k8s-app", "name")


def _labels(raw: str) -> dict[str, str]:
    try:
        data = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _lines(sec: Section | None) -> list[list[str]]:
    if sec is None or not sec.ok:
        return []
    return [line.split("\t") for line in sec.text.splitlines() if line.strip()]


def _json(sec: Section | None) -> Any:
    if sec is None or not sec.ok or not sec.text.strip():
        return None
    try:
        return json.loads(sec.text)
    except ValueError:
        return None


def _can_i(sec: Section | None) -> bool | None:
    """``kubectl auth can-i`` prints yes (rc 0) or no (rc 1); anything else is not an answer."""
    if sec is None or sec.rc is None:
        return None
    first = sec.text.strip().splitlines()[0].strip().lower() if sec.text.strip() else ""
    if first.startswith("yes"):
        return True
    if first.startswith("no"):
        return False
    return None


def _stderr(inp: ProbeInput, name: str) -> str:
    sec = inp.sections.get(f"{name}!stderr")
    return sec.text.strip() if sec else ""


def classify_failure(text: str) -> tuple[ProbeStatus, SubStatus, str]:
    """Why kubectl could not talk to the API server, from its error text."""
    low = text.lower()
    first = next((line for line in text.splitlines() if line.strip() and "warning" not in line.lower()), text)
    if (
        "localhost:8080" in low
        or "no configuration has been provided" in low
        or "current-context is not set" in low
    ):
        return (
            ProbeStatus.SKIPPED,
            SubStatus.NOT_APPLICABLE,
            "kubectl has no cluster configured (no kubeconfig)",
        )
    if "context" in low and "does not exist" in low:
        return ProbeStatus.ERROR, SubStatus.COMMAND_FAILED, first.strip()
    if "unauthorized" in low or "must be logged in" in low or "provide credentials" in low:
        return ProbeStatus.ERROR, SubStatus.AUTH, first.strip()
    if "forbidden" in low:
        return ProbeStatus.ERROR, SubStatus.NO_PERMISSION, first.strip()
    if "timeout" in low or "deadline exceeded" in low:
        return ProbeStatus.ERROR, SubStatus.TIMEOUT, first.strip()
    return ProbeStatus.ERROR, SubStatus.UNREACHABLE, first.strip() or "the API server did not answer"


def _m(
    metric: str,
    value: bool | int | float | str | None,
    unit: Unit,
    labels: dict[str, str] | None = None,
    host: str | None = None,
) -> Measurement:
    return Measurement(metric=metric, value=value, unit=unit, host=host, labels=labels or {})


def _node_addresses(nodes_json: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    items = nodes_json.get("items", []) if isinstance(nodes_json, dict) else []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        name = item.get("metadata", {}).get("name")
        for addr in item.get("status", {}).get("addresses", []) or []:
            if isinstance(addr, dict) and addr.get("type") == "InternalIP" and name:
                out[str(name)] = str(addr.get("address"))
                break
    return out


def rwx_provisioner(provisioner: str) -> str | None:
    """What RWX-capable storage a provisioner is, or None when it is not known to offer RWX."""
    low = provisioner.lower()
    for fragment, what in RWX_PROVISIONERS:
        if fragment in low:
            return what
    return None


def _storage(sc_json: Any) -> tuple[bool | None, list[str], list[str]]:
    """(a default class exists, default class names, RWX-capable class names); None when not listed."""
    if not isinstance(sc_json, dict) or not isinstance(sc_json.get("items"), list):
        return None, [], []
    defaults, rwx = [], []
    for item in sc_json["items"]:
        if not isinstance(item, dict):
            continue
        meta = item.get("metadata", {})
        name = str(meta.get("name", ""))
        ann = meta.get("annotations") or {}
        if any(str(ann.get(k, "")).lower() == "true" for k in DEFAULT_CLASS_ANNOTATIONS):
            defaults.append(name)
        if rwx_provisioner(str(item.get("provisioner", ""))):
            rwx.append(name)
    return bool(defaults), defaults, rwx


def _detect(
    comps: Iterable[Component],
    workloads: list[list[str]],
    pods: list[list[str]],
    resources: set[str],
    node_labels: list[dict[str, str]],
) -> None:
    for comp in comps:
        for row in workloads:
            kind, ns, name = [*row, "", "", ""][:3]
            labels = _labels(row[3]) if len(row) > 3 else {}
            values = {labels.get(k, "") for k in _LABEL_KEYS}
            if any(n in name for n in comp.names) or values & set(comp.label_values):
                comp.evidence.append(f"{kind} {ns}/{name}")
        for row in pods:
            ns, name = [*row, "", ""][:2]
            if any(n in name for n in comp.names):
                comp.evidence.append(f"Pod {ns}/{name}")
        for res in comp.resources:
            if res in resources:
                comp.evidence.append(f"API resource {res}")
        for labels in node_labels:
            hit = [k for k in comp.node_labels if k in labels]
            if hit:
                comp.evidence.append(f"node label {hit[0]}")
                break


def from_sections(inp: ProbeInput) -> ProbeOutput:
    """Measurements carry the host kubectl ran on (as the shared kubectl mappers do)."""
    out = _parse(inp)
    out.measurements = [m if m.host else m.model_copy(update={"host": inp.host}) for m in out.measurements]
    return out


def _parse(inp: ProbeInput) -> ProbeOutput:
    out = ProbeOutput()
    ver = inp.sections.get("kubectl-version")
    if ver is None:
        out.status, out.substatus = ProbeStatus.ERROR, SubStatus.PARSE_ERROR
        out.message = "no kubectl-version section in the probe output"
        return out
    if ver.missing:
        out.status, out.substatus = ProbeStatus.SKIPPED, SubStatus.NOT_INSTALLED
        out.message = f"{ver.missing} is not installed on {inp.host}"
        out.remediation = (
            "Install kubectl on the login node, or run clustermax where kubectl and the kubeconfig are."
        )
        return out
    try:
        version = parse_kubectl_version(ver.text)
        client, server = version.client_version, version.server_version
    except ParseError:
        client = server = None
    out.measurements.append(_m("k8s.client_version", client, Unit.VERSION))
    out.measurements.append(_m("k8s.server_version", server, Unit.VERSION))
    if not ver.ok or server is None:
        err = _stderr(inp, "kubectl-version") or ver.text
        out.status, out.substatus, out.message = classify_failure(err)
        return out

    # nodes and GPUs
    nodes_sec = inp.sections.get("nodes")
    nodes_json = _json(nodes_sec)
    node_labels: list[dict[str, str]] = []
    facts_nodes: list[dict[str, JSONValue]] = []
    if nodes_json is not None:
        try:
            parsed = parse_kubectl_nodes(nodes_sec.text if nodes_sec else "")
        except ParseError:
            parsed = None
    else:
        parsed = None
    if parsed is not None:
        nodes = parsed.nodes
        addrs = _node_addresses(nodes_json)
        gpu_nodes = [n for n in nodes if _has_gpus(n)]
        node_ms, _ = kubectl_nodes_measurements(parsed, inp.host)
        out.measurements += node_ms
        have = {m.metric for m in node_ms}
        for metric in NODE_COUNT_METRICS:
            if metric not in have:  # the mapper leaves out what the output cannot tell: say so
                out.measurements.append(_m(metric, None, Unit.COUNT, host=inp.host))
        for n in nodes:
            node_labels.append(n.labels)
        for n in gpu_nodes:
            facts_nodes.append({"name": n.name, "address": addrs.get(n.name or ""), "gpus": n.gpu_capacity})
        out.facts["compute_nodes"] = facts_nodes
        counts = Counter(n.gpu_capacity for n in gpu_nodes if n.gpu_capacity)
        if counts:
            top = max(counts.values())
            out.facts["gpus_per_node"] = max(c for c, k in counts.items() if k == top)
        not_ready = [n.name for n in nodes if n.ready is False]
        if not_ready:
            out.findings.append(
                Finding(
                    code="k8s.node-not-ready",
                    severity=Severity.MEDIUM,
                    message=f"{len(not_ready)} node(s) not Ready: {', '.join(map(str, not_ready[:10]))}",
                )
            )
        if not gpu_nodes:
            out.findings.append(
                Finding(
                    code="k8s.no-gpu-nodes",
                    severity=Severity.HIGH,
                    message="No node advertises GPU capacity (nvidia.com/gpu, amd.com/gpu)",
                    remediation=inp.spec.remediation.get("no-gpu-operator"),
                )
            )
    else:
        for metric in (
            "k8s.nodes",
            "k8s.nodes_ready",
            "k8s.gpu_nodes",
            "k8s.gpus_capacity",
            "k8s.gpus_allocatable",
        ):
            out.measurements.append(_m(metric, None, Unit.COUNT))
        out.findings.append(
            Finding(
                code="k8s.nodes-unreadable",
                severity=Severity.INFO,
                message="Nodes could not be listed: " + (_stderr(inp, "nodes") or "no output")[:200],
            )
        )

    # GPU software
    res_sec = inp.sections.get("api-resources")
    resources = (
        {line.strip() for line in res_sec.text.splitlines() if line.strip()}
        if res_sec and res_sec.ok
        else set()
    )
    wl_sec, pod_sec = inp.sections.get("workloads"), inp.sections.get("pods")
    comps = components()
    _detect(comps, _lines(wl_sec), _lines(pod_sec), resources, node_labels)
    device_plugin_by_capacity = parsed is not None and any((n.gpu_allocatable or 0) > 0 for n in parsed.nodes)
    listings_ok = bool(wl_sec and wl_sec.ok) and bool(res_sec and res_sec.ok)
    evidence: dict[str, JSONValue] = {}
    for comp in comps:
        if comp.metric == "k8s.device_plugin" and device_plugin_by_capacity:
            comp.evidence.append("nodes advertise allocatable GPUs")
        value: bool | None = True if comp.evidence else (False if listings_ok else None)
        out.measurements.append(_m(comp.metric, value, Unit.BOOL))
        evidence[comp.metric] = list(dict.fromkeys(comp.evidence))
        code = {
            "k8s.gpu_operator": "no-gpu-operator",
            "k8s.network_operator": "no-network-operator",
            "k8s.mpi_operator": "no-mpi-operator",
        }.get(comp.metric)
        if value is False and code:
            out.findings.append(
                Finding(
                    code=f"k8s.{code}",
                    severity=Severity.MEDIUM,
                    message=f"{comp.metric.removeprefix('k8s.').replace('_', ' ')} not found anywhere",
                    remediation=inp.spec.remediation.get(code),
                )
            )
    out.facts["k8s_components"] = evidence

    # storage
    has_default, defaults, rwx = _storage(_json(inp.sections.get("storageclasses")))
    out.measurements.append(_m("k8s.default_storage_class", has_default, Unit.BOOL))
    out.measurements.append(
        _m("k8s.rwx_storage_class", None if has_default is None else bool(rwx), Unit.BOOL)
    )
    out.measurements.append(
        _m("k8s.rwx_storage_classes", None if has_default is None else ",".join(rwx), Unit.TEXT)
    )
    out.facts["default_storage_classes"] = defaults
    if has_default is False:
        out.findings.append(
            Finding(
                code="k8s.no-default-storage-class",
                severity=Severity.MEDIUM,
                message="No StorageClass is marked default",
                remediation=inp.spec.remediation.get("no-default-storage-class"),
            )
        )
    if has_default is not None and not rwx:
        out.findings.append(
            Finding(
                code="k8s.no-rwx",
                severity=Severity.MEDIUM,
                message="No StorageClass with a provisioner known to offer ReadWriteMany",
                remediation=inp.spec.remediation.get("no-rwx"),
            )
        )

    # RBAC self-check
    out.measurements.append(
        _m("k8s.rbac_can_create_pods", _can_i(inp.sections.get("can-create-pods")), Unit.BOOL)
    )
    out.measurements.append(
        _m("k8s.rbac_can_list_nodes", _can_i(inp.sections.get("can-list-nodes")), Unit.BOOL)
    )

    gpu_nodes_n = next((m.value for m in out.measurements if m.metric == "k8s.gpu_nodes"), None)
    out.message = f"Kubernetes {server}; {gpu_nodes_n if gpu_nodes_n is not None else 'unknown'} GPU node(s)"
    if parsed is None:
        out.message += "; nodes could not be listed"
    return out


# -------------------------------------------------------------------------------- clustermax import


def _version_files(files: Sequence[ImportedOutput], context: ImportContext) -> Measured:
    parsed = files[0].parsed
    if not isinstance(parsed, KubectlVersionOutput):
        return Measured([], [])
    return Measured(*kubectl_version_measurements(parsed, files[0].host))


def _node_files(files: Sequence[ImportedOutput], context: ImportContext) -> Measured:
    parsed = files[0].parsed
    if not isinstance(parsed, KubectlNodesOutput):
        return Measured([], [])
    return Measured(*kubectl_nodes_measurements(parsed, files[0].host))


FILES = (FileKind("kubectl-version", _version_files), FileKind("kubectl-nodes", _node_files))

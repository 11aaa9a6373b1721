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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..models import Finding, Measurement, ProbeStatus, Severity, SubStatus, Unit
from ..parsers.kubectl import (
    KubectlNodesOutput,
    KubectlVersionOutput,
    KubeNode,
    parse_kubectl_nodes,
    parse_kubectl_version,
)
from .base import FileKind, ImportContext, ImportedOutput, Measured, ProbeInput, ProbeOutput, Section
from .evidence import NOT_COLLECTED, NotCollected, Slot, one_file, parsed_or_none, with_remediation

# ------------------------------------------------------------------------------------------ measure

Result = tuple[list[Measurement], list[Finding]]


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


def components_list() -> list[Component]:
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


@dataclass(frozen=True)
class Storage:
    """The StorageClasses: is one the default, which are, and which offer ReadWriteMany."""

    has_default: bool
    defaults: list[str]
    rwx: list[str]


@dataclass(frozen=True)
class K8sEvidence:
    """What :func:`measure` maps: each listing's typed reading, None (ran, unreadable) or NOT_COLLECTED."""

    version: Slot[KubectlVersionOutput] = NOT_COLLECTED
    nodes: Slot[KubectlNodesOutput] = NOT_COLLECTED
    nodes_error: str = ""
    """Why the nodes could not be listed (kubectl's error text)."""
    components: list[Component] | NotCollected = NOT_COLLECTED
    """GPU software with the evidence seen for it (None: the listings that could show it failed)."""
    listings_ok: bool = False
    """The workload and API-resource listings both succeeded (a component with no evidence is absent)."""
    storage: Slot[Storage] = NOT_COLLECTED
    can_create_pods: Slot[bool] = NOT_COLLECTED
    can_list_nodes: Slot[bool] = NOT_COLLECTED


_COMPONENT_CODES = {
    "k8s.gpu_operator": "no-gpu-operator",
    "k8s.network_operator": "no-network-operator",
    "k8s.mpi_operator": "no-mpi-operator",
}


def measure(ev: K8sEvidence, host: str, remediation: Mapping[str, str] | None = None) -> Measured:
    """Every ``k8s.*`` metric and finding the evidence can tell (listings not collected are left out).

    Measurements carry the host kubectl ran on; findings are about the cluster (no host)."""
    rem = remediation or {}
    out: list[Measurement] = []
    findings: list[Finding] = []
    if not isinstance(ev.version, NotCollected):
        client = ev.version.client_version if ev.version is not None else None
        server = ev.version.server_version if ev.version is not None else None
        out.append(_m("k8s.client_version", client, Unit.VERSION, host=host))
        out.append(_m("k8s.server_version", server, Unit.VERSION, host=host))
    if not isinstance(ev.nodes, NotCollected):
        if ev.nodes is not None:
            nodes = ev.nodes.nodes
            node_ms, _ = kubectl_nodes_measurements(ev.nodes, host)
            out += node_ms
            have = {m.metric for m in node_ms}
            for metric in NODE_COUNT_METRICS:
                if metric not in have:  # the mapper leaves out what the output cannot tell: say so
                    out.append(_m(metric, None, Unit.COUNT, host=host))
            not_ready = [n.name for n in nodes if n.ready is False]
            if not_ready:
                findings.append(
                    Finding(
                        code="k8s.node-not-ready",
                        severity=Severity.MEDIUM,
                        message=f"{len(not_ready)} node(s) not Ready: {', '.join(map(str, not_ready[:10]))}",
                    )
                )
            if not any(_has_gpus(n) for n in nodes):
                findings.append(
                    Finding(
                        code="k8s.no-gpu-nodes",
                        severity=Severity.HIGH,
                        message="No node advertises GPU capacity (nvidia.com/gpu, amd.com/gpu)",
                        remediation=rem.get("no-gpu-operator"),
                    )
                )
        else:
            for metric in NODE_COUNT_METRICS:
                out.append(_m(metric, None, Unit.COUNT, host=host))
            findings.append(
                Finding(
                    code="k8s.nodes-unreadable",
                    severity=Severity.INFO,
                    message="Nodes could not be listed: " + (ev.nodes_error or "no output")[:200],
                )
            )
    if not isinstance(ev.components, NotCollected):
        for comp in ev.components:
            value: bool | None = True if comp.evidence else (False if ev.listings_ok else None)
            out.append(_m(comp.metric, value, Unit.BOOL, host=host))
            code = _COMPONENT_CODES.get(comp.metric)
            if value is False and code:
                findings.append(
                    Finding(
                        code=f"k8s.{code}",
                        severity=Severity.MEDIUM,
                        message=f"{comp.metric.removeprefix('k8s.').replace('_', ' ')} not found anywhere",
                    )
                )
    if not isinstance(ev.storage, NotCollected):
        has_default = ev.storage.has_default if ev.storage is not None else None
        rwx = ev.storage.rwx if ev.storage is not None else []
        out.append(_m("k8s.default_storage_class", has_default, Unit.BOOL, host=host))
        out.append(
            _m("k8s.rwx_storage_class", None if has_default is None else bool(rwx), Unit.BOOL, host=host)
        )
        out.append(
            _m(
                "k8s.rwx_storage_classes",
                None if has_default is None else ",".join(rwx),
                Unit.TEXT,
                host=host,
            )
        )
        if has_default is False:
            findings.append(
                Finding(
                    code="k8s.no-default-storage-class",
                    severity=Severity.MEDIUM,
                    message="No StorageClass is marked default",
                )
            )
        if has_default is not None and not rwx:
            findings.append(
                Finding(
                    code="k8s.no-rwx",
                    severity=Severity.MEDIUM,
                    message="No StorageClass with a provisioner known to offer ReadWriteMany",
                )
            )
    if not isinstance(ev.can_create_pods, NotCollected):
        out.append(_m("k8s.rbac_can_create_pods", ev.can_create_pods, Unit.BOOL, host=host))
    if not isinstance(ev.can_list_nodes, NotCollected):
        out.append(_m("k8s.rbac_can_list_nodes", ev.can_list_nodes, Unit.BOOL, host=host))
    return Measured(out, with_remediation(findings, rem))


def _storage(sc_json: Any) -> Storage | None:
    """The StorageClasses of ``kubectl get storageclasses -o json``; None when not listed."""
    if not isinstance(sc_json, dict) or not isinstance(sc_json.get("items"), list):
        return None
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
    return Storage(bool(defaults), defaults, rwx)


def _read_nodes(sec: Section) -> KubectlNodesOutput | None:
    return parsed_or_none(parse_kubectl_nodes, sec.text) if sec.ok and sec.text.strip() else None


def evidence(inp: ProbeInput) -> K8sEvidence:
    """The listings of one run of ``probes/kubernetes/run.sh`` (kubectl answered), read."""
    s = inp.sections
    ver = s["kubectl-version"]
    nodes_sec = s.get("nodes")
    nodes: Slot[KubectlNodesOutput] = NOT_COLLECTED if nodes_sec is None else _read_nodes(nodes_sec)
    listings = ("api-resources", "workloads", "pods")
    components: list[Component] | NotCollected = NOT_COLLECTED
    res_sec, wl_sec, pod_sec = (s.get(name) for name in listings)
    if any(name in s for name in listings):
        resources = (
            {line.strip() for line in res_sec.text.splitlines() if line.strip()}
            if res_sec and res_sec.ok
            else set()
        )
        components = components_list()
        parsed = nodes if isinstance(nodes, KubectlNodesOutput) else None
        node_labels = [n.labels for n in parsed.nodes] if parsed is not None else []
        _detect(components, _lines(wl_sec), _lines(pod_sec), resources, node_labels)
        if parsed is not None and any((n.gpu_allocatable or 0) > 0 for n in parsed.nodes):
            for comp in components:
                if comp.metric == "k8s.device_plugin":
                    comp.evidence.append("nodes advertise allocatable GPUs")
    sc = s.get("storageclasses")
    can_create, can_list = s.get("can-create-pods"), s.get("can-list-nodes")
    return K8sEvidence(
        version=parsed_or_none(parse_kubectl_version, ver.text),
        nodes=nodes,
        nodes_error=_stderr(inp, "nodes"),
        components=components,
        listings_ok=bool(wl_sec and wl_sec.ok) and bool(res_sec and res_sec.ok),
        storage=NOT_COLLECTED if sc is None else _storage(_json(sc)),
        can_create_pods=NOT_COLLECTED if can_create is None else _can_i(can_create),
        can_list_nodes=NOT_COLLECTED if can_list is None else _can_i(can_list),
    )


def from_sections(inp: ProbeInput) -> ProbeOutput:
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
    version = parsed_or_none(parse_kubectl_version, ver.text)
    server = version.server_version if version is not None else None
    if not ver.ok or server is None:
        out.measurements, out.findings = measure(K8sEvidence(version=version), inp.host, inp.spec.remediation)
        out.status, out.substatus, out.message = classify_failure(_stderr(inp, "kubectl-version") or ver.text)
        return out
    ev = evidence(inp)
    out.measurements, out.findings = measure(ev, inp.host, inp.spec.remediation)

    parsed = ev.nodes if isinstance(ev.nodes, KubectlNodesOutput) else None
    if parsed is not None:
        nodes_sec = inp.sections.get("nodes")
        addrs = _node_addresses(_json(nodes_sec))
        gpu_nodes = [n for n in parsed.nodes if _has_gpus(n)]
        out.facts["compute_nodes"] = [
            {"name": n.name, "address": addrs.get(n.name or ""), "gpus": n.gpu_capacity} for n in gpu_nodes
        ]
        counts = Counter(n.gpu_capacity for n in gpu_nodes if n.gpu_capacity)
        if counts:
            top = max(counts.values())
            out.facts["gpus_per_node"] = max(c for c, k in counts.items() if k == top)
    if isinstance(ev.components, list):
        out.facts["k8s_components"] = {
            comp.metric: list(dict.fromkeys(comp.evidence)) for comp in ev.components
        }
    if not isinstance(ev.storage, NotCollected):
        out.facts["default_storage_classes"] = ev.storage.defaults if ev.storage is not None else []
    gpu_nodes_n = next((m.value for m in out.measurements if m.metric == "k8s.gpu_nodes"), None)
    out.message = f"Kubernetes {server}; {gpu_nodes_n if gpu_nodes_n is not None else 'unknown'} GPU node(s)"
    if parsed is None:
        out.message += "; nodes could not be listed"
    return out


# -------------------------------------------------------------------------------- clustermax import


def _file_evidence(file: ImportedOutput, context: ImportContext) -> K8sEvidence:
    if isinstance(file.parsed, KubectlVersionOutput):
        return K8sEvidence(version=file.parsed)
    if isinstance(file.parsed, KubectlNodesOutput):
        return K8sEvidence(nodes=file.parsed)
    return K8sEvidence()


FILES = (
    FileKind("kubectl-version", one_file(_file_evidence, measure), section="kubectl-version"),
    FileKind("kubectl-nodes", one_file(_file_evidence, measure), section="nodes"),
)

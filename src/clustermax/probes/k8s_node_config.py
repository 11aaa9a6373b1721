"""k8s_node_config: the kubelet CPU manager policy of the GPU nodes and the versions in the dcgm-exporter
images (sections in ``probes/k8s_node_config/run.sh``).

* ``k8s.cpu_manager_policy`` {node}: the kubelet's ``/configz`` (``cpuManagerPolicy``; the kubelet's default
  ``none`` when the key is absent). Null when the API server refuses the node proxy (403: the user lacks
  ``nodes/proxy``) or has no such path: not measured, never guessed.
* ``k8s.dcgm_exporter_version`` / ``k8s.dcgm_version`` {workload}: from a dcgm-exporter image tag
  ``<DCGM>-<exporter>-<os>`` (``nvcr.io/nvidia/k8s/dcgm-exporter:4.5.3-4.8.2-ubuntu22.04``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..models import Measurement, ProbeStatus, ScalarValue, SubStatus, Unit
from ..parsers.kubelet import cpu_manager_policy
from ..parsers.software import ExporterImage, dcgm_exporter_image
from .base import FileKind, Measured, ProbeInput, ProbeOutput, Section

_NODE = re.compile(r"^@@node (?P<name>\S+) rc=(?P<rc>-?\d+)$")


@dataclass(frozen=True)
class NodePolicy:
    node: str
    policy: str | None
    error: str | None = None


@dataclass(frozen=True)
class K8sNodeConfigEvidence:
    gpu_nodes: list[str] = field(default_factory=list)
    policies: list[NodePolicy] = field(default_factory=list)
    exporters: dict[str, ExporterImage] = field(default_factory=dict)
    """workload (kind namespace/name) -> its dcgm-exporter image versions."""


def _policies(text: str) -> list[NodePolicy]:
    out: list[NodePolicy] = []
    name: str | None = None
    rc = 0
    body: list[str] = []

    def flush() -> None:
        if name is None:
            return
        text = "\n".join(body).strip()
        if rc != 0:
            out.append(NodePolicy(name, None, text.splitlines()[0] if text else f"kubectl exited {rc}"))
        else:
            policy = cpu_manager_policy(text)
            out.append(
                NodePolicy(
                    name, policy, None if policy else "the configz answer has no kubelet configuration"
                )
            )

    for line in text.splitlines():
        m = _NODE.match(line)
        if m:
            flush()
            name, rc, body = m.group("name"), int(m.group("rc")), []
        else:
            body.append(line)
    flush()
    return out


def evidence(s: Mapping[str, Section]) -> K8sNodeConfigEvidence:
    nodes = s.get("gpu-nodes")
    gpu_nodes = []
    if nodes is not None and nodes.ok:
        for line in nodes.text.splitlines():
            parts = line.split("\t")
            if len(parts) == 2 and parts[1].strip() not in ("", "0"):
                gpu_nodes.append(parts[0].strip())
    configz = s.get("configz")
    workloads = s.get("workloads")
    exporters: dict[str, ExporterImage] = {}
    if workloads is not None and workloads.ok:
        for line in workloads.text.splitlines():
            parts = line.split("\t")
            if len(parts) != 3:
                continue
            for image in parts[2].split():
                found = dcgm_exporter_image(image)
                if found is not None:
                    exporters[f"{parts[0]} {parts[1]}"] = found
    return K8sNodeConfigEvidence(
        gpu_nodes=gpu_nodes,
        policies=_policies(configz.text) if configz is not None and configz.ok else [],
        exporters=exporters,
    )


def measure(ev: K8sNodeConfigEvidence, host: str, remediation: Mapping[str, str] | None = None) -> Measured:
    out: list[Measurement] = []

    def m(metric: str, value: ScalarValue, unit: Unit, **labels: str) -> None:
        out.append(Measurement(metric=metric, value=value, unit=unit, host=host, labels=labels))

    for p in ev.policies:
        m("k8s.cpu_manager_policy", p.policy, Unit.TEXT, node=p.node)
    for workload, image in sorted(ev.exporters.items()):
        m("k8s.dcgm_exporter_version", image.exporter, Unit.VERSION, workload=workload)
        m("k8s.dcgm_version", image.dcgm, Unit.VERSION, workload=workload)
    return Measured(out, [])


def from_sections(inp: ProbeInput) -> ProbeOutput:
    nodes = inp.sections.get("gpu-nodes")
    if nodes is None or not nodes.ok:
        missing = nodes is not None and nodes.rc == 127
        return ProbeOutput(
            status=ProbeStatus.ERROR,
            substatus=SubStatus.NOT_INSTALLED if missing else SubStatus.COMMAND_FAILED,
            message="kubectl is not installed" if missing else "kubectl could not list the nodes",
        )
    ev = evidence(inp.sections)
    measurements, _ = measure(ev, inp.host, inp.spec.remediation)
    refused = [p for p in ev.policies if p.policy is None]
    parts = [f"{len(ev.gpu_nodes)} GPU node(s)"]
    if refused:
        parts.append(f"kubelet configuration not readable on {len(refused)} ({refused[0].error})")
    parts.append(f"{len(ev.exporters)} dcgm-exporter workload(s)")
    return ProbeOutput(message="; ".join(parts), measurements=measurements)


FILES: tuple[FileKind, ...] = ()
"""No parser kind: ``clustermax import`` files no output under this probe."""

"""Parsed kubectl output -> measurements (metric names from ``probes/kubernetes/probe.yaml``).

Pure functions returning ``(measurements, findings)``; what the output cannot tell is left out.
"""

from __future__ import annotations

from ..models import Finding, Measurement, Unit
from ..parsers.kubectl import KubectlNodesOutput, KubectlVersionOutput

__all__ = ["kubectl_nodes_measurements", "kubectl_version_measurements"]

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

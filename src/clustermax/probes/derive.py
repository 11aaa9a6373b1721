"""Cluster-scope results derived from several hosts' results (pure).

Some facts only exist across nodes: do all GPU nodes run the same model, driver and CUDA? They are
computed from the node results, filed under host ``cluster`` with no command of their own, and
recomputed whenever the bundle is assembled or re-parsed, so they never go stale.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..models import Finding, Measurement, ProbeResult, ProbeStatus
from .gpu_health import cluster_findings, cluster_measurements

CLUSTER_HOST = "cluster"
DERIVED_FACT = "derived_from"


def is_derived(result: ProbeResult) -> bool:
    return result.host == CLUSTER_HOST and not result.command_ids and DERIVED_FACT in result.facts


def _message(findings: list[Finding], measurements: list[Measurement], nodes: int) -> str:
    if findings:
        return findings[0].message
    if all(m.value is None for m in measurements):
        return "no node reported its GPU model, driver and CUDA version"
    return f"GPU model, driver and CUDA agree on {nodes} node(s)"


def derived_results(results: Iterable[ProbeResult]) -> list[ProbeResult]:
    """The derived results for ``results`` (which must not contain derived ones)."""
    ran = (ProbeStatus.OK, ProbeStatus.FAILED)
    gpu = [r for r in results if r.probe_id == "gpu_health" and r.host != CLUSTER_HOST and r.status in ran]
    if not gpu:
        return []
    findings = cluster_findings(gpu)
    measurements = cluster_measurements(gpu)
    nodes = sorted({r.host for r in gpu})
    return [
        ProbeResult(
            probe_id="gpu_health",
            host=CLUSTER_HOST,
            status=ProbeStatus.FAILED if findings else ProbeStatus.OK,
            message=_message(findings, measurements, len(nodes)),
            started_at=min(r.started_at for r in gpu),
            duration_s=0.0,
            measurements=measurements,
            findings=findings,
            facts={DERIVED_FACT: nodes},
        )
    ]


def with_derived(results: Iterable[ProbeResult]) -> list[ProbeResult]:
    """``results`` without stale derived results, followed by freshly derived ones."""
    base = [r for r in results if not is_derived(r)]
    return base + derived_results(base)

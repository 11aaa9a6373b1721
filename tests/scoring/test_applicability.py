"""Applicability as data: over zero subjects a criterion is not applicable, from too few samples not measured.

The empty-subject bundle gives every metric the default rubric reads a value, on the host a probe of its
scope reports it from, and says there is nothing to judge: no GPU on the node (gpu_stack's gpu.node_gpus
and nvidia-smi's gpu.count are 0), no IB/RoCE port, no NCCL run, no Slurm or Kubernetes node, no shared
filesystem. Whatever the values, no criterion may pass or fail on it.
"""

from __future__ import annotations

from typing import Any

import pytest

from clustermax.models import Measurement, ProbeStatus, SubStatus, Unit
from clustermax.models.score import Verdict
from clustermax.scoring import load_rubric, score_bundle
from clustermax.scoring.engine import explain_criterion
from clustermax.scoring.validate import catalog_of

from .factory import bundle, result

RUBRIC = load_rubric(None)
CATALOG = catalog_of(RUBRIC)
NODE, LOGIN = "node1", "login1"

_VALUES: dict[Unit, Any] = {
    Unit.BOOL: False,
    Unit.COUNT: 3,
    Unit.RATIO: 0.5,
    Unit.TEXT: "none",
    Unit.VERSION: "1.0.0",
}


def _value(unit: Unit) -> Any:
    return _VALUES.get(unit, 1.0)


def _host_of(metric: str) -> str | None:
    """Where a probe of the metric's scope reports it: the node, the login node, or the cluster (null)."""
    scope = CATALOG.probes[CATALOG.metrics[metric].probe].scope
    return {"node": NODE, "host": NODE, "login": LOGIN}.get(scope)


SUBJECTS_ABSENT = {
    "gpu": [("gpu_stack", "gpu.node_gpus", 0), ("gpu_health", "gpu.count", 0)],
    "port": [("fabric", "fabric.ports", 0)],
    "slurm-node": [("slurm", "slurm.nodes_total", 0)],
    "k8s-node": [("kubernetes", "k8s.nodes", 0)],
    "shared-fs": [("storage_discover", "storage.shared_mounts", 0)],
    "nccl-run": [],  # no nccl.busbw_peak, no nccl.runs_hung: NCCL did not run
}
SUBJECTS_PRESENT = {
    "gpu": [("gpu_stack", "gpu.node_gpus", 8), ("gpu_health", "gpu.count", 8)],
    "port": [("fabric", "fabric.ports", 8)],
    "slurm-node": [("slurm", "slurm.nodes_total", 2)],
    "k8s-node": [("kubernetes", "k8s.nodes", 2)],
    "shared-fs": [("storage_discover", "storage.shared_mounts", 1)],
    "nccl-run": [("nccl_allreduce", "nccl.busbw_peak", 480.0)],
}
SUBJECT_METRICS = {m for rule in RUBRIC.subjects.values() for m in rule.metric}
NAMES = {"gpu": {"gpu", "cluster-gpu"}}
"""Subject names a missing subject takes away (no GPU on the node is none in the cluster either)."""


def _subject_results(absent: set[str]) -> list[Any]:
    rows: dict[str, list[Measurement]] = {}
    for name in SUBJECTS_PRESENT:
        for probe, metric, value in (SUBJECTS_ABSENT if name in absent else SUBJECTS_PRESENT)[name]:
            info = CATALOG.metrics[metric]
            host = None if metric == "nccl.busbw_peak" else NODE
            labels = {"collective": "all_reduce", "run": "0"} if metric == "nccl.busbw_peak" else {}
            rows.setdefault(probe, []).append(
                Measurement(metric=metric, value=value, unit=info.unit, host=host, labels=labels)
            )
    return [result(probe, NODE, ms) for probe, ms in rows.items()]


def _criterion_values() -> list[Any]:
    """A value for every metric a criterion reads (with the labels it filters on), where its probe puts it."""
    rows: dict[str, list[Measurement]] = {}
    for crit in RUBRIC.criteria:
        for metric in crit.metric:
            if metric in SUBJECT_METRICS and metric != "storage.shared_mounts":
                continue
            info = CATALOG.metrics[metric]
            labels = {k: (v[0] if isinstance(v, list) else v) for k, v in crit.labels.items()}
            if crit.min_samples is not None and crit.min_samples.label is not None:
                labels[crit.min_samples.label] = "4"
            value = 0 if metric == "storage.shared_mounts" else _value(info.unit)
            rows.setdefault(info.probe, []).append(
                Measurement(metric=metric, value=value, unit=info.unit, host=_host_of(metric), labels=labels)
            )
    return [result(probe, NODE, ms) for probe, ms in rows.items()]


def _bundle(absent: set[str]) -> Any:
    return bundle(_subject_results(absent) + _criterion_values(), platform="unknown")


def test_every_metric_criterion_names_its_subject() -> None:
    bare = [c.id for c in RUBRIC.criteria if c.metric and not c.applies_when]
    assert bare == []
    assert set(RUBRIC.subjects) == set(SUBJECTS_PRESENT) | NAMES["gpu"]  # every subject is walked below


def test_no_criterion_passes_or_fails_over_zero_subjects() -> None:
    res = score_bundle(_bundle(set(SUBJECTS_PRESENT)), RUBRIC)
    judged = {
        c.id: c.verdict.value for c in res.criteria if c.verdict in (Verdict.PASS, Verdict.FAIL, Verdict.WARN)
    }
    assert judged == {}
    for c in res.criteria:
        if c.attestation is None:
            assert c.verdict is Verdict.NOT_APPLICABLE, (c.id, c.explanation)
            assert c.explanation.startswith("Not applicable: "), c.explanation


@pytest.mark.parametrize("subject", sorted(SUBJECTS_PRESENT))
def test_each_subject_alone_makes_its_criteria_not_applicable(subject: str) -> None:
    """Every other subject is there: the criteria naming this one are not applicable, the others judged."""
    res = score_bundle(_bundle({subject}), RUBRIC)
    by_id = {c.id: c for c in res.criteria}
    gone = NAMES.get(subject, {subject})
    naming = [c for c in RUBRIC.criteria if gone & {r for r in c.applies_when if isinstance(r, str)}]
    assert naming, subject
    for crit in RUBRIC.criteria:
        verdict = by_id[crit.id].verdict
        if crit in naming:
            assert verdict is Verdict.NOT_APPLICABLE, (crit.id, by_id[crit.id].explanation)
        elif crit.metric:
            assert verdict is not Verdict.NOT_APPLICABLE, (crit.id, by_id[crit.id].explanation)


def test_values_on_a_node_without_the_subject_are_set_aside_where_others_have_it() -> None:
    # node1 has 8 GPUs and no DCGM exporter; node2 has no GPU (and no exporter): only node1 fails
    results = [
        result(
            "gpu_stack",
            "node1",
            [Measurement(metric="gpu.node_gpus", value=8, unit=Unit.COUNT, host="node1")],
        ),
        result(
            "gpu_stack",
            "node2",
            [Measurement(metric="gpu.node_gpus", value=0, unit=Unit.COUNT, host="node2")],
        ),
    ] + [
        result(
            "monitoring",
            host,
            [Measurement(metric="monitoring.dcgm_exporter", value=False, unit=Unit.BOOL, host=host)],
        )
        for host in ("node1", "node2")
    ]
    res = score_bundle(bundle(results, platform="bare"), RUBRIC)
    crit = next(c for c in res.criteria if c.id == "monitoring-dcgm-exporter")
    assert crit.verdict is Verdict.FAIL
    assert crit.hosts == ["node1"] and list(crit.host_verdicts) == ["node1"]
    assert crit.explanation == (
        "monitoring.dcgm_exporter+k8s.dcgm_exporter is false on node1 with 8 GPUs (its only value); true is "
        "needed in every one."
    )
    trace = explain_criterion(bundle(results, platform="bare"), "monitoring-dcgm-exporter", RUBRIC)
    assert trace is not None
    assert [r.excluded for r in trace.rows if r.host == "node2"] == [
        "not applicable: node2 has no GPU (gpu.node_gpus 0)"
    ]


def test_an_unknown_subject_leaves_the_values_judged() -> None:
    # an import of one log: nothing says how many GPUs the host has, so its values are judged as ever
    results = [
        result(
            "monitoring",
            "imported",
            [Measurement(metric="monitoring.dcgm_exporter", value=False, unit=Unit.BOOL, host="imported")],
        )
    ]
    res = score_bundle(bundle(results, platform="bare"), RUBRIC)
    assert next(c for c in res.criteria if c.id == "monitoring-dcgm-exporter").verdict is Verdict.FAIL


def _spread(runs: int) -> Any:
    gpus = result(
        "gpu_stack", "node1", [Measurement(metric="gpu.node_gpus", value=8, unit=Unit.COUNT, host="node1")]
    )
    labels = {"collective": "all_reduce", "impl": "nccl", "scope": "intra", "nodes": "1", "ranks": "8"}
    spread = Measurement(
        metric="nccl.busbw_peak_spread", value=0.0, unit=Unit.RATIO, labels={**labels, "runs": str(runs)}
    )
    return bundle([gpus, result("nccl_allreduce", "cluster", [spread])], platform="bare")


def test_a_spread_over_one_run_is_not_measured_and_says_why() -> None:
    crit = next(c for c in score_bundle(_spread(1), RUBRIC).criteria if c.id == "nccl-run-spread")
    assert crit.verdict is Verdict.NOT_MEASURED
    assert crit.explanation == (
        "Not measured: nccl.busbw_peak_spread needs at least 2 runs to mean something; it was measured from "
        "1 run on the cluster."
    )
    again = next(c for c in score_bundle(_spread(3), RUBRIC).criteria if c.id == "nccl-run-spread")
    assert again.verdict is Verdict.PASS


def test_nccl_settings_without_a_run_are_not_applicable() -> None:
    # what nccl_allreduce reports on a host without a GPU: skipped, with the environment it read
    skipped = result(
        "nccl_allreduce",
        "cluster",
        [Measurement(metric="nccl.autoconfig", value=True, unit=Unit.BOOL, host="vm")],
        status=ProbeStatus.SKIPPED,
        substatus=SubStatus.NOT_APPLICABLE,
        message="no GPU on this host (nvidia-smi -L lists none)",
    )
    crit = next(
        c
        for c in score_bundle(bundle([skipped], platform="bare"), RUBRIC).criteria
        if c.id == "nccl-autoconfig"
    )
    assert crit.verdict is Verdict.NOT_APPLICABLE
    assert "no NCCL run" in crit.explanation

"""A real `clustermax audit --local` bundle from an H100 machine, re-parsed and scored offline."""

from __future__ import annotations

from pathlib import Path

from clustermax.bundle.io import load_bundle
from clustermax.bundle.reparse import reparse_bundle
from clustermax.models import Bundle, ProbeStatus, Tier, Verdict
from clustermax.scoring import score_bundle

BUNDLE = Path(__file__).parent / "data/captures/h100-fc-2026-11-26/audit-local/bundle.json"


def _key(bundle: Bundle) -> list[tuple[str, str, list[tuple[str, str]], str]]:
    return sorted(
        (m.host or "", m.metric, sorted(m.labels.items()), repr(m.value)) for m in bundle.measurements()
    )


def test_todays_parsers_rederive_the_recorded_measurements() -> None:
    bundle = load_bundle(BUNDLE)
    assert bundle.complete and bundle.target.platform == "bare"
    again = reparse_bundle(bundle)

    def not_nccl(b: Bundle) -> Bundle:
        results = [r for r in b.results if r.probe_id != "nccl_allreduce"]
        return b.model_copy(update={"results": results})

    assert _key(not_nccl(again)) == _key(not_nccl(bundle))
    # recorded when a one-rank run reported busbw 0; today's parsers call it not measured (null)
    peaks = [m.value for m in again.measurements() if m.metric == "nccl.busbw_peak"]
    assert len(peaks) == 3 and set(peaks) == {None}
    assert [m for m in again.measurements() if m.metric == "nccl.busbw_peak_median"] == []


def test_the_real_h100_values() -> None:
    bundle = load_bundle(BUNDLE)
    values = {(m.host, m.metric): m.value for m in bundle.measurements() if not m.labels}
    assert values[("vm", "gpu.model")] == "NVIDIA H100 80GB HBM3"
    assert values[("vm", "gpu.driver_version")] == "580.159.04"
    assert values[("vm", "gpu.count")] == 1
    assert values[("vm", "gpu.memory_total")] == 81559
    assert values[("vm", "gpu.healthy")] is True
    nccl = [r for r in bundle.results if r.probe_id == "nccl_allreduce"]
    assert [r.status for r in nccl] == [ProbeStatus.OK]
    impls = {m.labels.get("impl") for m in nccl[0].measurements if m.metric.startswith("nccl.")} - {None}
    assert impls == {"torch"}  # no nccl-tests there: the PyTorch fallback ran, and says so


def test_a_single_gpu_bare_host_is_not_rated_and_at_most_bronze_with_healthy_gpus() -> None:
    score = score_bundle(load_bundle(BUNDLE))
    verdicts = {c.id: c.verdict for c in score.criteria}
    # no expected GPU count on a local audit: Bronze's gate is not measured, so no tier is proven; no
    # scheduler (and one GPU): Silver is ruled out whatever else is measured
    assert (score.tier, score.rated, score.tier_floor, score.tier_ceiling) == (
        None,
        False,
        Tier.UNDERPERFORMING,
        Tier.BRONZE,
    )
    assert ("ceiling", Tier.SILVER, ["orchestrator-present"]) in [
        (h.bound, h.tier, h.criteria) for h in score.held_down_by
    ]
    assert verdicts["orchestrator-present"] == Verdict.FAIL
    healthy_ids = ("gpu-healthy", "gpu-memory-full", "gpu-ecc-uncorrected", "gpu-xid-critical", "nccl-wrong")
    for healthy in healthy_ids:
        assert verdicts[healthy] == Verdict.PASS, healthy
    assert score.profile.gpu_model == "NVIDIA H100 80GB HBM3"

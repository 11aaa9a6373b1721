"""Golden bundles: real tool outputs imported with `clustermax import` (tests/data/bundles/README.md), scored
with the default rubric to known tiers and verdicts; --reparse gives the same score; the committed bundles
are what scripts/make_golden_bundles.py builds today."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from clustermax.bundle.io import load_bundle
from clustermax.bundle.reparse import reparse_bundle
from clustermax.models import ScoreResult, Verdict
from clustermax.scoring import load_rubric, score_bundle

ROOT = Path(__file__).resolve().parents[2]
BUNDLES = ROOT / "tests" / "data" / "bundles"

# (floor, ceiling, score on what was measured, every criterion that was judged (pass / warn / fail)); all
# others are not measured or not applicable. An import covers too little of the rubric for a tier: every
# golden bundle is not rated (coverage below Bronze's 25%), between its floor and its ceiling.
GOLDEN: dict[str, tuple[str, str, float, dict[str, str]]] = {
    "h100-healthy-ndr": (
        "underperforming",
        "gold",  # the inter-node band only warns: Platinum's gate on it rules Platinum out
        75.34,
        {
            "gpu-driver-security-floor": "fail",  # driver 565.57.01 is below the 570.211.01 branch floor
            "gpu-persistence-mode": "pass",
            "gpu-versions-consistent": "pass",
            "gpu-memory-full": "pass",
            "gpu-power-limit": "pass",
            "slurm-partitions-up": "pass",
            "slurm-default-partition": "warn",
            "slurm-gpu-defaults": "pass",
            "nccl-inter-busbw": "pass",  # 338.82 GB/s >= 0.9 x 46 GB/s x 8 NICs (from --profile)
            "nccl-inter-busbw-band": "warn",
            "fabric-gpu-nic-affinity": "pass",
            "gpu-ecc-uncorrected": "pass",
            "gpu-idle-temperature": "pass",
            "nccl-wrong": "pass",
            "nccl-results-plausible": "pass",  # the log's table agrees with itself and fits NVLink / 8 x NDR
            "slurm-nodes-available": "pass",
            "gpu-count-ok": "pass",  # 8 of 8 GPUs, expected count from --profile gpus_per_node=8
        },
    ),
    "h100-failing-health": (
        "underperforming",
        "silver",  # a GPU fell off the bus, hardware Xids, dcgmi diag failing: Gold's gates rule Gold out
        40.6,
        {
            "gpu-driver-security-floor": "fail",
            "gpu-persistence-mode": "warn",
            "gpu-versions-consistent": "pass",
            "gpu-memory-full": "pass",
            "gpu-power-limit": "fail",
            "gpu-ecc-uncorrected": "pass",
            "gpu-ecc-aggregate": "pass",
            "gpu-remapped-rows-failed": "pass",
            "gpu-remapped-rows-pending": "warn",
            "gpu-xid-critical": "fail",
            "gpu-xid-events": "pass",
            "gpu-fallen-off-bus": "fail",
            "gpu-pcie-degraded": "pass",
            "gpu-throttled": "pass",
            "gpu-idle-temperature": "pass",
            "gpu-dcgm-diag": "fail",
            "nccl-wrong": "pass",
            "nccl-results-plausible": "pass",
        },
    ),
    "h100-smi-only": (
        "underperforming",
        "platinum",  # nothing measured rules anything out
        63.16,
        {
            "gpu-driver-security-floor": "fail",
            "gpu-persistence-mode": "pass",
            "gpu-versions-consistent": "pass",
            "gpu-memory-full": "pass",
            "gpu-power-limit": "pass",
            "gpu-ecc-uncorrected": "pass",
            "gpu-idle-temperature": "pass",
            "gpu-count-ok": "pass",  # --profile gpus_per_node=8
        },
    ),
    "nccl-gh200-wrong": (
        "underperforming",
        "bronze",  # wrong results: Silver's gate on nccl-wrong rules Silver out
        50.0,
        {"nccl-wrong": "fail", "nccl-results-plausible": "pass"},  # nccl-run-spread: one run, not measured
    ),
}


def judged(result: ScoreResult) -> dict[str, str]:
    return {
        c.id: c.verdict.value
        for c in result.criteria
        if c.verdict.value not in ("not_measured", "not_applicable")
    }


def test_every_committed_bundle_has_a_golden_entry() -> None:
    assert sorted(p.name for p in BUNDLES.iterdir() if p.is_dir()) == sorted(GOLDEN)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_bundle_scores_to_its_tier(name: str) -> None:
    floor, ceiling, score, verdicts = GOLDEN[name]
    bundle = load_bundle(BUNDLES / name)
    assert bundle.kind == "import" and all(i.status == "imported" for i in bundle.imports)
    result = score_bundle(bundle, load_rubric(None))
    assert (result.tier_floor.value, result.tier_ceiling.value) == (floor, ceiling)
    assert (result.tier, result.rated, result.not_rated_reason) == (None, False, "insufficient_evidence")
    assert result.summary.startswith("Not rated: insufficient evidence (coverage ")
    assert result.summary.endswith(f"between Underperforming and {ceiling.capitalize()} on this evidence")
    assert result.score == pytest.approx(score, abs=0.01)
    assert judged(result) == verdicts
    # the same score from today's parsers re-reading the raw outputs
    again = score_bundle(reparse_bundle(bundle), load_rubric(None))
    assert again.model_dump(exclude={"bundle_sha256"}) == result.model_dump(exclude={"bundle_sha256"})


def test_healthy_bundle_is_held_down_only_by_what_an_import_cannot_show() -> None:
    result = score_bundle(load_bundle(BUNDLES / "h100-healthy-ndr"), load_rubric(None))
    by_id = {c.id: c for c in result.criteria}
    assert result.profile.source == "inventory" and result.profile.fabric == "ib-ndr-400"
    # no single-node log among the fixtures: intra-node all-reduce is not measured, never guessed
    assert by_id["nccl-intra-busbw"].verdict.value == "not_measured"
    assert by_id["nccl-no-hung-runs"].verdict.value == "not_measured"  # an import cannot tell a hung run
    # the expected GPU count comes from --profile gpus_per_node=8 (the GRES of the imported scontrol
    # output says 8 too, but the profile wins): the Bronze GPU-count gate holds, coverage does not
    counts = [
        m
        for r in load_bundle(BUNDLES / "h100-healthy-ndr").results
        for m in r.measurements
        if m.metric in ("gpu.expected_count", "gpu.count_ok")
    ]
    assert [(m.metric, m.value, m.labels) for m in counts] == [
        ("gpu.expected_count", 8, {"expected_source": "profile"}),
        ("gpu.count_ok", True, {"expected_source": "profile"}),
    ]
    assert by_id["gpu-count-ok"].verdict.value == "pass"
    held = [(h.bound, h.tier.value, h.kind, h.criteria) for h in result.held_down_by]
    assert ("floor", "bronze", "gate", ["gpu-count-ok"]) not in held
    assert held[0] == ("floor", "bronze", "coverage", [])
    assert result.summary == (
        "Not rated: insufficient evidence (coverage 14%; Bronze needs 25%); between Underperforming and Gold "
        "on this evidence"
    )


def test_mixed_node_evidence_has_no_expected_gpu_count() -> None:
    # h100-failing-health mixes an 8-GPU H100 table with a 4-GPU A100 output and has neither
    # gpus_per_node nor a scontrol node listing: the expected count is unknown, never guessed
    result = score_bundle(load_bundle(BUNDLES / "h100-failing-health"), load_rubric(None))
    assert {c.id: c for c in result.criteria}["gpu-count-ok"].verdict.value == "not_measured"
    gate = next(h for h in result.held_down_by if h.kind == "gate" and h.tier.value == "bronze")
    assert (gate.bound, gate.criteria, gate.verdicts) == ("floor", ["gpu-count-ok"], [Verdict.NOT_MEASURED])
    assert gate.text == "Bronze needs gpu-count-ok to pass; it is not measured"
    assert any(a.criterion == "gpu-count-ok" and a.kind == "measure" for a in result.advice.actions)


def test_failing_health_bundle_fails_the_gpu_health_gates() -> None:
    result = score_bundle(load_bundle(BUNDLES / "h100-failing-health"), load_rubric(None))
    by_id = {c.id: c for c in result.criteria}
    assert by_id["gpu-dcgm-diag"].observed == "fail"
    assert by_id["gpu-fallen-off-bus"].verdict.value == "fail"
    assert result.categories and {c.id: c.score for c in result.categories}["reliability"] < 80


def test_score_cli_reparse_matches(tmp_path: Path) -> None:
    def run(*extra: str) -> str:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "clustermax",
                "score",
                "-f",
                "json",
                *extra,
                str(BUNDLES / "h100-healthy-ndr"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    assert run() == run("--reparse")


def test_committed_bundles_are_what_the_script_builds() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_golden_bundles.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().endswith("golden bundle(s) up to date")

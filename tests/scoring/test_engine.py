"""Evaluation of single criteria: every comparison, aggregation and verdict path, table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from clustermax.models import ProbeStatus, SubStatus, Tier, Verdict
from clustermax.scoring import Rubric, evaluate, explain_criterion, load_attestations, score_bundle
from clustermax.scoring.attestations import Attestation, Attestations

from .factory import bundle, clean_h100_slurm, fabric_result, gpu_result, m, nccl_result, result

CATEGORIES = [
    {"id": c, "title": c.title(), "weight": 10}
    for c in (
        "security lifecycle orchestration storage networking reliability monitoring pricing partnerships "
        "availability"
    ).split()
]
OPEN_TIERS = {t: {"min_score": 0} for t in ("platinum", "gold", "silver", "bronze")}


def rubric(*criteria: dict[str, Any], tiers: dict[str, Any] | None = None) -> Rubric:
    base = {"category": "reliability", "title": "t", "weight": 1, "remediation": "fix it"}
    return Rubric.model_validate(
        {
            "id": "test",
            "version": "0",
            "description": "test rubric",
            "tiers": tiers or OPEN_TIERS,
            "categories": CATEGORIES,
            "criteria": [{**base, **c} for c in criteria],
        }
    )


def one(crit: dict[str, Any], b: Any, att: Attestations | None = None) -> Any:
    res, _traces = evaluate(b, rubric({"id": "c", **crit}), att)
    return res.criteria[0]


def node_values(metric: str, unit: str, values: list[Any]) -> Any:
    """One gpu_health result per value, on hosts n0, n1, ..."""
    return bundle(
        [result("gpu_health", f"n{i}", [m(metric, v, unit, f"n{i}")]) for i, v in enumerate(values)]
    )


# metric, unit, values, aggregate, compare, pass, warn, soft, verdict, observed
CASES: list[tuple[str, str, list[Any], str, str, Any, Any, bool, Verdict, Any]] = [
    # numeric aggregations
    ("gpu.temperature_max", "C", [30, 45, 60], "max", "<=", 50, 70, False, Verdict.WARN, 60),
    ("gpu.temperature_max", "C", [30, 45, 60], "min", "<=", 50, 70, False, Verdict.PASS, 30),
    ("gpu.temperature_max", "C", [30, 45, 60], "median", "<=", 50, 70, False, Verdict.PASS, 45.0),
    ("gpu.temperature_max", "C", [30, 45, 61], "mean", "<=", 40, 50, False, Verdict.WARN, 45.3333),
    ("gpu.temperature_max", "C", [30, 45, 90], "max", "<=", 50, 70, False, Verdict.FAIL, 90),
    ("gpu.temperature_max", "C", [30, 45, 90], "max", "<=", 50, None, True, Verdict.WARN, 90),
    ("gpu.xid_events", "count", [1, 2, 3], "sum", "<=", 5, 10, False, Verdict.WARN, 6.0),
    ("gpu.temperature_max", "C", [30, 45], "max", "between", [20, 50], [10, 80], False, Verdict.PASS, 45),
    ("gpu.temperature_max", "C", [30, 75], "max", "between", [20, 50], [10, 80], False, Verdict.WARN, 75),
    ("gpu.temperature_max", "C", [5, 30], "min", "between", [20, 50], [10, 80], False, Verdict.FAIL, 5),
    ("gpu.power_limit", "W", [700, 700], "min", "==", 700, None, False, Verdict.PASS, 700),
    ("gpu.power_limit", "W", [700, 650], "min", ">=", 665, 595, False, Verdict.WARN, 650),
    # boolean comparisons with all / any / fraction / count
    ("gpu.count_ok", "bool", [True, True], "all", "true", None, None, False, Verdict.PASS, True),
    ("gpu.count_ok", "bool", [True, False], "all", "true", None, None, False, Verdict.FAIL, False),
    ("gpu.count_ok", "bool", [True, False], "any", "true", None, None, False, Verdict.PASS, True),
    ("gpu.count_ok", "bool", [True, False], "all", "true", None, None, True, Verdict.WARN, False),
    ("gpu.fallen_off_bus", "bool", [False, False], "all", "false", None, None, False, Verdict.PASS, False),
    (
        "gpu.fallen_off_bus",
        "bool",
        [False, True],
        "all",
        "false",
        None,
        None,
        False,
        Verdict.FAIL,
        True,
    ),  # observed: the value that fails
    (
        "gpu.count_ok",
        "bool",
        [True, True, True, False],
        "fraction",
        ">=",
        0.9,
        0.7,
        False,
        Verdict.WARN,
        0.75,
    ),
    ("gpu.count_ok", "bool", [True, None, False], "count", ">=", 2, None, False, Verdict.PASS, 2),
    # text comparisons: in / == / distinct, case-insensitive
    (
        "gpu.dcgm_diag",
        "text",
        ["pass", "Pass"],
        "all",
        "in",
        ["pass"],
        ["pass", "warn"],
        False,
        Verdict.PASS,
        "pass",
    ),
    (
        "gpu.dcgm_diag",
        "text",
        ["pass", "warn"],
        "all",
        "in",
        ["pass"],
        ["pass", "warn"],
        False,
        Verdict.WARN,
        "warn",
    ),
    (
        "gpu.dcgm_diag",
        "text",
        ["pass", "fail"],
        "all",
        "in",
        ["pass"],
        ["pass", "warn"],
        False,
        Verdict.FAIL,
        "fail",
    ),
    ("gpu.dcgm_diag", "text", ["pass", "fail"], "any", "==", "pass", None, False, Verdict.PASS, "pass"),
    (
        "gpu.model",
        "text",
        ["NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3"],
        "distinct",
        "<=",
        1,
        None,
        False,
        Verdict.PASS,
        1,
    ),
    (
        "gpu.model",
        "text",
        ["NVIDIA H100 80GB HBM3", "NVIDIA H200"],
        "distinct",
        "<=",
        1,
        None,
        False,
        Verdict.FAIL,
        2,
    ),
    # version floors per branch
    (
        "gpu.driver_version",
        "version",
        ["570.211.01"],
        "all",
        ">=",
        ["535.309.01", "570.211.01"],
        None,
        False,
        Verdict.PASS,
        "570.211.01",
    ),
    (
        "gpu.driver_version",
        "version",
        ["570.133.20"],
        "all",
        ">=",
        ["535.309.01", "570.211.01"],
        None,
        False,
        Verdict.FAIL,
        "570.133.20",
    ),
    (
        "gpu.driver_version",
        "version",
        ["550.90.07"],
        "all",
        ">=",
        ["535.309.01", "570.211.01"],
        None,
        False,
        Verdict.FAIL,
        "550.90.07",
    ),
    (
        "gpu.driver_version",
        "version",
        ["600.1.1"],
        "all",
        ">=",
        ["535.309.01", "570.211.01"],
        None,
        False,
        Verdict.PASS,
        "600.1.1",
    ),
    (
        "gpu.driver_version",
        "version",
        ["535.309.01"],
        "all",
        ">=",
        "535.300.00",
        None,
        False,
        Verdict.PASS,
        "535.309.01",
    ),
]


@pytest.mark.parametrize(
    ("metric", "unit", "values", "agg", "cmp", "pas", "warn", "soft", "verdict", "observed"), CASES
)
def test_compare_and_aggregate(
    metric: str,
    unit: str,
    values: list[Any],
    agg: str,
    cmp: str,
    pas: Any,
    warn: Any,
    soft: bool,
    verdict: Verdict,
    observed: Any,
) -> None:
    crit: dict[str, Any] = {"metric": metric, "aggregate": agg, "compare": cmp, "soft": soft}
    if pas is not None:
        crit["pass"] = pas
    if warn is not None:
        crit["warn"] = warn
    got = one(crit, node_values(metric, unit, values))
    assert got.verdict is verdict, got.explanation
    if isinstance(observed, float):
        assert got.observed == pytest.approx(observed, rel=1e-4)
    else:
        assert got.observed == observed
    if verdict is Verdict.PASS:
        assert got.points == 1.0 and got.remediation is None
    elif verdict is Verdict.WARN:
        assert got.points == 0.5 and got.remediation == "fix it"
    else:
        assert got.points == 0.0 and got.remediation == "fix it"


def test_failing_hosts_are_named() -> None:
    got = one(
        {"metric": "gpu.temperature_max", "aggregate": "max", "compare": "<=", "pass": 50},
        node_values("gpu.temperature_max", "C", [30, 80, 90]),
    )
    assert got.verdict is Verdict.FAIL
    assert got.hosts == ["n1", "n2"]


def test_gbit_threshold_against_gbyte_metric_is_converted() -> None:
    """A threshold written in Gb/s judges a busbw metric in GB/s: 3200 Gb/s = 400 GB/s."""
    b = bundle([nccl_result(inter=386.6)])
    crit = {
        "metric": "nccl.busbw_peak_median",
        "labels": {"scope": "inter"},
        "compare": ">=",
        "pass": "3200 Gb/s",
        "warn": "2400 Gb/s",
    }
    got = one(crit, b)
    assert got.verdict is Verdict.WARN
    assert got.threshold is not None and got.threshold.startswith("pass >= 400 GB/s")
    assert got.unit == "GB/s" and got.observed == 386.6


def test_measurement_in_another_unit_is_converted_before_judging() -> None:
    b = node_values("fabric.nic_rate", "GB/s", [50.0])  # 50 GB/s = 400 Gb/s
    got = one({"metric": "fabric.nic_rate", "compare": ">=", "pass": "400 Gb/s"}, b)
    assert got.verdict is Verdict.PASS
    assert got.observed == 400.0


def test_label_filter_selects_only_matching_measurements() -> None:
    b = bundle([nccl_result(intra=300.0, inter=386.6)])
    intra = one(
        {"metric": "nccl.busbw_peak_median", "labels": {"scope": "intra"}, "compare": ">=", "pass": 350}, b
    )
    both = one(
        {
            "metric": "nccl.busbw_peak_median",
            "labels": {"scope": ["intra", "inter"]},
            "compare": ">=",
            "pass": 350,
        },
        b,
    )
    assert (intra.verdict, intra.observed) == (Verdict.FAIL, 300.0)
    assert both.observed == 300.0
    nothing = one(
        {"metric": "nccl.busbw_peak_median", "labels": {"scope": "rack"}, "compare": ">=", "pass": 1}, b
    )
    assert nothing.verdict is Verdict.NOT_MEASURED
    assert "reported no nccl.busbw_peak_median{scope=rack}" in nothing.explanation


MISSING = {"metric": "gpu.temperature_max", "aggregate": "max", "compare": "<=", "pass": 50}


@pytest.mark.parametrize(
    ("b", "verdict", "fragment"),
    [
        (bundle([]), Verdict.NOT_MEASURED, "probe gpu_health did not run"),
        (node_values("gpu.temperature_max", "C", [None, None]), Verdict.NOT_MEASURED, "null or unusable"),
        (
            bundle(
                [
                    result(
                        "gpu_health", "n0", [], ProbeStatus.ERROR, SubStatus.TIMEOUT, "timed out after 600 s"
                    )
                ]
            ),
            Verdict.NOT_MEASURED,
            "could not measure on 1 of 1 host(s) (timeout: timed out after 600 s)",
        ),
        (
            bundle(
                [
                    result(
                        "gpu_health", "n0", [], ProbeStatus.SKIPPED, SubStatus.NOT_INSTALLED, "no nvidia-smi"
                    )
                ]
            ),
            Verdict.NOT_MEASURED,
            "not-installed",
        ),
        (
            bundle([result("gpu_health", "n0", [], ProbeStatus.SKIPPED, SubStatus.NOT_APPLICABLE, "no GPU")]),
            Verdict.NOT_APPLICABLE,
            "does not apply (no GPU)",
        ),
        (node_values("gpu.temperature_max", "C", ["hot"]), Verdict.NOT_MEASURED, "no numeric"),
    ],
)
def test_missing_data_is_never_pass_or_fail(b: Any, verdict: Verdict, fragment: str) -> None:
    got = one(MISSING, b)
    assert got.verdict is verdict
    assert fragment in got.explanation
    assert got.points is None and got.observed is None


def test_platform_mismatch_is_not_applicable() -> None:
    b = bundle([result("slurm", "login", [m("slurm.pmix", False, "bool", "login")])], platform="kubernetes")
    got = one({"metric": "slurm.pmix", "aggregate": "all", "compare": "true", "platforms": ["slurm"]}, b)
    assert got.verdict is Verdict.NOT_APPLICABLE
    assert "this cluster runs kubernetes" in got.explanation


def test_platform_comes_from_scheduler_detect_when_the_target_does_not_say() -> None:
    b = bundle(
        [result("scheduler_detect", "login", [m("scheduler.platform", "kubernetes", "text", "login")])],
        platform="unknown",
    )
    got = one({"metric": "slurm.pmix", "aggregate": "all", "compare": "true", "platforms": ["slurm"]}, b)
    assert got.verdict is Verdict.NOT_APPLICABLE


REF_CRIT = {
    "metric": "nccl.busbw_peak_median",
    "labels": {"scope": "intra"},
    "compare": ">=",
    "pass": {"reference": "gpu.allreduce_busbw_intra", "factor": 0.9},
    "warn": {"reference": "gpu.allreduce_busbw_intra", "factor": 0.8},
}


@pytest.mark.parametrize(
    ("model", "intra", "verdict", "threshold"),
    [
        ("NVIDIA H100 80GB HBM3", 476.0, Verdict.PASS, "pass >= 432 GB/s"),  # 0.9 x 480 (nccl-tests#212)
        ("NVIDIA H100 80GB HBM3", 400.0, Verdict.WARN, "pass >= 432 GB/s"),
        ("NVIDIA H100 80GB HBM3", 300.0, Verdict.FAIL, "pass >= 432 GB/s"),
        ("NVIDIA A100-SXM4-80GB", 230.0, Verdict.PASS, "pass >= 208.8 GB/s"),  # 0.9 x 232
        ("NVIDIA B200", 700.0, Verdict.WARN, "pass >= 747 GB/s"),  # 0.9 x 830
    ],
)
def test_reference_thresholds_follow_the_detected_gpu(
    model: str, intra: float, verdict: Verdict, threshold: str
) -> None:
    b = bundle([nccl_result(intra=intra), gpu_result("n0", model=model)])
    got = one(REF_CRIT, b)
    assert got.verdict is verdict, got.explanation
    assert got.threshold is not None and got.threshold.startswith(threshold)
    assert got.reference_source is not None and "github.com/NVIDIA" in got.reference_source


def test_unknown_gpu_has_no_reference_so_not_measured() -> None:
    b = bundle([nccl_result(intra=476.0), gpu_result("n0", model="NVIDIA H100 PCIe")])
    got = one(REF_CRIT, b)
    assert got.verdict is Verdict.NOT_MEASURED
    assert "no hardware reference gpu.allreduce_busbw_intra for NVIDIA H100 PCIe" in got.explanation


def test_inventory_override_picks_the_reference() -> None:
    b = bundle([nccl_result(intra=476.0)], profile_override={"gpu_model": "H100-SXM"})
    res, _ = evaluate(b, rubric({"id": "c", **REF_CRIT}))
    assert res.criteria[0].verdict is Verdict.PASS
    assert res.profile.source == "inventory" and "gpu:h100-sxm" in res.profile.reference_ids


def test_scale_by_nic_count_uses_the_detected_fabric() -> None:
    crit = {
        "metric": "nccl.busbw_peak_median",
        "labels": {"scope": "inter"},
        "compare": ">=",
        "pass": {"reference": "fabric.nic_allreduce_busbw", "factor": 0.9, "scale_by": "nic_count"},
    }
    ndr8 = bundle([nccl_result(inter=386.6), fabric_result("n0", nic_count=8, rate=400)])
    hdr4 = bundle([nccl_result(inter=386.6), fabric_result("n0", nic_count=4, rate=200)])
    assert one(crit, ndr8).threshold.startswith("pass >= 331.2 GB/s")  # 0.9 x 46 x 8
    assert one(crit, hdr4).threshold.startswith("pass >= 86.4 GB/s")  # 0.9 x 24 x 4
    no_fabric = bundle([nccl_result(inter=386.6)])
    assert one(crit, no_fabric).verdict is Verdict.NOT_MEASURED


ATT_CRIT = {"attestation": "security.soc2_or_iso27001", "compare": "true", "category": "security"}


def test_attested_criterion_is_marked_attested_with_its_evidence() -> None:
    att = Attestations(
        attestations={
            "security.soc2_or_iso27001": Attestation(value=True, evidence=["https://example.com/soc2"])
        }
    )
    got = one(ATT_CRIT, bundle([]), att)
    assert got.verdict is Verdict.PASS and got.attested
    assert got.evidence == ["https://example.com/soc2"]
    assert got.metrics == ["attestation:security.soc2_or_iso27001"]


@pytest.mark.parametrize(
    "att",
    [
        None,
        Attestations(),
        Attestations(attestations={"security.soc2_or_iso27001": Attestation(value=None, evidence=["x"])}),
    ],
)
def test_missing_attestation_is_not_measured(att: Attestations | None) -> None:
    got = one(ATT_CRIT, bundle([]), att)
    assert got.verdict is Verdict.NOT_MEASURED and not got.attested


def test_numeric_attestation_against_a_reference_price() -> None:
    crit = {
        "attestation": "pricing.on_demand_usd_per_gpu_hour",
        "category": "pricing",
        "compare": "<=",
        "pass": {"reference": "gpu.on_demand_price"},
        "warn": {"reference": "gpu.on_demand_price", "factor": 1.3},
    }
    b = bundle([gpu_result("n0")])
    att = Attestations(
        attestations={"pricing.on_demand_usd_per_gpu_hour": Attestation(value=3.5, evidence=["price list"])}
    )
    got = one(crit, b, att)
    assert got.verdict is Verdict.WARN and got.attested  # 3.5 > 2.99 but <= 3.887


def test_example_attestations_file_loads() -> None:
    att = load_attestations("examples/attestations.example.yaml")
    assert att.attestations["security.soc2_or_iso27001"].value is True
    assert att.attestations["partnerships.schedmd_support"].value is None


# ----------------------------------------------------------------------------- tiers and coverage

TIERED = {
    "platinum": {"min_score": 90, "min_coverage": 0.9, "gates": ["a"]},
    "gold": {"min_score": 80, "min_coverage": 0.5, "gates": [{"criteria": ["b", "c"]}]},
    "silver": {"min_score": 60, "gates": [{"criteria": ["b"], "allow_warn": True}]},
    "bronze": {"min_score": 40},
}


def tiered(b: Any, weight_a: float = 1) -> Any:
    crits = [
        {"id": "a", "metric": "gpu.count_ok", "aggregate": "all", "compare": "true", "weight": weight_a},
        {
            "id": "b",
            "metric": "gpu.temperature_max",
            "aggregate": "max",
            "compare": "<=",
            "pass": 50,
            "warn": 70,
        },
        {"id": "c", "metric": "slurm.pmix", "aggregate": "all", "compare": "true", "platforms": ["slurm"]},
    ]
    return score_bundle(b, rubric(*crits, tiers=TIERED))


def test_gate_holds_the_tier_down_whatever_the_score() -> None:
    b = bundle(
        [
            result(
                "gpu_health",
                "n0",
                [m("gpu.count_ok", True, "bool", "n0"), m("gpu.temperature_max", 60, "C", "n0")],
            )
        ]
    )
    res = tiered(b, weight_a=10)
    # a pass (10) + b warn (0.5 of 1) over 11 -> 95.45; c (weight 1) not measured -> coverage 11/12
    assert res.score == 95.45
    assert res.coverage == pytest.approx(11 / 12, abs=1e-4)
    assert res.criteria[2].verdict is Verdict.NOT_MEASURED
    # gold's gate needs b or c to pass: b only warns, c was not measured -> at least silver, whatever the
    # score; platinum if c passed
    assert (res.tier, res.tier_floor, res.tier_ceiling, res.rated) == (
        Tier.SILVER,
        Tier.SILVER,
        Tier.PLATINUM,
        True,
    )
    assert [(h.bound, h.tier, h.kind, h.criteria, h.verdicts) for h in res.held_down_by] == [
        ("floor", Tier.GOLD, "gate", ["b", "c"], [Verdict.WARN, Verdict.NOT_MEASURED])
    ]
    assert res.summary == "at least Silver (up to Platinum: 1 criterion not measured)"


def test_score_below_a_tier_is_not_reported_as_a_gate() -> None:
    b = bundle(
        [
            result(
                "gpu_health",
                "n0",
                [m("gpu.count_ok", True, "bool", "n0"), m("gpu.temperature_max", 60, "C", "n0")],
            )
        ]
    )
    res = tiered(b)
    # 75 on what was measured; 50 if c (not measured) failed: silver (60) is not proven
    assert res.score == 75.0 and res.score_floor == 50.0 and res.tier is Tier.BRONZE
    assert [(h.bound, h.tier, h.kind, h.observed, h.needed) for h in res.held_down_by] == [
        ("floor", Tier.SILVER, "score", 50.0, 60.0),
        ("ceiling", Tier.PLATINUM, "score", 83.33, 90.0),
    ]


def test_any_of_gate_with_not_applicable_member() -> None:
    b = bundle(
        [
            result(
                "gpu_health",
                "n0",
                [m("gpu.count_ok", True, "bool", "n0"), m("gpu.temperature_max", 40, "C", "n0")],
            )
        ],
        platform="kubernetes",
    )
    res = tiered(b)
    assert res.criteria[2].verdict is Verdict.NOT_APPLICABLE
    assert res.coverage == 1.0 and res.score == 100.0
    assert res.tier is Tier.PLATINUM and res.held_down_by == [] and res.summary == "Platinum"


def test_too_little_evidence_is_not_rated() -> None:
    b = bundle([result("gpu_health", "n0", [m("gpu.temperature_max", 40, "C", "n0")])], platform="slurm")
    res = tiered(b)
    assert res.score == 100.0
    assert res.coverage == pytest.approx(1 / 3, abs=1e-3)
    # what was measured passes, but a and c are unknown: a worst case of 33.3 proves no tier
    assert (res.tier, res.rated, res.not_rated_reason) == (None, False, "insufficient_evidence")
    assert res.summary == (
        "Not rated: insufficient evidence (worst-case score 33.3; Bronze needs 40); between Underperforming "
        "and Platinum on this evidence"
    )


def test_not_measured_counts_neither_as_pass_nor_as_fail() -> None:
    passing = bundle(
        [result("gpu_health", "n0", [m("gpu.temperature_max", 40, "C", "n0")])], platform="slurm"
    )
    res = tiered(passing)
    reliability = next(c for c in res.categories if c.id == "reliability")
    assert reliability.score == 100.0  # the unmeasured criteria do not drag the score down
    empty = next(c for c in res.categories if c.id == "security")
    assert empty.score is None and empty.coverage == 0.0


def test_explain_traces_every_value() -> None:
    b = clean_h100_slurm()
    trace = explain_criterion(b, "gpu-idle-temperature")
    assert trace is not None
    assert [r.host for r in trace.rows] == ["gpu-node-01", "gpu-node-02"]
    assert trace.result.verdict is Verdict.PASS
    assert explain_criterion(b, "no-such-criterion") is None

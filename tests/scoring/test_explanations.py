"""Verdict sentences a person would write: what was seen, where, against what; one exact text per aggregate
and comparison the rubric model allows, the same whether scored or explained (--explain traces every
value), and no double negatives anywhere in the golden bundles' verdicts."""

from __future__ import annotations

from typing import Any

import pytest

from clustermax.bundle.io import load_bundle
from clustermax.models.score import Verdict
from clustermax.scoring import load_rubric, score_bundle
from clustermax.scoring.engine import explain_criterion
from clustermax.scoring.rubric import Criterion, Rubric

from .factory import bundle, m, result
from .test_golden import BUNDLES

AGGS = ("min", "max", "median", "mean", "sum", "all", "any", "count", "fraction", "distinct")
COMPARES = (">=", "<=", "==", "in", "between", "true", "false")
POWER = [("node1", 700), ("node2", 690), ("node3", 500)]
BUS = [("node1", False), ("node2", False), ("node3", True)]
MODEL = [("node1", "H100"), ("node2", "H100"), ("node3", "A100")]


def _metric_for(agg: str, compare: str) -> tuple[str, str, list[tuple[str, Any]]]:
    if agg == "fraction" or (agg in ("all", "any") and compare in ("true", "false")):
        return "gpu.fallen_off_bus", "bool", BUS
    if agg == "distinct":
        return "gpu.model", "text", MODEL
    return "gpu.power_limit", "W", POWER


_THRESHOLDS: dict[str, dict[str, tuple[Any, Any]]] = {
    "count": {">=": (4, 3), "<=": (2, 3), "==": (2, None), "in": ([1, 2], [3]), "between": ([1, 2], [1, 3])},
    "fraction": {
        ">=": (1.0, 0.5),
        "<=": (0.1, 0.5),
        "==": (0, None),
        "in": ([0, 1], None),
        "between": ([0.5, 1], None),
    },
    "distinct": {
        ">=": (3, 2),
        "<=": (1, None),
        "==": (1, None),
        "in": ([1], [2]),
        "between": ([1, 1], [1, 2]),
    },
    "sum": {
        ">=": ("2100 W", "1800 W"),
        "<=": ("1500 W", None),
        "==": (1890, None),
        "in": ([2100, 1890], None),
        "between": (["1000 W", "1800 W"], None),
    },
    "values": {
        ">=": ("665 W", "595 W"),
        "<=": ("600 W", None),
        "==": (700, None),
        "in": ([700, 690], None),
        "between": (["600 W", "700 W"], ["450 W", "700 W"]),
    },
}


def _case(agg: str, compare: str) -> tuple[Rubric, Criterion, Any]:
    metric, unit, values = _metric_for(agg, compare)
    raw: dict[str, Any] = {
        "id": f"c-{AGGS.index(agg)}-{COMPARES.index(compare)}",
        "category": "reliability",
        "title": "t",
        "weight": 1,
        "metric": metric,
        "aggregate": agg,
        "compare": compare,
        "remediation": "r",
    }
    if compare not in ("true", "false"):
        p, w = _THRESHOLDS.get(agg, _THRESHOLDS["values"])[compare]
        raw["pass"] = p
        if w is not None:
            raw["warn"] = w
    crit = Criterion.model_validate(raw)
    rub = load_rubric(None).model_copy(update={"criteria": [crit]})
    rub._plan = {}
    results = [result("gpu_health", h, [m(metric, v, unit, h)]) for h, v in values]
    return rub, crit, bundle(results, platform="bare")


EXPECTED: dict[tuple[str, str], tuple[str, str]] = {
    ("min", ">="): (
        "fail",
        "The lowest gpu.power_limit is 500 W, on node3, of 3 values from node1, node2 and node3 (1 "
        "missing pass: node3); pass needs >= 665 W: missed; warn needs >= 595 W: missed.",
    ),
    ("min", "<="): (
        "pass",
        "The lowest gpu.power_limit is 500 W, on node3, of 3 values from node1, node2 and node3; "
        "pass needs <= 600 W: met.",
    ),
    ("min", "=="): (
        "fail",
        "The lowest gpu.power_limit is 500 W, on node3, of 3 values from node1, node2 and node3 (2 "
        "missing pass: node2 and node3); pass needs 700 W: missed.",
    ),
    ("min", "in"): (
        "fail",
        "The lowest gpu.power_limit is 500 W, on node3, of 3 values from node1, node2 and node3 (1 "
        "missing pass: node3); pass needs one of [700, 690]: missed.",
    ),
    ("min", "between"): (
        "warn",
        "The lowest gpu.power_limit is 500 W, on node3, of 3 values from node1, node2 and node3 (1 "
        "missing pass: node3); pass needs within [600, 700] W: missed; warn needs within [450, "
        "700] W: met.",
    ),
    ("min", "true"): (
        "pass",
        "The lowest gpu.power_limit is 500 W, on node3, of 3 values from node1, node2 and node3; "
        "pass needs true: met.",
    ),
    ("min", "false"): (
        "fail",
        "The lowest gpu.power_limit is 500 W, on node3, of 3 values from node1, node2 and node3 (3 "
        "missing pass: node1, node2 and node3); pass needs false: missed.",
    ),
    ("max", ">="): (
        "pass",
        "The highest gpu.power_limit is 700 W, on node1, of 3 values from node1, node2 and node3; "
        "pass needs >= 665 W: met.",
    ),
    ("max", "<="): (
        "fail",
        "The highest gpu.power_limit is 700 W, on node1, of 3 values from node1, node2 and node3 "
        "(2 missing pass: node1 and node2); pass needs <= 600 W: missed.",
    ),
    ("max", "=="): (
        "pass",
        "The highest gpu.power_limit is 700 W, on node1, of 3 values from node1, node2 and node3; "
        "pass needs 700 W: met.",
    ),
    ("max", "in"): (
        "pass",
        "The highest gpu.power_limit is 700 W, on node1, of 3 values from node1, node2 and node3; "
        "pass needs one of [700, 690]: met.",
    ),
    ("max", "between"): (
        "pass",
        "The highest gpu.power_limit is 700 W, on node1, of 3 values from node1, node2 and node3; "
        "pass needs within [600, 700] W: met.",
    ),
    ("max", "true"): (
        "pass",
        "The highest gpu.power_limit is 700 W, on node1, of 3 values from node1, node2 and node3; "
        "pass needs true: met.",
    ),
    ("max", "false"): (
        "fail",
        "The highest gpu.power_limit is 700 W, on node1, of 3 values from node1, node2 and node3 "
        "(3 missing pass: node1, node2 and node3); pass needs false: missed.",
    ),
    ("median", ">="): (
        "pass",
        "The median of gpu.power_limit is 690 W, over 3 values from node1, node2 and node3; pass "
        "needs >= 665 W: met.",
    ),
    ("median", "<="): (
        "fail",
        "The median of gpu.power_limit is 690 W, over 3 values from node1, node2 and node3; pass "
        "needs <= 600 W: missed.",
    ),
    ("median", "=="): (
        "fail",
        "The median of gpu.power_limit is 690 W, over 3 values from node1, node2 and node3; pass "
        "needs 700 W: missed.",
    ),
    ("median", "in"): (
        "pass",
        "The median of gpu.power_limit is 690 W, over 3 values from node1, node2 and node3; pass "
        "needs one of [700, 690]: met.",
    ),
    ("median", "between"): (
        "pass",
        "The median of gpu.power_limit is 690 W, over 3 values from node1, node2 and node3; pass "
        "needs within [600, 700] W: met.",
    ),
    ("median", "true"): (
        "pass",
        "The median of gpu.power_limit is 690 W, over 3 values from node1, node2 and node3; pass "
        "needs true: met.",
    ),
    ("median", "false"): (
        "fail",
        "The median of gpu.power_limit is 690 W, over 3 values from node1, node2 and node3; pass "
        "needs false: missed.",
    ),
    ("mean", ">="): (
        "warn",
        "The mean of gpu.power_limit is 630 W, over 3 values from node1, node2 and node3; pass "
        "needs >= 665 W: missed; warn needs >= 595 W: met.",
    ),
    ("mean", "<="): (
        "fail",
        "The mean of gpu.power_limit is 630 W, over 3 values from node1, node2 and node3; pass "
        "needs <= 600 W: missed.",
    ),
    ("mean", "=="): (
        "fail",
        "The mean of gpu.power_limit is 630 W, over 3 values from node1, node2 and node3; pass "
        "needs 700 W: missed.",
    ),
    ("mean", "in"): (
        "fail",
        "The mean of gpu.power_limit is 630 W, over 3 values from node1, node2 and node3; pass "
        "needs one of [700, 690]: missed.",
    ),
    ("mean", "between"): (
        "pass",
        "The mean of gpu.power_limit is 630 W, over 3 values from node1, node2 and node3; pass "
        "needs within [600, 700] W: met.",
    ),
    ("mean", "true"): (
        "pass",
        "The mean of gpu.power_limit is 630 W, over 3 values from node1, node2 and node3; pass "
        "needs true: met.",
    ),
    ("mean", "false"): (
        "fail",
        "The mean of gpu.power_limit is 630 W, over 3 values from node1, node2 and node3; pass "
        "needs false: missed.",
    ),
    ("sum", ">="): (
        "warn",
        "The sum of gpu.power_limit is 1890 W, over 3 values from node1, node2 and node3; pass "
        "needs >= 2100 W: missed; warn needs >= 1800 W: met.",
    ),
    ("sum", "<="): (
        "fail",
        "The sum of gpu.power_limit is 1890 W, over 3 values from node1, node2 and node3; pass "
        "needs <= 1500 W: missed.",
    ),
    ("sum", "=="): (
        "pass",
        "The sum of gpu.power_limit is 1890 W, over 3 values from node1, node2 and node3; pass "
        "needs 1890 W: met.",
    ),
    ("sum", "in"): (
        "pass",
        "The sum of gpu.power_limit is 1890 W, over 3 values from node1, node2 and node3; pass "
        "needs one of [2100, 1890]: met.",
    ),
    ("sum", "between"): (
        "fail",
        "The sum of gpu.power_limit is 1890 W, over 3 values from node1, node2 and node3; pass "
        "needs within [1000, 1800] W: missed.",
    ),
    ("sum", "true"): (
        "pass",
        "The sum of gpu.power_limit is 1890 W, over 3 values from node1, node2 and node3; pass "
        "needs true: met.",
    ),
    ("sum", "false"): (
        "fail",
        "The sum of gpu.power_limit is 1890 W, over 3 values from node1, node2 and node3; pass "
        "needs false: missed.",
    ),
    ("all", ">="): (
        "fail",
        "The worst gpu.power_limit is 500 W, on node3, of 3 values from node1, node2 and node3 (1 "
        "missing pass: node3); pass needs >= 665 W: missed; warn needs >= 595 W: missed.",
    ),
    ("all", "<="): (
        "fail",
        "The worst gpu.power_limit is 700 W, on node1, of 3 values from node1, node2 and node3 (2 "
        "missing pass: node1 and node2); pass needs <= 600 W: missed.",
    ),
    ("all", "=="): (
        "fail",
        "The worst gpu.power_limit is 690 W, on node2, of 3 values from node1, node2 and node3 (2 "
        "missing pass: node2 and node3); pass needs 700 W: missed.",
    ),
    ("all", "in"): (
        "fail",
        "The worst gpu.power_limit is 500 W, on node3, of 3 values from node1, node2 and node3 (1 "
        "missing pass: node3); pass needs one of [700, 690]: missed.",
    ),
    ("all", "between"): (
        "warn",
        "The worst gpu.power_limit is 500 W, on node3, of 3 values from node1, node2 and node3 (1 "
        "missing pass: node3); pass needs within [600, 700] W: missed; warn needs within [450, "
        "700] W: met.",
    ),
    ("all", "true"): (
        "fail",
        "gpu.fallen_off_bus is false in 2 of 3 values (on node1 and node2); true is needed in every one.",
    ),
    ("all", "false"): (
        "fail",
        "gpu.fallen_off_bus is true in 1 of 3 values (on node3); false is needed in every one.",
    ),
    ("any", ">="): (
        "pass",
        "The best gpu.power_limit is 690 W, on node2, of 3 values from node1, node2 and node3; "
        "pass needs >= 665 W: met.",
    ),
    ("any", "<="): (
        "pass",
        "The best gpu.power_limit is 500 W, on node3, of 3 values from node1, node2 and node3; "
        "pass needs <= 600 W: met.",
    ),
    ("any", "=="): (
        "pass",
        "The best gpu.power_limit is 700 W, on node1, of 3 values from node1, node2 and node3; "
        "pass needs 700 W: met.",
    ),
    ("any", "in"): (
        "pass",
        "The best gpu.power_limit is 690 W, on node2, of 3 values from node1, node2 and node3; "
        "pass needs one of [700, 690]: met.",
    ),
    ("any", "between"): (
        "pass",
        "The best gpu.power_limit is 690 W, on node2, of 3 values from node1, node2 and node3; "
        "pass needs within [600, 700] W: met.",
    ),
    ("any", "true"): (
        "pass",
        "gpu.fallen_off_bus is true in 1 of 3 values from node1, node2 and node3; true is needed "
        "in at least one.",
    ),
    ("any", "false"): (
        "pass",
        "gpu.fallen_off_bus is false in 2 of 3 values from node1, node2 and node3; false is needed "
        "in at least one.",
    ),
    ("count", ">="): (
        "warn",
        "3 values of gpu.power_limit were measured, from node1, node2 and node3; pass needs >= 4: "
        "missed; warn needs >= 3: met.",
    ),
    ("count", "<="): (
        "warn",
        "3 values of gpu.power_limit were measured, from node1, node2 and node3; pass needs <= 2: "
        "missed; warn needs <= 3: met.",
    ),
    ("count", "=="): (
        "fail",
        "3 values of gpu.power_limit were measured, from node1, node2 and node3; pass needs 2: missed.",
    ),
    ("count", "in"): (
        "warn",
        "3 values of gpu.power_limit were measured, from node1, node2 and node3; pass needs one of "
        "[1, 2]: missed; warn needs one of [3]: met.",
    ),
    ("count", "between"): (
        "warn",
        "3 values of gpu.power_limit were measured, from node1, node2 and node3; pass needs within "
        "[1, 2]: missed; warn needs within [1, 3]: met.",
    ),
    ("count", "true"): (
        "pass",
        "3 values of gpu.power_limit were measured, from node1, node2 and node3; pass needs true: met.",
    ),
    ("count", "false"): (
        "fail",
        "3 values of gpu.power_limit were measured, from node1, node2 and node3; pass needs false: missed.",
    ),
    ("fraction", ">="): (
        "fail",
        "gpu.fallen_off_bus is true in 1 of 3 values (33%) from node1, node2 and node3 (2 false: "
        "node1 and node2); pass needs >= 1: missed; warn needs >= 0.5: missed.",
    ),
    ("fraction", "<="): (
        "warn",
        "gpu.fallen_off_bus is true in 1 of 3 values (33%) from node1, node2 and node3 (2 false: "
        "node1 and node2); pass needs <= 0.1: missed; warn needs <= 0.5: met.",
    ),
    ("fraction", "=="): (
        "fail",
        "gpu.fallen_off_bus is true in 1 of 3 values (33%) from node1, node2 and node3 (2 false: "
        "node1 and node2); pass needs 0: missed.",
    ),
    ("fraction", "in"): (
        "fail",
        "gpu.fallen_off_bus is true in 1 of 3 values (33%) from node1, node2 and node3 (2 false: "
        "node1 and node2); pass needs one of [0, 1]: missed.",
    ),
    ("fraction", "between"): (
        "fail",
        "gpu.fallen_off_bus is true in 1 of 3 values (33%) from node1, node2 and node3 (2 false: "
        "node1 and node2); pass needs within [0.5, 1]: missed.",
    ),
    ("fraction", "true"): (
        "pass",
        "gpu.fallen_off_bus is true in 1 of 3 values (33%) from node1, node2 and node3; pass needs "
        "true: met.",
    ),
    ("fraction", "false"): (
        "fail",
        "gpu.fallen_off_bus is true in 1 of 3 values (33%) from node1, node2 and node3 (2 false: "
        "node1 and node2); pass needs false: missed.",
    ),
    ("distinct", ">="): (
        "warn",
        "gpu.model has 2 distinct values among 3 values from node1, node2 and node3; pass needs >= "
        "3: missed; warn needs >= 2: met.",
    ),
    ("distinct", "<="): (
        "fail",
        "gpu.model has 2 distinct values among 3 values from node1, node2 and node3; pass needs <= "
        "1: missed.",
    ),
    ("distinct", "=="): (
        "fail",
        "gpu.model has 2 distinct values among 3 values from node1, node2 and node3; pass needs 1: missed.",
    ),
    ("distinct", "in"): (
        "warn",
        "gpu.model has 2 distinct values among 3 values from node1, node2 and node3; pass needs "
        "one of [1]: missed; warn needs one of [2]: met.",
    ),
    ("distinct", "between"): (
        "warn",
        "gpu.model has 2 distinct values among 3 values from node1, node2 and node3; pass needs "
        "within [1, 1]: missed; warn needs within [1, 2]: met.",
    ),
    ("distinct", "true"): (
        "pass",
        "gpu.model has 2 distinct values among 3 values from node1, node2 and node3; pass needs true: met.",
    ),
    ("distinct", "false"): (
        "fail",
        "gpu.model has 2 distinct values among 3 values from node1, node2 and node3; pass needs "
        "false: missed.",
    ),
}


def test_every_pair_the_model_allows_has_its_text() -> None:
    assert set(EXPECTED) == {(a, c) for a in AGGS for c in COMPARES}


@pytest.mark.parametrize(("agg", "compare"), sorted(EXPECTED), ids=[f"{a} {c}" for a, c in sorted(EXPECTED)])
def test_exact_text_of_each_aggregate_and_comparison(agg: str, compare: str) -> None:
    rub, crit, b = _case(agg, compare)
    verdict, text = EXPECTED[(agg, compare)]
    scored = next(c for c in score_bundle(b, rub).criteria if c.id == crit.id)
    assert (scored.verdict.value, scored.explanation) == (verdict, text)
    rub._plan = {}
    trace = explain_criterion(b, crit.id, rub)  # every value judged: the same sentence
    assert trace is not None and (trace.result.verdict.value, trace.result.explanation) == (verdict, text)


def test_an_advisory_miss_says_so_and_one_value_is_named_as_such() -> None:
    raw = {
        "id": "soft-one",
        "category": "reliability",
        "title": "t",
        "weight": 1,
        "metric": "gpu.remapped_rows_pending",
        "aggregate": "max",
        "compare": "<=",
        "pass": 0,
        "soft": True,
        "remediation": "r",
    }
    crit = Criterion.model_validate(raw)
    rub = load_rubric(None).model_copy(update={"criteria": [crit]})
    rub._plan = {}
    b = bundle([result("gpu_health", "node7", [m("gpu.remapped_rows_pending", 2, "count", "node7")])], "bare")
    got = next(c for c in score_bundle(b, rub).criteria if c.id == "soft-one")
    assert (got.verdict, got.explanation) == (
        Verdict.WARN,
        "gpu.remapped_rows_pending is 2 on node7 (its only value); pass needs <= 0: missed (advisory, so "
        "warn).",
    )


def test_the_fallen_off_bus_fail_says_what_was_seen() -> None:
    got = explain_criterion(load_bundle(BUNDLES / "h100-failing-health"), "gpu-fallen-off-bus")
    assert got is not None
    assert got.result.explanation == (
        "gpu.fallen_off_bus is true in 1 of 2 values (on imported with 8 GPUs); false is needed in every one."
    )
    assert got.result.observed is True  # the value the verdict names, not "all of them are false: false"


_DOUBLE = ("is not true", "is not false", "value(s) of", "is false: is", "is true: is")


@pytest.mark.parametrize("name", sorted(p.name for p in BUNDLES.iterdir() if p.is_dir()))
def test_no_sentence_of_a_golden_bundle_is_a_double_negative(name: str) -> None:
    for crit in score_bundle(load_bundle(BUNDLES / name), load_rubric(None)).criteria:
        assert not any(bad in crit.explanation for bad in _DOUBLE), (crit.id, crit.explanation)


def test_profile_hints_name_the_flags_of_the_command_that_made_the_bundle() -> None:
    # an 8 x H100 node whose fabric is not known: the NIC references cannot resolve
    results = [
        result(
            "gpu_health",
            "node1",
            [m("gpu.count", 8, "count", "node1"), m("gpu.model", "NVIDIA H100 80GB HBM3", "text", "node1")],
        ),
        result(
            "fabric",
            "node1",
            [m("fabric.ports", 8, "count", "node1"), m("fabric.nic_rate", 400, "Gb/s", "node1")],
        ),
    ]
    audit = bundle(results, platform="bare")
    imported = audit.model_copy(update={"kind": "import"})
    for b, says, never in (
        (audit, "inventory's profile: section", "clustermax import"),
        (imported, "`clustermax import --profile", "inventory"),
    ):
        texts = [
            c.explanation
            for c in score_bundle(b, load_rubric(None)).criteria
            if "give the hardware profile" in c.explanation
        ]
        assert texts, b.kind
        assert all(says in t and never not in t for t in texts), texts

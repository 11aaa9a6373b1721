"""Tier bounds: floor, ceiling, rated or not, and typed reasons, over synthetic rubrics (table-driven),
checked against an independent implementation of the rules (tests/scoring/oracle.py) by brute force."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clustermax.models import CriterionResult, Tier, Verdict
from clustermax.scoring import Rubric
from clustermax.scoring.bounds import decide, frame_of

from . import oracle

P, W, F, NM, NA = oracle.P, oracle.W, oracle.F, oracle.NM, oracle.NA

CATS = [
    {"id": "security", "title": "Security", "weight": 20},
    {"id": "networking", "title": "Networking", "weight": 40},
    {"id": "reliability", "title": "Reliability", "weight": 40},
]
# a: reliability (weight 2, Bronze gate), b: reliability, n: networking, s: security (an attestation)
CRITERIA = [
    {"id": "a", "category": "reliability", "weight": 2},
    {"id": "b", "category": "reliability", "weight": 1},
    {"id": "n", "category": "networking", "weight": 1},
    {"id": "s", "category": "security", "weight": 1, "attestation": "security.soc2"},
]
TIERS = {
    "platinum": {"min_score": 90, "min_coverage": 0.9, "gates": ["s"]},
    "gold": {"min_score": 75, "min_coverage": 0.6, "min_category_coverage": {"networking": 1.0}},
    "silver": {"min_score": 60, "min_coverage": 0.5, "gates": [{"criteria": ["b", "n"], "allow_warn": True}]},
    "bronze": {"min_score": 40, "min_coverage": 0.3, "gates": ["a"]},
}


def make_rubric(criteria: list[dict[str, Any]] = CRITERIA, tiers: dict[str, Any] = TIERS) -> Rubric:
    out = []
    for c in criteria:
        base = {"title": c["id"].upper(), "remediation": "fix it", "compare": "true"}
        if "attestation" not in c:
            base["metric"] = "gpu.count_ok"
        out.append({**base, **c})
    return Rubric.model_validate(
        {
            "id": "t",
            "version": "0",
            "description": "bounds test rubric",
            "tiers": tiers,
            "categories": CATS,
            "criteria": out,
        }
    )


def results(rubric: Rubric, verdicts: dict[str, Verdict]) -> list[CriterionResult]:
    out = []
    for c in rubric.criteria:
        v = verdicts[c.id]
        points = {P: c.weight, W: c.weight * rubric.warn_credit, F: 0.0}.get(v)
        out.append(
            CriterionResult(
                id=c.id,
                title=c.title,
                category=c.category.value,
                verdict=v,
                explanation=f"{c.id} {v.value}",
                weight=c.weight,
                points=points,
                attestation=c.attestation,
            )
        )
    return out


def run(verdicts: dict[str, Verdict], *, complete: bool = True, hosts: tuple[int, int] = (0, 0)) -> Any:
    rubric = make_rubric()
    frame = frame_of(rubric, results(rubric, verdicts))
    score, coverage, _ = oracle.numbers(rubric, verdicts, None)
    return decide(frame, score, coverage, complete=complete, hosts_total=hosts[0], hosts_reached=hosts[1])


CASES: list[tuple[str, dict[str, Verdict], Tier, Tier, bool, str, list[tuple[str, str, str]]]] = [
    # name, verdicts, floor, ceiling, rated, summary, held_down_by (bound, tier, kind)
    ("all pass", {"a": P, "b": P, "n": P, "s": P}, Tier.PLATINUM, Tier.PLATINUM, True, "Platinum", []),
    (
        "a measured gate fails: the ceiling is Underperforming too",
        {"a": F, "b": P, "n": P, "s": P},
        Tier.UNDERPERFORMING,
        Tier.UNDERPERFORMING,
        True,
        "Underperforming: Bronze needs a to pass; it fails",
        # Silver's own rules hold (a score of 73.3, its gate b passes): only Bronze's gate and the scores
        # of Gold and Platinum rule them out
        [("ceiling", "bronze", "gate"), ("ceiling", "gold", "score"), ("ceiling", "platinum", "score")],
    ),
    (
        "too little evidence: not rated",
        {"a": P, "b": NM, "n": NM, "s": NM},
        Tier.UNDERPERFORMING,
        Tier.PLATINUM,
        False,
        "Not rated: insufficient evidence (coverage 27%; Bronze needs 30%); between Underperforming and "
        "Platinum on this evidence",
        [("floor", "bronze", "coverage"), ("floor", "bronze", "score")],
    ),
    (
        "the missing attestation keeps it from Platinum",
        {"a": P, "b": P, "n": P, "s": NM},
        Tier.GOLD,
        Tier.PLATINUM,
        True,
        "at least Gold (up to Platinum: 1 not attested)",
        [("floor", "platinum", "coverage"), ("floor", "platinum", "gate"), ("floor", "platinum", "score")],
    ),
    (
        "a gate on an unknown criterion holds at the ceiling only",
        {"a": P, "b": F, "n": NM, "s": P},
        Tier.BRONZE,
        Tier.GOLD,
        True,
        "at least Bronze (up to Gold: 1 criterion not measured)",
        [("floor", "silver", "gate"), ("floor", "silver", "score"), ("ceiling", "platinum", "score")],
    ),
    (
        "category coverage: Gold needs every networking criterion measured",
        {"a": P, "b": W, "n": NA, "s": P},
        Tier.SILVER,
        Tier.SILVER,
        True,
        "Silver",
        [("ceiling", "gold", "category_coverage"), ("ceiling", "platinum", "score")],
    ),
    (
        "not applicable is out of both bounds",
        {"a": P, "b": NA, "n": P, "s": P},
        Tier.PLATINUM,
        Tier.PLATINUM,
        True,
        "Platinum",
        [],
    ),
]


@pytest.mark.parametrize(
    ("verdicts", "floor", "ceiling", "rated", "summary", "held"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_bounds_table(
    verdicts: dict[str, Verdict],
    floor: Tier,
    ceiling: Tier,
    rated: bool,
    summary: str,
    held: list[tuple[str, str, str]],
) -> None:
    d = run(verdicts)
    assert (d.floor, d.ceiling, d.rated) == (floor, ceiling, rated)
    assert d.summary == summary
    assert [(s.bound, s.tier.value, s.kind) for s in d.held_down_by] == held
    rubric = make_rubric()
    assert d.floor == oracle.tier(rubric, verdicts, "floor")
    assert d.ceiling == oracle.tier(rubric, verdicts, "ceiling")


def test_shortfalls_are_typed_with_observed_and_needed() -> None:
    d = run({"a": P, "b": NM, "n": NM, "s": NM})
    cov = d.held_down_by[0]
    assert (cov.kind, cov.observed, cov.needed, cov.criteria) == ("coverage", 0.2667, 0.3, [])
    assert cov.text == "Bronze needs 30% coverage: 27% of the rubric's weight was measured or attested"
    d = run({"a": P, "b": F, "n": NM, "s": P})
    gate = d.held_down_by[0]
    assert (gate.kind, gate.criteria, gate.verdicts, gate.allow_warn) == ("gate", ["b", "n"], [F, NM], True)
    assert gate.text == "Silver needs b or n to pass (a warn will do); b fails, n is not measured"
    d = run({"a": P, "b": W, "n": NA, "s": P})
    cat = d.held_down_by[0]
    assert (cat.kind, cat.category, cat.observed, cat.needed) == ("category_coverage", "networking", 0.0, 1.0)
    assert cat.text == "Gold needs 100% of Networking measured: none of it applies here"


def test_incomplete_bundle_and_unreached_hosts_are_not_rated() -> None:
    everything = {"a": P, "b": P, "n": P, "s": P}
    d = run(everything, complete=False)
    assert (d.rated, d.not_rated_reason, d.floor) == (False, "incomplete", Tier.PLATINUM)
    assert d.summary == (
        "Not rated: the bundle is incomplete (the audit stopped before it finished), so criteria were judged "
        "on part of the hosts; Platinum on the evidence it holds"
    )
    d = run({"a": NM, "b": NM, "n": NM, "s": NM}, hosts=(3, 0))
    assert (d.rated, d.not_rated_reason) == (False, "no_host_reached")
    assert d.summary == (
        "Not rated: the audit reached no host (3 of 3 could not be reached); between Underperforming and "
        "Platinum on this evidence"
    )


# ------------------------------------------------------------------------- property, by brute force

verdict = st.sampled_from([P, W, F, NM, NA])


@st.composite
def rubric_and_verdicts(draw: st.DrawFn) -> tuple[Rubric, dict[str, Verdict]]:
    n = draw(st.integers(2, 5))
    criteria = [
        {"id": f"c{i}", "category": draw(st.sampled_from(["security", "networking", "reliability"])),
         "weight": draw(st.sampled_from([1, 2, 3]))}
        for i in range(n)
    ]  # fmt: skip
    ids = [c["id"] for c in criteria]
    scores = sorted(draw(st.lists(st.integers(0, 100), min_size=4, max_size=4)), reverse=True)
    tiers = {}
    for name, min_score in zip(("platinum", "gold", "silver", "bronze"), scores, strict=True):
        gates = draw(st.lists(st.sampled_from(ids), max_size=2))
        tiers[name] = {
            "min_score": min_score,
            "min_coverage": draw(st.sampled_from([0.0, 0.3, 0.6, 0.9])),
            "min_category_coverage": draw(st.sampled_from([{}, {"networking": 0.5}])),
            "gates": [{"criteria": [g], "allow_warn": draw(st.booleans())} for g in gates],
        }
    rubric = make_rubric(criteria, tiers)
    return rubric, {c: draw(verdict) for c in ids}


@settings(max_examples=150, deadline=None)
@given(rubric_and_verdicts())
def test_floor_and_ceiling_bound_every_way_the_unknowns_could_turn_out(
    case: tuple[Rubric, dict[str, Verdict]],
) -> None:
    rubric, verdicts = case
    d = decide(
        frame_of(rubric, results(rubric, verdicts)), 0, 0, complete=True, hosts_total=0, hosts_reached=0
    )
    unknown = [c for c, v in verdicts.items() if v is NM]
    tiers = []
    for outcome in itertools.product([P, W, F, NM], repeat=len(unknown)):
        completed = {**verdicts, **dict(zip(unknown, outcome, strict=True))}
        tiers.append(oracle.ORDER.index(oracle.tier(rubric, completed)))
    # no way the unknown criteria could turn out (measured, or left unknown) gives a tier below the
    # floor; the ceiling is the tier if they all pass, the best there is
    assert oracle.ORDER.index(d.floor) <= min(tiers)
    assert oracle.ORDER.index(d.ceiling) == max(tiers)
    assert d.floor == oracle.tier(rubric, verdicts, "floor")
    assert d.ceiling == oracle.tier(rubric, {**verdicts, **dict.fromkeys(unknown, P)})
    assert d.rated == (d.floor is not Tier.UNDERPERFORMING or d.ceiling is Tier.UNDERPERFORMING)

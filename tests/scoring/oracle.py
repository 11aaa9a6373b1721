"""An independent, plain implementation of the rubric's tier rules, to check scoring against.

It knows nothing of clustermax.scoring's internals: given a rubric and one verdict per criterion it
computes the score and coverage the way docs/scoring.md states them, and the tier the rules give
(every lower tier's requirements included). ``floor``/``ceiling`` take the unknown (not measured)
criteria as failed/passed as the docs define the bounds.
"""

from __future__ import annotations

from collections.abc import Mapping

from clustermax.models import Tier, Verdict
from clustermax.scoring import Rubric

LADDER = [Tier.BRONZE, Tier.SILVER, Tier.GOLD, Tier.PLATINUM]
ORDER = [Tier.UNDERPERFORMING, *LADDER]

P, W, F, NM, NA = (
    Verdict.PASS,
    Verdict.WARN,
    Verdict.FAIL,
    Verdict.NOT_MEASURED,
    Verdict.NOT_APPLICABLE,
)


def numbers(
    rubric: Rubric, verdicts: Mapping[str, Verdict], bound: str | None, *, exact: bool = False
) -> tuple[float, float, dict[str, float]]:
    """(score, coverage, coverage per category), rounded as clustermax reports them (``exact``: not)."""
    cat_score: dict[str, float] = {}
    cat_cov: dict[str, float] = {}
    for cat in rubric.categories:
        mine = [c for c in rubric.criteria if c.category == cat.id and verdicts[c.id] is not NA]
        applicable = sum(c.weight for c in mine)
        judged = points = covered = 0.0
        for c in mine:
            v = verdicts[c.id]
            if v is NM and bound == "ceiling":
                v = P
            if v is NM and bound == "floor":
                judged += c.weight  # counts as a fail in the score, not as covered
                continue
            if v is NM:
                continue
            judged += c.weight
            covered += c.weight
            points += c.weight if v is P else (c.weight * rubric.warn_credit if v is W else 0.0)
        if judged > 0:
            cat_score[cat.id.value] = 100 * points / judged
        if applicable > 0:
            cat_cov[cat.id.value] = covered / applicable
    weights = {c.id.value: c.weight for c in rubric.categories}
    score = (
        sum(weights[k] * v for k, v in cat_score.items()) / sum(weights[k] for k in cat_score)
        if cat_score
        else 0.0
    )
    coverage = (
        sum(weights[k] * v for k, v in cat_cov.items()) / sum(weights[k] for k in cat_cov) if cat_cov else 0.0
    )
    if exact:
        return score, coverage, cat_cov
    return round(score, 2), round(coverage, 4), {k: round(v, 4) for k, v in cat_cov.items()}


def gate_holds(
    criteria: list[str], allow_warn: bool, verdicts: Mapping[str, Verdict], bound: str | None
) -> bool:
    found = [verdicts[c] for c in criteria if c in verdicts]
    if found and all(v is NA for v in found):
        return True
    good = {P, W} if allow_warn else {P}
    if bound == "ceiling":
        good.add(NM)
    return any(v in good for v in found)


def requirements_met(rubric: Rubric, tier: Tier, verdicts: Mapping[str, Verdict], bound: str | None) -> bool:
    score, coverage, cat_cov = numbers(rubric, verdicts, bound)
    rule = rubric.tiers[tier]
    if score + 1e-9 < rule.min_score or coverage + 1e-9 < rule.min_coverage:
        return False
    if any(cat_cov.get(cat.value, 0.0) + 1e-9 < need for cat, need in rule.min_category_coverage.items()):
        return False
    return all(gate_holds(g.criteria, g.allow_warn, verdicts, bound) for g in rule.gates)


def tier(rubric: Rubric, verdicts: Mapping[str, Verdict], bound: str | None = None) -> Tier:
    """The highest tier whose rules, and every lower tier's, hold (None: the plain rule on this evidence)."""
    reached = Tier.UNDERPERFORMING
    for t in LADDER:
        if not requirements_met(rubric, t, verdicts, bound):
            break
        reached = t
    return reached

"""The tier range a bundle's evidence decides: floor, ceiling, rated or not, and why (typed shortfalls).

A criterion that was not measured (or not attested) is unknown, never a pass or a fail. The rubric's own
rules are applied at two bounds:

* **floor**: every unknown criterion counts as failed: it earns no points (the score is the worst it could
  be) and satisfies no gate; coverage is what was measured or attested (a tier needs that much evidence).
* **ceiling**: every unknown criterion counts as passed, and as measured: the best the cluster could be.

Not applicable criteria stay out of both. A tier also needs every lower tier's requirements (as ever).
The decided tier is the floor; when the floor is Underperforming only because evidence is missing (the
ceiling is higher), the bundle is *not rated*. Everything here is a pure function of the evaluated
criteria and the rubric.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from ..models.score import (
    TIER_LABEL,
    TIER_ORDER,
    Bound,
    CriterionResult,
    NotRatedReason,
    Shortfall,
    ShortfallKind,
    Tier,
    Verdict,
)
from .rubric import RANKED_TIERS, Gate, Rubric

EPS = 1e-9

_PASS, _WARN, _FAIL = Verdict.PASS, Verdict.WARN, Verdict.FAIL
_NM, _NA = Verdict.NOT_MEASURED, Verdict.NOT_APPLICABLE


@dataclass
class GateRef:
    tier: Tier
    gate: Gate
    members: list[int]
    """Indexes (into Frame.ids) of the gate's criteria that the rubric has."""


@dataclass
class Frame:
    """The evaluated criteria as arrays, and the rubric's categories and gates, for fast bound arithmetic."""

    rubric: Rubric
    ids: list[str]
    titles: list[str]
    weights: list[float]
    cats: list[int]
    attested_kind: list[bool]
    """True for criteria that read an attestation (their unknown is 'not attested')."""
    verdicts: list[Verdict]
    cat_ids: list[str]
    cat_titles: list[str]
    cat_weights: list[float]
    applicable: list[float] = field(default_factory=list)
    """Per category: weight of its criteria that are not 'not applicable'."""
    gates: dict[Tier, list[GateRef]] = field(default_factory=dict)
    cat_needs: dict[Tier, list[tuple[int, float]]] = field(default_factory=dict)
    index: dict[str, int] = field(default_factory=dict)
    sums: Sums | None = None
    """Per category weights by verdict (of ``verdicts``)."""
    cache: dict[object, object] = field(default_factory=dict)
    """Facts that depend only on the rubric (shared by every frame made from the same template)."""


def frame_of(rubric: Rubric, criteria: Sequence[CriterionResult]) -> Frame:
    """The frame of evaluated criteria (in rubric order); the rubric's part is built once and cached."""
    template: Frame | None = rubric._plan.get("frame")
    if template is None or template.ids != [c.id for c in criteria]:
        template = _template(rubric, criteria)
        rubric._plan["frame"] = template
    verdicts = [c.verdict for c in criteria]
    sums = sums_of(template, verdicts)
    applicable = [
        p + w + f + u for p, w, f, u in zip(sums.passed, sums.warned, sums.failed, sums.unknown, strict=True)
    ]
    return replace(template, verdicts=verdicts, applicable=applicable, sums=sums)


def _template(rubric: Rubric, criteria: Sequence[CriterionResult]) -> Frame:
    cat_ids = [c.id.value for c in rubric.categories]
    cat_pos = {c: i for i, c in enumerate(cat_ids)}
    frame = Frame(
        rubric=rubric,
        ids=[c.id for c in criteria],
        titles=[c.title for c in criteria],
        weights=[float(c.weight) for c in criteria],
        cats=[cat_pos.get(c.category, -1) for c in criteria],
        attested_kind=[c.attestation is not None for c in criteria],
        verdicts=[],
        cat_ids=cat_ids,
        cat_titles=[c.title for c in rubric.categories],
        cat_weights=[float(c.weight) for c in rubric.categories],
    )
    frame.index = {cid: i for i, cid in enumerate(frame.ids)}
    for tier in RANKED_TIERS:
        rule = rubric.tiers[tier]
        frame.gates[tier] = [
            GateRef(tier, gate, [frame.index[name] for name in gate.criteria if name in frame.index])
            for gate in rule.gates
        ]
        frame.cat_needs[tier] = [
            (cat_pos[cat.value], need) for cat, need in rule.min_category_coverage.items()
        ]
    return frame


# ------------------------------------------------------------------------------------------ arithmetic


@dataclass
class Stats:
    score: float
    coverage: float
    cat_coverage: list[float]
    cat_score: list[float | None]


@dataclass
class Sums:
    """Per category: the weight of its criteria that pass, warn, fail and are unknown (not measured)."""

    passed: list[float]
    warned: list[float]
    failed: list[float]
    unknown: list[float]

    def copy(self) -> Sums:
        return Sums(list(self.passed), list(self.warned), list(self.failed), list(self.unknown))

    def make_pass(self, frame: Frame, i: int) -> None:
        """Account criterion ``i`` as passing (an action applied)."""
        c, w, v = frame.cats[i], frame.weights[i], frame.verdicts[i]
        if c < 0:
            return
        if v is _NM:
            self.unknown[c] -= w
        elif v is _FAIL:
            self.failed[c] -= w
        elif v is _WARN:
            self.warned[c] -= w
        else:
            return
        self.passed[c] += w


def sums_of(frame: Frame, verdicts: Sequence[Verdict]) -> Sums:
    n_cat = len(frame.cat_ids)
    out = Sums([0.0] * n_cat, [0.0] * n_cat, [0.0] * n_cat, [0.0] * n_cat)
    buckets = {_PASS: out.passed, _WARN: out.warned, _FAIL: out.failed, _NM: out.unknown}
    for w, c, v in zip(frame.weights, frame.cats, verdicts, strict=True):
        bucket = buckets.get(v)
        if c >= 0 and bucket is not None:
            bucket[c] += w
    return out


def stats(frame: Frame, sums: Sums, bound: Bound | None) -> Stats:
    """Score and coverage with the unknown criteria taken as the bound says (rounded as reported).

    ``None`` (as observed): unknown criteria earn and lose nothing; ``floor``: they earn nothing (score) and
    are not covered; ``ceiling``: they earn their full weight and are covered.
    """
    warn_credit = frame.rubric.warn_credit
    score_num = score_den = cov_num = cov_den = 0.0
    cat_coverage = [0.0] * len(frame.cat_ids)
    cat_score: list[float | None] = [None] * len(frame.cat_ids)
    floor, ceiling = bound == "floor", bound == "ceiling"
    for c, (cw, applicable, passed, warned, failed, unknown) in enumerate(
        zip(
            frame.cat_weights,
            frame.applicable,
            sums.passed,
            sums.warned,
            sums.failed,
            sums.unknown,
            strict=True,
        )
    ):
        measured = passed + warned + failed
        points = passed + warned * warn_credit
        judged = covered = measured
        if floor:
            judged += unknown
        elif ceiling:
            judged += unknown
            covered += unknown
            points += unknown
        if judged > 0:
            category_score = 100.0 * points / judged
            cat_score[c] = round(category_score, 2)
            score_num += cw * category_score
            score_den += cw
        if applicable > 0:
            cat_coverage[c] = round(covered / applicable, 4)
            cov_num += cw * covered / applicable
            cov_den += cw
    return Stats(
        score=round(score_num / score_den, 2) if score_den > 0 else 0.0,
        coverage=round(cov_num / cov_den, 4) if cov_den > 0 else 0.0,
        cat_coverage=cat_coverage,
        cat_score=cat_score,
    )


def gate_holds(gate: GateRef, verdicts: Sequence[Verdict], bound: Bound) -> bool:
    """Any of its criteria passes (or warns, with allow_warn); or all of them are not applicable."""
    allow_warn = gate.gate.allow_warn
    unknown_passes = bound == "ceiling"
    all_na = bool(gate.members)
    for i in gate.members:
        v = verdicts[i]
        if v is _PASS or (allow_warn and v is _WARN) or (unknown_passes and v is _NM):
            return True
        if v is not _NA:
            all_na = False
    return all_na


@dataclass
class Miss:
    """One requirement a tier does not meet at a bound (before it becomes a Shortfall with words)."""

    tier: Tier
    kind: ShortfallKind
    gate: GateRef | None = None
    category: int | None = None
    observed: float | None = None
    needed: float | None = None


def tier_at(
    frame: Frame, verdicts: Sequence[Verdict], bound: Bound, st: Stats, *, first_only: bool = False
) -> tuple[Tier, list[Miss]]:
    """The highest tier whose requirements, and those of every tier below it, hold at this bound; and
    every requirement that does not hold, for every tier (``first_only``: stop at the first tier missed)."""
    achieved = Tier.UNDERPERFORMING
    misses: list[Miss] = []
    blocked = False
    rubric = frame.rubric
    for tier in reversed(RANKED_TIERS):  # bronze first
        rule = rubric.tiers[tier]
        mine: list[Miss] = []
        if st.score + EPS < rule.min_score:
            mine.append(Miss(tier, "score", observed=st.score, needed=rule.min_score))
        if st.coverage + EPS < rule.min_coverage:
            mine.append(Miss(tier, "coverage", observed=st.coverage, needed=rule.min_coverage))
        for c, need in frame.cat_needs[tier]:
            if st.cat_coverage[c] + EPS < need:
                mine.append(
                    Miss(tier, "category_coverage", category=c, observed=st.cat_coverage[c], needed=need)
                )
        for gate in frame.gates[tier]:
            if not gate_holds(gate, verdicts, bound):
                mine.append(Miss(tier, "gate", gate=gate))
        if mine:
            blocked = True
            misses.extend(mine)
            if first_only:
                break
        elif not blocked:
            achieved = tier
    return achieved, misses


def floor_tier(frame: Frame, verdicts: Sequence[Verdict], sums: Sums | None = None) -> Tier:
    st = stats(frame, sums or frame.sums or sums_of(frame, verdicts), "floor")
    return tier_at(frame, verdicts, "floor", st, first_only=True)[0]


def rank(tier: Tier) -> int:
    return TIER_ORDER.index(tier)


# ------------------------------------------------------------------------------------------ in words

_VERDICT_WORDS = {
    _PASS: "passes",
    _WARN: "warns",
    _FAIL: "fails",
    _NA: "is not applicable",
}


def verdict_words(frame: Frame, i: int) -> str:
    v = frame.verdicts[i]
    if v is _NM:
        return "is not attested" if frame.attested_kind[i] else "is not measured"
    return _VERDICT_WORDS[v]


def _pct(x: float | None) -> str:
    return f"{(x or 0.0) * 100:.0f}%"


def _gate_words(frame: Frame, gate: GateRef) -> str:
    names = " or ".join(gate.gate.criteria)
    warn = " (a warn will do)" if gate.gate.allow_warn else ""
    if len(gate.members) == 1:
        return f"needs {names} to pass{warn}; it {verdict_words(frame, gate.members[0])}"
    states = ", ".join(f"{frame.ids[i]} {verdict_words(frame, i)}" for i in gate.members)
    return f"needs {names} to pass{warn}; {states}"


def shortfall_text(frame: Frame, miss: Miss, bound: Bound, observed_score: float, unknown: int) -> str:
    t = TIER_LABEL[miss.tier]
    if miss.kind == "gate":
        assert miss.gate is not None
        return f"{t} {_gate_words(frame, miss.gate)}"
    if miss.kind == "score":
        if bound == "floor":
            which = "the criterion" if unknown == 1 else f"the {unknown} criteria"
            return (
                f"{t} needs a score of {miss.needed:g}: {miss.observed:.1f} if {which} not measured or "
                f"attested failed ({observed_score:.1f} on what was)"
            )
        return (
            f"{t} needs a score of {miss.needed:g}: at most {miss.observed:.1f}, even if every criterion "
            "passed"
        )
    if miss.kind == "coverage":
        return (
            f"{t} needs {_pct(miss.needed)} coverage: {_pct(miss.observed)} of the rubric's weight was "
            "measured or attested"
        )
    assert miss.category is not None
    title = frame.cat_titles[miss.category]
    if frame.applicable[miss.category] <= 0:
        return f"{t} needs {_pct(miss.needed)} of {title} measured: none of it applies here"
    return f"{t} needs {_pct(miss.needed)} of {title} measured: {_pct(miss.observed)} was"


_KIND_ORDER: dict[str, dict[str, int]] = {
    "floor": {"coverage": 0, "category_coverage": 1, "gate": 2, "score": 3},
    "ceiling": {"gate": 0, "score": 1, "category_coverage": 2, "coverage": 3},
}


def to_shortfall(frame: Frame, miss: Miss, bound: Bound, observed_score: float, unknown: int) -> Shortfall:
    gate = miss.gate
    return Shortfall(
        bound=bound,
        tier=miss.tier,
        kind=miss.kind,
        criteria=list(gate.gate.criteria) if gate else [],
        verdicts=[frame.verdicts[i] for i in gate.members] if gate else [],
        allow_warn=gate.gate.allow_warn if gate else False,
        category=frame.cat_ids[miss.category] if miss.category is not None else None,
        observed=miss.observed,
        needed=miss.needed,
        text=shortfall_text(frame, miss, bound, observed_score, unknown),
    )


# ------------------------------------------------------------------------------------------ decision


@dataclass
class Decision:
    floor: Tier
    ceiling: Tier
    rated: bool
    not_rated_reason: NotRatedReason | None
    score_floor: float
    score_ceiling: float
    not_measured: int
    not_attested: int
    held_down_by: list[Shortfall]
    summary: str


def decide(
    frame: Frame,
    observed_score: float,
    observed_coverage: float,
    *,
    complete: bool,
    hosts_total: int,
    hosts_reached: int,
) -> Decision:
    verdicts = frame.verdicts
    sums = frame.sums or sums_of(frame, verdicts)
    floor_stats = stats(frame, sums, "floor")
    ceiling_stats = stats(frame, sums, "ceiling")
    floor, floor_misses = tier_at(frame, verdicts, "floor", floor_stats)
    ceiling, ceiling_misses = tier_at(frame, verdicts, "ceiling", ceiling_stats)
    unknown_kinds = [a for v, a in zip(verdicts, frame.attested_kind, strict=True) if v is _NM]
    not_attested = sum(unknown_kinds)
    not_measured = len(unknown_kinds) - not_attested
    unknown = not_measured + not_attested

    # why the floor is not one tier higher (unless that tier is above the ceiling: then the ceiling says
    # why), and what measured evidence rules out each tier above the ceiling
    chosen: list[tuple[Bound, Miss]] = [
        ("floor", m) for m in floor_misses if rank(m.tier) == rank(floor) + 1 <= rank(ceiling)
    ]
    chosen += [("ceiling", m) for m in ceiling_misses if rank(m.tier) > rank(ceiling)]
    gate_pos = {id(g): k for _, m in chosen if m.gate for k, g in enumerate(frame.gates[m.tier])}

    def importance(item: tuple[Bound, Miss]) -> tuple[int, int, int]:
        bound, m = item
        return (rank(m.tier), _KIND_ORDER[bound][m.kind], gate_pos.get(id(m.gate), 0) if m.gate else 0)

    chosen.sort(key=importance)
    held = [to_shortfall(frame, m, bound, observed_score, unknown) for bound, m in chosen]

    reason: NotRatedReason | None = None
    if not complete:
        reason = "incomplete"
    elif hosts_total > 0 and hosts_reached == 0:
        reason = "no_host_reached"
    elif floor is Tier.UNDERPERFORMING and ceiling is not Tier.UNDERPERFORMING:
        reason = "insufficient_evidence"
    summary = _summary(
        frame, floor, ceiling, reason, held, observed_coverage, not_measured, not_attested, hosts_total
    )
    return Decision(
        floor=floor,
        ceiling=ceiling,
        rated=reason is None,
        not_rated_reason=reason,
        score_floor=floor_stats.score,
        score_ceiling=ceiling_stats.score,
        not_measured=not_measured,
        not_attested=not_attested,
        held_down_by=held,
        summary=summary,
    )


def unknown_words(not_measured: int, not_attested: int) -> str:
    parts = []
    if not_measured:
        parts.append(f"{not_measured} criteri{'on' if not_measured == 1 else 'a'} not measured")
    if not_attested:
        parts.append(f"{not_attested} not attested")
    return ", ".join(parts)


def _short_reason(s: Shortfall) -> str:
    """A shortfall of the floor in a few words, for the not-rated sentence."""
    t = TIER_LABEL[s.tier]
    if s.kind == "coverage":
        return f"coverage {_pct(s.observed)}; {t} needs {_pct(s.needed)}"
    if s.kind == "category_coverage":
        return f"{s.category} coverage {_pct(s.observed)}; {t} needs {_pct(s.needed)}"
    if s.kind == "gate":
        states = ", ".join(
            f"{c} {'not measured' if v is _NM else v.value.replace('_', ' ')}"
            for c, v in zip(s.criteria, s.verdicts, strict=True)
        )
        return f"{states}; {t} needs {' or '.join(s.criteria)} to pass"
    return f"worst-case score {s.observed:.1f}; {t} needs {s.needed:g}"


def _summary(
    frame: Frame,
    floor: Tier,
    ceiling: Tier,
    reason: NotRatedReason | None,
    held: list[Shortfall],
    coverage: float,
    not_measured: int,
    not_attested: int,
    hosts_total: int,
) -> str:
    lo, hi = TIER_LABEL[floor], TIER_LABEL[ceiling]
    between = f"between {lo} and {hi}" if floor is not ceiling else lo
    if reason == "incomplete":
        return (
            "Not rated: the bundle is incomplete (the audit stopped before it finished), so criteria were "
            f"judged on part of the hosts; {between} on the evidence it holds"
        )
    if reason == "no_host_reached":
        return (
            f"Not rated: the audit reached no host ({hosts_total} of {hosts_total} could not be reached); "
            f"{between} on this evidence"
        )
    if reason == "insufficient_evidence":
        first = next((s for s in held if s.bound == "floor" and s.tier is Tier.BRONZE), None)
        why = _short_reason(first) if first is not None else f"coverage {_pct(coverage)}"
        return f"Not rated: insufficient evidence ({why}); {between} on this evidence"
    if floor is Tier.UNDERPERFORMING:  # the ceiling too: measured evidence rules out Bronze
        first = next((s for s in held if s.bound == "ceiling"), None)
        return f"Underperforming: {first.text}" if first is not None else "Underperforming"
    if floor is ceiling:
        return lo
    unknown = unknown_words(not_measured, not_attested)
    return f"at least {lo} (up to {hi}" + (f": {unknown})" if unknown else ")")


def hypothetical_floor(frame: Frame, passing: Sequence[int]) -> tuple[Tier, float]:
    """The floor (and its score) if the given criteria passed: what applying advice would give."""
    verdicts = list(frame.verdicts)
    for i in passing:
        verdicts[i] = _PASS
    st = stats(frame, sums_of(frame, verdicts), "floor")
    return tier_at(frame, verdicts, "floor", st)[0], st.score

"""Tier-gap advice: the fewest actions that lift the floor to the next tier, found exactly.

An action turns one criterion into a pass: *measure* a criterion that was not measured (assuming it
passes), *attest* an attestation criterion that was not attested, or *fix* one that fails or warns. The
target is the next tier above the floor; the floor after the actions must reach it, with the rubric's own
rules (every lower tier's requirements included) and the floor's convention (what stays unknown counts as
failed; coverage is what was measured).

After the actions, the floor score, the coverage and each category's coverage are the current ones plus
a fixed amount per action (in the floor every applicable criterion is judged, so the denominators do not
move), and a gate holds once one of its criteria is acted on. So the question is a small covering
problem: linear requirements plus "hit every unsatisfied gate". It is solved by branch and bound over
the candidates (grouped when interchangeable: same category, same gains, same gates), biggest score gain
first, pruned with exact bounds (the best gains the remaining slots can add), every candidate solution
checked against the full floor computation. The search stops after ``budget`` steps; the answer then
still reaches the target but is marked not minimal.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..models.score import TIER_LABEL, Advice, AdviceAction, CriterionResult, Tier, Verdict
from .bounds import Frame, GateRef, floor_tier, rank, sums_of
from .catalog import MetricCatalog
from .rubric import RANKED_TIERS

BUDGET = 20000
"""Search steps before the search stops with the best set found so far (marked not minimal)."""

_SCORE_SLACK = 0.005 + 1e-9  # the score is rounded to 2 decimals: a sum this much lower may round up
_COVERAGE_SLACK = 0.00005 + 1e-9  # coverage is rounded to 4 decimals
_INF = 10**9


class _Stop(Exception):
    pass


@dataclass
class Plan:
    target: Tier | None
    reachable: bool
    chosen: list[int]
    minimal: bool


@dataclass
class _Requirements:
    score: float
    coverage: float
    cats: dict[int, float]
    gates: list[GateRef]


def _requirements(frame: Frame, target: Tier) -> _Requirements:
    """What the floor must meet for ``target``: its own requirements and every lower tier's."""
    rubric = frame.rubric
    tiers = [t for t in RANKED_TIERS if rank(t) <= rank(target)]
    score = max(rubric.tiers[t].min_score for t in tiers)
    coverage = max(rubric.tiers[t].min_coverage for t in tiers)
    cats: dict[int, float] = {}
    for t in tiers:
        for cat, need in rubric.tiers[t].min_category_coverage.items():
            c = frame.cat_ids.index(cat.value)
            cats[c] = max(cats.get(c, 0.0), need)
    gates: list[GateRef] = []
    seen: set[tuple[tuple[str, ...], bool]] = set()
    for t in reversed(tiers):  # bronze first: the order gates are listed in
        for g in frame.gates[t]:
            key = (tuple(g.gate.criteria), g.gate.allow_warn)
            if key not in seen:
                seen.add(key)
                gates.append(g)
    return _Requirements(score, coverage, cats, gates)


def plan(frame: Frame, budget: int = BUDGET, floor: Tier | None = None) -> Plan:
    """The smallest set of criteria to act on so that the floor reaches the next tier."""
    verdicts = frame.verdicts
    floor = floor or floor_tier(frame, verdicts)
    if floor is Tier.PLATINUM:
        return Plan(None, True, [], True)
    target = next(t for t in reversed(RANKED_TIERS) if rank(t) == rank(floor) + 1)
    key = ("requirements", target)
    cached = frame.cache.get(key)
    if not isinstance(cached, _Requirements):
        cached = _requirements(frame, target)
        frame.cache[key] = cached
    need_score, need_cov, need_cats, gates = cached.score, cached.coverage, cached.cats, cached.gates

    warn_credit = frame.rubric.warn_credit
    n_cat = len(frame.cat_ids)
    active = [c for c in range(n_cat) if frame.applicable[c] > 0]
    total_cw = sum(frame.cat_weights[c] for c in active)
    if total_cw <= 0:
        return Plan(target, False, [], True)

    # the floor now, unrounded, and what each candidate adds
    base = frame.sums or sums_of(frame, verdicts)
    cands = [
        i
        for i, (c, v) in enumerate(zip(frame.cats, verdicts, strict=True))
        if c >= 0 and v is not Verdict.PASS and v is not Verdict.NOT_APPLICABLE
    ]
    score0 = cov0 = 0.0
    for c in active:
        applicable, cw = frame.applicable[c], frame.cat_weights[c]
        score0 += cw * 100.0 * (base.passed[c] + base.warned[c] * warn_credit) / applicable
        cov0 += cw * (base.passed[c] + base.warned[c] + base.failed[c]) / applicable
    score0 /= total_cw
    cov0 /= total_cw
    cat0 = {
        c: (base.passed[c] + base.warned[c] + base.failed[c]) / frame.applicable[c]
        if frame.applicable[c] > 0
        else 0.0
        for c in need_cats
    }

    ds: dict[int, float] = {}
    dc: dict[int, float] = {}
    for i in cands:
        c, w, v = frame.cats[i], frame.weights[i], verdicts[i]
        share = frame.cat_weights[c] / frame.applicable[c] / total_cw
        ds[i] = 100.0 * share * (w - w * warn_credit if v is Verdict.WARN else w)
        dc[i] = share * w if v is Verdict.NOT_MEASURED else 0.0

    def dk(i: int, c: int) -> float:
        if frame.cats[i] != c or verdicts[i] is not Verdict.NOT_MEASURED:
            return 0.0
        return frame.weights[i] / frame.applicable[c]

    # gates the floor does not meet now, as bitmasks over the candidates
    open_gates: list[set[int]] = []
    for g in gates:
        found = [verdicts[i] for i in g.members]
        if found and all(v is Verdict.NOT_APPLICABLE for v in found):
            continue
        if any(v is Verdict.PASS or (v is Verdict.WARN and g.gate.allow_warn) for v in found):
            continue
        members = {i for i in g.members if i in ds}
        if not members:
            return Plan(target, False, [], True)
        open_gates.append(members)
    gate_of: dict[int, int] = {i: 0 for i in cands}
    for k, members in enumerate(open_gates):
        for i in members:
            gate_of[i] |= 1 << k
    all_gates = (1 << len(open_gates)) - 1
    per_candidate = max((bin(m).count("1") for m in gate_of.values()), default=1) or 1

    res_score = need_score - _SCORE_SLACK - score0
    res_cov = need_cov - _COVERAGE_SLACK - cov0
    res_cats = {c: need - _COVERAGE_SLACK - cat0[c] for c, need in need_cats.items()}

    def exact(chosen: Sequence[int]) -> bool:
        trial = list(verdicts)
        sums = base.copy()
        for i in chosen:
            trial[i] = Verdict.PASS
            sums.make_pass(frame, i)
        return rank(floor_tier(frame, trial, sums)) >= rank(target)

    # biggest score gain first
    order = sorted(cands, key=lambda i: (-ds[i], -dc[i], frame.cats[i], gate_of[i], i))
    position = {i: k for k, i in enumerate(order)}

    def prefix(values: list[float]) -> list[float]:
        out = [0.0]
        for v in sorted(values, reverse=True):
            out.append(out[-1] + v)
        return out

    def slots(cum: list[float], need: float, start: int = 0) -> int:
        if need <= 0:
            return 0
        pos = bisect_left(cum, cum[start] + need - 1e-12, lo=start)
        return _INF if pos >= len(cum) else pos - start

    cum_score = [0.0]
    for i in order:
        cum_score.append(cum_score[-1] + ds[i])
    cum_cov = prefix([dc[i] for i in cands]) if res_cov > 0 else [0.0]
    cum_cat = {c: prefix([dk(i, c) for i in cands]) if res_cats[c] > 0 else [0.0] for c in need_cats}

    # a first answer: hit the gates, then add the biggest gains until every requirement is met
    chosen: list[int] = []
    hit = 0
    for k, members in enumerate(open_gates):
        if not hit >> k & 1:
            pick = min(members, key=position.__getitem__)
            chosen.append(pick)
            hit |= gate_of[pick]
    needs: list[tuple[dict[int, float], float]] = [(ds, res_score), (dc, res_cov)]
    needs += [({i: dk(i, c) for i in cands}, r) for c, r in res_cats.items() if r > 0]
    for gain, need in needs:
        have = sum(gain[i] for i in chosen)
        if have >= need:
            continue
        for i in sorted(cands, key=lambda j: (-gain[j], position[j])):
            if have >= need:
                break
            if i not in chosen and gain[i] > 0:
                chosen.append(i)
                have += gain[i]
    if not exact(chosen):
        taken = set(chosen)
        chosen += [i for i in order if i not in taken]
        if not exact(chosen):  # every candidate acted on still misses the target
            return Plan(target, False, [], True)
        while len(chosen) > 1 and exact(chosen[:-1]):  # back off the surplus
            chosen.pop()
    # no set smaller than this can meet the requirements, each on its own: a first answer of that size is
    # the answer, without a search
    disjoint: list[set[int]] = []
    for members in sorted(open_gates, key=len):
        if all(not (members & other) for other in disjoint):
            disjoint.append(members)
    lower_bound = max(
        [slots(cum_score, res_score), slots(cum_cov, res_cov), len(disjoint)]
        + [slots(cum_cat[c], r) for c, r in res_cats.items()]
    )
    if len(chosen) <= lower_bound:
        return Plan(target, True, sorted(chosen), True)

    # groups of interchangeable candidates, in the same order
    groups: list[list[int]] = []
    for i in order:
        last = groups[-1][0] if groups else None
        if (
            last is not None
            and ds[last] == ds[i]
            and dc[last] == dc[i]
            and frame.cats[last] == frame.cats[i]
            and gate_of[last] == gate_of[i]
            and (verdicts[last] is Verdict.NOT_MEASURED) == (verdicts[i] is Verdict.NOT_MEASURED)
        ):
            groups[-1].append(i)
        else:
            groups.append([i])
    starts: list[int] = []
    pos = 0
    for grp in groups:
        starts.append(pos)
        pos += len(grp)
    last_group = [
        max(g for g, grp in enumerate(groups) if gate_of[grp[0]] >> k & 1) for k in range(len(open_gates))
    ]
    best: list[int] = list(chosen)
    steps = 0

    def search(g: int, picked: list[int], r_s: float, r_c: float, r_k: dict[int, float], gmask: int) -> None:
        nonlocal best, steps
        if r_s <= 0 and r_c <= 0 and gmask == 0 and all(v <= 0 for v in r_k.values()) and exact(picked):
            if len(picked) < len(best):
                best = list(picked)
            return
        if g >= len(groups):
            return
        steps += 1
        if steps > budget:
            raise _Stop
        room = len(best) - 1 - len(picked)
        if room <= 0:
            return
        need = max(
            slots(cum_score, r_s, starts[g]),
            slots(cum_cov, r_c),
            max((slots(cum_cat[c], r) for c, r in r_k.items()), default=0),
            -(-bin(gmask).count("1") // per_candidate),
        )
        if need > room:
            return
        if any(gmask >> k & 1 and last_group[k] < g for k in range(len(open_gates))):
            return
        grp = groups[g]
        first = grp[0]
        for m in range(min(len(grp), room), -1, -1):
            members = grp[:m]
            new_k = {c: r - m * dk(first, c) for c, r in r_k.items()} if m else r_k
            search(
                g + 1,
                picked + members,
                r_s - m * ds[first],
                r_c - m * dc[first],
                new_k,
                gmask & ~gate_of[first] if m else gmask,
            )

    minimal = True
    try:
        search(0, [], res_score, res_cov, res_cats, all_gates)
    except _Stop:
        minimal = False
    return Plan(target, True, sorted(best), minimal)


# ------------------------------------------------------------------------------------------ in words


def _obs(value: Any, unit: str | None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = f"{value:.6g}" if isinstance(value, float) else str(value)
    return f"{text} {unit}" if unit and unit not in ("text", "bool", "version", "count", "ratio") else text


def action_of(crit: CriterionResult, rubric_needs: str | None, catalog: MetricCatalog) -> AdviceAction:
    needed = crit.threshold
    if crit.verdict in (Verdict.FAIL, Verdict.WARN):
        observed = _obs(crit.observed, crit.unit)
        hosts = [h for h in crit.hosts if h != "cluster"]
        on = ""
        if hosts:
            on = " on " + ", ".join(hosts[:5]) + (f" and {len(hosts) - 5} more" if len(hosts) > 5 else "")
        text = f"fix {crit.id} ({crit.title}): {observed}{on}, needs {needed or 'a pass'}"
        if crit.remediation:
            text += f": {crit.remediation}"
        return AdviceAction(
            kind="fix",
            criterion=crit.id,
            title=crit.title,
            verdict=crit.verdict,
            observed=crit.observed,
            unit=crit.unit,
            needed=needed,
            remediation=crit.remediation,
            text=text,
        )
    # a threshold that needs a hardware reference this profile lacks: say which profile keys to give
    why = ""
    if "hardware reference" in crit.explanation:
        why = "; " + crit.explanation.removeprefix("Not measured: ").rstrip(".")
    if crit.attestation is not None:
        if needed is not None and needed.startswith(("pass: true", "pass: false")):
            value = " = " + needed.removeprefix("pass: ").split(";")[0]
        else:
            value = f" ({needed.split(';')[0]})" if needed else ""
        return AdviceAction(
            kind="attest",
            criterion=crit.id,
            title=crit.title,
            verdict=crit.verdict,
            attestation=crit.attestation,
            needed=needed,
            text=f"attest {crit.attestation}{value} with evidence: {crit.title}{why}",
        )
    probes = sorted({catalog.metrics[m].probe for m in crit.metrics if m in catalog.metrics})
    runs = [f"{p} {catalog.probes[p].where()}" if p in catalog.probes else p for p in probes]
    probe = probes[0] if probes else None
    info = catalog.probes.get(probe) if probe else None
    where: str | None = info.where() if info is not None else None
    how = ("run " + " or ".join(runs)) if runs else "measure it"
    if rubric_needs:
        how += f"; it needs {rubric_needs}"
    return AdviceAction(
        kind="measure",
        criterion=crit.id,
        title=crit.title,
        verdict=crit.verdict,
        probe=probe,
        where=where,
        needed=needed,
        text=f"measure {crit.id} ({crit.title}): {how}{why}",
    )


_KIND_RANK = {"fix": 0, "measure": 1, "attest": 2}


def _short(action: AdviceAction) -> str:
    return f"{action.kind} {action.attestation or action.criterion}"


def advice_words(
    target: Tier | None, reachable: bool, actions: list[AdviceAction], minimal: bool
) -> tuple[str, str]:
    """(text, headline) of the advice."""
    if target is None:
        return "", ""
    t = TIER_LABEL[target]
    if not reachable:
        text = f"No set of actions reaches {t} under this rubric (a requirement cannot be met here)."
        return text, text
    if not actions:
        return "", ""
    note = "" if minimal else " (the search stopped at its step bound: a smaller set may exist)"
    text = f"To reach {t}: " + "; ".join(a.text.rstrip(".") for a in actions) + f"{note}."
    named = ", ".join(_short(a) for a in actions[:4])
    more = f" and {len(actions) - 4} more" if len(actions) > 4 else ""
    return text, f"To reach {t}: {named}{more}"


def build_advice(
    frame: Frame,
    criteria: Sequence[CriterionResult],
    needs: dict[str, str | None],
    catalog: MetricCatalog,
    budget: int = BUDGET,
    floor: Tier | None = None,
) -> Advice:
    result = plan(frame, budget, floor)
    actions = [action_of(criteria[i], needs.get(criteria[i].id), catalog) for i in result.chosen]
    actions.sort(key=lambda a: (_KIND_RANK[a.kind], frame.index[a.criterion]))
    text, headline = advice_words(result.target, result.reachable, actions, result.minimal)
    return Advice(
        target=result.target,
        reachable=result.reachable,
        actions=actions,
        minimal=result.minimal,
        text=text,
        headline=headline,
    )

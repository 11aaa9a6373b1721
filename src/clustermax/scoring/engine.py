"""Evaluation: a bundle + a rubric (+ attestations) -> a ScoreResult. Pure and deterministic.

Per criterion: select the measurements (metric + label filter), convert them to the metric's unit,
aggregate across hosts and runs, compare with the pass/warn thresholds (absolute, or relative to the
hardware reference of the detected profile), and explain the verdict in one sentence: what was seen,
where, against what. Missing data is *not measured* (never pass, never fail), and so is a statistic from
fewer samples than its ``min_samples``; a criterion for another platform, or over zero subjects (its
``applies_when``: no GPU on the node, no IB/RoCE port, no NCCL run), is *not applicable*.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..models.bundle import Bundle, RubricRef
from ..models.common import Unit
from ..models.results import Measurement, ProbeResult, ProbeStatus, SubStatus
from ..models.score import (
    TIER_ORDER,
    CategoryResult,
    CriterionResult,
    HardwareProfile,
    ScoreResult,
    Tier,
    Verdict,
)
from ..units import NUMERIC_UNITS, UnitError, convert
from .advice import build_advice
from .attestations import Attestations
from .bounds import decide, frame_of, stats, sums_of
from .catalog import MetricInfo
from .plausibility import TAINTED_METRICS, screen
from .references import References, detect_profile, resolve_figure
from .rubric import AppliesWhen, Criterion, Rubric, Threshold
from .validate import catalog_of, load_rubric, references_of, versions_of
from .versions import VersionRule

_RANK = {Verdict.FAIL: 0, Verdict.WARN: 1, Verdict.PASS: 2}
_FALSY_TEXT = frozenset({"", "false", "no", "0", "none", "off"})


# --------------------------------------------------------------------------- helpers


def _round(value: Any) -> Any:
    """Floats to 6 significant digits, so output is byte-identical everywhere."""
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return float(f"{value:.6g}")
    return value


_UNITLESS = frozenset({"text", "bool", "version", "count", "ratio"})


def _fmt(value: Any, unit: str | None = None) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = f"{value:.6g}"
    else:
        text = str(value)
    show = unit and unit not in _UNITLESS and not isinstance(value, bool)
    return f"{text} {unit}" if show else text


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in _FALSY_TEXT
    return bool(value)


def _is_number(value: Any) -> bool:
    kind = type(value)
    return kind is float or kind is int or (isinstance(value, (int, float)) and not isinstance(value, bool))


@functools.lru_cache(maxsize=1024)
def _version(text: Any) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", str(text)))


def rubric_ref(rubric: Rubric) -> RubricRef:
    """The exact identity of a rubric (id, version, file hash, reference-table hash)."""
    references_of(rubric)
    versions_of(rubric)
    return RubricRef(
        id=rubric.id,
        version=rubric.version,
        sha256=rubric.sha256,
        references_sha256=rubric._references_sha256 or None,
        versions_sha256=rubric._versions_sha256 or None,
    )


# --------------------------------------------------------------------------- context


@dataclass
class _Context:
    bundle: Bundle
    rubric: Rubric
    refs: References
    attestations: Attestations | None
    catalog: dict[str, MetricInfo]
    by_metric: dict[str, list[Measurement]]
    results_by_probe: dict[str, list[ProbeResult]]
    profile: HardwareProfile
    platform: str | None
    tracing: bool = False
    plans: dict[Any, Any] = field(default_factory=dict)
    profile_key: tuple[Any, ...] = ()
    """The rubric's evaluation cache, fetched once (private attributes are slow to reach)."""
    implausible: dict[int, str] = field(default_factory=dict)
    """Measurements (by ``id()``) that cannot be real on this hardware, with why (plausibility.screen)."""
    subject_counts: dict[int, dict[str | None, tuple[float, str]]] = field(default_factory=dict)
    """id of an applicability rule -> its subject count per host, in this bundle (rules are shared)."""


def _platform(bundle: Bundle, by_metric: dict[str, list[Measurement]]) -> str | None:
    if bundle.target.platform != "unknown":
        return bundle.target.platform
    values = Counter(str(m.value) for m in by_metric.get("scheduler.platform", ()) if m.value is not None)
    if values:
        best = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        return best if best in ("slurm", "kubernetes", "bare") else None
    return None


def _context(
    bundle: Bundle, rubric: Rubric, attestations: Attestations | None, tracing: bool = False
) -> _Context:
    by_metric: dict[str, list[Measurement]] = {}
    results_by_probe: dict[str, list[ProbeResult]] = {}
    for result in bundle.results:
        results_by_probe.setdefault(result.probe_id, []).append(result)
        for m in result.measurements:
            by_metric.setdefault(m.metric, []).append(m)
    refs = references_of(rubric)
    override = bundle.target.profile_override
    profile = detect_profile(by_metric, refs, dict(override) if override else None)
    implausible, counts = screen(by_metric, refs, profile)
    if counts:
        by_metric[counts[0].metric] = [*by_metric.get(counts[0].metric, ()), *counts]
    return _Context(
        bundle=bundle,
        rubric=rubric,
        refs=refs,
        attestations=attestations,
        catalog=catalog_of(rubric).info,
        by_metric=by_metric,
        results_by_probe=results_by_probe,
        profile=profile,
        platform=_platform(bundle, by_metric),
        tracing=tracing,
        plans=rubric._plan,
        profile_key=(
            tuple(profile.reference_ids),
            profile.nic_count,
            profile.gpus_per_node,
            profile.gpu_model,
            profile.fabric,
        ),
        implausible=implausible,
    )


# --------------------------------------------------------------------------- trace


@dataclass(slots=True)
class Row:
    """One value a criterion read."""

    metric: str
    host: str | None
    labels: dict[str, str]
    raw: Any
    unit: Unit | str | None
    value: Any = None
    """The value in the criterion's unit (None when excluded)."""
    verdict: Verdict | None = None
    excluded: str | None = None


@dataclass(slots=True)
class Trace:
    """How one verdict was reached (for ``clustermax score --explain``)."""

    criterion: Criterion
    result: CriterionResult
    rows: list[Row] = field(default_factory=list)
    unit: str | None = None
    pass_value: Any = None
    warn_value: Any = None
    references: list[str] = field(default_factory=list)
    profile: HardwareProfile | None = None
    platform: str | None = None


@dataclass
class _Resolved:
    value: Any
    text: str
    reference: str | None = None
    source: str | None = None
    figure: dict[str, Any] | None = None
    """The resolved reference (a ReferenceFigure as a dict): 100% of the reference, in the unit judged."""


class _NoReference(Exception):
    def __init__(self, message: str, missing: list[str] | None = None) -> None:
        super().__init__(message)
        self.missing = missing or []
        """Profile keys whose absence is the cause (empty when the profile is known but has no figure)."""


def _profile_hint(missing: list[str], kind: str) -> str:
    """How to give the missing profile keys, with the flags of the command that made the bundle."""
    if not missing:
        return ""
    if kind == "import":
        keys = " ".join(f"--profile {k}=..." for k in missing)
        return f"; give the hardware profile when importing: `clustermax import {keys}`"
    keys = ", ".join(f"{k}: ..." for k in missing)
    return (
        f"; give the hardware profile in the inventory's profile: section ({keys}) and audit with `-I FILE`"
    )


def _profile_prop(ctx: _Context, name: str) -> int | None:
    return ctx.profile.nic_count if name == "nic_count" else ctx.profile.gpus_per_node


def _resolve(ctx: _Context, thr: Threshold | None, unit: Unit | None) -> _Resolved | None:
    if thr is None:
        return None
    if thr.floor is not None:
        table = versions_of(ctx.rubric)
        rule = VersionRule(thr.floor, table.components[thr.floor], table.id, table.checked)
        return _Resolved(rule, rule.describe(), source=rule.sources())
    scale = 1.0
    scale_text = ""
    found = resolve_figure(ctx.refs, ctx.profile, thr.reference) if thr.reference is not None else None
    if thr.reference is not None and found is None:
        gpu = thr.reference.startswith("gpu.")
        what = ctx.profile.gpu_model if gpu else ctx.profile.fabric
        missing = [] if what else ["gpu_model" if gpu else "fabric"]
        if thr.scale_by is not None and _profile_prop(ctx, thr.scale_by) is None:
            missing.append(thr.scale_by)
        raise _NoReference(
            f"no hardware reference {thr.reference} for {what or 'an undetected profile'}", missing
        )
    if thr.scale_by is not None:
        prop = _profile_prop(ctx, thr.scale_by)
        if prop is None:
            raise _NoReference(
                f"the hardware profile has no {thr.scale_by} to scale the threshold by", [thr.scale_by]
            )
        scale = float(prop)
        scale_text = f" x {thr.scale_by} {prop}"
    if thr.reference is not None:
        assert found is not None
        fig = found.figure
        base = fig.value
        if fig.unit is not None and unit is not None:
            base = convert(base, fig.unit, unit)
        value = base * thr.factor * scale
        shown_unit = unit.value if unit else (fig.unit.value if fig.unit else None)
        fig_text = _fmt(fig.value, fig.unit.value if fig.unit else None)
        text = (
            f"{_fmt(_round(value), shown_unit)} (= {thr.factor:g} x {fig_text}"
            f" {thr.reference} of {found.ref_id}{scale_text})"
        )
        figure = {
            "figure": thr.reference,
            "ref_id": found.ref_id,
            "value": _round(base * scale),
            "unit": shown_unit,
            "scale": scale_text.removeprefix(" x ") or None,
            "conditions": fig.conditions,
            "source": fig.source,
        }
        return _Resolved(
            value, text, f"{found.ref_id}:{thr.reference}", f"{found.ref_id}: {fig.source}", figure
        )
    if thr.value is None:  # scale_by only
        value = thr.factor * scale
        return _Resolved(value, f"{_fmt(_round(value))} (= {thr.factor:g}{scale_text})")
    if isinstance(thr.value, list):
        values = [
            convert(float(v), thr.unit, unit) if thr.unit and unit and _is_number(v) else v for v in thr.value
        ]
        shown = unit.value if unit and thr.unit else (thr.unit.value if thr.unit else None)
        return _Resolved(
            values, "[" + ", ".join(_fmt(_round(v)) for v in values) + "]" + (f" {shown}" if shown else "")
        )
    if _is_number(thr.value):
        value = float(thr.value)
        if thr.unit is not None and unit is not None:
            value = convert(value, thr.unit, unit)
        value = value * thr.factor * scale
        shown = unit.value if unit else (thr.unit.value if thr.unit else None)
        note = (
            f" (= {thr.describe()})"
            if (thr.factor != 1.0 or thr.scale_by or (thr.unit and unit and thr.unit != unit))
            else ""
        )
        return _Resolved(value, _fmt(_round(value), shown) + note)
    return _Resolved(thr.value, _fmt(thr.value))


def _test(value: Any, compare: str, thr: Any, unit: Unit | None) -> bool:
    if compare in (">=", "<="):
        if unit is Unit.VERSION or (isinstance(value, str) and not _is_number(thr)):
            got = _version(value)
            floors = thr if isinstance(thr, list) else [thr]
            parsed = sorted(_version(f) for f in floors)
            if not isinstance(thr, list):
                return got >= parsed[0] if compare == ">=" else got <= parsed[0]
            same = [f for f in parsed if f[:1] == got[:1]]
            if same:  # per-branch floors: the floor of the value's own branch
                return got >= same[0] if compare == ">=" else got <= same[0]
            return bool(parsed) and got[:1] > parsed[-1][:1] if compare == ">=" else False
        if not _is_number(value):
            return False
        return float(value) >= float(thr) if compare == ">=" else float(value) <= float(thr)
    if compare == "between":
        return _is_number(value) and float(thr[0]) <= float(value) <= float(thr[1])
    if compare == "==":
        return _equal(value, thr)
    if compare == "in":
        return any(_equal(value, t) for t in thr)
    raise ValueError(compare)  # pragma: no cover


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return str(a).strip().lower() == str(b).strip().lower()
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) is bool(b)
    return bool(float(a) == float(b))


def _judge_how(
    value: Any, crit: Criterion, p: _Resolved | None, w: _Resolved | None, unit: Unit | None
) -> tuple[Verdict, str]:
    """The verdict for one value, and how: 'pass', 'warn' (met the warn threshold) or 'miss'."""
    miss = Verdict.WARN if crit.soft else Verdict.FAIL
    if crit.compare in ("true", "false"):
        ok = _truthy(value) if crit.compare == "true" else not _truthy(value)
        return (Verdict.PASS, "pass") if ok else (miss, "miss")
    assert p is not None
    if isinstance(p.value, VersionRule):  # a floor of the minimum-versions table decides, with its reason
        outcome, why = p.value.judge(value)
        if outcome == "pass":
            return Verdict.PASS, f"vpass:{why}"
        if outcome == "fail":
            return miss, f"vmiss:{why}"
        return Verdict.WARN, f"vundecided:{why}"
    if _test(value, crit.compare, p.value, unit):
        return Verdict.PASS, "pass"
    if w is not None and _test(value, crit.compare, w.value, unit):
        return Verdict.WARN, "warn"
    return miss, "miss"


def _judge(
    value: Any, crit: Criterion, p: _Resolved | None, w: _Resolved | None, unit: Unit | None
) -> Verdict:
    return _judge_how(value, crit, p, w, unit)[0]


def _label_match(labels: dict[str, str], wanted: dict[str, str | list[str]]) -> bool:
    for key, want in wanted.items():
        got = labels.get(key)
        if got is None:
            return False
        if isinstance(want, list):
            if got not in want:
                return False
        elif got != want:
            return False
    return True


_SELECTIONS: dict[int, tuple[Criterion, str]] = {}


def _describe_selection(crit: Criterion) -> str:
    hit = _SELECTIONS.get(id(crit))
    if hit is not None and hit[0] is crit:
        return hit[1]
    text = _selection_text(crit)
    _SELECTIONS[id(crit)] = (crit, text)
    return text


def _selection_text(crit: Criterion) -> str:
    names = "+".join(crit.metric)
    if crit.labels:
        names += (
            "{"
            + ",".join(f"{k}={'|'.join(v) if isinstance(v, list) else v}" for k, v in crit.labels.items())
            + "}"
        )
    return names


def _not_measured_reason(ctx: _Context, crit: Criterion) -> tuple[Verdict, str]:
    probes = sorted({ctx.catalog[m].probe for m in crit.metric if m in ctx.catalog})
    results = [r for pid in probes for r in ctx.results_by_probe.get(pid, [])]
    what = _describe_selection(crit)
    names = ", ".join(probes) or "no probe"
    if not results:
        return Verdict.NOT_MEASURED, f"Not measured: probe {names} did not run, so there is no {what}."
    if all(r.status is ProbeStatus.SKIPPED and r.substatus is SubStatus.NOT_APPLICABLE for r in results):
        msg = results[0].message or "not applicable here"
        return Verdict.NOT_APPLICABLE, f"Not applicable: probe {names} does not apply ({msg})."
    bad = [r for r in results if r.status in (ProbeStatus.ERROR, ProbeStatus.SKIPPED)]
    if bad:
        first = bad[0]
        sub = first.substatus.value if first.substatus else first.status.value
        msg = f": {first.message}" if first.message else ""
        return (
            Verdict.NOT_MEASURED,
            f"Not measured: probe {names} could not measure on {len(bad)} of {len(results)} host(s) "
            f"({sub}{msg}).",
        )
    return Verdict.NOT_MEASURED, f"Not measured: probe {names} ran but reported no {what}."


IMPLAUSIBLE_FINDING = "implausible-result"
"""The parse stage's finding for output that cannot be real (``clustermax.probes.plausibility``)."""


def _forged_finding(ctx: _Context, crit: Criterion) -> str | None:
    """The message of an ``implausible-result`` finding of the probe that emits the criterion's metrics:
    why its values are null."""
    read = [m for m in crit.metric if m in TAINTED_METRICS]  # the values such a finding makes null
    probes = sorted({ctx.catalog[m].probe for m in read if m in ctx.catalog})
    for pid in probes:
        for result in ctx.results_by_probe.get(pid, ()):
            for finding in result.findings:
                if finding.code == IMPLAUSIBLE_FINDING:
                    return finding.message
    return None


def _hosts_text(hosts: list[str | None] | set[str | None], notes: dict[str | None, str] | None = None) -> str:
    """'node1', 'node1 and node2', 'node1, node2, node3 and 5 more hosts' ('the cluster' for null); with
    ``notes``, each host named with what it has ('node3 with 8 GPUs')."""
    if notes:
        named = {_host_name(h): h for h in hosts}
        names = [f"{n} with {notes[named[n]]}" if named[n] in notes else n for n in sorted(named)]
    else:
        names = sorted({_host_name(h) for h in hosts})
    if len(names) > 3:
        return f"{', '.join(names[:3])} and {len(names) - 3} more host{'s' if len(names) > 4 else ''}"
    if len(names) > 1:
        return f"{', '.join(names[:-1])} and {names[-1]}"
    return names[0] if names else "no host"


def _values(n: int) -> str:
    return f"{n} value" if n == 1 else f"{n} values"


def _asks(crit: Criterion, r: _Resolved) -> str:
    """What a threshold asks, in words: '>= 76 GiB', 'one of [pass]', 'within [20, 80] C', '0'."""
    if crit.compare == "in":
        return f"one of {r.text}"
    if crit.compare == "between":
        return f"within {r.text}"
    if crit.compare == "==":
        return r.text
    return f"{crit.compare} {r.text}"


def _against(how: str, crit: Criterion, p: _Resolved | None, w: _Resolved | None) -> str:
    """How the observation stands against the thresholds: 'pass needs <= 0: missed (advisory, so warn)'."""
    advisory = " (advisory, so warn)" if crit.soft else ""
    kind, _, why = how.partition(":")
    if kind == "vpass":
        return f"its security floor is met: {why}"
    if kind == "vmiss":
        return f"it is below its security floor{advisory}: {why}"
    if kind == "vundecided":
        return f"the security floor cannot decide, so warn: {why}"
    if crit.compare in ("true", "false"):
        return f"pass needs {crit.compare}: " + ("met" if how == "pass" else f"missed{advisory}")
    assert p is not None
    text = f"pass needs {_asks(crit, p)}: " + ("met" if how == "pass" else "missed")
    if how != "pass" and w is not None:
        text += f"; warn needs {_asks(crit, w)}: " + ("met" if how == "warn" else "missed")
    return text + ("" if how in ("pass", "warn") else advisory)


_SEEN = {
    "min": "the lowest",
    "max": "the highest",
    "median": "the median",
    "mean": "the mean",
    "sum": "the sum",
}


def _sentence(
    crit: Criterion,
    observed: Any,
    unit: str | None,
    how: str,
    p: _Resolved | None,
    w: _Resolved | None,
    *,
    counted: int,
    hosts: list[str | None],
    at_host: str | None,
    bad_hosts: list[str | None],
    bad_count: int,
    trues: int,
    notes: dict[str | None, str] | None = None,
) -> str:
    """The verdict in one sentence: what was seen, where, and against what."""
    what = _describe_selection(crit)
    agg, compare = crit.aggregate, crit.compare
    where = _hosts_text(hosts)
    shown = _fmt(_round(observed), unit)
    against = _against(how, crit, p, w)
    one_host = len({_host_name(h) for h in hosts}) <= 1
    if agg in ("all", "any") and compare in ("true", "false"):
        want = compare == "true"
        other = "false" if want else "true"
        good = trues if want else counted - trues
        soft = "" if how == "pass" else _soft(crit)
        if agg == "all":
            if how == "pass":
                seen = f"{what} is {compare} in {_all_of(counted)} from {where}"
            else:
                bad_at = _hosts_text(bad_hosts, notes)
                seen = (
                    f"{what} is {other} on {bad_at} (its only value)"
                    if counted == 1
                    else f"{what} is {other} in {bad_count} of {_values(counted)} (on {bad_at})"
                )
            return f"{seen}; {compare} is needed in every one{soft}."
        if how == "pass":
            seen = f"{what} is {compare} in {good} of {_values(counted)} from {where}"
        else:
            seen = f"{what} is {other} in {_all_of(counted)} from {where}"
        return f"{seen}; {compare} is needed in at least one{soft}."
    if counted == 1 and agg not in ("count", "fraction", "distinct"):
        seen = f"{what} is {shown} on {where} (its only value)"
    elif agg in ("min", "max", "all", "any"):
        word = _SEEN.get(agg) or ("the worst" if agg == "all" else "the best")
        on = "" if one_host else f", on {_host_name(at_host)},"
        seen = f"{word} {what} is {shown}{on} of {_values(counted)} from {where}"
    elif agg in _SEEN:
        seen = f"{_SEEN[agg]} of {what} is {shown}, over {_values(counted)} from {where}"
    elif agg == "count":
        seen = f"{_values(counted)} of {what} were measured, from {where}"
    elif agg == "fraction":
        share = f"{float(observed):.0%}" if _is_number(observed) else shown
        seen = f"{what} is true in {trues} of {_values(counted)} ({share}) from {where}"
    else:  # distinct
        kinds = f"{observed} distinct value{'s' if observed != 1 else ''}"
        seen = f"{what} has {kinds} among {_values(counted)} from {where}"
    if (
        bad_count
        and counted > 1
        and how != "pass"
        and agg not in ("count", "distinct", "sum", "median", "mean")
    ):
        label = "false" if agg == "fraction" else "missing pass"
        seen += f" ({bad_count} {label}: {_hosts_text(bad_hosts, notes)})"
    text = f"{seen}; {against}."
    return "T" + text[1:] if text.startswith("the ") else text  # a metric name keeps its case


def _all_of(n: int) -> str:
    return "its only value" if n == 1 else "both values" if n == 2 else f"all {n} values"


def _soft(crit: Criterion) -> str:
    return " (advisory, so warn)" if crit.soft else ""


# --------------------------------------------------------------------------- applicability


@dataclass(slots=True)
class _Applicability:
    """Where a criterion applies: hosts without its subject (their values are set aside), or a whole-bundle
    answer (``absent``: the sentence saying it does not apply anywhere)."""

    lacking: dict[str | None, str] = field(default_factory=dict)
    """host -> why its values are set aside ('vm has no GPU (gpu.node_gpus 0)')."""
    lacking_what: dict[str | None, str] = field(default_factory=dict)
    """host -> what it has of the subject ('no GPU (gpu.node_gpus 0)')."""
    having: dict[str | None, str] = field(default_factory=dict)
    """host -> how much of the subject it has ('8 GPUs'), where it has it."""
    absent: str | None = None
    whole: bool = False
    """``absent`` holds for the bundle as a whole (a cluster-scope subject): no value is judged at all."""


def _host_name(host: str | None) -> str:
    return host if host is not None else "the cluster"


def _subject_counts(ctx: _Context, rule: AppliesWhen) -> dict[str | None, tuple[float, str]]:
    """host -> (how much of the subject it has, the metric that showed it); a copy the caller may extend."""
    cached = ctx.subject_counts.get(id(rule))
    if cached is None:
        cached = ctx.subject_counts[id(rule)] = _count_subject(ctx, rule)
    return dict(cached)


def _count_subject(ctx: _Context, rule: AppliesWhen) -> dict[str | None, tuple[float, str]]:
    found: dict[str | None, tuple[float, str]] = {}
    for metric in rule.metric:
        for m in ctx.by_metric.get(metric, ()):
            if rule.labels and not _label_match(m.labels, rule.labels):
                continue
            value = m.value
            if value is None:
                continue
            if rule.count == "values":
                amount = found.get(m.host, (0.0, metric))[0] + 1.0
            elif isinstance(value, bool):
                amount = 1.0 if value else 0.0
            elif _is_number(value):
                amount = float(value)
            else:
                continue
            if m.host not in found or amount > found[m.host][0]:
                found[m.host] = (amount, metric)
    return found


def _amount(rule: AppliesWhen, amount: float) -> str:
    """'0 GPUs', '1 GPU', 'no NCCL run'."""
    if amount == 0:
        return f"no {rule.subject}"
    return f"{amount:g} {rule.subject if amount == 1 else rule.plural()}"


def _applicability(ctx: _Context, crit: Criterion) -> _Applicability:
    out = _Applicability()
    hosts_of_values: set[str | None] | None = None
    for rule in ctx.rubric.rules_of(crit):
        counts = _subject_counts(ctx, rule)
        if rule.count == "values":  # no value measured: none of the subject (never unknown)
            if hosts_of_values is None:
                hosts_of_values = {m.host for metric in crit.metric for m in ctx.by_metric.get(metric, ())}
            for host in hosts_of_values:
                counts.setdefault(host, (0.0, rule.metric[0]))
            if not counts and rule.scope == "cluster":
                counts[None] = (0.0, rule.metric[0])
        if not counts:
            continue  # the subject is unknown: judge the values as they are
        names = (
            ", ".join(rule.metric[:-1]) + " or " + rule.metric[-1] if len(rule.metric) > 1 else rule.metric[0]
        )
        if rule.scope == "cluster":
            total = math.fsum(a for a, _ in counts.values())
            if total < rule.at_least:
                seen = ", ".join(
                    f"{metric} {a:g} on {_host_name(h)}"
                    for h, (a, metric) in sorted(counts.items(), key=lambda kv: _host_name(kv[0]))[:3]
                )
                if len(counts) > 3:
                    seen += f" and {len(counts) - 3} more host(s)"
                need = "" if rule.at_least == 1 else f"; it needs {_amount(rule, rule.at_least)}"
                what = _describe_selection(crit)
                out.absent = (
                    f"Not applicable: the cluster has {_amount(rule, total)} ({seen}{need}), so there is "
                    f"nothing for {what} to judge."
                    if rule.count == "value"
                    else f"Not applicable: {_amount(rule, total)} in this bundle (no value of {names}"
                    f"{need}), so there is nothing for {what} to judge."
                )
                out.whole = True
                return out
            continue
        for host, (amount, metric) in counts.items():
            if amount < rule.at_least:
                if host not in out.lacking:
                    out.lacking_what[host] = f"{_amount(rule, amount)} ({metric} {amount:g})"
                    out.lacking[host] = f"{_host_name(host)} has {out.lacking_what[host]}"
            else:
                if host not in out.having:
                    out.having[host] = _amount(rule, amount)
    for host in out.lacking:
        out.having.pop(host, None)
    if out.lacking and not out.having:
        # no host known to have the subject: a value from a host that says nothing of it (the login node's
        # view of a Kubernetes cluster) is about the same subject-less cluster, so none is judged
        groups: dict[str, list[str | None]] = {}
        for host, what in out.lacking_what.items():
            groups.setdefault(what, []).append(host)
        shown = "; ".join(
            f"{_hosts_text(hosts)} {'has' if len(hosts) == 1 else 'have'} {what}"
            for what, hosts in sorted(groups.items(), key=lambda kv: _hosts_text(kv[1]))
        )
        out.absent = f"Not applicable: {shown}, so there is nothing for {_describe_selection(crit)} to judge."
    return out


def _samples_of(m: Measurement, label: str) -> int | None:
    text = m.labels.get(label)
    if text is None:
        return None
    try:
        return int(float(text))
    except ValueError:
        return None


# --------------------------------------------------------------------------- evaluation


def _result(
    crit: Criterion,
    verdict: Verdict,
    explanation: str,
    *,
    rubric: Rubric,
    observed: Any = None,
    unit: str | None = None,
    threshold: str | None = None,
    reference_source: str | None = None,
    hosts: list[str] | None = None,
    attested: bool = False,
    evidence: list[str] | None = None,
    host_verdicts: dict[str, Verdict] | None = None,
    figure: dict[str, Any] | None = None,
) -> CriterionResult:
    if verdict is Verdict.PASS:
        points: float | None = crit.weight
    elif verdict is Verdict.WARN:
        points = crit.weight * rubric.warn_credit
    elif verdict is Verdict.FAIL:
        points = 0.0
    else:
        points = None
    static = _STATIC.get(id(crit))
    if static is None or static[0] is not crit:
        names = tuple(crit.metric) if crit.metric else (f"attestation:{crit.attestation}",)
        fixed = {
            "id": crit.id,
            "title": crit.title,
            "category": crit.category.value,
            "weight": _round(float(crit.weight)),
            "cmax_ids": list(crit.cmax),
            "metrics": list(names),
            "labels": dict(crit.labels),
            "attestation": crit.attestation,
        }
        static = (crit, fixed)
        _STATIC[id(crit)] = static
    # validate_python on a plain dict: the same checks as CriterionResult(...), without the kwargs detour
    result: CriterionResult = _VALIDATE_RESULT(
        {
            **static[1],
            "verdict": verdict,
            "observed": _round(observed),
            "unit": unit,
            "threshold": threshold,
            "reference_source": reference_source,
            "explanation": explanation,
            "remediation": crit.remediation if verdict is Verdict.WARN or verdict is Verdict.FAIL else None,
            "points": _round(points) if points is not None else None,
            "attested": attested,
            "evidence": evidence or [],
            "hosts": hosts or [],
            "host_verdicts": host_verdicts or {},
            "reference": figure,
        }
    )
    return result


_STATIC: dict[int, tuple[Criterion, dict[str, Any]]] = {}
_VALIDATE_RESULT = CriterionResult.__pydantic_validator__.validate_python
_VALIDATE_CATEGORY = CategoryResult.__pydantic_validator__.validate_python


@dataclass
class _Plan:
    """What a criterion needs that depends only on the rubric and the hardware profile (cached)."""

    unit: Unit | None
    p: _Resolved | None = None
    w: _Resolved | None = None
    threshold: str | None = None
    reference_source: str | None = None
    references: list[str] = field(default_factory=list)
    error: str | None = None
    figure: dict[str, Any] | None = None
    missing: list[str] = field(default_factory=list)
    """Profile keys whose absence made the error (its hint names how to give them)."""


def _threshold_plan(ctx: _Context, crit: Criterion) -> _Plan:
    key = (crit.id, ctx.profile_key)
    cache: dict[Any, _Plan] = ctx.plans
    cached = cache.get(key)
    if cached is not None:
        return cached
    unit: Unit | None = None
    if crit.metric and crit.metric[0] in ctx.catalog:
        unit = ctx.catalog[crit.metric[0]].unit
    judged_unit = None if crit.aggregate in ("count", "fraction", "distinct") else unit
    try:
        p = _resolve(ctx, crit.pass_, judged_unit)
        w = _resolve(ctx, crit.warn, judged_unit)
    except _NoReference as err:
        configured = f"pass {crit.compare} {crit.pass_.describe()}" if crit.pass_ else None
        if configured and crit.warn:
            configured += f"; warn {crit.compare} {crit.warn.describe()}"
        plan = _Plan(
            unit,
            threshold=configured,
            error=f"Not measured: {err}, so it cannot be judged",
            missing=err.missing,
        )
    except UnitError as err:
        plan = _Plan(unit, error=f"Not measured: {err}")
    else:
        threshold = None
        if p is not None:
            op = crit.compare
            threshold = f"pass {op} {p.text}" + (f"; warn {op} {w.text}" if w else "")
        elif crit.compare in ("true", "false"):
            threshold = f"pass: {crit.compare}" + ("; otherwise warn" if crit.soft else "")
        sources = [r.source for r in (p, w) if r is not None and r.source]
        figures = [r.figure for r in (p, w) if r is not None and r.figure]
        plan = _Plan(
            unit,
            p,
            w,
            threshold,
            sources[0] if sources else crit.source,
            [r.reference for r in (p, w) if r is not None and r.reference],
            figure=figures[0] if figures else None,
        )
    cache[key] = plan
    return plan


def _evaluate(ctx: _Context, crit: Criterion) -> Trace:
    rubric = ctx.rubric
    trace = Trace(criterion=crit, result=None, profile=ctx.profile, platform=ctx.platform)  # type: ignore[arg-type]

    def done(result: CriterionResult) -> Trace:
        trace.result = result
        return trace

    if ctx.platform is not None and ctx.platform not in crit.platforms:
        key = ("not-applicable", crit.id, ctx.platform)
        cached = ctx.plans.get(key)
        if cached is None:  # the same result for every bundle of this platform (results are immutable)
            cached = ctx.plans[key] = _result(
                crit,
                Verdict.NOT_APPLICABLE,
                f"Not applicable: applies to {', '.join(crit.platforms)}; this cluster runs {ctx.platform}.",
                rubric=rubric,
            )
        return done(cached)

    app = _applicability(ctx, crit) if crit.applies_when else None
    if app is not None and app.absent is not None:
        return done(_result(crit, Verdict.NOT_APPLICABLE, app.absent, rubric=rubric))

    plan = _threshold_plan(ctx, crit)
    trace.unit = plan.unit.value if plan.unit else crit.unit
    if plan.error is not None:
        if crit.metric:  # a probe that does not apply here: not applicable, whatever the reference
            verdict, why = _not_measured_reason(ctx, crit)
            if verdict is Verdict.NOT_APPLICABLE:
                return done(_result(crit, verdict, why, rubric=rubric, threshold=plan.threshold))
        why = plan.error + _profile_hint(plan.missing, ctx.bundle.kind) + "."
        return done(_result(crit, Verdict.NOT_MEASURED, why, rubric=rubric, threshold=plan.threshold))
    unit, p, w = plan.unit, plan.p, plan.w
    figure = plan.figure
    threshold, reference_source = plan.threshold, plan.reference_source
    trace.pass_value = p.value if p else None
    trace.warn_value = w.value if w else None
    trace.references = plan.references

    # attestation criteria
    if crit.attestation is not None:
        att = ctx.attestations.attestations.get(crit.attestation) if ctx.attestations else None
        if att is None or att.value is None:
            unattested_key = ("not-attested", crit.id, ctx.profile_key)
            cached = ctx.plans.get(unattested_key) if att is None else None
            if cached is None:
                why = "not attested" if att is None else "attested as unknown (value null)"
                cached = _result(
                    crit,
                    Verdict.NOT_MEASURED,
                    f"Not measured: {crit.attestation} is {why}; no probe can measure it "
                    "(add it to an attestations file with evidence).",
                    rubric=rubric,
                    threshold=threshold,
                    reference_source=reference_source,
                    unit=crit.unit,
                    evidence=list(att.evidence) if att else None,
                    figure=figure,
                )
                if att is None:  # the same for every bundle with this profile
                    ctx.plans[unattested_key] = cached
            return done(cached)
        verdict, how = _judge_how(att.value, crit, p, w, None)
        trace.rows.append(
            Row(f"attestation:{crit.attestation}", None, {}, att.value, crit.unit, att.value, verdict)
        )
        return done(
            _result(
                crit,
                verdict,
                f"Attested {crit.attestation} = {_fmt(att.value, crit.unit)}; {_against(how, crit, p, w)}.",
                rubric=rubric,
                observed=att.value,
                unit=crit.unit,
                threshold=threshold,
                reference_source=reference_source,
                attested=True,
                evidence=list(att.evidence),
                figure=figure,
            )
        )

    # measured criteria: select and convert (rows kept only when tracing, for --explain)
    tracing = ctx.tracing
    rows: list[Row] = []
    hosts: list[str | None] = []
    vals: list[Any] = []
    first_excluded: str | None = None
    first_implausible: str | None = None
    selected = 0
    labels = crit.labels
    implausible = ctx.implausible
    lacking = app.lacking if app is not None else None
    samples = crit.min_samples
    sample_label = samples.label if samples is not None else None
    set_aside: list[str] = []  # why values were left out by the applicability rule
    too_few: list[str] = []  # values from too few samples
    for metric in crit.metric:
        for m in ctx.by_metric.get(metric, ()):
            if labels and not _label_match(m.labels, labels):
                continue
            if lacking and m.host in lacking:
                if tracing:
                    rows.append(
                        Row(metric, m.host, m.labels, m.value, m.unit, None, None,
                            f"not applicable: {lacking[m.host]}")
                    )  # fmt: skip
                set_aside.append(lacking[m.host])
                continue
            if sample_label is not None and samples is not None:
                got = _samples_of(m, sample_label)
                if got is not None and got < samples.count:
                    why = (
                        f"{got} {samples.of if got != 1 else samples.of.rstrip('s')} on {_host_name(m.host)}"
                    )
                    too_few.append(why)
                    if tracing:
                        rows.append(
                            Row(metric, m.host, m.labels, m.value, m.unit, None, None,
                                f"not measured: from {got} {samples.of} (needs {samples.count})")
                        )  # fmt: skip
                    continue
            selected += 1
            value = m.value
            excluded = None
            if implausible and id(m) in implausible:
                excluded = f"implausible: {implausible[id(m)]}"
                if first_implausible is None:
                    first_implausible = implausible[id(m)]
            elif value is None:
                excluded = "not measured (null)"
            elif unit is not None and m.unit is not unit and _is_number(value):
                try:
                    value = convert(float(value), m.unit, unit)
                except UnitError:
                    excluded = f"unit {m.unit.value} does not convert to {unit.value}"
            if excluded is None:
                hosts.append(m.host)
                vals.append(value)
            elif first_excluded is None:
                first_excluded = excluded
            if tracing:
                rows.append(Row(metric, m.host, m.labels, m.value, m.unit, value, None, excluded))
    trace.rows = rows
    used = [r for r in rows if r.excluded is None]  # aligned with vals when tracing

    forged = first_implausible or (_forged_finding(ctx, crit) if selected and not vals else None)
    if forged is not None:
        # forged output is not evidence: one implausible value makes the whole criterion unjudged
        return done(
            _result(
                crit,
                Verdict.NOT_MEASURED,
                f"Not measured (implausible): {forged}; an implausible figure is not evidence.",
                rubric=rubric,
                threshold=threshold,
                reference_source=reference_source,
                figure=figure,
            )
        )
    if not vals and set_aside and not selected and not too_few:
        assert app is not None
        why = app.absent or (
            f"Not applicable: {'; '.join(sorted(set(set_aside)))}, so there is nothing for "
            f"{_describe_selection(crit)} to judge."
        )
        return done(_result(crit, Verdict.NOT_APPLICABLE, why, rubric=rubric, threshold=threshold))
    if not vals and too_few and not selected:
        assert samples is not None
        shown = ", ".join(sorted(set(too_few))[:3])
        return done(
            _result(
                crit,
                Verdict.NOT_MEASURED,
                f"Not measured: {_describe_selection(crit)} needs at least {samples.count} {samples.of} to "
                f"mean something; it was measured from {shown}.",
                rubric=rubric,
                threshold=threshold,
                reference_source=reference_source,
            )
        )
    if not vals:
        verdict, why = _not_measured_reason(ctx, crit)
        if selected:
            what = _describe_selection(crit)
            why = f"Not measured: every {what} value is null or unusable ({first_excluded})."
            verdict = Verdict.NOT_MEASURED
        return done(
            _result(
                crit,
                verdict,
                why,
                rubric=rubric,
                threshold=threshold,
                reference_source=reference_source,
                figure=figure if verdict is Verdict.NOT_MEASURED else None,
            )
        )

    if samples is not None and sample_label is None and len(vals) < samples.count:
        where = ", ".join(sorted({_host_name(h) for h in hosts}))
        return done(
            _result(
                crit,
                Verdict.NOT_MEASURED,
                f"Not measured: the {crit.aggregate} of {_describe_selection(crit)} needs at least "
                f"{samples.count} {samples.of}; {len(vals)} {'was' if len(vals) == 1 else 'were'} measured "
                f"(on {where}).",
                rubric=rubric,
                threshold=threshold,
                reference_source=reference_source,
            )
        )
    agg = crit.aggregate
    observed: Any
    bad: list[int] = []  # indexes into vals of values that did not pass
    shown_unit = trace.unit
    counted = len(vals)
    per_value: list[Verdict] | None = None  # verdict of each value, when it was worked out
    judged_hosts, judged_vals = hosts, vals
    at: int | None = None  # index of the value the verdict names (min, max; the worst or best of all/any)
    if agg in ("all", "any") and crit.compare in ("true", "false"):
        want = crit.compare == "true"
        oks = [_truthy(v) is want for v in vals]
        ok = all(oks) if agg == "all" else any(oks)
        truths = [_truthy(v) for v in vals]
        observed = want if ok else not want  # the value the verdict names (a failing one when it fails)
        miss = Verdict.WARN if crit.soft else Verdict.FAIL
        verdict = Verdict.PASS if ok else miss
        how = "pass" if ok else "miss"
        if verdict is not Verdict.PASS:
            bad = [i for i, good in enumerate(oks) if not good]
        if tracing or verdict is not Verdict.PASS:
            per_value = [Verdict.PASS if good else miss for good in oks]
        if tracing and per_value is not None:
            for r, v in zip(used, per_value, strict=True):
                r.verdict = v
    elif agg in ("all", "any"):
        judged = [_judge_how(v, crit, p, w, unit) for v in vals]
        order = sorted(range(len(vals)), key=lambda i: _RANK[judged[i][0]])
        pick = order[0] if agg == "all" else order[-1]
        verdict, how = judged[pick]
        observed = vals[pick]
        at = pick
        if verdict is not Verdict.PASS:
            bad = [i for i, (v, _) in enumerate(judged) if v is not Verdict.PASS]
        per_value = [v for v, _ in judged]
        if tracing:
            for r, v in zip(used, per_value, strict=True):
                r.verdict = v
    elif agg in ("min", "max", "median", "mean", "sum"):
        idx = [i for i, v in enumerate(vals) if _is_number(v)]
        if tracing:
            for r in used:
                if not _is_number(r.value):
                    r.excluded = "not a number"
        if not idx:
            return done(
                _result(
                    crit,
                    Verdict.NOT_MEASURED,
                    f"Not measured: no numeric {_describe_selection(crit)} value to take the {agg} of.",
                    rubric=rubric,
                    threshold=threshold,
                    reference_source=reference_source,
                    figure=figure,
                )
            )
        counted = len(idx)
        if agg == "min":
            at = min(idx, key=lambda i: float(vals[i]))
            observed = vals[at]
        elif agg == "max":
            at = max(idx, key=lambda i: float(vals[i]))
            observed = vals[at]
        else:
            numbers = [float(vals[i]) for i in idx]
            if agg == "median":
                observed = float(statistics.median(numbers))
            elif agg == "mean":
                observed = math.fsum(numbers) / len(numbers)
            else:
                observed = math.fsum(numbers)
        verdict, how = _judge_how(observed, crit, p, w, unit)
        if len(idx) != len(vals):
            judged_hosts, judged_vals = [hosts[i] for i in idx], [vals[i] for i in idx]
        if agg != "sum" and (tracing or verdict is not Verdict.PASS):
            per = {i: _judge(vals[i], crit, p, w, unit) for i in idx}
            bad = [i for i in idx if per[i] is not Verdict.PASS]
            per_value = [per[i] for i in idx]
            if tracing:
                for j, r in enumerate(used):
                    r.verdict = per.get(j)
    else:
        if agg == "count":
            observed = len(vals)
        elif agg == "fraction":
            truths = [_truthy(v) for v in vals]
            observed = sum(truths) / len(vals)
            bad = [i for i, t in enumerate(truths) if not t]
        else:  # distinct
            observed = len({str(v).strip().lower() for v in vals})
        shown_unit = None
        verdict, how = _judge_how(observed, crit, p, w, None)
        if verdict is Verdict.PASS:
            bad = []
    explanation = _sentence(
        crit,
        observed,
        shown_unit,
        how,
        p,
        w,
        counted=counted,
        hosts=judged_hosts,
        at_host=hosts[at] if at is not None else None,
        bad_hosts=[hosts[i] for i in bad],
        notes=app.having if app is not None and bad else None,
        bad_count=len(bad),
        trues=sum(1 for v in vals if _truthy(v)) if agg in ("all", "any", "fraction") else 0,
    )
    return done(
        _result(
            crit,
            verdict,
            explanation,
            rubric=rubric,
            observed=observed,
            unit=shown_unit,
            threshold=threshold,
            reference_source=reference_source,
            hosts=sorted({hosts[i] or "cluster" for i in bad}),
            host_verdicts=_host_verdicts(crit, verdict, judged_hosts, judged_vals, per_value, p, w, unit),
            figure=figure,
        )
    )


_WORST_DECIDES = frozenset({("min", ">="), ("max", "<=")})
"""Aggregations whose value is the worst one: when it passes, every value passes."""

_ALL_PASS: dict[tuple[str | None, ...], dict[str, Verdict]] = {}
"""Host lists -> {host: pass}: the per-host verdicts of a criterion every value of which passed (never
mutated: the result model copies it)."""


def _host_verdicts(
    crit: Criterion,
    verdict: Verdict,
    hosts: list[str | None],
    vals: list[Any],
    per_value: list[Verdict] | None,
    p: _Resolved | None,
    w: _Resolved | None,
    unit: Unit | None,
) -> dict[str, Verdict]:
    """The criterion judged on each host's own values (its aggregate over them), by host name."""
    agg = crit.aggregate
    if verdict is Verdict.PASS and (agg == "all" or (agg, crit.compare) in _WORST_DECIDES):
        key = tuple(hosts)
        passed = _ALL_PASS.get(key)
        if passed is None:
            if len(_ALL_PASS) > 4096:
                _ALL_PASS.clear()
            passed = _ALL_PASS[key] = dict.fromkeys(sorted({h for h in hosts if h is not None}), Verdict.PASS)
        return passed
    if all(h is None for h in hosts):
        return {}
    if agg == "all" or (agg, crit.compare) in _WORST_DECIDES:
        if per_value is not None:
            worst: dict[str, Verdict] = {}
            for host, v in zip(hosts, per_value, strict=True):
                if host is not None and (host not in worst or _RANK[v] < _RANK[worst[host]]):
                    worst[host] = v
            return dict(sorted(worst.items()))
    groups: dict[str, list[Any]] = {}
    for host, value in zip(hosts, vals, strict=True):
        if host is not None:
            groups.setdefault(host, []).append(value)
    return {host: _aggregate_verdict(crit, groups[host], p, w, unit) for host in sorted(groups)}


def _aggregate_verdict(
    crit: Criterion, vals: list[Any], p: _Resolved | None, w: _Resolved | None, unit: Unit | None
) -> Verdict:
    """The verdict of the criterion's aggregate over some of its values (no explanation)."""
    agg = crit.aggregate
    miss = Verdict.WARN if crit.soft else Verdict.FAIL
    if agg in ("all", "any") and crit.compare in ("true", "false"):
        want = crit.compare == "true"
        oks = [_truthy(v) is want for v in vals]
        return Verdict.PASS if (all(oks) if agg == "all" else any(oks)) else miss
    if agg in ("all", "any"):
        judged = sorted((_judge(v, crit, p, w, unit) for v in vals), key=_RANK.__getitem__)
        return judged[0] if agg == "all" else judged[-1]
    if agg in ("min", "max", "median", "mean", "sum"):
        numbers = [float(v) for v in vals if _is_number(v)]
        if not numbers:
            return Verdict.NOT_MEASURED
        observed: Any
        if agg == "min":
            observed = min(numbers)
        elif agg == "max":
            observed = max(numbers)
        elif agg == "median":
            observed = float(statistics.median(numbers))
        elif agg == "mean":
            observed = math.fsum(numbers) / len(numbers)
        else:
            observed = math.fsum(numbers)
        return _judge(observed, crit, p, w, unit)
    if agg == "count":
        observed = len(vals)
    elif agg == "fraction":
        observed = sum(_truthy(v) for v in vals) / len(vals)
    else:
        observed = len({str(v).strip().lower() for v in vals})
    return _judge(observed, crit, p, w, None)


# --------------------------------------------------------------------------- scoring


def bundle_digest(bundle: Bundle) -> str:
    """SHA-256 identifying the evidence of a bundle, independent of how its file was formatted.

    It hashes the bundle's compact JSON (pydantic's serialization) without its ``rubric`` field and
    without the commands' ``stdout``/``stderr``, followed by, for every command in order, the UTF-8
    bytes of its stdout and of its stderr, each preceded by its length as 8 big-endian bytes. Same
    content, same digest; the raw outputs are hashed as bytes instead of being JSON-escaped first.
    """
    head = bundle.__pydantic_serializer__.to_json(bundle, exclude=_DIGEST_EXCLUDE)
    digest = hashlib.sha256(head)
    for cmd in bundle.commands:
        for text in (cmd.stdout, cmd.stderr):
            data = text.encode("utf-8", "surrogatepass")
            digest.update(len(data).to_bytes(8, "big"))
            digest.update(data)
    return digest.hexdigest()


_DIGEST_EXCLUDE: Any = {"rubric": True, "commands": {"__all__": {"stdout", "stderr"}}}


def evaluate(
    bundle: Bundle, rubric: Rubric, attestations: Attestations | None = None, *, tracing: bool = False
) -> tuple[ScoreResult, list[Trace]]:
    """Score a bundle and keep the trace of every verdict (``tracing``: judge every value, for --explain)."""
    ctx = _context(bundle, rubric, attestations, tracing)
    traces = [_evaluate(ctx, crit) for crit in rubric.criteria]
    criteria = [t.result for t in traces]

    frame = frame_of(rubric, criteria)
    observed = stats(frame, frame.sums or sums_of(frame, frame.verdicts), None)
    categories = [
        _VALIDATE_CATEGORY(
            {
                "id": cat.id.value,
                "title": cat.title,
                "score": observed.cat_score[c],
                "weight": _round(float(cat.weight)),
                "coverage": observed.cat_coverage[c],
            }
        )
        for c, cat in enumerate(rubric.categories)
    ]
    score, coverage = observed.score, observed.coverage
    audit_hosts = bundle.hosts if bundle.kind == "audit" else []
    decision = decide(
        frame,
        score,
        coverage,
        complete=bundle.complete,
        hosts_total=len(audit_hosts),
        hosts_reached=sum(1 for h in audit_hosts if h.state == "ok"),
    )
    advice = build_advice(frame, criteria, _needs(rubric), catalog_of(rubric), floor=decision.floor)
    result = ScoreResult(
        cluster=bundle.target.cluster,
        provider=bundle.target.provider,
        bundle_sha256=bundle_digest(bundle),
        tier=decision.floor if decision.rated else None,
        rated=decision.rated,
        not_rated_reason=decision.not_rated_reason,
        tier_floor=decision.floor,
        tier_ceiling=decision.ceiling,
        summary=decision.summary,
        score=score,
        score_floor=decision.score_floor,
        score_ceiling=decision.score_ceiling,
        coverage=coverage,
        not_measured=decision.not_measured,
        not_attested=decision.not_attested,
        categories=categories,
        criteria=criteria,
        held_down_by=decision.held_down_by,
        advice=advice,
        rubric=rubric_ref(rubric),
        profile=ctx.profile,
    )
    return result, traces


def _needs(rubric: Rubric) -> dict[str, str | None]:
    cached: dict[str, str | None] | None = rubric._plan.get("needs")
    if cached is None:
        cached = {c.id: c.needs for c in rubric.criteria}
        rubric._plan["needs"] = cached
    return cached


def score_bundle(
    bundle: Bundle, rubric: Rubric | None = None, attestations: Attestations | None = None
) -> ScoreResult:
    """Score one bundle (default rubric when ``rubric`` is None). Pure: same input, same output."""
    return evaluate(bundle, rubric or load_rubric(None), attestations)[0]


def explain_criterion(
    bundle: Bundle, criterion_id: str, rubric: Rubric | None = None, attestations: Attestations | None = None
) -> Trace | None:
    """The trace of one criterion's verdict, or None when the rubric has no such criterion."""
    rub = rubric or load_rubric(None)
    crit = rub.criterion(criterion_id)
    if crit is None:
        return None
    ctx = _context(bundle, rub, attestations, tracing=True)
    return _evaluate(ctx, crit)


def tier_at_least(tier: Tier | None, floor: Tier) -> bool:
    """Whether a decided tier is at or above ``floor`` (a not-rated result, None, never is)."""
    return tier is not None and TIER_ORDER.index(tier) >= TIER_ORDER.index(floor)


__all__ = [
    "NUMERIC_UNITS",
    "Row",
    "Trace",
    "bundle_digest",
    "evaluate",
    "explain_criterion",
    "rubric_ref",
    "score_bundle",
    "tier_at_least",
]

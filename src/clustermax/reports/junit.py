"""JUnit XML: one test case per criterion, so CI systems show the audit natively.

The rule (also in docs/reports.md):

* ``pass`` → a passing test case;
* ``fail`` → ``<failure type="fail">``;
* ``warn`` → ``<failure type="warn">`` by default (a warning is a shortfall CI should show), or
  ``<skipped>`` with ``warn="skipped"`` (``--junit-warn skipped``) for pipelines that must stay green;
* ``not measured`` and ``not applicable`` → ``<skipped>`` with the reason.

One ``<testsuite>`` per cluster inside ``<testsuites>``; the decided tier (or "Not rated"), its floor and
ceiling, the verdict sentence, the reasons, the advice, the score, coverage and rubric are ``<property>``
elements of the suite, and the verdict, reasons and advice open its ``system-out``. Attested criteria carry
"[attested]" in their name. The output validates against the Apache Ant JUnit schema
(tests/data/junit/JUnit.xsd) that Jenkins, GitLab and GitHub test reporters accept.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timezone
from typing import Literal

from ..models.score import Verdict
from .model import ClusterReport, Report
from .tables import TIER_LABEL, display_name, tier_range, tier_word
from .text import fmt_value

WarnAs = Literal["failure", "skipped"]


def render_junit(report: Report, *, warn: WarnAs = "failure") -> str:
    root = ET.Element("testsuites")
    for index, cluster in enumerate(report.clusters):
        root.append(_suite(cluster, index, warn))
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def _suite(cluster: ClusterReport, index: int, warn: WarnAs) -> ET.Element:
    meta = cluster.meta
    started = meta.started_at
    if started.tzinfo is not None:
        started = started.astimezone(timezone.utc).replace(tzinfo=None)
    failures = sum(
        1
        for c in cluster.criteria
        if c.verdict is Verdict.FAIL or (c.verdict is Verdict.WARN and warn == "failure")
    )
    skipped = sum(
        1
        for c in cluster.criteria
        if c.verdict in (Verdict.NOT_MEASURED, Verdict.NOT_APPLICABLE)
        or (c.verdict is Verdict.WARN and warn == "skipped")
    )
    suite = ET.Element(
        "testsuite",
        {
            "name": f"clustermax.{display_name(cluster)}",
            "package": "clustermax",
            "id": str(index),
            "timestamp": started.strftime("%Y-%m-%dT%H:%M:%S"),
            "hostname": meta.run_from or "localhost",
            "tests": str(len(cluster.criteria)),
            "failures": str(failures),
            "errors": "0",
            "skipped": str(skipped),
            "time": f"{meta.duration_s or 0:.3f}",
        },
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("cluster", cluster.cluster),
        ("provider", cluster.provider or ""),
        ("tier", tier_word(cluster)),
        ("rated", "true" if cluster.rated else "false"),
        ("tier_floor", TIER_LABEL[cluster.tier_floor.value]),
        ("tier_ceiling", TIER_LABEL[cluster.tier_ceiling.value]),
        ("verdict", cluster.summary),
        ("held_down_by", "; ".join(s.text for s in cluster.held_down_by)),
        ("advice", cluster.advice.text),
        ("score", f"{cluster.score:.1f}"),
        ("coverage", f"{cluster.coverage:.3f}"),
        ("rubric", f"{meta.rubric_id} {meta.rubric_version}"),
        ("rubric_sha256", meta.rubric_sha256),
        ("bundle_sha256", meta.bundle_sha256),
        ("tool_version", meta.tool_version),
    ):
        ET.SubElement(props, "property", {"name": name, "value": value})
    attested: list[str] = []
    for c in cluster.criteria:
        name = f"{c.id}: {c.title}" + (" [attested]" if c.attested else "")
        case = ET.SubElement(
            suite, "testcase", {"name": name, "classname": f"clustermax.{c.category}", "time": "0"}
        )
        detail = "\n".join(
            line
            for line in (
                f"verdict: {c.verdict.value}" + (" (attested)" if c.attested else ""),
                f"observed: {fmt_value(c.observed, c.unit)}",
                f"threshold: {c.threshold}" if c.threshold else None,
                f"threshold source: {c.reference_source}" if c.reference_source else None,
                f"explanation: {c.explanation}",
                f"remediation: {c.remediation}" if c.remediation else None,
                f"hosts: {', '.join(c.hosts)}" if c.hosts else None,
                f"evidence: {' '.join(c.evidence)}" if c.evidence else None,
            )
            if line
        )
        if c.verdict is Verdict.FAIL or (c.verdict is Verdict.WARN and warn == "failure"):
            failure = ET.SubElement(case, "failure", {"type": c.verdict.value, "message": c.explanation})
            failure.text = detail
        elif c.verdict is not Verdict.PASS:
            label = {"warn": "warn", "not_measured": "not measured", "not_applicable": "not applicable"}
            ET.SubElement(case, "skipped", {"message": f"{label[c.verdict.value]}: {c.explanation}"})
        if c.attested:
            attested.append(f"{c.id}: {' '.join(c.evidence) or 'no evidence link'}")
    out = ET.SubElement(suite, "system-out")
    reasons = "".join(f"  - {s.text}\n" for s in cluster.held_down_by)
    advice = cluster.advice
    advice_text = ""
    if advice.target is not None and advice.reachable and advice.actions:
        advice_text = f"To reach {TIER_LABEL[advice.target.value]}:\n" + "".join(
            f"  * {a.text}\n" for a in advice.actions
        )
    elif advice.text:
        advice_text = advice.text + "\n"
    out.text = (
        f"{display_name(cluster)}: {cluster.summary}\n"
        f"tier {tier_word(cluster)} (range {tier_range(cluster)}), score {cluster.score:.1f}/100, "
        f"coverage {cluster.coverage * 100:.0f}%\n"
        + (f"held down by:\n{reasons}" if reasons else "")
        + advice_text
        + ("attested criteria:\n" + "\n".join(attested) + "\n" if attested else "")
    )
    ET.SubElement(suite, "system-err").text = ""
    return suite

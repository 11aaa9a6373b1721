"""Every renderer shows the tier scoring decided, or "not rated", with its range, the reasons and the advice
in words (exact text), and a comparison ranks rated clusters by tier, then not-rated ones by ceiling."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pandas as pd
import pytest

from clustermax.models import Tier
from clustermax.reports import build_report, render, render_report

from .factories import make_bundle, make_score

NOT_RATED = (
    "Not rated: insufficient evidence (coverage 20%; Bronze needs 25%); between Underperforming and Gold on "
    "this evidence"
)
RANGE_LINE = (
    "tier range: Underperforming to Gold (floor Underperforming, ceiling Gold); score 71.5 on what was "
    "measured, 57.2 to 85.8 over the whole rubric"
)
REASON = "Gold needs gpu_ecc to pass; it fails"
ACTION = "fix gpu_ecc (No uncorrectable ECC errors): 4 on gpu-002, needs pass = 0"


@pytest.fixture(scope="module")
def unrated():
    bundle = make_bundle()
    return [(bundle, make_score(bundle, tier=None, ceiling=Tier.GOLD))]


@pytest.fixture(scope="module")
def bounded():
    bundle = make_bundle()
    return [(bundle, make_score(bundle, tier=Tier.SILVER, ceiling=Tier.PLATINUM))]


def test_terminal(unrated, bounded):
    text = render(unrated, "terminal", width=200)
    assert text.splitlines()[:7] == [
        "Acme Cloud / acme-h100   NOT RATED   score 71.5/100  coverage 82%",
        NOT_RATED,
        RANGE_LINE,
        "held down by:",
        f"  - {REASON}",
        "To reach Bronze:",
        f"  * {ACTION}",
    ]
    text = render(bounded, "terminal", width=200)
    assert text.splitlines()[:3] == [
        "Acme Cloud / acme-h100   SILVER   score 71.5/100  coverage 82%",
        "at least Silver (up to Platinum: 1 criterion not measured)",
        "tier range: Silver to Platinum (floor Silver, ceiling Platinum); score 71.5 on what was measured, "
        "57.2 to 85.8 over the whole rubric",
    ]
    assert "To reach Gold:\n  * " + ACTION in text


def test_markdown(unrated, bounded):
    md = render(unrated, "markdown")
    assert md.splitlines()[2:15] == [
        "**Not rated**: insufficient evidence \\(coverage 20%; Bronze needs 25%\\); between Underperforming "
        "and Gold on this evidence · score **71.5**/100 on what was measured · coverage 82%",
        "",
        "Tier range: **Underperforming to Gold** (floor Underperforming, ceiling Gold); score 57.2 to 85.8 "
        "over the whole rubric.",
        "",
        "Held down by:",
        "",
        "- Gold needs gpu\\_ecc to pass; it fails",
        "",
        "**To reach Bronze:**",
        "",
        "- fix gpu\\_ecc \\(No uncorrectable ECC errors\\): 4 on gpu-002, needs pass = 0",
        "",
        "4 pass · 2 warn · 1 fail · 1 not measured · 1 not applicable",
    ]
    assert render(bounded, "markdown").splitlines()[2] == (
        "**Tier: Silver** · at least Silver \\(up to Platinum: 1 criterion not measured\\) · score "
        "**71.5**/100 on what was measured · coverage 82%"
    )


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.by_id: dict[str, str] = {}
        self.items: dict[str, list[str]] = {}
        self._li: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.stack.append(a.get("id") or "")
        if tag in ("ul", "ol"):
            self._ul = ((a.get("class") or "") + " " + tag).split()[-2 if a.get("class") else -1]
        if tag == "li":
            self._li = ""

    def handle_endtag(self, tag):
        if tag == "li" and self._li is not None:
            self.items.setdefault(self._ul, []).append(self._li)
            self._li = None
        if self.stack:
            self.stack.pop()

    def handle_data(self, data):
        for ident in filter(None, self.stack):
            self.by_id[ident] = self.by_id.get(ident, "") + data
        if self._li is not None:
            self._li += data


def test_html(unrated, bounded):
    page = _Text()
    page.feed(render(unrated, "html"))
    assert page.by_id["tier"] == "Not rated"
    assert page.by_id["summary"] == NOT_RATED
    assert page.by_id["advice"] == "To reach Bronze:"
    assert page.items["reasons"] == [REASON]
    assert page.items["advice"] == [ACTION]
    page = _Text()
    page.feed(render(bounded, "html"))
    assert page.by_id["tier"] == "Silver"
    assert page.by_id["summary"] == "at least Silver (up to Platinum: 1 criterion not measured)"


def test_csv(unrated):
    frame = pd.read_csv(io.StringIO(render(unrated, "csv")))
    row = frame.iloc[0]
    assert (row.tier, row.tier_floor, row.tier_ceiling) == ("not rated", "underperforming", "gold")
    assert row.summary == NOT_RATED and row.held_down_by == REASON
    assert row.advice == f"To reach Bronze: {ACTION}."
    assert set(frame.summary) == {NOT_RATED}  # every row says it


def test_junit(unrated):
    suite = ET.fromstring(render(unrated, "junit")).find("testsuite")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert (props["tier"], props["rated"], props["tier_floor"], props["tier_ceiling"]) == (
        "Not rated",
        "false",
        "Underperforming",
        "Gold",
    )
    assert props["verdict"] == NOT_RATED and props["held_down_by"] == REASON
    assert suite.find("system-out").text.startswith(
        f"Acme Cloud / acme-h100: {NOT_RATED}\n"
        "tier Not rated (range Underperforming to Gold), score 71.5/100, coverage 82%\n"
        f"held down by:\n  - {REASON}\nTo reach Bronze:\n  * {ACTION}\n"
    )


def test_json(unrated):
    data = json.loads(render(unrated, "json"))
    assert data["report_version"] == 2
    c = data["clusters"][0]
    assert (c["tier"], c["rated"], c["tier_floor"], c["tier_ceiling"]) == (
        None,
        False,
        "underperforming",
        "gold",
    )
    assert c["summary"] == NOT_RATED and c["held_down_by"][0]["text"] == REASON
    assert c["advice"]["actions"][0]["text"] == ACTION
    assert "gates_failed" not in c


def _cluster(name: str, tier: Tier | None, score: float, ceiling: Tier = Tier.PLATINUM):
    bundle = make_bundle(cluster=name, provider=name.capitalize())
    return bundle, make_score(bundle, tier=tier, score=score, ceiling=ceiling)


def test_comparison_ranks_rated_by_tier_then_not_rated_by_ceiling_and_says_so():
    items = [
        _cluster("unrated-gold", None, 95.0, ceiling=Tier.GOLD),
        _cluster("bronze", Tier.BRONZE, 60.0),
        _cluster("unrated-platinum-low", None, 40.0),
        _cluster("silver", Tier.SILVER, 50.0),
        _cluster("unrated-platinum-high", None, 80.0),
        _cluster("silver-better", Tier.SILVER, 70.0),
    ]
    report = build_report(items, compare=True)
    assert [c.cluster for c in report.clusters] == [
        "silver-better",
        "silver",
        "bronze",
        "unrated-platinum-high",
        "unrated-platinum-low",
        "unrated-gold",
    ]
    legend = (
        "Rated clusters first, by tier, then score; then clusters not rated, by ceiling (the best tier their "
        "evidence allows), then score."
    )
    term = render_report(report, "terminal", width=220)
    assert legend in term
    assert "4. Unrated-platinum-high / unrated-platinum-high: Not rated: insufficient evidence" in term
    md = render_report(report, "markdown")
    assert f"_{legend}_" in md
    assert (
        "| 4 | Unrated-platinum-high / unrated-platinum-high | **Not rated** | Underperforming to Platinum |"
        in md
    )
    html = render_report(report, "html")
    assert f'<p class="small muted" id="order">{legend}</p>' in html
    csv = pd.read_csv(io.StringIO(render_report(report, "csv")))
    verdicts = csv[csv.metric == "verdict"].set_index("cluster")
    assert (
        verdicts.loc["silver-better", "value"] == "at least Silver (up to Platinum: 1 criterion not measured)"
    )
    assert verdicts.loc["unrated-gold", "tier"] == "not rated"
    assert verdicts.loc["unrated-gold", "tier_ceiling"] == "gold"

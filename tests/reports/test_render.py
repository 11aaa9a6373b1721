"""Every format, for normal, comparison and hostile bundles; escaping, determinism and schemas."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
import xmlschema
from markdown_it import MarkdownIt

from clustermax.models import Verdict
from clustermax.reports import FORMATS, build_report, render, render_report, write_audit_reports
from clustermax.reports.model import Report
from clustermax.reports.tables import criteria_groups

from .factories import HOSTILE_GPU, HOSTILE_HOST, hostile_pair, make_bundle, make_score

XSD = Path(__file__).resolve().parents[1] / "data" / "junit" / "JUnit.xsd"
ESC = "\x1b"


def _pair(**kw):
    bundle = make_bundle(**kw)
    return bundle, make_score(bundle)


@pytest.fixture(scope="module")
def single():
    return [_pair()]


@pytest.fixture(scope="module")
def several():
    return [
        _pair(),
        _pair(cluster="beta-h100", provider="Beta GPU", intra_peak=300.0, inter_peak=None, ttfj=[40.0, 55.5]),
        _pair(cluster="gamma", provider="Gamma", ttfj=[]),
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_single_and_compare(fmt, single, several):
    one = render(single, fmt)
    many = render(several, fmt, compare=True)
    assert one.strip() and many.strip()
    assert ESC not in one and ESC not in many
    if fmt in ("markdown", "html", "terminal"):
        assert "Silver" in one or "SILVER" in one
        for name in ("Acme Cloud", "Beta GPU", "Gamma"):
            assert name in many


def test_single_report_sections_in_markdown(single):
    md = render(single, "markdown")
    assert md.index("**Tier: Silver**") < md.index("## Categories") < md.index("## Criteria")
    for section in ("## Findings", "## Node health", "## NCCL bus bandwidth", "## Time to first job"):
        assert section in md
    for section in ("## Coverage", "## Run"):
        assert section in md
    # every verdict kind appears with its label
    for label in ("| pass |", "| warn |", "| fail |", "| not measured |", "| not applicable |"):
        assert label in md
    # the attested criterion is visibly marked, with its evidence link
    assert "soc2** SOC 2 Type II report 🖊️ _attested_" in md
    assert "<https://example.com/trust/soc2.pdf>" in md
    # threshold and where it comes from
    assert "pass &gt;= 0.8 x 360 GB/s" in md and "coreweave/nccl-tests README \\(H100" in md
    # findings ordered by severity, each with its remediation
    crit = md.index("**CRITICAL**")
    medium = md.index("**MEDIUM**")
    assert crit < medium
    assert "  - Fix: Drain the node" in md
    # coverage names what was not measured and why
    assert "| fabric | probe | not installed |" in md
    assert "| gpu-004 | host | unreachable |" in md
    # run metadata
    assert "clustermax-default 2026.11, sha256 `cdcdcdcdcdcdcdcd…`" in md
    assert "12 min 34 s" in md


def test_markdown_renders_with_markdown_it_and_tables_keep_their_shape(single, several):
    parser = MarkdownIt("commonmark").enable("table")
    for md in (
        render(single, "markdown"),
        render(several, "markdown", compare=True),
        render([hostile_pair()], "markdown"),
    ):
        html = parser.render(md)
        assert "<table>" in html
        assert "<script" not in html and "<img" not in html
        for block in re.findall(r"((?:^\|.*\|\n)+)", md, flags=re.M):
            rows = [r for r in block.splitlines() if r.strip()]
            widths = {len(re.findall(r"(?<!\\)\|", row)) for row in rows}
            assert len(widths) == 1, block


def test_health_matrix_and_key_metrics(single):
    report = build_report(single)
    c = report.clusters[0]
    checks = [check.id for check in c.health.checks]
    assert checks[:3] == ["reach", "gpus", "ecc"]
    rows = {row.host: {cell.check: cell for cell in row.cells} for row in c.health.rows}
    assert rows["gpu-002"]["ecc"].status == "fail"
    assert "GPU 3 reports 4 volatile uncorrectable ECC errors" in rows["gpu-002"]["ecc"].reason
    assert rows["gpu-004"]["reach"].status == "fail" and "No route to host" in rows["gpu-004"]["reach"].reason
    assert rows["gpu-004"]["ecc"].status == "unknown" and "unreachable" in rows["gpu-004"]["ecc"].reason
    assert rows["gpu-001"]["persistence"].status == "warn"
    intra = c.key_metric("nccl_intra_peak")
    assert (
        intra is not None
        and intra.reference == 480
        and intra.fraction_of_reference == pytest.approx(intra.value / 480)
    )
    inter = c.key_metric("nccl_inter_peak")
    assert inter is not None and inter.reference == pytest.approx(8 * 46)
    assert c.key_metric("gpu_health_failures").value == 1
    assert c.key_metric("ttfj_median").value == pytest.approx(2.9)
    assert len(c.curves) == 6 and all(len(curve.points) == 10 for curve in c.curves)


def test_unmeasured_values_stay_none_not_zero(several):
    report = build_report(several, compare=True)
    beta = next(c for c in report.clusters if c.cluster == "beta-h100")
    assert beta.key_metric("nccl_inter_peak").value is None
    gamma = next(c for c in report.clusters if c.cluster == "gamma")
    assert gamma.key_metric("ttfj_median").value is None
    csv = pd.read_csv(io.StringIO(render(several, "csv", compare=True)))
    row = csv[(csv.cluster == "beta-h100") & (csv.metric == "key.nccl_inter_peak")]
    assert len(row) == 1 and pd.isna(row.value.iloc[0])


def test_compare_leaderboard_order_and_tables(several):
    pairs = [
        (several[0][0], make_score(several[0][0])),
        (several[1][0], make_score(several[1][0], score=90.0)),
        (
            several[2][0],
            make_score(several[2][0], tier=__import__("clustermax").models.Tier.GOLD, score=60.0),
        ),
    ]
    report = build_report(pairs, compare=True)
    assert [c.cluster for c in report.clusters] == ["gamma", "beta-h100", "acme-h100"]
    md = render_report(report, "markdown")
    assert md.index("| 1 | Gamma") < md.index("| 2 | Beta GPU / beta-h100") < md.index("| 3 | Acme Cloud")
    assert "| Networking | 80 | 80 | 80 |" in md
    csv = pd.read_csv(io.StringIO(render_report(report, "csv")))
    assert set(csv.provider) == {"Acme Cloud", "Beta GPU", "Gamma"}
    assert (csv.groupby("cluster").size() == len(csv) / 3).all()
    assert {"score", "coverage", "category.networking", "key.nccl_intra_peak", "criterion.soc2"} <= set(
        csv.metric
    )


def test_csv_single_is_one_row_per_criterion(single):
    frame = pd.read_csv(io.StringIO(render(single, "csv")))
    assert list(frame.criterion) == [c.id for c in single[0][1].criteria]
    assert set(frame.verdict) == {v.value for v in Verdict}
    assert frame.loc[frame.criterion == "soc2", "attested"].item()


def test_csv_neutralises_formulas():
    bundle = make_bundle(cluster='=HYPERLINK("http://x")', provider="@SUM(A1)")
    text = render([(bundle, make_score(bundle))], "csv")
    frame = pd.read_csv(io.StringIO(text))
    assert set(frame.cluster) == {'\'=HYPERLINK("http://x")'}
    assert set(frame.provider) == {"'@SUM(A1)"}


def test_json_is_the_report_model_and_deterministic(single):
    text = render(single, "json")
    assert render(single, "json") == text
    report = Report.model_validate_json(text)
    assert report.mode == "single" and report.clusters[0].tier.value == "silver"
    data = json.loads(text)
    assert data["clusters"][0]["criteria"][5]["attested"] is True


def test_html_is_deterministic_and_self_contained(single, several):
    for items, compare in ((single, False), (several, True)):
        html = render(items, "html", compare=compare)
        assert html == render(items, "html", compare=compare)
        assert "<script" not in html.lower()
        parser = _Collector()
        parser.feed(html)
        assert not [
            t for t, a in parser.tags if "src" in a or t in ("link", "iframe", "object", "embed", "img")
        ]
        assert "@import" not in html and "url(" not in html
        assert "Content-Security-Policy" in html and "default-src 'none'" in html
        assert html.count("<svg") >= 1


def test_junit_validates_against_the_schema(single, several):
    schema = xmlschema.XMLSchema(str(XSD))
    for text in (
        render(single, "junit"),
        render(several, "junit", compare=True),
        render([hostile_pair()], "junit"),
    ):
        schema.validate(text)
    root = ET.fromstring(render(single, "junit"))
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == len(single[0][1].criteria)
    by_name = {case.get("name").split(":")[0]: case for case in cases}
    assert by_name["gpu_ecc"].find("failure").get("type") == "fail"
    assert by_name["nccl_inter_band"].find("failure").get("type") == "warn"
    assert by_name["dcgm_exporter"].find("skipped").get("message").startswith("not measured:")
    assert by_name["k8s_gpu_operator"].find("skipped").get("message").startswith("not applicable:")
    assert list(by_name["nccl_intra_peak"]) == []
    assert "[attested]" in by_name["soc2"].get("name")
    assert suite.get("failures") == "3" and suite.get("skipped") == "2"  # gpu_ecc; the warns of
    # nccl_inter_band and persistence
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["tier"] == "Silver" and props["rubric"] == "clustermax-default 2026.11"
    assert props["tier_floor"] == "Silver" and props["tier_ceiling"] == "Platinum"
    assert props["verdict"] == "at least Silver (up to Platinum: 1 criterion not measured)"
    assert props["held_down_by"] == "Gold needs gpu_ecc to pass; it fails"
    assert props["advice"].startswith("To reach Gold: fix gpu_ecc")


def test_junit_warn_as_skipped(single):
    text = render(single, "junit", junit_warn="skipped")
    xmlschema.XMLSchema(str(XSD)).validate(text)
    suite = ET.fromstring(text).find("testsuite")
    assert suite.get("failures") == "1" and suite.get("skipped") == "4"
    warn = next(c for c in suite.iter("testcase") if c.get("name").startswith("nccl_inter_band"))
    assert warn.find("skipped").get("message").startswith("warn:")


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def test_hostile_strings_are_escaped_everywhere():
    items = [hostile_pair()]
    html = render(items, "html")
    parser = _Collector()
    parser.feed(html)
    tags = {tag for tag, _ in parser.tags}
    assert "script" not in tags and "img" not in tags and "i" not in tags and "b" not in tags
    assert all(not (attrs.get("href") or "").lower().startswith("javascript:") for _, attrs in parser.tags)
    assert not any(k.startswith("on") for _, attrs in parser.tags for k in attrs)
    text = "".join(parser.text)
    assert HOSTILE_HOST in text  # shown as text, not markup (also inside the SVG charts' labels)
    assert HOSTILE_GPU in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert ESC not in html and "pwned" not in html
    # evidence URLs become links only when they are plain http(s) URLs; the rest is shown as text
    hrefs = [attrs["href"] for tag, attrs in parser.tags if tag == "a" and attrs.get("href")]
    assert not [h for h in hrefs if not h.startswith(("https://", "http://", "data:text/csv", "#"))]
    assert "javascript:alert(3)" in text and "https://example.com/ok?a=1&b=<2>" in text

    term = render(items, "terminal")
    assert ESC not in term and "\x07" not in term and "pwned" not in term
    assert "ECC errors on GPU 3" in term
    assert HOSTILE_HOST in term

    md = render(items, "markdown")
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "[x](javascript" not in md.replace("\\", "")[:0] + md  # the link syntax is escaped
    assert "\\[x\\]\\(javascript" in md

    for fmt in ("json", "csv", "junit"):
        out = render(items, fmt)
        assert ESC not in out and "pwned" not in out


def test_terminal_colours_only_when_asked(single):
    plain = render(single, "terminal")
    coloured = render(single, "terminal", color=True)
    assert ESC not in plain
    assert "\x1b[" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured).count("SILVER") == 1


def test_write_audit_reports(tmp_path, single):
    bundle, score = single[0]
    paths = write_audit_reports(bundle, score, tmp_path / "audit")
    assert [p.name for p in paths] == ["report.md", "report.html"]
    assert "**Tier: Silver**" in paths[0].read_text(encoding="utf-8")
    assert 'id="tier">Silver<' in paths[1].read_text(encoding="utf-8")
    assert sorted(p.name for p in (tmp_path / "audit").iterdir()) == ["report.html", "report.md"]


def test_unknown_format_is_refused(single):
    with pytest.raises(ValueError, match="unknown report format 'pdf'"):
        render(single, "pdf")


def test_markdown_order_contents_and_folded_criteria(single):
    md = render(single, "markdown")
    heads = [
        "**Tier: Silver**",
        "**Contents:**",
        "## Findings",
        "## Categories",
        "## Criteria",
        "## Evidence",
        "### NCCL bus bandwidth",
        "### Node health",
        "### Time to first job",
        "### Coverage",
        "### Run and parameters",
    ]
    positions = [md.index(h) for h in heads]
    assert positions == sorted(positions)
    # every contents link names a heading GitHub makes that anchor for
    anchors = re.findall(r"\]\(#([a-z-]+)\)", md.split("**Contents:**", 1)[1].split("\n", 1)[0])
    headings = {
        re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in re.findall(r"^#+ (.+)$", md, re.M)
    }
    assert anchors and set(anchors) <= headings
    # criteria by category, the unmeasured ones folded with a count, none lost
    cluster = build_report(single).clusters[0]
    for group in criteria_groups(cluster):
        assert f"### {group.title}\n" in md
        if group.hidden:
            assert f"<details><summary>{group.hidden_label}</summary>" in md
    folded = md.split("## Criteria", 1)[1].split("## Evidence", 1)[0]
    for criterion in cluster.criteria:
        assert f"**{criterion.id}**" in folded.replace("\\", "")
    assert "| gpu-004 | host | unreachable |" in md  # coverage keeps what is not a criterion
    assert "`nccl_allreduce`" in md and "`iters=20`" in md and "`node_counts=1,2,4`" in md


def test_html_order_contents_and_folded_criteria(single):
    html = render(single, "html")
    ids = ["verdict", "contents", "findings", "categories", "criteria", "evidence", "nccl", "health", "ttfj"]
    positions = [html.index(f'id="{i}"') for i in [*ids, "coverage", "run", "params"]]
    assert positions == sorted(positions)
    toc = html.split('<nav class="toc"', 1)[1].split("</nav>", 1)[0]
    for anchor in re.findall(r'href="#([^"]+)"', toc):
        assert f'id="{anchor}"' in html
    folded = [g for g in criteria_groups(build_report(single).clusters[0]) if g.hidden]
    assert folded and html.count('<details class="unmeasured">') == len(folded)
    assert "<script" not in html and "<details open" not in html


def test_probe_parameters_are_in_the_report_model(single):
    report = build_report(single)
    params = {p.probe: p for p in report.clusters[0].meta.probe_params}
    assert params["nccl_allreduce"].hosts == []  # a cluster-wide probe
    assert params["nccl_allreduce"].params["min_bytes"] == "16M"
    assert (
        json.loads(render(single, "json"))["clusters"][0]["meta"]["probe_params"][0]["probe"]
        == "nccl_allreduce"
    )


def test_overlapping_series_are_named_in_every_chart(several):
    from clustermax.reports.charts import compare_busbw_chart, overlap_notes, overlaps
    from clustermax.reports.model import CurvePoint

    a = [CurvePoint(size_bytes=2**k, busbw_gbps=10.0 * k) for k in range(20, 30)]
    near = [CurvePoint(size_bytes=p.size_bytes, busbw_gbps=p.busbw_gbps * 1.005) for p in a]
    apart = [CurvePoint(size_bytes=p.size_bytes, busbw_gbps=p.busbw_gbps * 1.2) for p in a]
    series = [("one", a), ("two", a), ("three", near), ("four", apart)]
    assert overlaps(series) == {1: (0, True), 2: (0, False)}
    assert overlap_notes(series) == [
        "two is identical to one at every size: drawn dashed, with hollow dots, over it.",
        "three is within 1% of one at every size: drawn dashed, with hollow dots, over it.",
    ]
    svg = compare_busbw_chart(series, "t", "ov")
    assert "two (dashed: see note)" in svg and "four (dashed" not in svg
    assert ".serie-2 .dot{fill:none" in svg and ".serie-3 .dot{fill:none" in svg
    assert ".serie-4 .dot{fill:none" not in svg

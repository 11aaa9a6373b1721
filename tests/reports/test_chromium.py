"""The HTML reports opened in a real headless Chromium, driven over the DevTools protocol.

Evidence gathered: every Network.requestWillBeSent (only the report file itself may be requested), console
errors, uncaught exceptions and Log entries (a blocked script or fetch would appear there), JavaScript
dialogs; the rendered text (tier, criteria rows); no sideways scrolling of the page at 1280 or 390 px, and
a visible cue on every table box that scrolls sideways instead; the page height; every table-of-contents
link landing on its section; the criteria not measured folded in closed <details>; the print layout; and
screenshots at desktop and phone widths (kept under $CLUSTERMAX_SCREENSHOTS when set, else in tmp_path,
never in the repository).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from clustermax.reports import build_report, render, render_report
from clustermax.reports.tables import criteria_groups

from .cdp import Browser, chromium_binary
from .factories import HOSTILE_HOST, hostile_pair, make_bundle, make_score

pytestmark = pytest.mark.chromium

VIEWPORTS = {"desktop": (1280, 900, False, 1.0), "phone": (390, 844, True, 2.0)}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    binary = chromium_binary()
    if binary is None:
        reason = "chromium unavailable: missing chromium (run bash scripts/test.sh as root)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)
    b = Browser(binary)
    try:
        yield b
    finally:
        b.close()


def _shots_dir(tmp_path: Path) -> Path:
    target = Path(os.environ.get("CLUSTERMAX_SCREENSHOTS") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


# boxes that scroll sideways: each must be marked wide, so that the phone layout says it scrolls
_SIDEWAYS = """Array.from(document.querySelectorAll('.scroll')).filter(e => e.scrollWidth > e.clientWidth + 1)
  .map(e => ({wide: e.classList.contains('wide'), cue: getComputedStyle(e, '::before').content,
              table: (e.querySelector('table') || {}).className}))"""


def _open_and_check(browser: Browser, html_file: Path, tmp_path: Path, name: str) -> dict[str, str]:
    url = html_file.as_uri()
    texts = {}
    for view, (width, height, mobile, scale) in VIEWPORTS.items():
        browser.open(url, width=width, height=height, mobile=mobile, scale=scale)
        requests = [e["params"]["request"]["url"] for e in browser.events_named("Network.requestWillBeSent")]
        assert requests == [url], f"unexpected requests: {requests}"
        console_errors = [
            e["params"]
            for e in browser.events_named("Runtime.consoleAPICalled")
            if e["params"]["type"] == "error"
        ]
        assert console_errors == []
        assert browser.events_named("Runtime.exceptionThrown") == []
        log_errors = [e["params"]["entry"] for e in browser.events_named("Log.entryAdded")]
        assert [e for e in log_errors if e.get("level") in ("error", "warning")] == []
        assert browser.events_named("Page.javascriptDialogOpening") == []
        overflow = browser.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{view}: the page scrolls sideways by {overflow}px"
        assert browser.evaluate("document.documentElement.scrollWidth <= window.innerWidth") is True
        for box in browser.evaluate(_SIDEWAYS):
            assert box["wide"], f"{view}: a table box scrolls sideways with no cue: {box}"
            if view == "phone":
                assert "swipe the table sideways" in box["cue"], box
        shot = browser.screenshot(_shots_dir(tmp_path) / f"{name}-{view}.png")
        assert shot.stat().st_size > 10_000
        texts[view] = browser.evaluate("document.body.innerText")
    return texts


def _check_toc(browser: Browser, view: str) -> list[str]:
    """Follow every table-of-contents link: its target exists and sits at the top of the viewport (or the
    page is scrolled to its end, when the section is too close to the end to reach the top)."""
    anchors = browser.evaluate(
        "Array.from(document.querySelectorAll('nav.toc a')).map(a => a.getAttribute('href'))"
    )
    assert anchors and all(a.startswith("#") for a in anchors), anchors
    for anchor in anchors:
        landed = browser.evaluate(
            f"""new Promise(resolve => {{
              window.scrollTo(0, 0);
              const target = document.getElementById({anchor[1:]!r});
              if (!target) {{ resolve({{missing: true}}); return; }}
              document.querySelector('nav.toc a[href="{anchor}"]').click();
              setTimeout(() => resolve({{
                top: target.getBoundingClientRect().top,
                margin: parseFloat(getComputedStyle(target).scrollMarginTop) || 0,
                atEnd: Math.ceil(window.scrollY + window.innerHeight)
                  >= document.documentElement.scrollHeight - 1,
                visible: target.getBoundingClientRect().top < window.innerHeight,
                hash: location.hash}}), 100);
            }})"""
        )
        assert not landed.get("missing"), f"{view}: no element for {anchor}"
        assert landed["hash"] == anchor
        on_top = abs(landed["top"] - landed["margin"]) <= 2
        assert on_top or (landed["atEnd"] and landed["visible"]), f"{view}: {anchor} landed at {landed}"
    browser.evaluate("window.scrollTo(0, 0)")
    return anchors


def _page_heights(browser: Browser, html_file: Path, tmp_path: Path, name: str) -> dict[str, int]:
    heights = {}
    for view, (width, height, mobile, scale) in VIEWPORTS.items():
        browser.open(html_file.as_uri(), width=width, height=height, mobile=mobile, scale=scale)
        heights[view] = browser.evaluate("document.documentElement.scrollHeight")
        assert browser.evaluate("document.documentElement.scrollWidth <= window.innerWidth") is True
        browser.screenshot(_shots_dir(tmp_path) / f"{name}-{view}.png")
    return heights


def test_single_report_in_chromium(browser, tmp_path):
    bundle = make_bundle()
    score = make_score(bundle)
    html_file = tmp_path / "report.html"
    html_file.write_text(render([(bundle, score)], "html"), encoding="utf-8")
    texts = _open_and_check(browser, html_file, tmp_path, "single")
    text = texts["desktop"]
    assert browser.evaluate("document.getElementById('tier').innerText") == "Silver"
    # criteria by category, failing first in each; the unmeasured folded in closed <details>
    groups = criteria_groups(build_report([(bundle, score)]).clusters[0])
    rows = browser.evaluate(
        "Array.from(document.querySelectorAll('.criterion')).map(r => [r.id, r.dataset.verdict, r.tagName])"
    )
    expected = [[f"cr-{c.id}", c.verdict.value, "TR"] for g in groups for c in g.shown]
    assert [r for r in rows if r[2] == "TR"] == expected
    assert sorted(r[0] for r in rows) == sorted(f"cr-{c.id}" for c in score.criteria)
    folded = [g for g in groups if g.hidden]
    assert folded
    for group in folded:
        details = browser.evaluate(
            f"""(() => {{ const d = document.querySelector('#cat-{group.id} details.unmeasured');
              return d && {{open: d.open, summary: d.querySelector('summary').innerText,
                items: Array.from(d.querySelectorAll('li.criterion'))
                  .map(li => [li.dataset.verdict, li.checkVisibility()])}}; }})()"""
        )
        assert details is not None, group.id
        assert details["open"] is False and details["summary"] == group.hidden_label
        assert [v for v, _ in details["items"]] == [c.verdict.value for c in group.hidden]
        assert not any(visible for _, visible in details["items"])  # folded: not shown until opened
    opened = browser.evaluate(
        "(() => { const d = document.querySelector('details.unmeasured'); d.open = true;"
        " return d.querySelector('li.criterion').checkVisibility(); })()"
    )
    assert opened is True
    assert "attested" in browser.evaluate("document.getElementById('cr-soc2').innerText")
    # the verdict comes first, then findings, categories, criteria, evidence
    order = browser.evaluate(
        "['verdict', 'findings', 'categories', 'criteria', 'evidence', 'nccl', 'health', 'ttfj', 'coverage',"
        " 'run'].map(id => document.getElementById(id).getBoundingClientRect().top + window.scrollY)"
    )
    assert order == sorted(order)
    for view, (width, height, mobile, scale) in VIEWPORTS.items():
        browser.open(html_file.as_uri(), width=width, height=height, mobile=mobile, scale=scale)
        assert _check_toc(browser, view) == [
            "#verdict",
            "#findings",
            "#categories",
            "#criteria",
            "#evidence",
            "#nccl",
            "#health",
            "#ttfj",
            "#coverage",
            "#run",
        ]
    # each failing criterion among the findings links to its row
    links = browser.evaluate(
        "Array.from(document.querySelectorAll('ol.findings a')).map(a => a.getAttribute('href'))"
    )
    assert links and all(browser.evaluate(f"!!document.getElementById({h[1:]!r})") for h in links)
    for heading in (
        "Categories",
        "Criteria",
        "Findings",
        "Evidence",
        "Node health",
        "NCCL bus bandwidth",
        "Coverage",
        "Run and parameters",
        "Probe parameters",
    ):
        assert heading in text
    assert browser.evaluate("document.querySelectorAll('svg').length") == 3  # two busbw charts and TTFJ
    assert "16-512 MiB band" in text and "reference 480 GB/s" in text
    assert "Silver" in texts["phone"]


def test_compare_report_in_chromium(browser, tmp_path):
    items = []
    for cluster, provider, peak in (("a", "Alpha", 470.0), ("b", "Beta", 390.0), ("c", "Gamma", 250.0)):
        bundle = make_bundle(cluster=cluster, provider=provider, intra_peak=peak)
        items.append((bundle, make_score(bundle)))
    html_file = tmp_path / "compare.html"
    html_file.write_text(render(items, "html", compare=True), encoding="utf-8")
    texts = _open_and_check(browser, html_file, tmp_path, "compare")
    board = browser.evaluate(
        "Array.from(document.querySelectorAll('table.leaderboard tbody tr')).map(r => r.cells[1].innerText)"
    )
    assert board == ["Alpha / a", "Beta / b", "Gamma / c"]
    assert "Key metrics" in texts["desktop"] and "Download the whole table as CSV" in texts["desktop"]


def test_hostile_report_runs_nothing_in_chromium(browser, tmp_path):
    html_file = tmp_path / "hostile.html"
    html_file.write_text(render([hostile_pair()], "html"), encoding="utf-8")
    texts = _open_and_check(browser, html_file, tmp_path, "hostile")
    assert HOSTILE_HOST in texts["desktop"]
    assert browser.evaluate("document.querySelectorAll('script, img, iframe').length") == 0
    assert browser.evaluate("document.querySelectorAll('a[href^=\"javascript\"]').length") == 0


ROOT = Path(__file__).resolve().parents[2]
README_IMPORT = (  # the README's "Try it" import: clustermax import --provider Example --cluster h100-pair
    "tests/data/nccl-tests/h100-2node-allreduce-mpirun.log",
    "tests/data/nvidia-smi/h100x8-565-table.txt",
)
MAX_DESKTOP_HEIGHT = 6000  # px at 1280 px wide: the verdict, the findings and the folded criteria fit
MAX_PHONE_HEIGHT = 10000  # px at 390 px wide (it was 66,038 px before the unmeasured were folded)


def _readme_import_html(tmp_path: Path) -> Path:
    from datetime import datetime, timezone

    from clustermax.bundle.from_files import import_files
    from clustermax.scoring import score_bundle

    outcome = import_files(
        [str(ROOT / name) for name in README_IMPORT],
        provider="Example",
        cluster="h100-pair",
        command_line="clustermax import --provider Example --cluster h100-pair --out imported "
        + " ".join(README_IMPORT),
        now=lambda: datetime(2026, 1, 1, tzinfo=timezone.utc),
        reproducible=True,
    )
    bundle = outcome.bundle
    assert [i.status for i in bundle.imports] == ["imported", "imported"]
    html_file = tmp_path / "readme-import.html"
    html_file.write_text(
        render_report(build_report([(bundle, score_bundle(bundle))]), "html"), encoding="utf-8"
    )
    return html_file


def test_readme_import_report_is_short_and_fits_a_phone(browser, tmp_path):
    html_file = _readme_import_html(tmp_path)
    texts = _open_and_check(browser, html_file, tmp_path, "readme-import")
    heights = _page_heights(browser, html_file, tmp_path, "readme-import")
    assert heights["desktop"] <= MAX_DESKTOP_HEIGHT, heights
    assert heights["phone"] <= MAX_PHONE_HEIGHT, heights
    for view, (width, height, mobile, scale) in VIEWPORTS.items():
        browser.open(html_file.as_uri(), width=width, height=height, mobile=mobile, scale=scale)
        _check_toc(browser, view)
        # the only finding is in the first screens, not below 137 rows of "not measured"
        top = browser.evaluate("document.querySelector('ol.findings li').getBoundingClientRect().top")
        assert top < (1600 if view == "desktop" else 2600), (view, top)
    folded = browser.evaluate(
        "Array.from(document.querySelectorAll('details.unmeasured'))"
        ".map(d => [d.open, d.querySelectorAll('li.criterion').length])"
    )
    measured = browser.evaluate("document.querySelectorAll('tr.criterion').length")
    assert folded and not any(is_open for is_open, _ in folded)
    assert sum(n for _, n in folded) + measured == 146  # every criterion of the rubric, none lost
    assert "NCCL bus bandwidth" in texts["desktop"] and "kind=nccl-tests" in texts["desktop"]


def test_print_layout_keeps_the_report_and_drops_the_navigation(browser, tmp_path):
    html_file = _readme_import_html(tmp_path)
    browser.open(html_file.as_uri(), width=1280, height=900, mobile=False)
    browser.page("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert browser.evaluate("getComputedStyle(document.querySelector('nav.toc')).display") == "none"
        assert browser.evaluate("getComputedStyle(document.querySelector('.charts')).display") == "block"
        assert browser.evaluate("getComputedStyle(document.querySelector('.scroll')).overflowX") == "visible"
        assert browser.evaluate("document.documentElement.scrollWidth <= window.innerWidth") is True
        assert "Findings" in browser.evaluate("document.body.innerText")
    finally:
        browser.page("Emulation.setEmulatedMedia", {"media": ""})


def test_overlapping_series_are_told_apart_in_chromium(browser, tmp_path):
    # two clusters whose inter-node curves are the same data (as the README's comparison has them)
    items = []
    for cluster, provider in (("ndr", "example-h100"), ("sick", "example-h100-bad")):
        bundle = make_bundle(cluster=cluster, provider=provider, intra_peak=450.0)
        items.append((bundle, make_score(bundle)))
    html_file = tmp_path / "overlap.html"
    html_file.write_text(render(items, "html", compare=True), encoding="utf-8")
    _open_and_check(browser, html_file, tmp_path, "overlap")
    notes = browser.evaluate("Array.from(document.querySelectorAll('.overlap')).map(p => p.innerText)")
    assert notes == [
        "example-h100-bad / sick (1 node) is identical to example-h100 / ndr (1 node) at every size: drawn "
        "dashed, with hollow dots, over it.",
        "example-h100-bad / sick (2 nodes) is identical to example-h100 / ndr (2 nodes) at every size: drawn "
        "dashed, with hollow dots, over it.",
    ]
    # the series on top is dashed and its dots are hollow, so the one under it shows through
    styles = browser.evaluate(
        """[Array.from(document.querySelectorAll('svg .serie-2 path.line'))
              .map(p => getComputedStyle(p).strokeDasharray),
            Array.from(document.querySelectorAll('svg .serie-2 .dot')).map(d => getComputedStyle(d).fill),
            Array.from(document.querySelectorAll('svg .serie-1 .dot')).map(d => getComputedStyle(d).fill)]"""
    )
    dashes, hollow, under = styles
    assert len(dashes) == 2 and all(d not in ("none", "") for d in dashes), dashes
    assert hollow and set(hollow) == {"none"}, hollow
    assert under and "none" not in under, under


@pytest.mark.parametrize(
    "example", sorted(p.parent.name for p in (ROOT / "examples" / "reports").glob("*/report.html"))
)
def test_example_reports_fit_desktop_and_phone(browser, tmp_path, example):
    """Every committed example: no sideways page scroll, a cue on each box that scrolls, contents links
    that land; heights written next to the screenshots (heights.json) for the record."""
    import json

    html_file = ROOT / "examples" / "reports" / example / "report.html"
    _open_and_check(browser, html_file, tmp_path, example)
    heights = _page_heights(browser, html_file, tmp_path, example)
    for view, (width, height, mobile, scale) in VIEWPORTS.items():
        browser.open(html_file.as_uri(), width=width, height=height, mobile=mobile, scale=scale)
        _check_toc(browser, view)
    record = _shots_dir(tmp_path) / "heights.json"
    known = json.loads(record.read_text(encoding="utf-8")) if record.exists() else {}
    known[example] = heights
    record.write_text(json.dumps(known, indent=1, sort_keys=True), encoding="utf-8")
    assert heights["desktop"] < heights["phone"]

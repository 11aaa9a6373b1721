"""The HTML reports opened in a real headless Chromium, driven over the DevTools protocol.

Evidence gathered: every Network.requestWillBeSent (only the report file itself may be requested), console
errors, uncaught exceptions and Log entries (a blocked script or fetch would appear there), JavaScript
dialogs; the rendered text (tier, criteria rows); no sideways scrolling of the page at phone width; and
screenshots at desktop and phone widths (kept under $CLUSTERMAX_SCREENSHOTS when set, else in tmp_path).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from clustermax.reports import render

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
        shot = browser.screenshot(_shots_dir(tmp_path) / f"{name}-{view}.png")
        assert shot.stat().st_size > 10_000
        texts[view] = browser.evaluate("document.body.innerText")
    return texts


def test_single_report_in_chromium(browser, tmp_path):
    bundle = make_bundle()
    score = make_score(bundle)
    html_file = tmp_path / "report.html"
    html_file.write_text(render([(bundle, score)], "html"), encoding="utf-8")
    texts = _open_and_check(browser, html_file, tmp_path, "single")
    text = texts["desktop"]
    assert browser.evaluate("document.getElementById('tier').innerText") == "Silver"
    rows = browser.evaluate(
        "Array.from(document.querySelectorAll('tr.criterion')).map(r => r.dataset.verdict)"
    )
    assert rows == [c.verdict.value for c in score.criteria]
    assert "attested" in browser.evaluate("document.querySelector('tr.criterion:nth-child(6)').innerText")
    for heading in (
        "Categories",
        "Criteria",
        "Findings",
        "Node health",
        "NCCL bus bandwidth",
        "Coverage",
        "Run",
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

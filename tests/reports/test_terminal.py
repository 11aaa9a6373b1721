"""The terminal report at 80 and 100 columns, exact text (golden files under tests/reports/terminal/).

Rendered from the real bundles under tests/data/bundles (imports of real tool outputs) and from the report
factories. Regenerate the golden files after a deliberate change of the terminal renderer with:

    .venv/bin/python tests/reports/test_terminal.py --regen
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from clustermax.bundle.io import load_bundle
from clustermax.reports import build_report, render_report
from clustermax.reports.tables import distinct_names
from clustermax.scoring import score_bundle

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
GOLDEN = HERE / "terminal"
WIDTHS = (80, 100)


def _real(name: str):  # type: ignore[no-untyped-def]
    bundle = load_bundle(ROOT / "tests" / "data" / "bundles" / name)
    return bundle, score_bundle(bundle)


def _long_names():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT))
    from tests.reports.factories import make_bundle, make_score

    items = []
    for cluster, peak in (("h100-cluster-alpha", 470.0), ("h100-cluster-beta", 390.0)):
        bundle = make_bundle(cluster=cluster, provider="Example GPU Cloud, us-east-2 region", intra_peak=peak)
        items.append((bundle, make_score(bundle)))
    return items


CASES = {
    # the README's comparison: two providers whose names share their start
    "compare-readme": lambda: (
        [_real("h100-healthy-ndr"), _real("h100-failing-health")],
        True,
    ),
    "single-h100-healthy-ndr": lambda: ([_real("h100-healthy-ndr")], False),
    "single-h100-failing-health": lambda: ([_real("h100-failing-health")], False),
    "compare-long-names": lambda: (_long_names(), True),
}


def _render(case: str, width: int) -> str:
    items, compare = CASES[case]()
    return render_report(build_report(items, compare=compare), "terminal", width=width)


def _golden(case: str, width: int) -> Path:
    return GOLDEN / f"{case}-{width}.txt"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_terminal_report_exact_text(case: str, width: int) -> None:
    text = _render(case, width)
    assert text == _golden(case, width).read_text(encoding="utf-8"), (
        f"{case} at {width} columns changed: run .venv/bin/python tests/reports/test_terminal.py --regen"
    )
    too_wide = [line for line in text.splitlines() if len(line) > width]
    assert too_wide == []


@pytest.mark.parametrize("width", WIDTHS)
def test_names_that_tell_clusters_apart_are_never_cut(width: int) -> None:
    text = _render("compare-long-names", width)
    board = text.split("Rated clusters first")[0]
    names = [
        "Example GPU Cloud, us-east-2 region / h100-cluster-alpha",
        "Example GPU Cloud, us-east-2 region / h100-cluster-beta",
    ]
    if width >= 100:  # room enough: whole names
        assert all(f"| {name} " in board for name in names)
    else:  # the common start is shortened (as little as fits), the end that differs stays whole
        assert all(f"| …Cloud, us-east-2 region / {name.rsplit('/ ', 1)[1]} " in board for name in names)
        assert '… stands for "Example GPU "' in board
    readme = _render("compare-readme", width)
    assert "| example-h100 / h100-ndr " in readme and "| example-h100-bad / h100-sick " in readme


def test_distinct_names_shorten_the_common_prefix_not_the_end() -> None:
    assert distinct_names(["a / x", "b / y"], 20) == (["a / x", "b / y"], None)
    names = ["provider-long-name / alpha-1", "provider-long-name / beta-22"]
    assert distinct_names(names, 12) == (["…/ alpha-1", "…/ beta-22"], '… stands for "provider-long-name "')
    # nothing in common: the middle goes, the start and the end stay
    assert distinct_names(["abcdefghijklmnop-1", "zyxwvutsrqponm-22"], 10) == (
        ["abc…mnop-1", "zyx…onm-22"],
        None,
    )
    assert distinct_names(["abcdefghijklmnopqrstuvwxyz"], 9) == (["abc…vwxyz"], None)
    # shortened after the shared start and still too long: the middle of what is left goes
    short, legend = distinct_names(["example-h100 / h100-ndr", "example-h100-bad / h100-sick"], 20)
    assert short == ["…h100 / h100-ndr", "…h100-…d / h100-sick"] and legend == '… stands for "example-"'


def main() -> int:
    if sys.argv[1:] != ["--regen"]:
        print(__doc__)
        return 2
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for case in sorted(CASES):
        for width in WIDTHS:
            _golden(case, width).write_text(_render(case, width), encoding="utf-8")
            print(f"wrote {_golden(case, width).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

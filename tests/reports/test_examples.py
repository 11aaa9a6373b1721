"""The committed examples/reports/ are what the current code renders (run scripts/regen_examples.py)."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

from clustermax.reports.charts import compare_busbw_chart
from clustermax.reports.model import CurvePoint

ROOT = Path(__file__).resolve().parents[2]


def _regen():
    spec = importlib.util.spec_from_file_location("regen_examples", ROOT / "scripts" / "regen_examples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["regen_examples"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_examples_are_current():
    regen = _regen()
    files = regen.generate()
    assert len(files) >= 4 * 7 + 3
    stale = [str(p.relative_to(ROOT)) for p in regen.stale(files)]
    assert stale == [], "examples are stale: run .venv/bin/python scripts/regen_examples.py"


def test_examples_come_from_real_imported_files():
    regen = _regen()
    for example in regen.EXAMPLES:
        for name in example.files:
            assert (ROOT / name).is_file() and (ROOT / f"{name}.source").is_file(), name
    md = (ROOT / "examples/reports/gcp-a3mega-h100-2node/report.md").read_text(encoding="utf-8")
    assert "**Tier:" in md and "## NCCL bus bandwidth" in md and "| 8 GiB | 338.8 | 338.8 |" in md


def test_fifty_providers_on_one_chart():
    # pygal's title splitter looped forever once the legend left the plot no height (regression)
    series = [
        (
            f"Provider {i:02d} / cluster-{i:02d}",
            [CurvePoint(size_bytes=2**k, busbw_gbps=100.0 + i + k) for k in range(24, 34)],
        )
        for i in range(60)
    ]
    svg = compare_busbw_chart(series, "All-reduce busbw", "many")
    assert all(f"Provider {i:02d} / cluster-{i:02d}" in svg for i in range(60))
    assert "<script" not in svg and math.isfinite(len(svg))

"""The committed examples/reports/ are what the current code renders (run scripts/regen_examples.py)."""

from __future__ import annotations

import importlib.util
import math
import re
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
    # imports: bundle + every format each; audits: every format each (their bundle is the committed input)
    formats = len(regen.SINGLE_FORMATS)
    assert formats == 7 and "report.prom" in regen.SINGLE_FORMATS
    assert len(files) == len(regen.EXAMPLES) * (formats + 1) + len(regen.AUDIT_EXAMPLES) * formats + 3 + 1
    assert len(regen.EXAMPLES) >= 4 and len(regen.AUDIT_EXAMPLES) >= 2
    stale = [str(p.relative_to(ROOT)) for p in regen.stale(files)]
    assert stale == [], "examples are stale: run .venv/bin/python scripts/regen_examples.py"
    # the terminal reports fit 100 columns
    for path, text in files.items():
        if path.name == "report.txt":
            assert max(len(line) for line in text.splitlines()) <= 100, path


def test_examples_come_from_real_imported_files():
    regen = _regen()
    for example in regen.EXAMPLES:
        for name in example.files:
            assert (ROOT / name).is_file() and (ROOT / f"{name}.source").is_file(), name
    md = (ROOT / "examples/reports/gcp-a3mega-h100-2node/report.md").read_text(encoding="utf-8")
    # one log file of one run (its spread is not measured): not rated, and the report says so and what would
    # lift it
    assert "**Not rated**: insufficient evidence \\(coverage 1%; Bronze needs 25%\\)" in md
    assert "**To reach Bronze:**" in md
    assert "## NCCL bus bandwidth" in md and "| 8 GiB | 338.8 | 338.8 |" in md


def test_audit_examples_come_from_committed_real_audit_bundles():
    regen = _regen()
    from clustermax.bundle.io import load_bundle

    for audit in regen.AUDIT_EXAMPLES:
        recorded = load_bundle(ROOT / audit.bundle)
        assert recorded.kind == "audit" and recorded.complete, audit.name
        assert (ROOT / audit.provenance).is_file(), audit.provenance
        assert not (ROOT / "examples/reports" / audit.name / "bundle.json").exists()

    # rendered after re-parsing with today's parsers: the one-rank torch run recorded busbw 0 on the H100,
    # today's parsers call it not measured
    h100 = (ROOT / "examples/reports/h100-local-audit/report.md").read_text(encoding="utf-8")
    assert "NVIDIA H100 80GB HBM3" in h100 and "`single-rank`" in h100

    cluster = (ROOT / "examples/reports/testcluster-audit/report.md").read_text(encoding="utf-8")
    assert "clustermax test cluster / testcluster" in cluster
    assert "`fallen-off-bus` — node4" in cluster  # the replayed NVSentinel#155 kernel log, on node4 only
    assert "| 8 GiB | 338.8 | 338.8 | 338.8 | 338.8 |" in cluster  # the replayed 2-node H100 nccl-tests log


def test_testcluster_bundle_readme_cites_the_replayed_real_outputs():
    regen = _regen()
    [audit] = [a for a in regen.AUDIT_EXAMPLES if a.name == "testcluster-audit"]
    bundle = (ROOT / audit.bundle).read_text(encoding="utf-8")
    readme = (ROOT / audit.provenance).read_text(encoding="utf-8")
    fixtures = set(re.findall(r"`(tests/data/[^`]+\.(?:txt|log))`", readme))
    assert len(fixtures) >= 6, fixtures
    for fixture in fixtures:
        path = ROOT / fixture
        assert path.is_file(), fixture
        source = Path(f"{path}.source")
        assert source.is_file() or (path.parent / "SOURCE.md").is_file(), fixture
    # what the stand-ins printed is in the bundle verbatim: the recorded nvidia-smi -q's driver line
    assert "580.159.04" in bundle and "fallen off the bus" in bundle
    assert "network namespace" in readme and "Slurm 22.05" in readme


def test_index_marks_audits_and_imports():
    regen = _regen()
    index = (ROOT / "examples/reports/README.md").read_text(encoding="utf-8")
    for audit in regen.AUDIT_EXAMPLES:
        assert f"- **audit** [{audit.name}]({audit.name}/report.md)" in index
    for example in regen.EXAMPLES:
        assert f"- **import** [{example.name}]({example.name}/report.md)" in index
    assert "re-parsed" in index


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

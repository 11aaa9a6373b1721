"""Scoring is the only judge: reports read verdicts, reasons and reference figures from the scored model,
so a rubric or reference change changes the report, and no renderer imports a judge."""

from __future__ import annotations

import ast
from pathlib import Path

from clustermax.models import Severity, Verdict
from clustermax.reports import build_report
from clustermax.scoring import load_rubric, score_bundle
from clustermax.scoring.validate import default_rubric_path

from ..scoring import factory as f

REPORTS = Path(__file__).resolve().parents[2] / "src" / "clustermax" / "reports"


def _imports(source: str) -> list[str]:
    """Absolute names of everything a module of clustermax.reports imports (relative imports resolved)."""
    package = ["clustermax", "reports"]
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            out += [f"{module}.{alias.name}" for alias in node.names]
    return out


def test_no_renderer_imports_a_judge() -> None:
    files = sorted(REPORTS.rglob("*.py"))
    assert len(files) >= 10
    offending = {
        str(p.relative_to(REPORTS)): name
        for p in files
        for name in _imports(p.read_text(encoding="utf-8"))
        if name.startswith("clustermax.scoring")
    }
    assert offending == {}, "reports read the scored model (clustermax.models) only"
    # the check sees every spelling of such an import
    for source in (
        "from ..scoring.engine import evaluate",
        "from ..scoring import render",
        "import clustermax.scoring.bounds",
        "from clustermax.scoring.advice import plan",
    ):
        assert [n for n in _imports(source) if n.startswith("clustermax.scoring")], source
    assert _imports("from ..models.score import Tier") == ["clustermax.models.score.Tier"]


def _rubric_copy(
    tmp_path: Path, old: str = "", new: str = "", refs_old: str = "", refs_new: str = ""
) -> Path:
    base = default_rubric_path().parent
    text = default_rubric_path().read_text(encoding="utf-8")
    refs = (base / "references.yaml").read_text(encoding="utf-8")
    assert old in text and refs_old in refs
    (tmp_path / "rubric.yaml").write_text(text.replace(old, new, 1), encoding="utf-8")
    (tmp_path / "references.yaml").write_text(refs.replace(refs_old, refs_new, 1), encoding="utf-8")
    (tmp_path / "metrics.yaml").write_text((base / "metrics.yaml").read_text(encoding="utf-8"))
    return tmp_path / "rubric.yaml"


def _xid_bundle() -> object:
    bundle = f.clean_h100_slurm()
    bundle.results = [
        r for r in bundle.results if not (r.probe_id == "gpu_health" and r.host == "gpu-node-02")
    ] + [f.gpu_result("gpu-node-02", xid_events=3)]
    return bundle


def _cell(bundle: object, rubric_path: Path | None, host: str, check: str) -> object:
    score = score_bundle(bundle, load_rubric(rubric_path))  # type: ignore[arg-type]
    report = build_report([(bundle, score)])  # type: ignore[list-item]
    row = next(r for r in report.clusters[0].health.rows if r.host == host)
    return next(c for c in row.cells if c.check == check)


def test_the_health_matrix_cell_is_the_rubrics_verdict(tmp_path: Path) -> None:
    bundle = _xid_bundle()
    # the default rubric passes up to 5 Xid events: 3 is a pass in the matrix too
    cell = _cell(bundle, None, "gpu-node-02", "xid")
    assert (cell.status, cell.value) == ("pass", "3")
    # a rubric that passes none: the same bundle's cell becomes a warn, with the rubric's threshold
    xid_note = (
        "    # Application Xids (13, 31, 43) are common on busy nodes; many of them still hint at trouble.\n"
    )
    strict = _rubric_copy(tmp_path, xid_note + "    pass: 5\n", "    pass: 0\n")
    cell = _cell(bundle, strict, "gpu-node-02", "xid")
    assert cell.status == "warn"
    assert cell.reason == "Few Xid events overall: 3 (pass <= 0; warn <= 50)"
    assert _cell(bundle, strict, "gpu-node-01", "xid").status == "pass"


def test_reference_lines_are_the_rubrics_resolved_references(tmp_path: Path) -> None:
    bundle = f.clean_h100_slurm()
    lines = build_report([(bundle, score_bundle(bundle))]).clusters[0].references
    assert [(r.scope, r.busbw_gbps) for r in lines] == [("intra", 480.0), ("inter", 368.0)]  # 46 x 8 NICs
    assert lines[1].label.startswith("ib-ndr-400 fabric.nic_allreduce_busbw x nic_count 8: ")
    rubric = _rubric_copy(
        tmp_path, refs_old="      allreduce_busbw_intra:\n        value: 480\n",
        refs_new="      allreduce_busbw_intra:\n        value: 500\n",
    )  # fmt: skip
    score = score_bundle(bundle, load_rubric(rubric))
    report = build_report([(bundle, score)]).clusters[0]
    assert [(r.scope, r.busbw_gbps) for r in report.references] == [("intra", 500.0), ("inter", 368.0)]
    intra = report.key_metric("nccl_intra_peak")
    assert intra is not None and intra.reference == 500.0


def test_a_failed_criterion_is_critical_when_scoring_says_it_rules_a_tier_out() -> None:
    bundle = f.clean_h100_slurm(intra=300.0)  # below Silver's and Gold's gate on nccl-intra-busbw
    bundle.results = [r for r in bundle.results if r.probe_id != "monitoring"] + [
        f.result("monitoring", "gpu-node-01", [f.m("monitoring.node_exporter", False, "bool", "gpu-node-01")])
    ]
    score = score_bundle(bundle)
    verdicts = {c.id: c.verdict for c in score.criteria}
    assert verdicts["nccl-intra-busbw"] is Verdict.FAIL
    report = build_report([(bundle, score)]).clusters[0]
    severity = {f.source_id: f.severity for f in report.findings if f.source == "criterion"}
    assert severity["nccl-intra-busbw"] is Severity.CRITICAL
    assert verdicts["monitoring-node-exporter"] is Verdict.WARN  # a soft criterion: no gate
    assert severity["monitoring-node-exporter"] is Severity.MEDIUM


def test_the_band_shaded_is_the_band_the_measurement_used() -> None:
    from clustermax.probes.nccl_allreduce import BAND_MAX_BYTES, BAND_MIN_BYTES
    from clustermax.reports import build as build_module

    assert (build_module.BAND_LOW, build_module.BAND_HIGH) == (BAND_MIN_BYTES, BAND_MAX_BYTES)

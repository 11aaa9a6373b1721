"""`clustermax audit --local` through the real CLI on a machine without the subjects of its criteria.

On a host with no NVIDIA GPU and no IB/RoCE port (this development VM; CI runners alike), nothing is
judged on what is not there: the DCGM exporter is not missed, the ports are not "all up", NCCL settings
are not "left to auto-tune" when NCCL never ran, and a spread of one run is no spread. On a machine that
has them, the same criteria are judged (what the bundle itself says decides which case applies).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_cli_audit import run

SUBJECT_CRITERIA = ("monitoring-dcgm-exporter", "nccl-autoconfig", "fabric-ports-down", "nccl-run-spread")


def _subject(bundle: dict, metric: str) -> int | None:
    values = [m["value"] for r in bundle["results"] for m in r["measurements"] if m["metric"] == metric]
    known = [v for v in values if isinstance(v, int)]
    return max(known) if known else None


def test_local_audit_judges_nothing_over_zero_subjects(tmp_path: Path) -> None:
    out = tmp_path / "audit"
    proc = run("audit", "--local", "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    bundle = json.loads((out / "bundle.json").read_text())
    score = json.loads(run("score", str(out), "--format", "json").stdout)[0]
    by_id = {c["id"]: c for c in score["criteria"]}
    gpus, ports = _subject(bundle, "gpu.node_gpus"), _subject(bundle, "fabric.ports")
    assert gpus is not None and ports is not None  # gpu_stack and fabric say how many there are
    if gpus == 0:
        for cid in ("monitoring-dcgm-exporter", "nccl-run-spread"):
            assert by_id[cid]["verdict"] == "not_applicable", by_id[cid]
            assert "no GPU" in by_id[cid]["explanation"]
        # no verdict anywhere rests on a GPU the machine does not have
        assert [c["id"] for c in score["criteria"] if c["verdict"] in ("pass", "warn", "fail")] == []
        report = (out / "report.md").read_text()
        assert "monitoring.no-dcgm-exporter" not in report  # nor the same thing again as a finding
    else:
        assert by_id["monitoring-dcgm-exporter"]["verdict"] != "not_applicable"
    if ports == 0:
        assert by_id["fabric-ports-down"]["verdict"] == "not_applicable"
        assert "has no IB/RoCE port" in by_id["fabric-ports-down"]["explanation"]
    for cid in SUBJECT_CRITERIA:
        assert by_id[cid]["verdict"] != "pass" or cid == "monitoring-dcgm-exporter", by_id[cid]
    # NCCL never runs in a local audit without a GPU: its settings are not applicable, never "auto-tuned"
    runs = [m for r in bundle["results"] for m in r["measurements"] if m["metric"] == "nccl.busbw_peak"]
    if not runs:
        assert by_id["nccl-autoconfig"]["verdict"] == "not_applicable"
        assert "no NCCL run" in by_id["nccl-autoconfig"]["explanation"]
    # an audit's hints name the audit's own ways to give a profile, never another command's flags
    for name in ("report.md", "report.html"):
        assert "clustermax import --profile" not in (out / name).read_text()

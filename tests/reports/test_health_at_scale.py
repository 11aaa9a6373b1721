"""The node-health matrix at scale: healthy nodes folded into one host-list line, the others one row each;
the bundles come from scripts/make_scale_bundle.py (recorded real outputs, synthetic host names)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from clustermax.bundle.io import load_bundle, write_bundle
from clustermax.hostnames import hostlist
from clustermax.models import Bundle, ProbeStatus
from clustermax.reports import build_report, render_report
from clustermax.reports.build import HEALTH_ROWS_MAX, summarised
from clustermax.reports.markdown import _health
from clustermax.reports.model import HealthCell, HealthCheck, HealthMatrix, HealthRow
from clustermax.scoring import score_bundle

ROOT = Path(__file__).resolve().parents[2]


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("make_scale_bundle", ROOT / "scripts/make_scale_bundle.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_scale_bundle"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def scale_bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    """60 nodes: 2 failing (8 GPUs expected, 1 seen), 2 unreachable, the rest healthy; written and loaded."""
    out = tmp_path_factory.mktemp("scale")
    write_bundle(_generator().make_bundle(60, failing=2, unreachable=2), out)
    return load_bundle(out)


@pytest.mark.parametrize(
    ("names", "text"),
    [
        ([f"node{i:04d}" for i in range(1, 988)], "node[0001-0987]"),
        (["node0998", "node0999", "node1000", "node1001"], "node[0998-1001]"),
        (["gpu1", "gpu2", "gpu3", "gpu5", "gpu10", "login", "a-07", "a-08"], "gpu[1-3,5,10],login,a-[07-08]"),
        (["n01", "n9", "n02"], "n[01-02],n9"),
        (["solo7"], "solo7"),
        (["rack1-node3", "rack2-node3"], "rack1-node3,rack2-node3"),
        ([], ""),
    ],
)
def test_hostlist(names: list[str], text: str) -> None:
    assert hostlist(names) == text


def _row(host: str, status: str = "pass", reason: str | None = None) -> HealthRow:
    cells = [
        HealthCell(check="reach", status="pass", value="ok"),
        HealthCell(check="gpus", status=status, reason=reason),  # type: ignore[arg-type]
        HealthCell(check="nvlink", status="n/a"),
    ]
    return HealthRow(host=host, role="compute", state="ok", cells=cells)


CHECKS = [HealthCheck(id="reach", title="Reachable"), HealthCheck(id="gpus", title="GPUs visible"),
          HealthCheck(id="nvlink", title="NVLink")]  # fmt: skip


def test_a_large_matrix_folds_its_healthy_nodes_into_one_line() -> None:
    rows = [_row(f"node{i:04d}") for i in range(1, 988)]
    rows += [
        _row("node0988", "fail", "1 of 8 expected GPUs are visible"),
        _row("node0989", "unknown", "timeout"),
    ]
    matrix = summarised(HealthMatrix(checks=CHECKS, rows=rows))
    assert [r.host for r in matrix.rows] == ["node0988", "node0989"]
    assert len(matrix.healthy) == 987
    assert matrix.healthy_summary == "987 nodes healthy: node[0001-0987]"
    assert _health(matrix) == (
        "### Node health\n\n"
        "987 nodes healthy: node\\[0001-0987\\]\n\n"
        "The others:\n\n"
        "| Node | Reachable | GPUs visible | NVLink |\n"
        "| --- | --- | --- | --- |\n"
        "| node0988 | ✅ | ❌ [1] | ▫️ |\n"
        "| node0989 | ✅ | ❔ [2] | ▫️ |\n\n"
        "Notes:\n\n"
        "1. 1 of 8 expected GPUs are visible\n"
        "2. timeout\n\n"
        "✅ pass · ⚠️ warn · ❌ fail · ❔ unknown · ▫️ not applicable\n"
    )


def test_every_node_healthy_is_one_line_and_no_table() -> None:
    matrix = summarised(HealthMatrix(checks=CHECKS, rows=[_row(f"gpu{i}") for i in range(1, 41)]))
    assert matrix.rows == [] and matrix.healthy_summary == "40 nodes healthy: gpu[1-40]"
    assert _health(matrix) == "### Node health\n\n40 nodes healthy: gpu\\[1-40\\]\n"


def test_a_small_matrix_keeps_every_row() -> None:
    rows = [_row(f"node{i}") for i in range(1, HEALTH_ROWS_MAX + 1)]
    matrix = HealthMatrix(checks=CHECKS, rows=rows)
    assert summarised(matrix) == matrix  # up to HEALTH_ROWS_MAX nodes, each has its row
    assert summarised(HealthMatrix(checks=CHECKS, rows=[*rows, _row("x", "warn", "w")])).healthy_summary == (
        f"{HEALTH_ROWS_MAX} nodes healthy: node[1-{HEALTH_ROWS_MAX}]"
    )


def test_the_generated_bundle_is_valid_and_says_it_is_synthetic(scale_bundle: Bundle) -> None:
    synthetic = scale_bundle.options["synthetic"]
    assert isinstance(synthetic, dict)
    assert synthetic["nodes"] == 60 and synthetic["generator"] == "scripts/make_scale_bundle.py"
    assert "only the host names and their count are synthetic" in str(synthetic["what"])
    assert synthetic["recorded_from"] == "tests/data/captures/h100-fc-2026-11-26/audit-local/bundle.json"
    assert scale_bundle.target.cluster == "synthetic-60"
    compute = [h for h in scale_bundle.hosts if h.role == "compute"]
    assert len(compute) == 60
    # every node's raw output is the recorded one, but for the line that names the host
    recorded = load_bundle(ROOT / "tests/data/captures/h100-fc-2026-11-26/audit-local")
    real = next(c for c in recorded.commands if c.id == "vm/gpu_health/main").stdout
    node = next(c for c in scale_bundle.commands if c.id == "node0001/gpu_health/main").stdout
    assert node == real.replace("@@CMX:BEGIN host@@\nvm\n", "@@CMX:BEGIN host@@\nnode0001\n", 1)
    assert node != real
    ok = [r for r in scale_bundle.results if r.probe_id == "gpu_health" and r.host.startswith("node")]
    assert sum(r.status == ProbeStatus.OK for r in ok) == 56


def test_the_report_of_the_generated_bundle_shows_only_the_bad_nodes(scale_bundle: Bundle) -> None:
    synthetic = scale_bundle.options["synthetic"]
    assert isinstance(synthetic, dict)
    bad = sorted([*synthetic["failing"], *synthetic["unreachable"]])  # type: ignore[misc]
    assert bad == ["node0017", "node0041", "node0047", "node0060"]
    report = build_report([(scale_bundle, score_bundle(scale_bundle))])
    health = report.clusters[0].health
    assert [r.host for r in health.rows] == bad
    assert health.healthy_summary == "56 nodes healthy: node[0001-0016,0018-0040,0042-0046,0048-0059]"
    html = render_report(report, "html")
    assert '<p class="healthy">56 nodes healthy: node[0001-0016,0018-0040,0042-0046,0048-0059]</p>' in html
    table = html[html.index('<table class="health">') :]
    table = table[: table.index("</table>")]
    assert re.findall(r"<tr><td><code>(node\d+)</code>", table) == bad
    assert "<script src=" not in html and "<link " not in html  # one file: nothing fetched
    md = render_report(report, "markdown")
    assert "56 nodes healthy: node\\[0001-0016,0018-0040,0042-0046,0048-0059\\]" in md

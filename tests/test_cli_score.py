"""`clustermax score` and `clustermax rubric`: real command runs, exact fragments and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from clustermax.cli import main
from clustermax.scoring.validate import default_rubric_path

from .scoring.factory import clean_h100_slurm, system_only

ATTEST = "examples/attestations.example.yaml"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main([*argv])
        raise SystemExit(0)
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 0), out, err


@pytest.fixture
def bundles(tmp_path: Path) -> dict[str, Path]:
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "bundle.json").write_text(clean_h100_slurm().model_dump_json(indent=2), encoding="utf-8")
    local = tmp_path / "local.json"
    local.write_text(system_only().model_dump_json(indent=2), encoding="utf-8")
    return {"clean": clean, "local": local}


def test_json_is_a_list_with_the_contract_fields(
    capsys: pytest.CaptureFixture[str], bundles: dict[str, Path]
) -> None:
    code, out, _ = run(capsys, "score", str(bundles["clean"]), "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert isinstance(data, list) and len(data) == 1
    res = data[0]
    assert res["tier"] == "gold" and res["score"] == 100.0 and 0 < res["coverage"] < 1
    assert {"id", "score", "weight"} <= set(res["categories"][0])
    crit = res["criteria"][0]
    assert {"id", "category", "verdict", "observed", "threshold", "reference_source", "explanation"} <= set(
        crit
    )
    assert set(res["rubric"]) >= {"id", "version", "sha256"}
    assert res["rubric"]["id"] == "clustermax-v1"
    assert isinstance(res["gates_failed"], list)
    assert str(bundles["clean"]) not in out  # no paths in the output


def test_two_bundles_give_two_entries_in_order(
    capsys: pytest.CaptureFixture[str], bundles: dict[str, Path]
) -> None:
    code, out, _ = run(capsys, "score", str(bundles["local"]), str(bundles["clean"]), "-f", "json")
    assert code == 0
    assert [r["tier"] for r in json.loads(out)] == ["underperforming", "gold"]


def test_json_is_byte_identical_across_runs(bundles: dict[str, Path]) -> None:
    cmd = [
        sys.executable,
        "-m",
        "clustermax",
        "score",
        str(bundles["clean"]),
        "--format",
        "json",
        "--attestations",
        ATTEST,
    ]
    first = subprocess.run(cmd, capture_output=True, check=True).stdout
    second = subprocess.run(cmd, capture_output=True, check=True).stdout
    assert first == second
    assert json.loads(first)[0]["tier"] == "platinum"


@pytest.mark.parametrize(
    ("floor", "code"),
    [("gold", 0), ("platinum", 1), ("bronze", 0), ("underperforming", 0)],
)
def test_fail_under(
    capsys: pytest.CaptureFixture[str], bundles: dict[str, Path], floor: str, code: int
) -> None:
    got, _, err = run(capsys, "score", str(bundles["clean"]), "--fail-under", floor, "-f", "json")
    assert got == code
    if code:
        assert "error: below platinum: test-cluster (gold)" in err


def test_fail_under_with_a_local_only_bundle(
    capsys: pytest.CaptureFixture[str], bundles: dict[str, Path]
) -> None:
    code, out, err = run(capsys, "score", str(bundles["local"]), "--fail-under", "bronze")
    assert code == 1
    assert "test-cluster: UNDERPERFORMING" in out
    assert "below bronze" in err


def test_table_output(capsys: pytest.CaptureFixture[str], bundles: dict[str, Path]) -> None:
    code, out, _ = run(capsys, "score", str(bundles["clean"]))
    assert code == 0
    assert out.startswith("test-cluster: GOLD  score 100.0/100  coverage 60%  (rubric clustermax-v1 1.0.0)")
    assert "nccl-intra-busbw" in out and "pass >= 432 GB/s" in out
    assert "held down by: platinum:coverage" in out


def test_markdown_output(capsys: pytest.CaptureFixture[str], bundles: dict[str, Path]) -> None:
    code, out, _ = run(
        capsys, "score", str(bundles["clean"]), "--format", "markdown", "--attestations", ATTEST
    )
    assert code == 0
    assert out.startswith("## test-cluster: Platinum\n")
    assert "| attest-soc2-iso27001 | pass (attested) |" in out


def test_explain(capsys: pytest.CaptureFixture[str], bundles: dict[str, Path]) -> None:
    code, out, _ = run(capsys, "score", str(bundles["clean"]), "--explain", "fabric-nic-rate")
    assert code == 0
    assert "test-cluster: fabric-nic-rate (Compute NIC line rate)" in out
    assert "gpu-node-01          fabric.nic_rate = 400 Gb/s  [pass]" in out
    assert "gpu.scaleout_nic_rate of h100-sxm" in out


def test_explain_unknown_criterion(capsys: pytest.CaptureFixture[str], bundles: dict[str, Path]) -> None:
    code, _, err = run(capsys, "score", str(bundles["clean"]), "--explain", "nccl-intra")
    assert code == 2
    assert "error: rubric clustermax-v1 has no criterion 'nccl-intra'" in err
    assert "did you mean 'nccl-intra-busbw'?" in err


def test_attestations_for_another_cluster_warn(
    capsys: pytest.CaptureFixture[str], bundles: dict[str, Path]
) -> None:
    code, _, err = run(capsys, "score", str(bundles["clean"]), "--attestations", ATTEST, "-f", "json")
    assert code == 0
    assert "warning: attestations are for 'example-h100-cluster', the bundle for 'test-cluster'" in err


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["score", "nowhere.json"], "nowhere.json: bundle not found"),
        (["score", "{clean}", "--rubric", "nowhere.yaml"], "cannot read"),
        (["score", "{clean}", "--attestations", "nowhere.yaml"], "nowhere.yaml: file not found"),
        (["score", "{clean}", "--fail-under", "diamond"], "diamond"),
        (["score", "{clean}", "--format", "xml"], "xml"),
    ],
)
def test_usage_and_config_errors_exit_2(
    capsys: pytest.CaptureFixture[str], bundles: dict[str, Path], args: list[str], fragment: str
) -> None:
    code, _, err = run(capsys, *[a.format(clean=bundles["clean"]) for a in args])
    assert code == 2
    assert fragment in err
    assert "Traceback" not in err


def test_reparse_without_the_engine_module_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], bundles: dict[str, Path]
) -> None:
    try:
        import clustermax.bundle.reparse  # noqa: F401
    except ImportError:
        code, _, err = run(capsys, "score", str(bundles["clean"]), "--reparse")
        assert code == 2
        assert "--reparse is not available" in err
    else:
        code, out, _ = run(capsys, "score", str(bundles["clean"]), "--reparse", "-f", "json")
        assert code == 0 and json.loads(out)[0]["rubric"]["id"] == "clustermax-v1"


def test_rubric_validate_ok(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rubric", "validate", str(default_rubric_path()))
    assert code == 0
    assert out.endswith("ok (clustermax-v1 1.0.0, 83 criteria)\n")


def test_rubric_validate_reports_every_problem_with_file_and_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = default_rubric_path().read_text(encoding="utf-8")
    (tmp_path / "references.yaml").write_text(
        (default_rubric_path().parent / "references.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        text.replace("      - nccl-wrong\n", "      - nccl-wrongg\n", 1).replace(
            "    metric: slurm.pmix\n", "    metric: slurm.pmixx\n", 1
        ),
        encoding="utf-8",
    )
    code, out, err = run(capsys, "rubric", "validate", str(bad))
    assert code == 2
    lines = out.splitlines()
    gate_line = next(i for i, text in enumerate(bad.read_text().splitlines(), 1) if "nccl-wrongg" in text)
    metric_line = next(i for i, text in enumerate(bad.read_text().splitlines(), 1) if "slurm.pmixx" in text)
    assert f"{bad}:{gate_line}: tier silver: gate names a missing criterion 'nccl-wrongg'" in out
    assert f"{bad}:{metric_line}: criterion 'slurm-pmix': unknown metric 'slurm.pmixx'" in out
    assert len(lines) == 2
    assert "rubric validation failed" in err


def test_rubric_show(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rubric", "show")
    assert code == 0
    assert out.startswith("clustermax-v1 1.0.0: ")
    assert "│ nccl-inter-busbw " in out and "│ 0.9 x ref " in out
    assert "informational (not scored): system.hostname" in out

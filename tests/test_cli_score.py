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
# what the clean cluster of the factory lacks for Platinum, in the order the advice lists it
PLATINUM_ATTESTATIONS = [
    "security.soc2_or_iso27001",
    "security.tenant_network_isolation",
    "lifecycle.burn_in_published",
    "storage.managed_parallel_fs",
    "reliability.sla_defines_events",
    "monitoring.active_health_checks",
    "pricing.on_demand_usd_per_gpu_hour",
    "pricing.public_price_list",
    "pricing.no_egress_fees",
    "partnerships.nvidia_ncp",
    "partnerships.schedmd_support",
    "availability.capacity_lead_time_days",
]


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
    assert res["schema_version"] == 2
    assert (res["tier"], res["rated"], res["tier_floor"], res["tier_ceiling"]) == (
        "gold",
        True,
        "gold",
        "platinum",
    )
    assert res["score"] == 100.0 and 0 < res["coverage"] < 1
    assert res["summary"] == "at least Gold (up to Platinum: 10 criteria not measured, 21 not attested)"
    assert {"id", "score", "weight"} <= set(res["categories"][0])
    crit = res["criteria"][0]
    assert {"id", "category", "verdict", "observed", "threshold", "reference_source", "explanation"} <= set(
        crit
    )
    assert set(res["rubric"]) >= {"id", "version", "sha256"}
    assert res["rubric"]["id"] == "clustermax-v1"
    assert "gates_failed" not in res
    held = res["held_down_by"]
    assert [(h["bound"], h["tier"], h["kind"], h["category"]) for h in held] == [
        ("floor", "platinum", "coverage", None),
        ("floor", "platinum", "category_coverage", "security"),
        ("floor", "platinum", "category_coverage", "reliability"),
        ("floor", "platinum", "gate", None),
        ("floor", "platinum", "gate", None),
        ("floor", "platinum", "gate", None),
        ("floor", "platinum", "score", None),
    ]
    assert held[-1] == {
        "bound": "floor",
        "tier": "platinum",
        "kind": "score",
        "criteria": [],
        "verdicts": [],
        "allow_warn": False,
        "category": None,
        "observed": 71.41,
        "needed": 90.0,
        "text": "Platinum needs a score of 90: 71.4 if the 31 criteria not measured or attested failed "
        "(100.0 on what was)",
    }
    assert held[3]["criteria"] == ["attest-soc2-iso27001"] and held[3]["verdicts"] == ["not_measured"]
    advice = res["advice"]
    assert (advice["target"], advice["reachable"], advice["minimal"]) == ("platinum", True, True)
    assert [(a["kind"], a["attestation"]) for a in advice["actions"]] == [
        ("attest", key) for key in PLATINUM_ATTESTATIONS
    ]
    assert str(bundles["clean"]) not in out  # no paths in the output


def test_two_bundles_give_two_entries_in_order(
    capsys: pytest.CaptureFixture[str], bundles: dict[str, Path]
) -> None:
    code, out, _ = run(capsys, "score", str(bundles["local"]), str(bundles["clean"]), "-f", "json")
    assert code == 0
    assert [(r["tier"], r["rated"]) for r in json.loads(out)] == [(None, False), ("gold", True)]


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
    advised = [*cmd[:-2], "--advise"]  # without attestations: there is advice, and it is stable too
    assert subprocess.run(advised, capture_output=True, check=True).stdout == (
        subprocess.run(advised, capture_output=True, check=True).stdout
    )


@pytest.mark.parametrize(
    ("floor", "code"),
    # the clean cluster is proven Gold (its floor) and could be Platinum (its ceiling): --fail-under
    # passes on the floor only
    [("silver", 0), ("gold", 0), ("platinum", 1), ("bronze", 0), ("underperforming", 0)],
)
def test_fail_under_gates_on_the_floor(
    capsys: pytest.CaptureFixture[str], bundles: dict[str, Path], floor: str, code: int
) -> None:
    got, _, err = run(capsys, "score", str(bundles["clean"]), "--fail-under", floor, "-f", "json")
    assert got == code
    if code:
        assert f"error: not proven {floor}: test-cluster (floor gold, ceiling platinum)" in err


@pytest.mark.parametrize("floor", ["bronze", "underperforming"])
def test_a_not_rated_bundle_fails_every_fail_under(
    capsys: pytest.CaptureFixture[str], bundles: dict[str, Path], floor: str
) -> None:
    code, out, err = run(capsys, "score", str(bundles["local"]), "--fail-under", floor)
    assert code == 1
    assert out.startswith(
        "example / test-cluster   NOT RATED   score 100.0/100  coverage 1%\n"
        "Not rated: insufficient evidence (coverage 1%; Bronze needs 25%); between Underperforming and\n"
        "Platinum on this evidence\n"
        "tier range: Underperforming to Platinum (floor Underperforming, ceiling Platinum); score 100.0 on\n"
        "what was measured, 1.2 to 100.0 over the whole rubric\n"
    )
    assert (
        f"error: not proven {floor}: test-cluster (not rated, floor underperforming, ceiling platinum)" in err
    )


def test_an_incomplete_bundle_is_not_rated_and_fails_fail_under(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bundle = clean_h100_slurm().model_copy(update={"complete": False})
    path = tmp_path / "bundle.json"
    path.write_text(bundle.model_dump_json(), encoding="utf-8")
    code, out, err = run(capsys, "score", str(path), "--fail-under", "bronze", "-f", "json")
    assert code == 1
    res = json.loads(out)[0]
    assert (res["tier"], res["rated"], res["not_rated_reason"]) == (None, False, "incomplete")
    assert res["summary"] == (
        "Not rated: the bundle is incomplete (the audit stopped before it finished), so criteria were "
        "judged on part of the hosts; between Gold and Platinum on the evidence it holds"
    )
    assert "not proven bronze: test-cluster (not rated, floor gold, ceiling platinum)" in err


def test_advise_prints_the_advice_alone(capsys: pytest.CaptureFixture[str], bundles: dict[str, Path]) -> None:
    code, out, _ = run(capsys, "score", str(bundles["clean"]), "--advise")
    assert code == 0
    head, target, *actions = out.splitlines()
    assert head == "test-cluster: at least Gold (up to Platinum: 10 criteria not measured, 21 not attested)"
    assert target == "To reach Platinum:"
    assert [line.split()[2] for line in actions] == PLATINUM_ATTESTATIONS
    assert actions[0] == (
        "  - attest security.soc2_or_iso27001 = true with evidence: SOC 2 Type II or ISO 27001 certification"
    )
    assert actions[6] == (
        "  - attest pricing.on_demand_usd_per_gpu_hour (pass <= 2.99 (= 1 x 2.99 gpu.on_demand_price of "
        "h100-sxm)) with evidence: On-demand price per GPU-hour vs. the reference"
    )
    code, out, _ = run(capsys, "score", str(bundles["clean"]), "--advise", "-f", "json")
    data = json.loads(out)
    assert [(d["cluster"], d["tier_floor"], d["advice"]["target"]) for d in data] == [
        ("test-cluster", "gold", "platinum")
    ]
    code, out, _ = run(capsys, "score", str(bundles["clean"]), "--advise", "--attestations", ATTEST)
    assert out == "test-cluster: Platinum\nNo advice: the floor is the top tier.\n"
    code, _, err = run(capsys, "score", str(bundles["clean"]), "--advise", "--explain", "gpu-healthy")
    assert code == 2 and "--explain and --advise" in err


def test_score_json_of_another_version_is_refused_with_a_clear_message(
    capsys: pytest.CaptureFixture[str], bundles: dict[str, Path], tmp_path: Path
) -> None:
    from clustermax.errors import ConfigError
    from clustermax.scoring import read_scores

    _, out, _ = run(capsys, "score", str(bundles["clean"]), str(bundles["local"]), "-f", "json")
    path = tmp_path / "scores.json"
    path.write_text(out, encoding="utf-8")
    assert [r.tier_floor.value for r in read_scores(path)] == ["gold", "underperforming"]
    old = json.loads(out)
    for item in old:  # what clustermax wrote before the tier range
        del item["schema_version"]
        item["gates_failed"] = ["bronze:coverage"]
    path.write_text(json.dumps(old), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        read_scores(path)
    assert info.value.render() == (
        f"{path}: score 1 of 2 has score schema_version 1, older than this clustermax reads (2): it has one "
        "tier decided on the measured criteria alone, not the tier range (floor, ceiling, rated) of today\n"
        "  hint: score the bundle again: clustermax score BUNDLE --format json"
    )
    newer = json.loads(out)
    newer[0]["schema_version"] = 3
    path.write_text(json.dumps(newer), encoding="utf-8")
    with pytest.raises(ConfigError, match="schema_version 3, newer than this clustermax reads"):
        read_scores(path)


def test_terminal_output_is_the_reports_terminal_view(
    capsys: pytest.CaptureFixture[str], bundles: dict[str, Path]
) -> None:
    code, out, _ = run(capsys, "score", str(bundles["clean"]))
    assert code == 0
    assert out.startswith(
        "example / test-cluster   GOLD   score 100.0/100  coverage 71%\n"
        "at least Gold (up to Platinum: 10 criteria not measured, 21 not attested)\n"
        "tier range: Gold to Platinum (floor Gold, ceiling Platinum); score 100.0 on what was measured, "
        "71.4\n"
        "to 100.0 over the whole rubric\n"
        "held down by:\n"
        "  - Platinum needs 85% coverage: 71% of the rubric's weight was measured or attested\n"
    )
    assert "nccl-intra-busbw" in out and "pass >= 432 GB/s" in out
    assert (
        "To reach Platinum:\n"
        "  * attest security.soc2_or_iso27001 = true with evidence: SOC 2 Type II or ISO 27001 "
        "certification\n"
    ) in out
    assert all(len(line) <= 100 for line in out.splitlines())
    # one look: `score` prints what `report --format terminal` prints; `--format table` is its old name
    assert run(capsys, "report", str(bundles["clean"]), "--format", "terminal")[1] == out
    assert run(capsys, "score", str(bundles["clean"]), "--format", "table")[1] == out
    assert run(capsys, "score", str(bundles["clean"]), "--format", "terminal")[1] == out


def test_markdown_output(capsys: pytest.CaptureFixture[str], bundles: dict[str, Path]) -> None:
    code, out, _ = run(
        capsys, "score", str(bundles["clean"]), "--format", "markdown", "--attestations", ATTEST
    )
    assert code == 0
    assert out.startswith(
        "## test-cluster: Platinum\n\nTier **Platinum** (floor Platinum, ceiling Platinum). Score "
        "**100.0**/100 on what was measured (floor 94.4, ceiling 100.0), coverage **94%**"
    )
    assert "| attest-soc2-iso27001 | pass \\(attested\\) |" in out
    code, out, _ = run(capsys, "score", str(bundles["local"]), "--format", "markdown")
    assert out.startswith(
        "## test-cluster: Not rated: insufficient evidence \\(coverage 1%; Bronze needs 25%\\); between "
        "Underperforming and Platinum on this evidence\n\nTier **not rated** (floor Underperforming, ceiling "
        "Platinum)."
    )
    assert "\n**To reach Bronze:**\n\n- measure " in out


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
    assert out.endswith("ok (clustermax-v1 1.0.0, 146 criteria)\n")


def test_rubric_validate_reports_every_problem_with_file_and_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = default_rubric_path().read_text(encoding="utf-8")
    for name in ("references.yaml", "metrics.yaml"):
        (tmp_path / name).write_text(
            (default_rubric_path().parent / name).read_text(encoding="utf-8"), encoding="utf-8"
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


ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("doc", ["README.md", "docs/scoring.md"])
def test_the_worked_example_in_the_docs_is_what_score_prints(doc: str) -> None:
    import re
    import shlex

    text = (ROOT / doc).read_text(encoding="utf-8")
    blocks = re.findall(r"```console\n\$ (clustermax score [^\n]+)\n(.*?)```", text, re.S)
    assert blocks, f"{doc} has no worked example"
    for command, shown in blocks:
        proc = subprocess.run(
            [sys.executable, "-m", "clustermax", *shlex.split(command)[1:]],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == shown, f"{doc}: `{command}` prints something else now"

"""The minimum-versions table (rubrics/minimum-versions.yaml) and the {floor: X} thresholds: dated,
sourced floors; the comparison (branches, trains, pre-releases, distro builds); --versions FILE on the CLI
with file:line errors; cmax's own verdicts on the same versions as test vectors (where cmax is wrong on a
distro build, clustermax does not follow it)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml

from clustermax.bundle.io import write_bundle
from clustermax.models import Verdict
from clustermax.scoring import load_rubric, score_bundle
from clustermax.scoring.validate import default_versions_path, load_versions, versions_of
from clustermax.scoring.versions import VersionRule, parse_version, version_key

from . import factory as f

CLI = str(Path(sys.executable).parent / "clustermax")
ROOT = Path(__file__).resolve().parents[2]


def rule(name: str) -> VersionRule:
    table = versions_of(load_rubric(None))
    return VersionRule(name, table.components[name], table.id, table.checked)


def test_the_shipped_table_is_dated_and_every_floor_has_its_source() -> None:
    table, problems = load_versions(default_versions_path())
    assert table is not None and problems == []
    assert table.checked == date(2026, 12, 4)
    for name, comp in table.components.items():
        assert comp.read_with, name
        for floor in comp.floors:
            assert floor.url.startswith("https://") and floor.advisory and floor.read_on <= table.checked, (
                name
            )


# cmax 0.2.1's own verdict functions on these versions (its security_version_audit.py, bundled table of
# 2026-08-19), and clustermax's: the same everywhere but where cmax guesses.
CMAX_VECTORS = [
    ("runc", "1.1.12", "fail", "fail"),
    ("runc", "1.1.14", "pass", "pass"),
    ("runc", "1.2.5", "fail", "fail"),
    ("runc", "1.3.3", "fail", "fail"),
    ("runc", "1.7.2", "pass", "pass"),
    # Debian's patched build (CVE-2024-21626 backported): cmax fails it on the upstream number
    ("runc", "1.1.5+ds1-1+deb12u1", "fail", "undecided"),
    ("cuda_toolkit", "13.0", "fail", "fail"),
    ("nvidia_container_toolkit", "1.17.8", "fail", "fail"),
    ("nvidia_container_toolkit", "1.19.1", "pass", "pass"),
    ("docker_engine", "28.2.2", "fail", "fail"),
    ("dcgm", "4.7.0", "pass", "pass"),
    ("dcgm", "3.3.9", "fail", "fail"),
    ("dcgm_exporter", "4.8.2", "pass", "pass"),
    ("connectx_firmware", "28.39.1002", "fail", "fail"),
    ("connectx_firmware", "22.31.1014", "unknown", "undecided"),  # train 31: not in the bulletin
    ("nvidia_driver", "570.124.06", "fail", "fail"),
    ("nvidia_driver", "580.95.05", "fail", "fail"),
]


@pytest.mark.parametrize(("component", "version", "cmax", "ours"), CMAX_VECTORS)
def test_floors_against_cmax_verdicts(component: str, version: str, cmax: str, ours: str) -> None:
    assert rule(component).judge(version)[0] == ours


@pytest.mark.parametrize(
    ("component", "version", "outcome"),
    [
        ("runc", "1.5.0-rc.2", "fail"),  # a pre-release before the fixed one
        ("runc", "1.5.0", "pass"),  # the release after rc.3
        ("runc", "0.1.1", "fail"),  # an old branch without a floor: end of life
        ("cuda_toolkit", "13.0.88", "fail"),
        ("cuda_toolkit", "13.1", "pass"),
        ("connectx_firmware", "28.48.1132", "pass"),  # train 48: newer than every listed train
        ("ubuntu_noble_kernel", "6.8.0-90", "fail"),
        ("ubuntu_noble_kernel", "6.8.0-124", "pass"),
        ("ubuntu_noble_kernel", "6.11.0-29", "undecided"),  # an HWE branch the table does not assess
        ("runc", "not a version", "undecided"),
    ],
)
def test_comparisons(component: str, version: str, outcome: str) -> None:
    assert rule(component).judge(version)[0] == outcome


def test_versions_compare_as_numbers_with_pre_releases_first() -> None:
    def key(text: str) -> object:
        v = parse_version(text)
        assert v is not None
        return version_key(v)

    assert key("13.1") == key("13.1.0") < key("13.1.1")
    assert key("1.5.0-rc.3") < key("1.5.0") and key("1.5.0-rc.2") < key("1.5.0-rc.3")
    assert key("6.8.0-90") < key("6.8.0-124")  # the ABI, numerically
    distro = parse_version("1.1.5+ds1-1+deb12u1")
    assert distro is not None and distro.distro and distro.release == (1, 1, 5)
    assert parse_version("1.1.12-0ubuntu2~22.04.1").distro  # type: ignore[union-attr]
    assert not parse_version("1.17.8-1").distro  # type: ignore[union-attr] # NVIDIA's own package revision


def _bundle_with(version: str):  # type: ignore[no-untyped-def]
    res = f.result(
        "node_software",
        "gpu-node-01",
        [f.m("software.cuda_toolkit_version", version, "version", "gpu-node-01")],
    )
    return f.bundle([f.detect_result("slurm"), res])


def test_a_floor_verdict_says_what_was_seen_and_the_advisory() -> None:
    result = score_bundle(_bundle_with("13.0.88"))
    crit = next(c for c in result.criteria if c.id == "cuda-toolkit-security-floor")
    assert crit.verdict is Verdict.FAIL
    assert crit.threshold == "pass >= 13.1 (cuda_toolkit in clustermax-minimum-versions of 2026-12-04)"
    assert (
        "it is below its security floor: below 13.1 (NVIDIA security bulletin a_id 5755" in crit.explanation
    )
    assert "CVE-2025-33228" in crit.explanation
    assert crit.reference_source is not None and "a_id/5755" in crit.reference_source
    assert result.rubric.versions_sha256  # the table the verdict was judged with is recorded


def test_a_distro_build_is_a_warn_that_says_why() -> None:
    res = f.result(
        "node_software", "n1", [f.m("containers.runc_version", "1.1.5+ds1-1+deb12u1", "version", "n1")]
    )
    result = score_bundle(f.bundle([f.detect_result("slurm"), res]))
    crit = next(c for c in result.criteria if c.id == "runc-security-floor")
    assert crit.verdict is Verdict.WARN
    assert "is a distro build: its fixes are backported" in crit.explanation


def _newer_table(tmp_path: Path, cuda_floor: str) -> Path:
    data = yaml.safe_load(default_versions_path().read_text())
    data["date"] = "2027-01-15"
    data["components"]["cuda_toolkit"]["floors"][0]["version"] = cuda_floor
    path = tmp_path / "minimum-versions.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=120, check=False)


def test_versions_file_on_score_and_report_changes_the_verdict(tmp_path: Path) -> None:
    write_bundle(_bundle_with("13.0.88"), tmp_path / "b")
    table = _newer_table(tmp_path, "13.0.80")  # a (made-up) table whose CUDA floor is below 13.0.88

    def verdict(*extra: str) -> dict[str, str]:
        proc = run("score", str(tmp_path / "b"), "-f", "json", *extra)
        assert proc.returncode == 0, proc.stderr
        [score] = json.loads(proc.stdout)
        return next(c for c in score["criteria"] if c["id"] == "cuda-toolkit-security-floor")  # type: ignore[no-any-return]

    assert verdict()["verdict"] == "fail"
    newer = verdict("--versions", str(table))
    assert newer["verdict"] == "pass" and "of 2027-01-15" in newer["threshold"]
    report = run("report", str(tmp_path / "b"), "--versions", str(table), "-f", "json")
    assert report.returncode == 0 and "of 2027-01-15" in report.stdout


def test_rubric_validate_checks_the_versions_file_with_file_and_line(tmp_path: Path) -> None:
    good = run(
        "rubric",
        "validate",
        str(ROOT / "rubrics" / "clustermax-v1.yaml"),
        "--versions",
        str(_newer_table(tmp_path, "13.1")),
    )
    assert good.returncode == 0 and ": ok (clustermax-v1" in good.stdout
    bad = tmp_path / "bad.yaml"
    text = default_versions_path().read_text().replace('version: "13.1"', 'version: "latest"', 1)
    text = text.replace('    read_with: "nvcc --version', '    reed_with: "nvcc --version', 1)
    bad.write_text(text)
    proc = run("rubric", "validate", str(ROOT / "rubrics" / "clustermax-v1.yaml"), "--versions", str(bad))
    assert proc.returncode == 2
    lines = proc.stdout.splitlines()
    line_of = {n: i + 1 for i, n in enumerate(text.splitlines())}
    latest = next(n for n, i in line_of.items() if 'version: "latest"' in n)
    assert any(
        f"{bad}:{line_of[latest]}:" in line and "'latest' is not a version" in line for line in lines
    ), lines
    assert any("unknown key 'reed_with'" in line for line in lines), lines
    # score refuses it too, before anything is scored
    proc = run("score", str(ROOT / "tests" / "data" / "bundles" / "h100-smi-only"), "--versions", str(bad))
    assert proc.returncode == 2 and str(bad) in proc.stderr and "Traceback" not in proc.stderr


def test_a_rubric_naming_an_unknown_component_is_an_error_with_a_hint(tmp_path: Path) -> None:
    rubric_dir = tmp_path / "r"
    rubric_dir.mkdir()
    text = (
        (ROOT / "rubrics" / "clustermax-v1.yaml")
        .read_text()
        .replace("{floor: cuda_toolkit}", "{floor: cuda_tolkit}")
    )
    (rubric_dir / "clustermax-v1.yaml").write_text(text)
    (rubric_dir / "references.yaml").write_text((ROOT / "rubrics" / "references.yaml").read_text())
    proc = run("rubric", "validate", str(rubric_dir / "clustermax-v1.yaml"))
    assert proc.returncode == 2
    line = next(i + 1 for i, t in enumerate(text.splitlines()) if "{floor: cuda_tolkit}" in t)
    assert (
        f"clustermax-v1.yaml:{line}: criterion 'cuda-toolkit-security-floor': the minimum-versions table"
        in proc.stdout
    )
    assert "did you mean 'cuda_toolkit'?" in proc.stdout

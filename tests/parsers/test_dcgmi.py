"""dcgmi diag parser on real DCGM 3.x and 4.x outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from clustermax.parsers.base import ParseError
from clustermax.parsers.dcgmi import detect_dcgmi_diag, parse_dcgmi_diag

DATA = Path(__file__).resolve().parents[1] / "data" / "dcgmi-diag"


def load(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def test_dcgm3_fail_all_and_skips() -> None:
    out = parse_dcgmi_diag(load("dcgm338-h100x8-r3-cuda-fail-all.txt"))
    assert (out.dcgm_version, out.driver_version) == ("3.3.8", "560.35.03")
    assert out.gpu_device_ids == ["2330"] * 8
    by_name = {t.name: t for t in out.tests}
    assert set(by_name) >= {
        "Denylist",
        "Persistence Mode",
        "PCIe",
        "GPU Memory",
        "Memory Bandwidth",
        "EUD Test",
    }
    assert "Info" not in by_name and "Warning" not in by_name  # message rows attach to their test
    mem = by_name["GPU Memory"]
    assert (mem.result, mem.category, mem.failed_gpus) == ("fail", "Hardware", list(range(8)))
    assert len(mem.warnings) == 8
    # the 45-character cell chunks are joined back without losing or adding characters
    assert mem.warnings[0].startswith(
        "GPU 0 Error using CUDA API cuInit Check DCGM and system logs for errors."
    )
    assert "Unable to initialize CUDA library: 'system not yet initialized'" in mem.warnings[0]
    assert by_name["PCIe"].result == "skip" and by_name["EUD Test"].result == "skip"
    assert by_name["Persistence Mode"].result == "pass"
    assert (
        by_name["Persistence Mode"]
        .info[0]
        .startswith("Persistence mode for GPU 0 is disabled. Enable persistence")
    )
    assert out.overall == "fail" and out.failed_tests == 1


def test_dcgm4_per_gpu_lines() -> None:
    out = parse_dcgmi_diag(load("dcgm441-b200x8-r2-pcie-fail.txt"))
    assert out.dcgm_version == "4.4.1" and len(out.gpu_device_ids) == 8
    assert [t.name for t in out.tests] == ["software", "memory", "pcie"]
    pcie = out.tests[2]
    assert pcie.result == "fail" and pcie.failed_gpus == []  # an internal error, no GPU at fault
    assert pcie.gpu_results == {str(i): "pass" for i in range(8)}
    assert pcie.warnings[0].startswith(
        "There was an internal error during the test: 'Output of child process (11167)"
    )
    assert out.tests[1].gpu_results["7"] == "pass"
    assert out.overall == "fail"
    assert out.warnings == []  # no "Successfully ran" line, but the table header is there


def test_excerpt_fail_gpu_0() -> None:
    out = parse_dcgmi_diag(load("dcgm-r2-fail-gpu0-excerpt.txt"))
    (mem,) = out.tests
    assert (mem.name, mem.result, mem.failed_gpus) == ("GPU Memory", "fail", [0])
    assert mem.warnings[0].startswith("GPU 0 Thermal violations totaling 13.3 seconds started at 9.7")
    assert any("no '| Diagnostic | Result |' header" in w for w in out.warnings)


def test_skip_alone_does_not_fail() -> None:
    text = load("dcgm338-h100x8-r3-cuda-fail-all.txt").replace("Fail - All", "Pass - All")
    out = parse_dcgmi_diag(text)
    assert out.overall == "pass" and out.failed_tests == 0


def test_fail_listed_gpus_and_warn() -> None:
    text = load("dcgm338-h100x8-r3-cuda-fail-all.txt").replace(
        "| GPU Memory                | Fail - All                                     |",
        "| GPU Memory                | Pass - GPUs: 0, 1, 2, 4, 5, 6, 7               |\n"
        "|                           | Fail - GPU: 3                                  |",
    )
    out = parse_dcgmi_diag(text)
    assert [t.failed_gpus for t in out.tests if t.result == "fail"] == [[3]]
    warn = parse_dcgmi_diag(text.replace("Fail - GPU: 3", "Warn - GPU: 3"))
    assert warn.overall == "warn"


def test_detect() -> None:
    for f in DATA.glob("*.txt"):
        assert detect_dcgmi_diag(load(f.name)) >= 0.6, f.name
        assert (DATA / f"{f.name}.source").is_file()


@pytest.mark.parametrize("text", ["", "Successfully ran diagnostic for group.\n", "| a | b |\n"])
def test_not_dcgmi(text: str) -> None:
    with pytest.raises(ParseError, match="dcgmi diag"):
        parse_dcgmi_diag(text)


def test_diag_that_could_not_run_is_a_result() -> None:
    """'Error: ... Return: (-30)' is what dcgmi prints when no test could run: evidence, not garbage."""
    out = parse_dcgmi_diag(load("dcgm441-v100-r3-error-cannot-load-plugins.txt"))
    assert out.tests == [] and out.overall is None
    assert out.error is not None and out.error.startswith(
        "Unable to complete diagnostic for entities 0,1,2,3."
    )
    assert out.warnings[1].startswith("dcgmi diag did not run: Cannot load plugins.")
    assert detect_dcgmi_diag(load("dcgm441-v100-r3-error-cannot-load-plugins.txt")) == 0.8

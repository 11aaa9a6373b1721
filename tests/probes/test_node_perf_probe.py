"""node_perf: nvbandwidth outputs recorded on real GPU machines through the probe's mapping, the probe run
for real on a machine without GPU tools (not installed, never failed), and the PyTorch benchmark's own
output on a machine without torch. No GPU machine was available: no GEMM output is invented here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from clustermax.engine.runner import ProbeContext, run_probe
from clustermax.models import ProbeSpec, ProbeStatus, SubStatus
from clustermax.probes.base import ProbeInput, Section
from clustermax.probes.node_perf import SLOWDOWN, from_sections, parse_samples, reasons_of
from clustermax.probes.specs import load_probe_spec
from clustermax.resources import probes_dir
from clustermax.scoring import score_bundle
from clustermax.transport.local import LocalTransport
from tests.scoring import factory as f

DATA = Path(__file__).resolve().parents[1] / "data" / "nvbandwidth"
BENCH = probes_dir() / "node_perf" / "gpu_bench.py"


@pytest.fixture(scope="module")
def spec() -> ProbeSpec:
    return load_probe_spec(probes_dir() / "node_perf")


def parse(spec: ProbeSpec, sections: dict[str, str], host: str = "gpu-node-01") -> ProbeInput:
    return ProbeInput(
        spec=spec,
        host=host,
        commands={},
        sections={k: Section(k, v, 0) for k, v in sections.items()},
        params={},
    )


def test_nvbandwidth_h100_per_gpu(spec: ProbeSpec) -> None:
    out = from_sections(parse(spec, {"nvbandwidth": (DATA / "h100x8-v0.10.0-five-runs.txt").read_text()}))
    assert out.status is ProbeStatus.OK, out.message
    h2d = [m for m in out.measurements if m.metric == "gpu.nvbw_h2d"]
    assert [m.labels["gpu"] for m in h2d] == [str(i) for i in range(8)]
    assert {m.labels["engine"] for m in h2d} == {"ce"} and all(55 < m.value < 56 for m in h2d)  # type: ignore[operator]
    d2d = [m for m in out.measurements if m.metric == "gpu.nvbw_d2d_read"]
    assert len(d2d) == 8 and all(m.labels["matrix"] == "device_to_device_memcpy_read_ce" for m in d2d)
    assert all(395 < m.value < 396 for m in d2d)  # type: ignore[operator]
    assert not [m for m in out.measurements if m.metric == "gpu.nvbw_d2h" and m.value is None]
    assert "host-to-device 55-55 GB/s" in out.message


def test_nvbandwidth_bidirectional_total_is_its_own_matrix(spec: ProbeSpec) -> None:
    out = from_sections(parse(spec, {"nvbandwidth": (DATA / "b300x7-v0.10.0-ce-default.txt").read_text()}))
    gpu0 = {
        m.labels["matrix"]: m.value
        for m in out.measurements
        if m.metric == "gpu.nvbw_d2d_read" and m.labels["gpu"] == "0"
    }
    assert set(gpu0) == {
        "device_to_device_memcpy_read_ce",
        "device_to_device_bidirectional_memcpy_read_ce_read1",
        "device_to_device_bidirectional_memcpy_read_ce_read2",
        "device_to_device_bidirectional_memcpy_read_ce_total",
    }
    assert (
        gpu0["device_to_device_bidirectional_memcpy_read_ce_total"]
        > 1500
        > gpu0["device_to_device_memcpy_read_ce"]
    )


def test_sm_h2d_against_a_reference_names_the_gpu(spec: ProbeSpec) -> None:
    # an A100's real SM host-to-device figure (25.13 GB/s, a PCIe Gen4 link) judged as if the node were an
    # H200 (52 GB/s reference): under 0.7 of it, so it fails, on that node
    out = from_sections(
        parse(spec, {"nvbandwidth": (DATA / "a100-40gb-v0.8-h2d-sm-b512-issue42.txt").read_text()})
    )
    bundle = f.bundle(
        [f.detect_result("slurm"), f.result("node_perf", "gpu-node-01", out.measurements)],
        profile_override={"gpu_model": "h200"},
    )
    crit = {c.id: c for c in score_bundle(bundle).criteria}
    assert crit["gpu-h2d-bandwidth"].verdict.value == "fail"
    assert crit["gpu-h2d-bandwidth"].hosts == ["gpu-node-01"]
    assert crit["gpu-d2h-bandwidth"].verdict.value == "not_measured"  # no D2H in that output
    assert crit["gpu-bf16-gemm"].verdict.value == "not_measured"  # no benchmark ran: unknown, never failed


def test_probe_on_a_machine_without_gpu_tools_is_not_installed(spec: ProbeSpec) -> None:
    commands, result = run_probe(LocalTransport("local"), spec, "local", {}, ProbeContext(role="local"))
    assert commands[0].exit_code == 0, commands[0].stderr
    assert (result.status, result.substatus) == (ProbeStatus.SKIPPED, SubStatus.NOT_INSTALLED)
    assert "nvbandwidth and PyTorch" in result.message and result.measurements == []
    assert result.remediation and "nvbandwidth" in result.remediation


def test_benchmark_without_torch_says_so() -> None:
    # the benchmark itself, for real, on this machine (no torch): one JSON line with the error
    run = subprocess.run(
        [sys.executable, str(BENCH), "--gpu", "3"], capture_output=True, text=True, check=False
    )
    rec = json.loads(run.stdout)
    assert run.returncode == 1 and rec["tool"] == "clustermax-gpubench" and rec["gpu"] == 3
    assert rec["error"].startswith("ModuleNotFoundError")


def test_benchmark_error_is_a_finding_not_a_measurement(spec: ProbeSpec) -> None:
    run = subprocess.run(
        [sys.executable, str(BENCH), "--gpu", "0"], capture_output=True, text=True, check=False
    )
    out = from_sections(parse(spec, {"torch": "torch=2.5.1", "bench": run.stdout}))
    assert [x.code for x in out.findings] == ["bench-failed"] and "GPU 0" in out.findings[0].message
    assert not [m for m in out.measurements if m.metric == "gpu.bf16_gemm_tflops"]


def test_gemm_summary_statistics() -> None:
    sys.path.insert(0, str(BENCH.parent))
    try:
        import gpu_bench  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    rec = gpu_bench.summary([700.0, 710.0, 720.0, 600.0], 8192, 8192, 8192, 15.0)
    assert (
        rec["tflops_median"] == 705.0 and rec["tflops_min"] == 600.0 and rec["tflops_last_quarter"] == 600.0
    )
    assert gpu_bench.summary([], 1, 1, 1, 1.0)["tflops_median"] is None


def test_throttle_reason_bits() -> None:
    # NVML's clocks event reason bits: 0x4 SW power cap (normal under load), 0x20/0x40 thermal, 0x80 brake
    assert reasons_of(0x4) == ["sw_power_cap"] and not set(reasons_of(0x4)) & SLOWDOWN
    assert set(reasons_of(0x64)) == {"sw_power_cap", "sw_thermal_slowdown", "hw_thermal_slowdown"}
    assert parse_samples("not,a,sample\n") == []

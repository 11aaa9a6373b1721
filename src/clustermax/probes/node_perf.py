"""node_perf probe: nvbandwidth and a per-GPU PyTorch BF16 GEMM / device copy benchmark on one node.

Sections are described in ``probes/node_perf/run.sh``. nvbandwidth's text is read with
:func:`clustermax.parsers.nvbandwidth.parse_nvbandwidth`; the benchmark prints one JSON line per GPU
(``probes/node_perf/gpu_bench.py``); the samples are nvidia-smi CSV lines ``index, clocks.sm,
power.draw, temperature.gpu, clocks_throttle_reasons.active`` (``nounits``).

Mapping (:func:`measure`), per GPU (label ``gpu``: its index on the node; host: the node):

* nvbandwidth: gpu.nvbw_h2d / gpu.nvbw_d2h (the GPU's column of the one-row host matrices),
  gpu.nvbw_d2d_read (mean over its peers of the GPU's row, N/A excluded; ``matrix``: the SUM name, so a
  bidirectional test's Read1/Read2/Total stay apart); ``engine`` is ce or sm (the testcase's suffix);
* benchmark: gpu.bf16_gemm_tflops (median over the calls), gpu.bf16_gemm_sustained_tflops (last
  quarter), gpu.hbm_copy; per node gpu.gemm_spread = (max - min) / median over its GPUs (2+ GPUs);
* samples: gpu.sm_clock_min_during, gpu.power_max_during, gpu.temp_max_during, gpu.throttle_during
  (reasons seen, from the bitmask) and gpu.thermal_throttled (sw/hw thermal slowdown, hw slowdown or
  hw power brake seen; SW power cap alone is reported, not counted).

Findings: ``slow-gpu`` (a GPU more than 8 % under the node's median GEMM), ``throttled``,
``bench-failed``.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..models import Finding, Measurement, ProbeStatus, Severity, SubStatus, Unit
from ..parsers._text import to_float
from ..parsers.base import ParseError
from ..parsers.nvbandwidth import NvbandwidthOutput, parse_nvbandwidth
from .base import FileKind, Measured, ProbeInput, ProbeOutput, script_error
from .evidence import NOT_COLLECTED, NotCollected, Slot, readable, with_remediation

THROTTLE_BITS = {
    0x1: "gpu_idle",
    0x2: "applications_clocks_setting",
    0x4: "sw_power_cap",
    0x8: "hw_slowdown",
    0x10: "sync_boost",
    0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown",
    0x100: "display_clock_setting",
}
"""nvidia-smi clocks_throttle_reasons.active bits (nvml.h NVML_CLOCKS_EVENT_REASON_*)."""
SLOWDOWN = frozenset({"hw_slowdown", "sw_thermal_slowdown", "hw_thermal_slowdown", "hw_power_brake_slowdown"})
SLOW_GPU_FRACTION = 0.08


@dataclass
class Sample:
    gpu: int
    sm_mhz: float | None
    power_w: float | None
    temp_c: float | None
    reasons: int | None


@dataclass(frozen=True)
class NodePerfEvidence:
    nvbandwidth: Slot[NvbandwidthOutput] = NOT_COLLECTED
    bench: list[dict[str, Any]] | None = None
    """One record per GPU; None: the benchmark did not run."""
    samples: list[Sample] = field(default_factory=list)


def parse_samples(text: str) -> list[Sample]:
    out = []
    for line in text.splitlines():
        f = [x.strip() for x in line.split(",")]
        if len(f) < 5 or not f[0].isdigit():
            continue
        reasons: int | None
        try:
            reasons = int(f[4], 16) if f[4].lower().startswith("0x") else None
        except ValueError:
            reasons = None
        out.append(Sample(int(f[0]), to_float(f[1]), to_float(f[2]), to_float(f[3]), reasons))
    return out


def reasons_of(mask: int) -> list[str]:
    return [name for bit, name in sorted(THROTTLE_BITS.items()) if mask & bit]


def _engine(test: str) -> str:
    return "sm" if test.endswith("_sm") else ("ce" if test.endswith("_ce") else "unknown")


def measure(ev: NodePerfEvidence, host: str, remediation: Mapping[str, str] | None = None) -> Measured:
    ms: list[Measurement] = []
    findings: list[Finding] = []

    def add(metric: str, value: float | bool | str | None, unit: Unit, **labels: str) -> None:
        ms.append(Measurement(metric=metric, value=value, unit=unit, host=host, labels=labels))

    nvb = readable(ev.nvbandwidth)
    if nvb is not None:
        for mat in nvb.matrices:
            if mat.unit != "GB/s":
                continue
            eng = _engine(mat.test)
            if mat.test.startswith(("host_to_device_memcpy", "device_to_host_memcpy")) and 0 in mat.rows:
                metric = "gpu.nvbw_h2d" if mat.test.startswith("host_to_device") else "gpu.nvbw_d2h"
                for col, value in zip(mat.columns, mat.rows[0], strict=False):
                    add(metric, value, Unit.GBPS, gpu=str(col), engine=eng, test=mat.test)
            elif mat.test.startswith("device_to_device") and "read" in mat.test:
                for row, values in sorted(mat.rows.items()):
                    peers = [v for v in values if v is not None]
                    mean = round(statistics.fmean(peers), 2) if peers else None
                    add(
                        "gpu.nvbw_d2d_read",
                        mean,
                        Unit.GBPS,
                        gpu=str(row),
                        engine=eng,
                        test=mat.test,
                        matrix=mat.name,
                    )
    gemm: dict[int, float] = {}
    for rec in ev.bench or []:
        gpu = rec.get("gpu")
        if not isinstance(gpu, int):
            continue
        g = str(gpu)
        if rec.get("error"):
            findings.append(
                Finding(
                    code="bench-failed",
                    severity=Severity.MEDIUM,
                    host=host,
                    message=f"PyTorch benchmark on {host} GPU {g} failed: {rec['error']}",
                )
            )
            continue
        gm: dict[str, Any] = rec["gemm"] if isinstance(rec.get("gemm"), dict) else {}
        shape = {k: str(gm.get(k, "")) for k in ("m", "n", "k", "seconds")}
        med = gm.get("tflops_median")
        add(
            "gpu.bf16_gemm_tflops",
            med if isinstance(med, (int, float)) else None,
            Unit.TFLOPS,
            gpu=g,
            **shape,
            torch=str(rec.get("torch", "")),
            cuda=str(rec.get("cuda", "")),
        )
        sus = gm.get("tflops_last_quarter")
        add(
            "gpu.bf16_gemm_sustained_tflops",
            sus if isinstance(sus, (int, float)) else None,
            Unit.TFLOPS,
            gpu=g,
            **shape,
        )
        cp: dict[str, Any] = rec["copy"] if isinstance(rec.get("copy"), dict) else {}
        bw = cp.get("gbps_median")
        add(
            "gpu.hbm_copy",
            bw if isinstance(bw, (int, float)) else None,
            Unit.GBPS,
            gpu=g,
            bytes=str(cp.get("bytes", "")),
        )
        if isinstance(med, (int, float)) and med > 0:
            gemm[gpu] = float(med)
    if len(gemm) >= 2:
        median = statistics.median(gemm.values())
        spread = round((max(gemm.values()) - min(gemm.values())) / median, 4) if median else None
        add("gpu.gemm_spread", spread, Unit.RATIO, gpus=str(len(gemm)))
        for gpu, value in sorted(gemm.items()):
            if median and value < (1 - SLOW_GPU_FRACTION) * median:
                findings.append(
                    Finding(
                        code="slow-gpu",
                        severity=Severity.HIGH,
                        host=host,
                        message=f"{host} GPU {gpu}: BF16 GEMM {value:.0f} TFLOP/s,"
                        f" {1 - value / median:.0%} under the node's median of {median:.0f} TFLOP/s",
                    )
                )
    by_gpu: dict[int, list[Sample]] = {}
    for s in ev.samples:
        by_gpu.setdefault(s.gpu, []).append(s)
    for gpu, samples in sorted(by_gpu.items()):
        g = str(gpu)
        clocks = [s.sm_mhz for s in samples if s.sm_mhz is not None]
        power = [s.power_w for s in samples if s.power_w is not None]
        temps = [s.temp_c for s in samples if s.temp_c is not None]
        add("gpu.sm_clock_min_during", min(clocks) if clocks else None, Unit.MHZ, gpu=g)
        add("gpu.power_max_during", max(power) if power else None, Unit.WATTS, gpu=g)
        add("gpu.temp_max_during", max(temps) if temps else None, Unit.CELSIUS, gpu=g)
        masks = [s.reasons for s in samples if s.reasons is not None]
        if masks:
            seen = sorted({r for mask in masks for r in reasons_of(mask)} - {"gpu_idle"})
            add("gpu.throttle_during", ",".join(seen), Unit.TEXT, gpu=g)
            slow = sorted(set(seen) & SLOWDOWN)
            add("gpu.thermal_throttled", bool(slow), Unit.BOOL, gpu=g)
            if slow:
                findings.append(
                    Finding(
                        code="throttled",
                        severity=Severity.HIGH,
                        host=host,
                        message=f"{host} GPU {g} slowed down under load: {', '.join(slow)}"
                        + (f" (max {max(temps):.0f} C)" if temps else ""),
                    )
                )
    return Measured(ms, with_remediation(findings, remediation or {}))


def _bench_records(text: str) -> list[dict[str, Any]]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict) and rec.get("tool") == "clustermax-gpubench":
            out.append(rec)
    return out


def from_sections(inp: ProbeInput) -> ProbeOutput:
    s = inp.sections
    rem = inp.spec.remediation
    if (unsupported := script_error(s)) is not None:
        return unsupported
    nvb: Slot[NvbandwidthOutput] = NOT_COLLECTED
    nvb_missing = "nvbandwidth" in s and s["nvbandwidth"].missing is not None
    if "nvbandwidth" in s and not nvb_missing:
        try:
            nvb = parse_nvbandwidth(s["nvbandwidth"].text)
        except ParseError:
            nvb = None
    torch_line = s["torch"].text.strip() if "torch" in s else ""
    bench = _bench_records(s["bench"].text) if "bench" in s else None
    samples = parse_samples(s["samples"].text) if "samples" in s else []
    ev = NodePerfEvidence(nvbandwidth=nvb, bench=bench, samples=samples)
    measured = measure(ev, inp.host, rem)
    if not isinstance(nvb, NotCollected) and nvb is None and not measured.measurements:
        return ProbeOutput(
            status=ProbeStatus.ERROR,
            substatus=SubStatus.PARSE_ERROR,
            message="nvbandwidth printed no bandwidth matrix (see its section)",
        )
    if not measured.measurements:
        if measured.findings:  # the benchmark ran and failed on every GPU
            return ProbeOutput(
                status=ProbeStatus.ERROR,
                substatus=SubStatus.COMMAND_FAILED,
                message=measured.findings[0].message,
                remediation=rem.get("bench-failed"),
                findings=measured.findings,
            )
        missing = []
        if nvb_missing or "nvbandwidth" not in s:
            missing.append("nvbandwidth")
        if not torch_line.startswith("torch="):
            missing.append("PyTorch")
        return ProbeOutput(
            status=ProbeStatus.SKIPPED,
            substatus=SubStatus.NOT_INSTALLED,
            message=f"not measured: {' and '.join(missing) or 'no tool'} not installed on the node",
            remediation=rem.get("tools-missing"),
        )
    bad = any(f.severity in (Severity.HIGH, Severity.CRITICAL) for f in measured.findings)
    parts = []
    tf = [
        m.value
        for m in measured.measurements
        if m.metric == "gpu.bf16_gemm_tflops" and isinstance(m.value, float)
    ]
    if tf:
        parts.append(f"BF16 GEMM {min(tf):.0f}-{max(tf):.0f} TFLOP/s over {len(tf)} GPU(s)")
    h2d = [
        m.value for m in measured.measurements if m.metric == "gpu.nvbw_h2d" and isinstance(m.value, float)
    ]
    if h2d:
        parts.append(f"host-to-device {min(h2d):.0f}-{max(h2d):.0f} GB/s")
    return ProbeOutput(
        status=ProbeStatus.FAILED if bad else ProbeStatus.OK,
        message="; ".join(parts) or "node performance measured",
        measurements=measured.measurements,
        findings=measured.findings,
    )


FILES: tuple[FileKind, ...] = ()

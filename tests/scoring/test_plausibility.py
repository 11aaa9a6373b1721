"""Forged output is not evidence, in scoring: bandwidths above the hardware's links, and runs the parse
stage found implausible, are *not measured (implausible)*, never a pass, and fail nccl-results-plausible
(a Silver gate), through the real CLI too."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from clustermax.models.score import HardwareProfile
from clustermax.parsers.nccl_tests import busbw_factor, parse_nccl_tests
from clustermax.probes.nccl_allreduce import ImportedLog, import_measurements
from clustermax.probes.plausibility import run_implausible
from clustermax.scoring import load_rubric
from clustermax.scoring.plausibility import CHECKED_METRICS, implausible, limits_of
from clustermax.scoring.validate import references_of
from tests.probes.forgery import consistent_speedup, edit_rows, real_logs, scale_busbw

REFS = references_of(load_rubric(None))
ROOT = Path(__file__).resolve().parents[2]


def _profile(gpu_id: str, fabric: str | None = "ib-ndr-400", nics: int | None = None) -> HardwareProfile:
    figure = REFS.gpus[gpu_id].figures.get("scaleout_nics")
    count = nics if nics is not None else (int(figure.value) if figure else 8)
    ids = [f"gpu:{gpu_id}"] + ([f"fabric:{fabric}"] if fabric else [])
    return HardwareProfile(gpu_model=gpu_id, fabric=fabric, nic_count=count, reference_ids=ids)


def _measurements(text: str) -> list[object]:
    ms, _ = import_measurements([ImportedLog(parse_nccl_tests(text), "n1", text)])
    return list(ms)


def _name(p: Path) -> str:
    return p.name


def test_every_gpu_has_its_link_limit_with_a_dated_source() -> None:
    for gpu_id, ref in REFS.gpus.items():
        fig = ref.figures["scaleup_bw"]
        assert fig.unit is not None and fig.unit.value == "GB/s", gpu_id
        assert "read 2026-12-04" in fig.source and "http" in fig.source
    for fabric_id, fab in REFS.fabrics.items():
        assert fab.figures["nic_rate"].value == fab.rate_gbps, fabric_id
    limits = limits_of(REFS, _profile("h100-sxm"))
    assert (limits.scaleup_gbps, limits.node_nic_gbps) == (450.0, 400.0)  # NVLink 4; 8 x NDR 50 GB/s
    assert limits_of(REFS, _profile("b200")).scaleup_gbps == 900.0  # NVLink 5


@pytest.mark.parametrize("path", real_logs(), ids=_name)
def test_no_real_log_exceeds_its_hardware(path: Path) -> None:
    # every recorded log whose GPU has a reference entry, against that GPU's links and its reference design's
    # NICs (the fastest fabric it ships with): a real run never beats them
    text = path.read_text(encoding="utf-8", errors="replace")
    gpu_id = REFS.gpu_for_model(parse_nccl_tests(text).gpu_model or "")
    # a log naming no GPU of the table: its one-node figures against every GPU's links (A100's 300 GB/s
    # the smallest), since nothing real beats the slowest scale-up link of the table on these older parts
    checked = 0
    for candidate in [gpu_id] if gpu_id else sorted(REFS.gpus):
        limits = limits_of(REFS, _profile(candidate))
        for m in _measurements(text):
            if getattr(m, "metric", None) in CHECKED_METRICS and (gpu_id or m.labels.get("scope") == "intra"):
                assert implausible(m, limits) is None, (path.name, candidate, m)
                checked += 1
    assert checked or not gpu_id


FORGED_ON = [
    # (log, GPU entry, scope): a careful forgery (times / 3, algbw and busbw recomputed from them) that the
    # log's own table cannot give away
    ("rccl-mi300x-k8s-8gpu-allreduce-cmdline-snip.log", "mi300x", "intra"),
    ("h100-2node-allreduce-mpirun.log", "h100-sxm", "inter"),
    ("md-h100-a3mega-2node-quoted-cmd-as-published.txt", "h100-sxm", "inter"),
    ("rccl-mi300x-2node-slurm-allreduce-binary-path-old-devices.log", "mi300x", "inter"),
]


def _careful_forgery(name: str) -> str:
    text = (ROOT / "tests/data/nccl-tests" / name).read_text(encoding="utf-8")
    run = parse_nccl_tests(text)
    factor = busbw_factor(run.collective, run.ranks)
    assert factor is not None
    forged = edit_rows(text, consistent_speedup(3.0, factor))
    assert forged is not None
    return forged


@pytest.mark.parametrize(("name", "gpu_id", "scope"), FORGED_ON)
def test_a_careful_forgery_is_caught_by_the_hardware(name: str, gpu_id: str, scope: str) -> None:
    forged = _careful_forgery(name)
    assert run_implausible(parse_nccl_tests(forged)) is None  # the table agrees with itself
    limits = limits_of(REFS, _profile(gpu_id))
    peaks = [m for m in _measurements(forged) if getattr(m, "metric", None) == "nccl.busbw_peak_median"]
    assert peaks and all(m.labels["scope"] == scope for m in peaks)
    reasons = [implausible(m, limits) for m in peaks]
    assert all(reasons), reasons
    what = "per GPU and direction" if scope == "intra" else "through each node's NICs per direction"
    assert all(what in (r or "") for r in reasons)


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clustermax", *argv], capture_output=True, text=True, check=False, timeout=120
    )


BUSBW_CRITERIA = ("nccl-intra-busbw", "nccl-inter-busbw", "nccl-inter-busbw-band", "nccl-run-spread")


def _score(bundle: Path) -> dict[str, dict[str, object]]:
    proc = _cli("score", str(bundle), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    (result,) = json.loads(proc.stdout)
    return {c["id"]: c for c in result["criteria"]}


def test_import_and_score_a_careful_forgery(tmp_path: Path) -> None:
    log = tmp_path / "all_reduce.log"
    log.write_text(_careful_forgery("h100-2node-allreduce-mpirun.log"), encoding="utf-8")
    out = tmp_path / "b"
    profile = [
        "--profile",
        "gpu_model=h100-sxm",
        "--profile",
        "fabric=infiniband-ndr",
        "--profile",
        "nic_count=8",
    ]
    proc = _cli("import", str(log), "--provider", "p", "--cluster", "c", "--out", str(out), *profile)
    assert proc.returncode == 0, proc.stderr
    criteria = _score(out)
    inter = criteria["nccl-inter-busbw"]
    assert inter["verdict"] == "not_measured"
    assert str(inter["explanation"]).startswith("Not measured (implausible): busbw_peak_median 1016.")
    assert "above 8 x ib-ndr-400 (400 GB/s, fabric.nic_rate x nic_count)" in str(inter["explanation"])
    assert not [c for c in BUSBW_CRITERIA if criteria[c]["verdict"] == "pass"]
    assert criteria["nccl-results-plausible"]["verdict"] == "fail"
    # the tier reflects it: Silver's gate on nccl-results-plausible fails on measured evidence
    proc = _cli("score", str(out), "--format", "json")
    (result,) = json.loads(proc.stdout)
    assert result["tier_ceiling"] == "bronze"
    held = [h["text"] for h in result["held_down_by"]]
    assert "Silver needs nccl-results-plausible to pass; it fails" in held
    # and the report lists it as a finding, with what was seen
    proc = _cli("report", str(out), "--format", "markdown")
    assert proc.returncode == 0, proc.stderr
    assert "nccl-results-plausible" in proc.stdout


def test_import_and_score_a_log_whose_table_contradicts_itself(tmp_path: Path) -> None:
    text = (ROOT / "tests/data/nccl-tests/rccl-mi300x-k8s-8gpu-allreduce-cmdline-snip.log").read_text(
        encoding="utf-8"
    )
    forged = edit_rows(text, scale_busbw(3.0))
    assert forged is not None
    log = tmp_path / "all_reduce.log"
    log.write_text(forged, encoding="utf-8")
    out = tmp_path / "b"
    proc = _cli(
        "import",
        str(log),
        "--provider",
        "p",
        "--cluster",
        "c",
        "--out",
        str(out),
        "--profile",
        "gpu_model=mi300x",
    )
    assert proc.returncode == 0, proc.stderr
    bundle = json.loads((out / "bundle.json").read_text(encoding="utf-8"))
    findings = [f for r in bundle["results"] for f in r["findings"] if f["code"] == "implausible-result"]
    assert len(findings) == 1 and findings[0]["severity"] == "high"
    assert "busbw disagrees with the rank count" in findings[0]["message"]
    criteria = _score(out)
    intra = criteria["nccl-intra-busbw"]
    assert intra["verdict"] == "not_measured"
    assert str(intra["explanation"]).startswith("Not measured (implausible): implausible rccl-tests output")
    assert not [c for c in BUSBW_CRITERIA if criteria[c]["verdict"] == "pass"]
    assert criteria["nccl-results-plausible"]["verdict"] == "fail"
    proc = _cli("report", str(out), "--format", "markdown")
    assert "implausible rccl-tests output" in proc.stdout


def test_the_real_log_it_was_made_from_scores_as_measured(tmp_path: Path) -> None:
    out = tmp_path / "b"
    log = ROOT / "tests/data/nccl-tests/rccl-mi300x-k8s-8gpu-allreduce-cmdline-snip.log"
    proc = _cli(
        "import",
        str(log),
        "--provider",
        "p",
        "--cluster",
        "c",
        "--out",
        str(out),
        "--profile",
        "gpu_model=mi300x",
    )
    assert proc.returncode == 0, proc.stderr
    criteria = _score(out)
    assert criteria["nccl-intra-busbw"]["verdict"] == "pass"  # 315.91 GB/s >= 0.9 x 314
    assert criteria["nccl-results-plausible"]["verdict"] == "pass"


# ------------------------------------------------------------------------- node_perf: GEMM and NVLink


def test_a_gemm_above_the_tensor_core_peak_is_not_evidence() -> None:
    from clustermax.scoring import score_bundle

    from .factory import NODES, clean_h100_slurm, node_perf_result

    def verdict(tflops: float) -> tuple[str, str]:
        bundle = clean_h100_slurm()
        results = [r for r in bundle.results if not (r.probe_id == "node_perf" and r.host == NODES[0])]
        bundle = bundle.model_copy(update={"results": [*results, node_perf_result(NODES[0], tflops)]})
        (crit,) = [c for c in score_bundle(bundle).criteria if c.id == "gpu-bf16-gemm"]
        return crit.verdict.value, crit.explanation

    assert verdict(760.0)[0] == "pass"  # 0.96 of the 794.5 TFLOP/s MAMF reference, below the 989 peak
    got, why = verdict(2967.0)  # three times the dense peak: no tensor core computes that
    assert got == "not_measured"
    assert why.startswith("Not measured (implausible): bf16_gemm_tflops 2967 TFLOP/s on ")
    assert "above h100-sxm's dense BF16 tensor-core peak (989 TFLOP/s, gpu.bf16_dense_peak)" in why


def _nvbw_screen(text: str) -> dict[int, str]:
    # the probe's own mapping of a recorded nvbandwidth output (section 'nvbandwidth'), then scoring's screen
    from clustermax.models.results import Measurement
    from clustermax.probes.base import ProbeInput, Section
    from clustermax.probes.node_perf import from_sections
    from clustermax.probes.specs import load_probe_spec
    from clustermax.resources import probes_dir
    from clustermax.scoring.plausibility import screen
    from clustermax.scoring.references import detect_profile

    spec = load_probe_spec(probes_dir() / "node_perf")
    out = from_sections(
        ProbeInput(
            spec=spec,
            host="n1",
            commands={},
            sections={"nvbandwidth": Section("nvbandwidth", text, 0)},
            params={},
        )
    )
    by_metric: dict[str, list[Measurement]] = {}
    for m in out.measurements:
        by_metric.setdefault(m.metric, []).append(m)
    assert by_metric.get("gpu.nvbw_d2d_read")
    profile = detect_profile(by_metric, REFS, {"gpu_model": "h100-sxm"})
    reasons, _ = screen(by_metric, REFS, profile)
    return reasons


def test_nvbandwidth_above_the_nvlink_rate_is_not_evidence() -> None:
    import re

    real = (ROOT / "tests/data/nvbandwidth/h100x8-v0.10.0-five-runs.txt").read_text(encoding="utf-8")
    assert _nvbw_screen(real) == {}  # 395 GB/s per peer on NVLink 4's 450
    # every bandwidth of the matrices x 3: 1185 GB/s from one GPU, over links that carry 450
    row = re.compile(r"^(\s*\d+\s+)(.*)$")

    def triple(line: str) -> str:
        m = row.match(line)
        if not m:
            return line
        return m.group(1) + re.sub(r"\d+\.\d\d", lambda v: f"{float(v.group()) * 3:.2f}", m.group(2))

    forged = "\n".join(triple(line) for line in real.split("\n"))
    reasons = _nvbw_screen(forged)
    assert reasons
    assert all(
        "above h100-sxm's scale-up links per direction (450 GB/s, gpu.scaleup_bw)" in r
        for r in reasons.values()
    )

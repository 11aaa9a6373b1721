"""nccl_allreduce probe: parser on recorded real nccl-tests logs, the torch fallback's helpers and output
format, and the real script launching all_reduce_perf stand-ins through real srun across the test nodes."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from clustermax.engine.runner import ProbeContext, build_script, run_probe
from clustermax.models import ProbeStatus, SubStatus
from clustermax.probes.base import ProbeInput, split_sections
from clustermax.probes.nccl_allreduce import from_sections
from tests.infra.cluster import TestCluster
from tests.probes.standins import (
    DATA,
    PROBES,
    Standins,
    installed_standins,
    spec,
    ssh_transport,
    value,
    values,
)

SPEC = spec("nccl_allreduce")
H100_2N = "nccl-tests/h100-2node-allreduce-mpirun.log"  # 16 ranks, 8 B - 8 GiB, #wrong 0
A800_24 = "nccl-tests/a800-24rank-kubeflow.log"
K80_OLD = "nccl-tests/k80-old-error-column-nccl-info.log"
GH200_WRONG = "nccl-tests/gh200-2node-srun-wrong-issue369.log"  # #wrong 96/32, "4 FAILED"


def section(name: str, text: str, rc: int = 0) -> str:
    return f"@@CMX:BEGIN {name}@@\n{text}\n@@CMX:END {name} rc={rc}@@\n"


def meta(n: int, r: int, ranks: int, impl: str = "nccl-tests") -> str:
    return section(
        f"run-n{n}-r{r}-meta", f"impl={impl}\nnodes={n}\nranks={ranks}\ngpus_per_node=8\nlauncher=srun"
    )


def run_parser(stdout: str, **params: object):  # type: ignore[no-untyped-def]
    return from_sections(
        ProbeInput(
            spec=SPEC, host="cluster", commands={}, sections=split_sections(stdout), params=dict(params)
        )
    )


def metric_values(out, name: str, **labels: str) -> list[object]:  # type: ignore[no-untyped-def]
    return [
        m.value
        for m in out.measurements
        if m.metric == name and all(m.labels.get(k) == v for k, v in labels.items())
    ]


def load_bench() -> ModuleType:
    loaded = importlib.util.spec_from_file_location(
        "torch_allreduce", PROBES / "nccl_allreduce" / "torch_allreduce.py"
    )
    assert loaded and loaded.loader
    module = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)  # torch is imported only inside main()
    return module


# ------------------------------------------------------------------------------------------------ parser


def test_runs_kept_with_median_spread_and_band() -> None:
    log = (DATA / H100_2N).read_text()
    out = run_parser(
        section("plan", "platform=slurm\ncollective=all_reduce\nimpl=nccl-tests")
        + meta(2, 1, 16)
        + section("run-n2-r1", log)
        + meta(2, 2, 16)
        + section("run-n2-r2", log)
    )
    assert out.status is ProbeStatus.OK
    assert metric_values(out, "nccl.busbw_peak", run="1") == [338.82]
    assert metric_values(out, "nccl.busbw_max_size", run="2") == [338.82]
    # mean of the out-of-place busbw from 16 MiB to 512 MiB: 32.18 59.36 99.74 152.32 213.19 263.69
    assert metric_values(out, "nccl.busbw_band_mean", run="1") == [pytest.approx(136.747, abs=1e-3)]
    assert metric_values(out, "nccl.busbw", run="1", size_bytes="8589934592") == [338.82]
    assert metric_values(out, "nccl.busbw_peak_median", nodes="2") == [338.82]
    assert metric_values(out, "nccl.busbw_peak_spread", nodes="2") == [0.0]
    assert metric_values(out, "nccl.busbw_peak_median", nodes="2", runs="2", scope="inter", impl="nccl-tests")
    assert metric_values(out, "nccl.wrong", run="1") == [0]
    assert out.findings == []


def test_wrong_results_fail_and_hung_run_is_reported_while_others_count() -> None:
    out = run_parser(
        meta(2, 1, 2)
        + section("run-n2-r1", (DATA / GH200_WRONG).read_text(), rc=1)
        + meta(2, 2, 16)
        + section("run-n2-r2", "# nThread 1 nGpus 1 minBytes 16777216", rc=124)
        + meta(2, 3, 16)
        + section("run-n2-r3", (DATA / H100_2N).read_text())
    )
    assert out.status is ProbeStatus.FAILED
    assert metric_values(out, "nccl.wrong", run="1") == [128]
    codes = [f.code for f in out.findings]
    assert "wrong-results" in codes and "hung" in codes
    assert metric_values(out, "nccl.runs_hung") == [1]
    # the hung run is left out of the median, the two others count
    assert metric_values(out, "nccl.busbw_peak_median", ranks="16") == [338.82]
    assert metric_values(out, "nccl.busbw_peak_median", ranks="2") == [22.87]
    assert metric_values(out, "nccl.version") == ["2.29.2"]


def test_forced_nccl_env_is_flagged() -> None:
    out = run_parser(
        section("nccl-env", "NCCL_IB_HCA=mlx5\nNCCL_PROTO=Simple")
        + section("nccl-conf", "# /etc/nccl.conf\nNCCL_ALGO=Ring\nNCCL_IB_GID_INDEX=3")
        + meta(1, 1, 8)
        + section("run-n1-r1", (DATA / H100_2N).read_text())
    )
    assert metric_values(out, "nccl.env_tuned") == ["NCCL_ALGO=Ring; NCCL_PROTO=Simple"]
    assert metric_values(out, "nccl.autoconfig") == [False]
    assert any(f.code == "nccl-env-forced" for f in out.findings)
    clean = run_parser(section("nccl-env", "NCCL_IB_HCA=mlx5") + section("nccl-conf", ""))
    assert metric_values(clean, "nccl.autoconfig") == [True]


def test_kubernetes_without_gpu_nodes_is_not_applicable_and_missing_tools_not_installed() -> None:
    k8s = run_parser(
        section(
            "plan",
            "platform=kubernetes\nskipped=kubernetes: no schedulable node with allocatable nvidia.com/gpu",
        )
    )
    assert k8s.status is ProbeStatus.SKIPPED and k8s.substatus is SubStatus.NOT_APPLICABLE
    none = run_parser(
        section(
            "plan",
            "impl=none\nskipped=nccl-tests (all_reduce_perf) not found on the compute node "
            "and no PyTorch/torchrun for the fallback",
        )
    )
    assert none.substatus is SubStatus.NOT_INSTALLED
    assert none.remediation == SPEC.remediation["nccl-tests-missing"]


def test_bad_collective_is_a_clear_error() -> None:
    out = run_parser(
        section("error", "collective must be all_reduce, all_gather, reduce_scatter or alltoall")
    )
    assert out.status is ProbeStatus.ERROR and "collective must be" in out.message


# ------------------------------------------------------------------------------------ torch fallback


def test_torch_bench_travels_with_the_script_unchanged(tmp_path: Path) -> None:
    """The engine sends torch_allreduce.py with the script; the script sees it byte for byte."""
    run_sh = (PROBES / "nccl_allreduce" / "run.sh").read_text()
    full = build_script(SPEC, "h", {})
    # everything the engine sends before run.sh itself (context, prelude, extra files), then one read
    text = full[: full.rindex(run_sh)] + 'cat "$CMX_FILES/torch_allreduce.py" > "$OUT_FILE"\nexit 0\n'
    out = tmp_path / "bench.py"
    proc = subprocess.run(
        ["bash", "-s"], input=text, text=True, capture_output=True, env={**os.environ, "OUT_FILE": str(out)},
        timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == (PROBES / "nccl_allreduce" / "torch_allreduce.py").read_text()
    assert "CMX_TORCH_PY" not in run_sh and 'cat "$CMX_FILES/torch_allreduce.py"' in run_sh  # one copy


def test_torch_bench_sizes_and_factors() -> None:
    bench = load_bench()
    assert bench.parse_size("16M") == 16 * 2**20 and bench.parse_size("8G") == 8 * 2**30
    assert bench.parse_size("1024") == 1024
    sweep = bench.sizes(bench.parse_size("16M"), bench.parse_size("8G"), 2)
    assert sweep[0] == 2**24 and sweep[-1] == 2**33 and len(sweep) == 10
    assert bench.bus_factor("all_reduce", 8) == pytest.approx(1.75)
    assert bench.bus_factor("all_reduce", 1) == 0.0  # one rank: busbw 0, as nccl-tests prints
    assert bench.bus_factor("all_gather", 4) == pytest.approx(0.75)


def test_torch_output_format_parses() -> None:
    bench = load_bench()
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        bench.emit(
            "header",
            version=1,
            collective="all_reduce",
            dtype="float32",
            world_size=2,
            nodes=1,
            iters=20,
            warmup=5,
            min_bytes=2**24,
            max_bytes=2**25,
            step_factor=2,
            backend="nccl",
            torch="2.11.0",
            cuda="13.0",
            nccl="2.28.9",
            device="NVIDIA H100 80GB HBM3",
        )
        for size, t in ((2**24, 400.0), (2**25, 750.0)):
            algbw = size / (t * 1e-6) / 1e9
            bench.emit(
                "row",
                size_bytes=size,
                count=size // 4,
                dtype="float32",
                time_us=t,
                algbw_gbps=round(algbw, 3),
                busbw_gbps=round(algbw * bench.bus_factor("all_reduce", 2), 3),
                wrong=0,
            )
        bench.emit("done", rows=2, peak_busbw_gbps=44.739)
    out = run_parser(
        meta(1, 1, 2, impl="torch") + section("run-n1-r1", "W1126 torchrun noise\n" + buf.getvalue())
    )
    assert metric_values(out, "nccl.busbw", impl="torch", size_bytes=str(2**25)) == [
        pytest.approx(44.739, abs=1e-3)
    ]
    assert metric_values(out, "nccl.algbw", impl="torch", size_bytes=str(2**25)) == [
        pytest.approx(44.739, abs=1e-3)
    ]
    assert metric_values(out, "nccl.version") == ["2.28.9"]
    assert "torch-fallback" in {f.code for f in out.findings}


def test_recorded_torch_fallback_on_one_h100() -> None:
    # real stdout of the probe on a 1 x H100 bare host (no nccl-tests): 3 torch runs of one rank
    stdout = (DATA / "probe_nccl" / "h100-fc-bare-torch-1gpu.stdout").read_text()
    out = run_parser(stdout)
    assert out.status is ProbeStatus.OK
    assert metric_values(out, "nccl.version") == ["2.28.9"]
    # one rank: busbw = algbw x 2(n-1)/n is 0 by definition, which is no measurement: null, and no
    # median that a rubric could hold against the hardware's reference
    assert metric_values(out, "nccl.busbw_peak", run="2", impl="torch", ranks="1") == [None]
    assert metric_values(out, "nccl.busbw") == []
    # the in-place all-reduce on one rank moves no data, so no bandwidth is claimed either
    assert set(metric_values(out, "nccl.algbw")) == {None}
    assert metric_values(out, "nccl.busbw_peak_median") == []
    assert out.message == "3 one-rank run(s): one GPU moves no data, so no bus bandwidth (see nccl.algbw)"
    assert metric_values(out, "nccl.wrong", run="1") == [0]
    assert {"torch-fallback", "single-rank"} <= {f.code for f in out.findings}
    assert metric_values(out, "nccl.autoconfig") == [True]


# ------------------------------------------------------------------------------------ real launch path


@pytest.fixture()
def standins(testcluster: TestCluster) -> Iterator[Standins]:
    with installed_standins(testcluster, tools=("all_reduce_perf",)) as s:
        yield s


def _squeue(cluster: TestCluster) -> str:
    return subprocess.run(
        ["squeue", "-h", "-o", "%i %j"], capture_output=True, text=True, env=cluster.env(), check=False
    ).stdout


def _run(cluster: TestCluster, params: dict[str, object]):  # type: ignore[no-untyped-def]
    ctx = ProbeContext(
        role="login",
        platform="slurm",
        nodes=[h.name for h in cluster.nodes],
        node_addrs=[h.ip for h in cluster.nodes],
    )
    with ssh_transport(cluster, cluster.login) as transport:
        return run_probe(transport, SPEC, "cluster", params, ctx)


@pytest.mark.sshd
@pytest.mark.slurm
def test_srun_across_nodes_with_rank0_output(testcluster: TestCluster, standins: Standins) -> None:
    standins.scenario(
        "default",
        {
            "all_reduce_perf": [
                {"nnodes": 1, "file": K80_OLD},
                {"nnodes": 2, "file": H100_2N},
                {"nnodes": 4, "file": A800_24},
            ]
        },
    )
    commands, result = _run(testcluster, {"node_counts": [1, 2, 4], "repetitions": 2, "run_timeout_s": 60})
    out = commands[0].stdout
    assert "@@CMX:BEGIN run-n4-r2@@" in out, out[-3000:]
    assert result.status is ProbeStatus.OK, result.message
    assert value(result, "nccl.busbw_peak_median", nodes="2") == 338.82
    assert values(result, "nccl.busbw_peak", nodes="2", scope="inter") == [338.82, 338.82]
    assert len(values(result, "nccl.busbw_peak", nodes="4")) == 2
    calls = [c for c in standins.calls() if c["tool"] == "all_reduce_perf"]
    two_node = [c for c in calls if c["args"][:2] == ["-g", "1"] and c["host"] in ("node1", "node2")]
    # one node: one process driving the node's 8 GPUs; two nodes: 8 tasks per node, one GPU each
    assert sum(1 for c in calls if c["args"][:2] == ["-g", "8"]) == 2
    assert {c["procid"] for c in two_node} >= {str(i) for i in range(16)}
    assert ["-b", "16M", "-e", "8G", "-f", "2", "-n", "20", "-w", "5", "-c", "1"] == calls[0]["args"][2:]
    assert any(f.code == "rank-mismatch" for f in result.findings)  # the 4-node log has 24 ranks, 32 launched
    assert _squeue(testcluster).strip() == ""


@pytest.mark.sshd
@pytest.mark.slurm
def test_hung_run_is_cut_and_cancelled_and_wrong_results_fail(
    testcluster: TestCluster, standins: Standins
) -> None:
    standins.scenario(
        "default",
        {"all_reduce_perf": [{"nnodes": 1, "hang": True}, {"nnodes": 2, "file": GH200_WRONG, "rc": 1}]},
    )
    commands, result = _run(testcluster, {"node_counts": [1, 2], "repetitions": 1, "run_timeout_s": 4})
    assert "@@CMX:END run-n1-r1 rc=124@@" in commands[0].stdout, commands[0].stdout[-2000:]
    assert result.status is ProbeStatus.FAILED
    codes = {f.code for f in result.findings}
    assert {"hung", "wrong-results"} <= codes
    assert value(result, "nccl.wrong", nodes="2") == 128
    assert value(result, "nccl.runs_hung") == 1
    assert _squeue(testcluster).strip() == ""  # the hung step's job was cancelled


@pytest.mark.sshd
@pytest.mark.slurm
def test_no_nccl_tests_and_no_torch_is_not_installed(testcluster: TestCluster) -> None:
    commands, result = _run(testcluster, {"node_counts": [1], "repetitions": 1})
    assert result.status is ProbeStatus.SKIPPED and result.substatus is SubStatus.NOT_INSTALLED, (
        result.message
    )
    assert "@@CMX:BEGIN discover@@" in commands[0].stdout

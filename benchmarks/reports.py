"""Benchmark: render the HTML comparison report of 50 bundles, against loading those 50 bundles.

    .venv/bin/python benchmarks/reports.py [--bundles 50] [--nodes 16]

The bundles are made once (not timed) the way an audit would leave them: 16 GPU nodes each with its
raw nvidia-smi -q output, per-node health measurements, and NCCL all-reduce runs (intra-node and
2/4-node, 3 repetitions, 16 MiB - 8 GiB) with their raw nccl-tests logs; each provider's numbers differ.
The raw outputs are real fixtures from tests/data (nvidia-smi -q, dcgmi diag, ibstat, an nccl-tests log),
replicated; the measurements are synthetic but shaped like the probes'.

Timed in the same run, one after the other:
  load    load_bundle() of each bundle.json (read + JSON parse + pydantic validation)
  score   score_bundle() with the default rubric (reported, not part of the ratio)
  render  build_report(compare=True) + the HTML renderer (pandas tables, jinja2, pygal charts);
          "cold" is the first render in the process (lazy imports included), "warm" the median of 3 more.
Target: render (cold) at most 5x load.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from clustermax.models import (  # noqa: E402
    Bundle,
    CommandResult,
    HostRecord,
    Measurement,
    Origin,
    ProbeResult,
    ProbeStatus,
    Target,
    Unit,
)

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
SIZES = [2**i for i in range(24, 34)]
SMI_Q = ROOT / "tests/data/nvidia-smi/a100x4-555-q-remap-pending.txt"
DCGMI = ROOT / "tests/data/dcgmi-diag/dcgm338-h100x8-r3-cuda-fail-all.txt"
IBSTAT = ROOT / "tests/data/ibstat/cx6-200g-one-down-nccl-tests-128.txt"
NCCL_LOG = ROOT / "tests/data/nccl-tests/h100-2node-allreduce-mpirun.log"


def make_bundle(index: int, nodes: int) -> Bundle:
    # what the gpu_health and fabric probes keep per node: nvidia-smi -q (4 GPUs here, so twice for 8),
    # dcgmi diag and ibstat
    smi = SMI_Q.read_text(encoding="utf-8", errors="replace") * 2
    dcgmi = DCGMI.read_text(encoding="utf-8", errors="replace")
    ibstat = IBSTAT.read_text(encoding="utf-8", errors="replace") * 4
    nccl_log = NCCL_LOG.read_text(encoding="utf-8", errors="replace")
    factor = 0.6 + 0.4 * ((index * 37) % 50) / 50
    names = [f"p{index:02d}-gpu{n:03d}" for n in range(nodes)]
    hosts = [HostRecord(name=f"p{index:02d}-login", role="login", state="ok")]
    hosts += [
        HostRecord(name=n, role="compute", state="ok", address=f"10.{index}.0.{i + 1}")
        for i, n in enumerate(names)
    ]
    commands: list[CommandResult] = []
    results: list[ProbeResult] = []
    for i, node in enumerate(names):
        cmd_id = f"{node}/gpu_health/main"
        commands.append(
            CommandResult(
                id=cmd_id,
                host=node,
                probe_id="gpu_health",
                command="bash -s",
                exit_code=0,
                stdout=smi,
                started_at=T0,
                duration_s=3.1,
            )
        )
        for step, text in (("dcgmi", dcgmi), ("ibstat", ibstat)):
            commands.append(
                CommandResult(
                    id=f"{node}/gpu_health/{step}",
                    host=node,
                    probe_id="gpu_health" if step == "dcgmi" else "fabric",
                    step=step,
                    command="bash -s",
                    exit_code=0,
                    stdout=text,
                    started_at=T0,
                    duration_s=1.0,
                )
            )
        bad = (i + index) % 11 == 0
        measurements = [
            Measurement(metric="gpu.count", value=8, unit=Unit.COUNT, host=node),
            Measurement(metric="gpu.expected_count", value=8, unit=Unit.COUNT, host=node),
            Measurement(metric="gpu.count_ok", value=True, unit=Unit.BOOL, host=node),
            Measurement(metric="gpu.model", value="NVIDIA H100 80GB HBM3", unit=Unit.TEXT, host=node),
            Measurement(metric="gpu.ecc_uncorrected", value=2 if bad else 0, unit=Unit.COUNT, host=node),
            Measurement(metric="gpu.xid_critical", value=0, unit=Unit.COUNT, host=node),
            Measurement(metric="gpu.persistence_mode", value=True, unit=Unit.BOOL, host=node),
            Measurement(metric="gpu.healthy", value=not bad, unit=Unit.BOOL, host=node),
            Measurement(metric="fabric.ports", value=8, unit=Unit.COUNT, host=node),
            Measurement(metric="fabric.ports_down", value=0, unit=Unit.COUNT, host=node),
            Measurement(metric="fabric.nic_count", value=8, unit=Unit.COUNT, host=node),
            Measurement(metric="fabric.nic_rate", value=400, unit=Unit.GBITPS, host=node),
            Measurement(metric="fabric.link_layer", value="InfiniBand", unit=Unit.TEXT, host=node),
        ]
        results.append(
            ProbeResult(
                probe_id="gpu_health",
                host=node,
                status=ProbeStatus.FAILED if bad else ProbeStatus.OK,
                started_at=T0,
                duration_s=3.1,
                command_ids=[cmd_id],
                measurements=measurements,
            )
        )
    nccl: list[Measurement] = []
    nccl_cmds = []
    for scope, n_nodes, peak in (("intra", 1, 480.0), ("inter", 2, 380.0), ("inter", 4, 370.0)):
        labels = {
            "collective": "all_reduce",
            "impl": "nccl",
            "scope": scope,
            "nodes": str(n_nodes),
            "ranks": str(8 * n_nodes),
        }
        peaks = []
        for run in range(1, 4):
            cmd_id = f"cluster/nccl_allreduce/{scope}-{n_nodes}-{run}"
            nccl_cmds.append(cmd_id)
            commands.append(
                CommandResult(
                    id=cmd_id,
                    host="cluster",
                    probe_id="nccl_allreduce",
                    command="srun all_reduce_perf",
                    exit_code=0,
                    stdout=nccl_log,
                    started_at=T0,
                    duration_s=90.0,
                )
            )
            values = [peak * factor * (1 - 0.01 * run) * s / (s + 96 * 2**20) for s in SIZES]
            for size, value in zip(SIZES, values, strict=True):
                nccl.append(
                    Measurement(
                        metric="nccl.busbw",
                        value=round(value, 2),
                        unit=Unit.GBPS,
                        labels={**labels, "run": str(run), "size_bytes": str(size)},
                    )
                )
            band = [v for s, v in zip(SIZES, values, strict=True) if s <= 512 * 2**20]
            nccl.append(
                Measurement(
                    metric="nccl.busbw_peak",
                    value=max(values),
                    unit=Unit.GBPS,
                    labels={**labels, "run": str(run)},
                )
            )
            nccl.append(
                Measurement(
                    metric="nccl.busbw_band_mean",
                    value=sum(band) / len(band),
                    unit=Unit.GBPS,
                    labels={**labels, "run": str(run)},
                )
            )
            nccl.append(
                Measurement(metric="nccl.wrong", value=0, unit=Unit.COUNT, labels={**labels, "run": str(run)})
            )
            peaks.append(max(values))
        nccl.append(
            Measurement(
                metric="nccl.busbw_peak_median",
                value=statistics.median(peaks),
                unit=Unit.GBPS,
                labels={**labels, "runs": "3"},
            )
        )
    results.append(
        ProbeResult(
            probe_id="nccl_allreduce",
            host="cluster",
            status=ProbeStatus.OK,
            started_at=T0,
            duration_s=900.0,
            command_ids=nccl_cmds,
            measurements=nccl,
        )
    )
    ttfj = [
        Measurement(
            metric="ttfj.batch_total", value=2.0 + factor * r, unit=Unit.SECONDS, labels={"run": str(r)}
        )
        for r in range(1, 4)
    ]
    ttfj.append(Measurement(metric="ttfj.batch_total_median", value=2.0 + factor * 2, unit=Unit.SECONDS))
    results.append(
        ProbeResult(
            probe_id="ttfj",
            host="cluster",
            status=ProbeStatus.OK,
            started_at=T0,
            duration_s=20.0,
            measurements=ttfj,
        )
    )
    return Bundle(
        origin=Origin(tool_version="bench", python=sys.version.split()[0], platform=sys.platform),
        target=Target(cluster=f"cluster-{index:02d}", provider=f"Provider {index:02d}", platform="slurm"),
        started_at=T0,
        ended_at=T0 + timedelta(minutes=25),
        complete=True,
        hosts=hosts,
        commands=commands,
        results=results,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundles", type=int, default=50)
    parser.add_argument("--nodes", type=int, default=16)
    args = parser.parse_args()

    from clustermax.bundle.io import load_bundle
    from clustermax.scoring import load_rubric, score_bundle

    with tempfile.TemporaryDirectory(prefix="cm-bench-") as tmp:
        paths = []
        total_bytes = 0
        for i in range(args.bundles):
            folder = Path(tmp) / f"b{i:02d}"
            folder.mkdir()
            text = make_bundle(i, args.nodes).model_dump_json()
            (folder / "bundle.json").write_text(text, encoding="utf-8")
            total_bytes += len(text.encode())
            paths.append(folder)

        t = time.perf_counter()
        bundles = [load_bundle(p) for p in paths]
        load_s = time.perf_counter() - t

        rubric = load_rubric(None)
        t = time.perf_counter()
        items = [(b, score_bundle(b, rubric)) for b in bundles]
        score_s = time.perf_counter() - t

        from clustermax.reports import build_report, render_report

        def render_once() -> tuple[float, int]:
            t0 = time.perf_counter()
            html = render_report(build_report(items, compare=True), "html")
            return time.perf_counter() - t0, len(html.encode())

        cold_s, html_bytes = render_once()
        warm_s = statistics.median(render_once()[0] for _ in range(3))

    print(
        f"bundles: {args.bundles} x {args.nodes} nodes, {total_bytes / 2**20:.1f} MiB of bundle.json in all"
    )
    print(f"load    {load_s:8.3f} s   ({load_s / args.bundles * 1000:.1f} ms per bundle)")
    print(f"score   {score_s:8.3f} s   (not in the ratio)")
    print(
        f"render  {cold_s:8.3f} s   cold (first render, lazy imports included), "
        f"HTML {html_bytes / 1024:.0f} KiB"
    )
    print(f"render  {warm_s:8.3f} s   warm (median of 3)")
    print(
        f"ratio render/load: cold {cold_s / load_s:.2f}x, warm {warm_s / load_s:.2f}x   (target: at most 5x)"
    )


if __name__ == "__main__":
    main()

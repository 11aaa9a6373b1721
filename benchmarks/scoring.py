"""Re-score 1,000 saved bundles and compare with merely loading the same JSON files.

    .venv/bin/python benchmarks/scoring.py [--bundles 1000]

Writes realistic bundle.json files (8 GPU nodes, about 400 measurements, and raw command outputs
the size of real ones, taken from the recorded outputs in tests/data) to a temporary directory,
then measures, in the same run:
  * load:  json.load of every file (the floor: reading the evidence at all);
  * score: clustermax.scoring.load_bundle + score_bundle of every file with the default rubric, the
    tier bounds (floor, ceiling, reasons) and the tier-gap advice included.
Prints both times and the ratio (target: score <= 3x load), and the share of the scoring time that the
tier bounds and the advice search take (timed inside the same runs).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from clustermax.bundle.io import load_bundle
from clustermax.models import (
    Bundle,
    CommandResult,
    Measurement,
    Origin,
    ProbeResult,
    ProbeStatus,
    Target,
    Unit,
)
from clustermax.scoring import engine, load_rubric, score_bundle

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)
NODES = [f"gpu-node-{i:02d}" for i in range(1, 9)]

# Raw outputs kept in the bundle, as big as real ones: recorded real tool outputs from tests/data
# (nvidia-smi -q of a 4-GPU node, twice, for an 8-GPU node; ibstat of a ConnectX-7 node; an H100
# 2-node all_reduce_perf log). Small commands (system_info, slurm, monitoring) get a short text.
DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
RAW = {
    "gpu_health": (DATA / "nvidia-smi" / "a100x4-555-q-remap-pending.txt").read_text(encoding="utf-8") * 2,
    "fabric": (DATA / "ibstat" / "h20-cx7-400g-ib-deepep-303.txt").read_text(encoding="utf-8") * 4,
    "nccl_allreduce": (DATA / "nccl-tests" / "h100-2node-allreduce-mpirun.log").read_text(encoding="utf-8")
    * 3,
}
SHORT = "\n".join(f"key_{i}=value {i}" for i in range(40))


def _m(metric: str, value: Any, unit: str, host: str | None = None, **labels: str) -> Measurement:
    return Measurement(metric=metric, value=value, unit=Unit(unit), host=host, labels=labels)


def _res(probe: str, host: str, ms: list[Measurement], cmd: str) -> ProbeResult:
    return ProbeResult(
        probe_id=probe,
        host=host,
        status=ProbeStatus.OK,
        started_at=T0,
        duration_s=1.2,
        command_ids=[cmd],
        measurements=ms,
    )


def rich_bundle(name: str) -> Bundle:
    results: list[ProbeResult] = []
    commands: list[CommandResult] = []

    def cmd(host: str, probe: str) -> str:
        cid = f"{host}/{probe}/main"
        commands.append(
            CommandResult(
                id=cid,
                host=host,
                probe_id=probe,
                command="bash -s",
                exit_code=0,
                stdout=RAW.get(probe, SHORT),
                started_at=T0,
                duration_s=1.2,
            )
        )
        return cid

    results.append(
        _res(
            "scheduler_detect",
            "login",
            [_m("scheduler.platform", "slurm", "text", "login")],
            cmd("login", "scheduler_detect"),
        )
    )
    slurm = [
        _m(f"slurm.{k}", True, "bool", "login")
        for k in (
            "controller_up",
            "default_partition_set",
            "def_mem_per_gpu_set",
            "def_cpu_per_gpu_set",
            "accounting",
            "pmix",
            "pyxis",
            "enroot",
            "topology_configured",
            "healthcheck_configured",
            "prolog_configured",
            "epilog_configured",
            "multi_node_srun",
            "node_ssh",
        )
    ]
    slurm += [
        _m("slurm.partitions_up", 2, "count", "login"),
        _m("slurm.nodes_unavailable_fraction", 0.0, "ratio", "login"),
    ]
    results.append(_res("slurm", "login", slurm, cmd("login", "slurm")))
    for host in NODES:
        gpu = [
            _m(f"gpu.{k}", 0, "count", host)
            for k in (
                "throttled",
                "ecc_uncorrected",
                "retired_pages_pending",
                "remapped_rows_pending",
                "remapped_rows_failed",
                "pcie_degraded",
                "nvlink_inactive",
                "xid_events",
                "xid_critical",
            )
        ]
        gpu += [
            _m("gpu.count", 8, "count", host),
            _m("gpu.count_ok", True, "bool", host),
            _m("gpu.model", "NVIDIA H100 80GB HBM3", "text", host),
            _m("gpu.memory_total", 81559, "MiB", host),
            _m("gpu.driver_version", "570.211.01", "version", host),
            _m("gpu.persistence_mode", True, "bool", host),
            _m("gpu.temperature_max", 34, "C", host),
            _m("gpu.power_limit", 700.0, "W", host),
            _m("gpu.fallen_off_bus", False, "bool", host),
            _m("gpu.healthy", True, "bool", host),
            _m("gpu.dcgm_diag", "pass", "text", host, level="1"),
        ]
        results.append(_res("gpu_health", host, gpu, cmd(host, "gpu_health")))
        fabric = [
            _m("fabric.ports_down", 0, "count", host),
            _m("fabric.nic_count", 8, "count", host),
            _m("fabric.nic_rate", 400, "Gb/s", host),
            _m("fabric.link_layer", "InfiniBand", "text", host),
            _m("fabric.gpudirect_rdma", True, "bool", host),
            _m("fabric.gpu_nic_pix", 8, "count", host),
        ]
        fabric += [_m("fabric.port_rate", 400, "Gb/s", host, ca=f"mlx5_{i}", port="1") for i in range(8)]
        results.append(_res("fabric", host, fabric, cmd(host, "fabric")))
        results.append(
            _res(
                "system_info",
                host,
                [_m("system.cpu_count", 224, "count", host), _m("system.memory_total", 2015.6, "GiB", host)],
                cmd(host, "system_info"),
            )
        )
        results.append(
            _res(
                "monitoring",
                host,
                [
                    _m("monitoring.dcgm_exporter", True, "bool", host),
                    _m("monitoring.node_exporter", True, "bool", host),
                    _m("monitoring.gpu_health_metrics", 6, "count", host),
                ],
                cmd(host, "monitoring"),
            )
        )
    nccl = []
    base = {"collective": "all_reduce", "impl": "nccl-tests"}
    for scope, nodes, peak in (("intra", "1", 476.0), ("inter", "2", 386.6)):
        for run in range(3):
            for k in range(10):
                size = 2 ** (24 + k)
                nccl.append(
                    _m(
                        "nccl.busbw",
                        peak * (0.5 + k / 20),
                        "GB/s",
                        None,
                        scope=scope,
                        nodes=nodes,
                        ranks="8",
                        run=str(run),
                        size_bytes=str(size),
                        **base,
                    )
                )
            nccl.append(
                _m("nccl.wrong", 0, "count", None, scope=scope, nodes=nodes, ranks="8", run=str(run), **base)
            )
        nccl.append(
            _m(
                "nccl.busbw_peak_median",
                peak,
                "GB/s",
                None,
                scope=scope,
                nodes=nodes,
                ranks="8",
                runs="3",
                **base,
            )
        )
        nccl.append(
            _m(
                "nccl.busbw_band_mean",
                peak * 0.7,
                "GB/s",
                None,
                scope=scope,
                nodes=nodes,
                ranks="8",
                run="0",
                **base,
            )
        )
        nccl.append(
            _m(
                "nccl.busbw_peak_spread",
                0.02,
                "ratio",
                None,
                scope=scope,
                nodes=nodes,
                ranks="8",
                runs="3",
                **base,
            )
        )
    results.append(_res("nccl_allreduce", "cluster", nccl, cmd("login", "nccl_allreduce")))
    return Bundle(
        origin=Origin(tool_version="0.1.0", python="3.11", platform="linux"),
        target=Target(cluster=name, provider="bench", platform="slurm"),
        started_at=T0,
        ended_at=T0,
        complete=True,
        commands=commands,
        results=results,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundles", type=int, default=1000)
    args = parser.parse_args()

    rubric = load_rubric(None)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        template = rich_bundle("bench-0")
        n_measurements = sum(1 for _ in template.measurements())
        for i in range(args.bundles):
            b = template.model_copy(
                update={"target": template.target.model_copy(update={"cluster": f"bench-{i}"})}
            )
            path = Path(tmp) / f"b{i:04d}" / "bundle.json"
            path.parent.mkdir()
            path.write_text(b.model_dump_json(indent=2), encoding="utf-8")
            paths.append(path)
        size_kib = paths[0].stat().st_size / 1024

        score_bundle(load_bundle(paths[0]), rubric)  # warm caches (probe catalog, references)
        for p in paths:  # and the OS page cache, for both sides alike
            p.read_bytes()

        def bare_load() -> None:
            for p in paths:
                with p.open(encoding="utf-8") as fh:
                    json.load(fh)

        tiers: dict[str, int] = {}
        spent = {"bounds": 0.0, "advice": 0.0, "score": 0.0}

        def timed(name: str, fn: Any) -> Any:
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                t0 = time.process_time()
                try:
                    return fn(*args, **kwargs)
                finally:
                    spent[name] += time.process_time() - t0

            return wrapper

        # the tier bounds and the advice, timed where the engine calls them
        engine.decide = timed("bounds", engine.decide)  # type: ignore[assignment]
        engine.build_advice = timed("advice", engine.build_advice)  # type: ignore[assignment]

        def load_and_score() -> None:
            tiers.clear()
            for key in spent:
                spent[key] = 0.0
            for p in paths:
                bundle = load_bundle(p)
                t0 = time.process_time()
                res = score_bundle(bundle, rubric)
                spent["score"] += time.process_time() - t0
                label = res.tier.value if res.tier is not None else "not rated"
                tiers[label] = tiers.get(label, 0) + 1

        # interleaved, best of 3 each: other processes on the machine disturb both sides alike
        load_wall = load_cpu = score_wall = score_cpu = float("inf")
        shares: dict[str, float] = {}
        for _ in range(3):
            w0, c0 = time.perf_counter(), time.process_time()
            bare_load()
            load_wall = min(load_wall, time.perf_counter() - w0)
            load_cpu = min(load_cpu, time.process_time() - c0)
            w0, c0 = time.perf_counter(), time.process_time()
            load_and_score()
            if time.perf_counter() - w0 < score_wall:
                shares = dict(spent)
            score_wall = min(score_wall, time.perf_counter() - w0)
            score_cpu = min(score_cpu, time.process_time() - c0)

    n = args.bundles
    print(
        f"bundles: {n}, {n_measurements} measurements and {len(template.commands)} raw outputs each, "
        f"{size_kib:.0f} KiB per file"
    )
    rows = [
        ("json.load only", load_wall, load_cpu, ""),
        ("load_bundle + score", score_wall, score_cpu, f"  tiers {tiers}"),
    ]
    print(f"{'':22}{'wall':>10}{'cpu':>10}   (best of 3 interleaved runs)")
    for label, wall, cpu, extra in rows:
        print(f"{label:22}{wall:9.3f}s{cpu:9.3f}s   {1000 * cpu / n:.2f} ms cpu per bundle{extra}")
    ratio_wall, ratio_cpu = score_wall / load_wall, score_cpu / load_cpu
    print(f"{'ratio score / load':22}{ratio_wall:9.2f}x{ratio_cpu:9.2f}x   (target <= 3x)")
    scoring = shares.get("score", 0.0) or float("nan")
    print(
        f"of score_bundle's {1000 * scoring / n:.2f} ms cpu per bundle: tier bounds "
        f"{1000 * shares.get('bounds', 0.0) / n:.3f} ms ({100 * shares.get('bounds', 0.0) / scoring:.1f}%), "
        f"tier-gap advice {1000 * shares.get('advice', 0.0) / n:.3f} ms "
        f"({100 * shares.get('advice', 0.0) / scoring:.1f}%)"
    )


if __name__ == "__main__":
    main()

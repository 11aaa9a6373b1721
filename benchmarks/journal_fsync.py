"""What making the audit journal durable costs: fdatasync after every record against plain appends.

    .venv/bin/python benchmarks/journal_fsync.py [--dir DIR] [--records 640] [--reps 3]

The journal gets one append per probe result (its raw commands and the result together), then an
``fdatasync`` so that a SIGKILL, a crash or a power cut loses nothing journaled. This writes, in the same
run and on the same file system (DIR, default: a temporary directory under the current one, so on the
disk an audit would write to), N records of the sizes real results have (a system_info or slurm result,
an nvidia-smi -q of a 4-GPU node, an ibstat of a ConnectX-7 node, a 2-node nccl-tests log: recorded real
outputs from tests/data, in that mix), through clustermax's own Journal with sync on and off, and prints:

  * time per record for each, and the difference (the cost of durability per probe result);
  * that cost for a 64-node audit of the default probes (about 10 results per node), against the
    seconds the probes themselves take (each runs for a second or more on a real cluster).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from clustermax.engine.journal import Journal
from clustermax.models import CommandResult, Measurement, ProbeResult, ProbeStatus, Unit

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
T0 = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)
OUTPUTS = [
    ("system_info", "\n".join(f"key_{i}=value {i}" for i in range(60))),
    ("gpu_health", (DATA / "nvidia-smi" / "a100x4-555-q-remap-pending.txt").read_text(encoding="utf-8")),
    ("fabric", (DATA / "ibstat" / "h20-cx7-400g-ib-deepep-303.txt").read_text(encoding="utf-8")),
    ("nccl_allreduce", (DATA / "nccl-tests" / "h100-2node-allreduce-mpirun.log").read_text(encoding="utf-8")),
]


def records(n: int) -> list[list[tuple[str, CommandResult | ProbeResult]]]:
    out = []
    for i in range(n):
        probe, text = OUTPUTS[i % len(OUTPUTS)]
        host = f"gpu-node-{i // len(OUTPUTS):03d}"
        cmd = CommandResult(
            id=f"{host}/{probe}/main", host=host, probe_id=probe, command="bash -s", exit_code=0,
            stdout=text, started_at=T0, duration_s=1.5,
        )  # fmt: skip
        value = Measurement(metric=f"{probe}.x", value=float(i), unit=Unit.COUNT)
        res = ProbeResult(
            probe_id=probe, host=host, status=ProbeStatus.OK, started_at=T0, duration_s=1.5,
            command_ids=[cmd.id], measurements=[value],
        )  # fmt: skip
        out.append([("command", cmd), ("result", res)])
    return out


def one_run(directory: Path, batch: list[list[tuple[str, CommandResult | ProbeResult]]], sync: bool) -> float:
    run_dir = Path(tempfile.mkdtemp(dir=directory, prefix="journal-"))
    journal = Journal(run_dir, sync=sync)
    t0 = time.perf_counter()
    for recs in batch:
        journal.write_many(list(recs))  # type: ignore[arg-type]
    journal.close()
    took = time.perf_counter() - t0
    (run_dir / "journal.jsonl").unlink()
    run_dir.rmdir()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, default=None, help="where to write (default: under the cwd)")
    parser.add_argument("--records", type=int, default=640, help="probe results per run (default 640)")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(dir=args.dir or Path.cwd(), prefix=".cmx-bench-"))
    batch = records(args.records)
    size = sum(len(r.model_dump_json()) for recs in batch for _, r in recs)
    timings: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(args.reps):
        for sync in (False, True):  # side by side, alternating, in one run
            timings[sync].append(one_run(base, batch, sync))
    base.rmdir()
    plain = statistics.median(timings[False]) / args.records
    synced = statistics.median(timings[True]) / args.records
    cost = synced - plain
    print(f"journal records: {args.records}, {size / args.records / 1024:.1f} KiB each on average, "
          f"{args.reps} runs each, median")  # fmt: skip
    print(f"  append only            {plain * 1e3:8.3f} ms per record")
    print(f"  append + fdatasync     {synced * 1e3:8.3f} ms per record")
    print(
        f"  cost of durability     {cost * 1e3:8.3f} ms per probe result ({synced / plain:.1f}x the append)"
    )
    audit = 64 * 10
    print(
        f"  64-node audit ({audit} results): +{cost * audit:.2f} s in all, spread over the run; the probes "
        f"themselves take >= {audit * 1.0 / 16:.0f} s at --concurrency 16 (1 s each at the very least)"
    )


if __name__ == "__main__":
    main()

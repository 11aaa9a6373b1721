"""Audit the project's own test cluster with the real CLI and keep the bundle as an example input.

    sudo .venv/bin/python scripts/capture_testcluster_audit.py   # needs root (network namespaces, Slurm)

Brings up tests/infra/cluster.py's cluster (a login node and 4 compute nodes, each a network namespace
with a real sshd; real munged/slurmctld/slurmd, Slurm 22.05, 8 fake GRES GPUs per node), installs the GPU
tool stand-ins of tests/probes/standins (they replay RECORDED REAL outputs from tests/data, never made-up
text), runs ``clustermax audit login1 --ssh-config ...`` with the default probes, and writes
examples/bundles/testcluster-audit/bundle.json plus a README.md saying how it was made and which real
fixture each stand-in replayed. scripts/regen_examples.py renders the reports from that bundle.

The bundle is a recording (timings, dates, the machine it ran on): running this again gives a different
bundle, which is why the rendered examples are made from the committed bundle, not from a live run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEST = ROOT / "examples" / "bundles" / "testcluster-audit"
CLI = str(Path(sys.executable).parent / "clustermax")

# Real outputs the stand-ins replay (paths under tests/data; provenance next to each file).
H100_CAPTURE = "captures/h100-fc-2026-11-26"
H100_Q = f"{H100_CAPTURE}/nvidia-smi-q.txt"  # nvidia-smi -q, 1 x H100 80GB HBM3, driver 580.159.04
H100_L = f"{H100_CAPTURE}/nvidia-smi-L.txt"  # nvidia-smi -L on the same machine
H100_TOPO = f"{H100_CAPTURE}/nvidia-smi-topo-m.txt"  # nvidia-smi topo -m on the same machine
H100_DMESG = f"{H100_CAPTURE}/dmesg.txt"  # dmesg on the same machine (no NVRM error)
FALLEN = "xid/dmesg-fallen-off-bus-no-xid.log"  # a GPU fallen off the bus (NVSentinel#155)
H100_2N = "nccl-tests/h100-2node-allreduce-mpirun.log"  # all_reduce_perf, 2 x 8 H100 (GCP A3 Mega)

NVIDIA_SMI = [
    {"match": ["-q"], "file": H100_Q},
    {"match": ["-L"], "file": H100_L},
    {"match": ["topo", "-m"], "file": H100_TOPO},
]
ALL_REDUCE = [{"nnodes": 2, "file": H100_2N}]
SCENARIOS: dict[str, dict[str, list[dict[str, Any]]]] = {
    **{
        f"node{i}": {
            "nvidia-smi": NVIDIA_SMI,
            "dmesg": [{"match": ["-T"], "file": H100_DMESG}],
            "all_reduce_perf": ALL_REDUCE,
        }
        for i in (1, 2, 3)
    },
    "node4": {
        "nvidia-smi": NVIDIA_SMI,
        "dmesg": [{"match": ["-T"], "file": FALLEN}],
        "all_reduce_perf": ALL_REDUCE,
    },
}
PARAMS = [
    # the replayed nvidia-smi -q shows one GPU, while each node's Slurm GRES declares 8
    "gpu_health.expected_gpus=1",
    # the only recorded H100 all_reduce_perf log is a 2-node one: no 1- or 4-node run is replayed
    "nccl_allreduce.node_counts=2",
]


def _provenance(fixture: str) -> str:
    source = ROOT / "tests" / "data" / f"{fixture}.source"
    if source.is_file():
        return f"`tests/data/{fixture}.source`"
    return f"`tests/data/{H100_CAPTURE}/SOURCE.md` (and `{Path(fixture).stem}.meta` beside it)"


def _readme(argv: list[str], rc: int, calls: list[dict[str, Any]], when: datetime) -> str:
    counted = Counter((c["host"], c["tool"], " ".join(c["args"][:2])) for c in calls)
    lines = [
        "# testcluster-audit: a real `clustermax audit` of the project's test cluster",
        "",
        f"Made by `scripts/capture_testcluster_audit.py` on {when:%Y-%m-%d %H:%M} UTC (exit code {rc}):",
        "",
        "```",
        " ".join(a if " " not in a else repr(a) for a in argv),
        "```",
        "",
        "## The cluster",
        "",
        "`tests/infra/cluster.py` `running_cluster(nodes=4, slurm=True)`: one login node (`login1`) and four",
        "compute nodes (`node1`..`node4`), each a Linux network namespace on ONE virtual machine (2 cores),",
        "each with its own hostname, IP and a real OpenSSH sshd; compute nodes are reached through `login1`",
        "(ProxyJump). Real munged, slurmctld and one slurmd per compute node (Slurm 22.05.8 of Debian 12),",
        "with 8 FAKE GPUs per node declared as GRES `gpu:h100:8` (character devices, no hardware behind).",
        "The Slurm, time-to-first-job, system and scheduler probes therefore measured real daemons and real",
        "jobs; their timings are those of this small VM, not of a GPU cluster.",
        "",
        "## What the GPU tools printed",
        "",
        "There is no GPU. `nvidia-smi`, `dmesg` and `all_reduce_perf` on the nodes were the stand-ins of",
        "`tests/probes/standins/` (first on PATH), which print a RECORDED REAL output from `tests/data/`",
        "chosen by their arguments, and exit 2 with a note on stderr when they have none (so nothing is",
        "made up). What they replayed:",
        "",
        "| host | tool and arguments | replayed real output | provenance |",
        "|---|---|---|---|",
    ]
    replayed: dict[tuple[str, str, str], list[str]] = {}
    for host, rules in SCENARIOS.items():
        for tool, tool_rules in rules.items():
            for rule in tool_rules:
                args = " ".join(rule.get("match", [])) or f"(srun step over {rule['nnodes']} nodes)"
                replayed.setdefault((tool, args, rule["file"]), []).append(host)
    for (tool, args, fixture), hosts in replayed.items():
        lines.append(
            f"| {', '.join(hosts)} | `{tool} {args}` | `tests/data/{fixture}` | {_provenance(fixture)} |"
        )
    lines += [
        "",
        "Nothing else was replayed: `nvidia-smi nvlink -s` had no recording (NVLink not measured),",
        "`dcgmi` and `ibstat` were not installed (DCGM not measured; the fabric probe finds no InfiniBand",
        "or RoCE device), and no DCGM or node exporter listened (monitoring finds none).",
        "",
        "The dmesg stand-in answers `dmesg -T`; node4's recording is the plain-`dmesg` fallen-off-the-bus",
        "log of NVIDIA/NVSentinel#155, whose [seconds-since-boot] stamps are aged against the VM's real",
        "uptime; its GPU address (b3:00.0) and driver (570.158.01) are those of that report, not of the",
        "H100 capture that nvidia-smi replays.",
        "",
        "all_reduce_perf is launched by the probe through real `srun` (2 nodes x 8 tasks); rank 0 prints",
        "the 2-node H100 log recorded with mpirun on GCP A3 Mega, other ranks print nothing. Every",
        "repetition replays the same log, so its run-to-run spread is 0 by construction.",
        "",
        "Parameters given: " + ", ".join(f"`--param {p}`" for p in PARAMS) + " (see the script for why).",
        "",
        "Stand-in calls made during the audit (host, tool, first arguments: count):",
        "",
    ]
    lines += [f"- {h} `{t} {a}`: {n}" for (h, t, a), n in sorted(counted.items())]
    lines += [
        "",
        "Host names are the test cluster's own (login1, node1..4); the bundle is kept as written, with",
        "the temporary paths of that run in its command line.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "src"))
    from tests.infra.cluster import missing_requirements, running_cluster
    from tests.probes.standins import installed_standins

    missing = missing_requirements(slurm=True)
    if missing:
        print("cannot start the test cluster; missing: " + ", ".join(missing), file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="cmx-testcluster-audit-"))
    out = work / "audit"
    try:
        with (
            running_cluster(nodes=4, slurm=True) as cluster,
            installed_standins(cluster, tools=("nvidia-smi", "dmesg", "all_reduce_perf")) as standins,
        ):
            for host, rules in SCENARIOS.items():
                standins.scenario(host, rules)
            argv = [CLI, "audit", "login1", "--ssh-config", str(cluster.ssh_config), "--out", str(out)]
            argv += ["--cluster", "testcluster", "--provider", "clustermax test cluster"]
            for param in PARAMS:
                argv += ["--param", param]
            when = datetime.now(timezone.utc)
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=1800, check=False)
            sys.stderr.write(proc.stderr[-4000:])
            print(proc.stdout)
            calls = standins.calls()
        if proc.returncode != 0 or not (out / "bundle.json").is_file():
            print(f"audit failed (exit {proc.returncode}); nothing written", file=sys.stderr)
            return 1
        DEST.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out / "bundle.json", DEST / "bundle.json")
        shown = ["clustermax", *argv[1:]]
        (DEST / "README.md").write_text(_readme(shown, proc.returncode, calls, when), encoding="utf-8")
        (DEST / "calls.json").write_text(json.dumps(calls, indent=1) + "\n", encoding="utf-8")
        os.chmod(DEST / "bundle.json", 0o644)
        print(f"wrote {DEST.relative_to(ROOT)}/bundle.json, README.md and calls.json")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Stand-in for a GPU tool (nvidia-smi, dcgmi, all_reduce_perf, ibstat, dmesg) on the test cluster.

Installed into ``testcluster.bin_dir`` as a wrapper: ``exec python3 standin.py <tool> <scenario dir> "$@"``.
It prints a RECORDED REAL output (a fixture file copied into the scenario dir), chosen by the tool's arguments
and by the node's scenario ``<scenario dir>/<hostname>.json`` (else ``default.json``)::

    {"nvidia-smi": [{"match": ["-q"], "file": "h100.txt"}],
     "all_reduce_perf": [{"nnodes": 2, "file": "h100-2node.log"}, {"hang": true}]}

A rule matches when every token of ``match`` is among the arguments and ``nnodes`` (if given) equals
SLURM_NNODES. ``rc`` sets the exit status, ``hang`` sleeps until killed (a hung run). all_reduce_perf prints
only from rank 0 (SLURM_PROCID / OMPI_COMM_WORLD_RANK), as a real MPI build does. With no matching rule the
stand-in says so on stderr and exits 2: it never makes output up.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    tool, scen, args = argv[1], Path(argv[2]), argv[3:]
    host = socket.gethostname().split(".")[0]
    path = scen / f"{host}.json"
    if not path.exists():
        path = scen / "default.json"
    rules = json.loads(path.read_text()).get(tool, []) if path.exists() else []
    with open(scen / "calls.log", "a") as log:
        log.write(
            json.dumps({"host": host, "tool": tool, "args": args, "procid": os.environ.get("SLURM_PROCID")})
            + "\n"
        )
    rank = os.environ.get("SLURM_PROCID", os.environ.get("OMPI_COMM_WORLD_RANK", "0"))
    nnodes = os.environ.get("SLURM_NNODES")
    for rule in rules:
        if not all(tok in args for tok in rule.get("match", [])):
            continue
        if "nnodes" in rule and str(rule["nnodes"]) != (nnodes or "1"):
            continue
        if rule.get("hang"):
            time.sleep(3600)
            return 0
        if tool.endswith("_perf") and rank != "0":
            return int(rule.get("rc", 0))
        if "file" in rule:
            sys.stdout.write((scen / rule["file"]).read_text())
            sys.stdout.flush()
        return int(rule.get("rc", 0))
    sys.stderr.write(f"standin: no recorded output of {tool} {' '.join(args)} for {host}\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Make a realistic N-node audit bundle (default 1,000) from one real node's recorded outputs.

    .venv/bin/python scripts/make_scale_bundle.py --out DIR [--nodes 1000] [--failing 6] [--unreachable 4]

The recorded text is real: every node's raw outputs are the verbatim outputs of the gpu_health, fabric and
system_info probes of the audit recorded on a real H100 machine
(tests/data/captures/h100-fc-2026-11-26/audit-local/bundle.json, see its SOURCE.md). Only the host names
(``node0001`` ...) and their count are synthetic: in each output the one line that names the host (the
``host`` section of gpu_health, ``hostname`` of system_info) carries the synthetic name. Each node's
outputs are parsed as they are made, by the audit's own parse step (``result_from_commands``).

Which nodes are not healthy, spread over the range: ``failing`` nodes are audited with the inventory
expecting 8 GPUs (the recorded node has 1: *GPUs visible* fails), ``unreachable`` nodes did not answer
(the SSH connection timed out; no output). The others are expected to have the 1 GPU they show.
The bundle says all this in ``options.synthetic``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from clustermax.models import (  # noqa: E402
    Bundle,
    CommandResult,
    HostRecord,
    JSONValue,
    ProbeResult,
    ProbeStatus,
    SubStatus,
)

CAPTURE = ROOT / "tests/data/captures/h100-fc-2026-11-26/audit-local/bundle.json"
RECORDED_HOST = "vm"
NODE_PROBES = ("fabric", "gpu_health", "system_info")
"""The monitoring probe is left out: the recorded machine runs no DCGM exporter, so it would fail on every
node and hide the picture the bundle is for (a few bad nodes among many good ones)."""
HOST_LINES = {"gpu_health": "@@CMX:BEGIN host@@\n{}\n", "system_info": "@@CMX:BEGIN hostname@@\n{}\n"}


def node_names(nodes: int) -> list[str]:
    width = max(4, len(str(nodes)))
    return [f"node{i:0{width}d}" for i in range(1, nodes + 1)]


def spread(names: list[str], count: int, offset: int) -> list[str]:
    """``count`` names spread evenly over ``names`` (deterministic), starting ``offset`` in."""
    if count <= 0:
        return []
    step = len(names) / count
    return [names[min(len(names) - 1, int(offset + i * step))] for i in range(count)]


def _renamed(cmd: CommandResult, host: str) -> CommandResult:
    stdout = cmd.stdout
    pattern = HOST_LINES.get(cmd.probe_id)
    if pattern is not None and cmd.step == "main":
        stdout = stdout.replace(pattern.format(RECORDED_HOST), pattern.format(host), 1)
    return cmd.model_copy(update={"id": f"{host}/{cmd.probe_id}/{cmd.step}", "host": host, "stdout": stdout})


def node_results(
    template: Bundle, host: str, expected_gpus: int, shift: timedelta
) -> Iterator[tuple[list[CommandResult], ProbeResult]]:
    """One node's commands and results: the recorded outputs, renamed, parsed with today's parsers."""
    from clustermax.probes.result import result_from_commands
    from clustermax.probes.specs import load_probe_specs

    specs = load_probe_specs()
    by_id = {c.id: c for c in template.commands}
    for res in template.results:
        if res.host != RECORDED_HOST or res.probe_id not in NODE_PROBES:
            continue
        cmds = [_renamed(by_id[cid], host) for cid in res.command_ids]
        cmds = [c.model_copy(update={"started_at": c.started_at + shift}) for c in cmds]
        params = dict(res.params)
        if "expected_gpus" in params:
            params["expected_gpus"] = expected_gpus
        yield cmds, result_from_commands(specs[res.probe_id], host, params, cmds)


def make_bundle(nodes: int = 1000, failing: int = 6, unreachable: int = 4) -> Bundle:
    """The synthetic bundle (see the module docstring); deterministic."""
    from clustermax.bundle.io import load_bundle
    from clustermax.probes.derive import with_derived

    template = load_bundle(CAPTURE.parent)
    names = node_names(nodes)
    bad = set(spread(names, failing, 16))
    gone = set(spread(names, unreachable, 40)) - bad
    hosts: list[HostRecord] = []
    commands: list[CommandResult] = []
    results: list[ProbeResult] = []
    for i, host in enumerate(names):
        shift = timedelta(milliseconds=7 * i)
        if host in gone:
            msg = f"{host} via login1: timed out while connecting (timed out)"
            hosts.append(HostRecord(name=host, role="compute", via="login1", state="timeout", error=msg,
                                    reach="ssh"))  # fmt: skip
            for probe in NODE_PROBES:
                results.append(
                    ProbeResult(
                        probe_id=probe,
                        host=host,
                        status=ProbeStatus.ERROR,
                        substatus=SubStatus.TIMEOUT,
                        message=msg,
                        started_at=template.started_at + shift,
                        duration_s=15.0,
                    )
                )
            continue
        hosts.append(HostRecord(name=host, role="compute", via="login1", state="ok", connect_time_s=0.21,
                                reach="ssh"))  # fmt: skip
        for cmds, res in node_results(template, host, 8 if host in bad else 1, shift):
            commands += cmds
            results.append(res)
    cluster_cmds = [c for c in template.commands if c.host == "cluster"]
    cluster_res = [r for r in template.results if r.host == "cluster" and r.probe_id == "nccl_allreduce"]
    synthetic: dict[str, JSONValue] = {
        "generator": "scripts/make_scale_bundle.py",
        "nodes": nodes,
        "failing": sorted(bad),
        "unreachable": sorted(gone),
        "recorded_from": str(CAPTURE.relative_to(ROOT)),
        "what": "The recorded text is real (one H100 node's probe outputs, verbatim); only the host names "
        "and their count are synthetic. Failing nodes: the inventory expects 8 GPUs there. Unreachable "
        "nodes: no output.",
    }
    return template.model_copy(
        update={
            "origin": template.origin.model_copy(
                update={"command": f"scripts/make_scale_bundle.py --nodes {nodes}", "run_from": None}
            ),
            "target": template.target.model_copy(update={"cluster": f"synthetic-{nodes}"}),
            "options": {"synthetic": synthetic},
            "hosts": hosts,
            "commands": commands + cluster_cmds,
            "results": with_derived([*results, *cluster_res]),
            "rubric": None,
            "complete": True,
        }
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="directory to write bundle.json into")
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--failing", type=int, default=6)
    ap.add_argument("--unreachable", type=int, default=4)
    args = ap.parse_args(argv)
    from clustermax.bundle.io import write_bundle

    bundle = make_bundle(args.nodes, args.failing, args.unreachable)
    args.out.mkdir(parents=True, exist_ok=True)
    write_bundle(bundle, args.out)
    print(f"{args.out / 'bundle.json'}: {args.nodes} nodes (synthetic names, real recorded outputs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the default probes cost on a cluster, measured on the real 4-node test cluster.

Run (as root, like the test suite): ``.venv/bin/python benchmarks/probe_costs.py [--rounds 3]``

1. A real audit (engine + SSH, compute nodes discovered by the slurm probe) with the default probes
   except NCCL, DCGM (gpu_health dcgm_level=0) and time to first job. For every host it prints the seconds
   its probes took, the seconds the same number of bare SSH round trips (``true`` over the same kind of
   connection) take, and the difference: the cost the probes add per node (target: at most 2 s).
2. The probes of what cmax checks (FAMILY), per host: their seconds against as many bare round trips.
3. The slurm probe alone, and the time-to-first-job probe alone (default parameters), with their wall
   time and the GPU-seconds their jobs held.
3. The storage probes on a second 4-node cluster whose nodes share an SSHFS filesystem (/mnt/shared) and
   have a local directory (/mnt/local, given as storage_fio's local target): storage_discover on a node,
   storage_fio and storage_smallfiles through Slurm, default parameters. Their steps ask for no GPU.

Timings are medians over ``--rounds`` rounds. Nothing is asserted: this prints measured figures.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clustermax.engine.audit import Audit, AuditRequest, HostSpec
from clustermax.engine.runner import ProbeContext, run_probe
from clustermax.models import Bundle
from clustermax.probes.specs import load_probe_specs
from clustermax.transport.base import Transport
from clustermax.transport.ssh import SSHConnector, SSHTarget
from tests.infra.cluster import TestCluster, running_cluster

EXCLUDED = {"nccl_allreduce", "ttfj", "ttfj_kubernetes", "storage_fio", "storage_smallfiles"}
FAMILY = (
    "node_software",
    "node_isolation",
    "gpu_stack",
    "rdma_host",
    "vm_guest",
    "access_identity",
    "slurm_health",
    "container_run",
    "k8s_node_config",
)
"""The probes of what cmax checks (docs/probes-security.md): their own per-node cost is printed too."""


def host_spec(c: TestCluster, name: str, ip: str, role: str) -> HostSpec:
    target = SSHTarget(
        alias=name, hostname=ip, user=c.user, identity_files=(str(c.key),), identities_only=True
    )
    return HostSpec(name=name, role=role, target=target, address=ip, user=c.user)  # type: ignore[arg-type]


def connector(c: TestCluster, tmp: Path) -> SSHConnector:
    return SSHConnector(
        known_hosts_files=[c.known_hosts], own_known_hosts=tmp / "own", use_user_known_hosts=False
    )


def audit_once(c: TestCluster, tmp: Path) -> tuple[Bundle, float]:
    specs = load_probe_specs()
    selected = [p for p, s in specs.items() if s.default and p not in EXCLUDED]
    conn = connector(c, tmp)

    def make_node(name: str, addr: str | None) -> HostSpec:
        return host_spec(c, name, addr or name, "compute")

    def connect(h: HostSpec) -> Transport:
        return conn.connect(h.target, name=h.name)

    req = AuditRequest(
        cluster="bench",
        login=host_spec(c, "login1", c.login.ip, "login"),
        specs=specs,
        selected=selected,
        make_node=make_node,
        cli_params={"gpu_health": {"dcgm_level": 0}},
    )
    t0 = time.monotonic()
    bundle = Audit(req, connect, tmp / f"out-{time.time_ns()}").run()
    wall = time.monotonic() - t0
    conn.close_all()
    return bundle, wall


def bare_round_trips(c: TestCluster, tmp: Path, host: str, ip: str, count: int) -> float:
    """Seconds for ``count`` bare ``true`` commands on one fresh connection (the probes' own pattern)."""
    conn = connector(c, tmp)
    t0 = time.monotonic()
    transport = conn.connect(host_spec(c, host, ip, "compute").target, name=host)
    for _ in range(count):
        transport.run("true", stdin=b"", timeout_s=30)
    wall = time.monotonic() - t0
    conn.close_all()
    return wall


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with running_cluster(nodes=4) as c, tempfile.TemporaryDirectory(prefix="cmx-bench-") as td:
        tmp = Path(td)
        time.sleep(3.5)  # past slurmctld's start-up gate for the first batch job
        ips = {"login1": c.login.ip, **{h.name: h.ip for h in c.nodes}}
        per_host: dict[str, list[float]] = {}
        family: dict[str, list[float]] = {}
        family_bare: dict[str, list[float]] = {}
        family_counts: dict[str, int] = {}
        bare: dict[str, list[float]] = {}
        counts: dict[str, int] = {}
        walls: list[float] = []
        for _ in range(args.rounds):
            bundle, wall = audit_once(c, tmp)
            walls.append(wall)
            for host in ips:
                results = [r for r in bundle.results if r.host == host]
                connect_s = next((h.connect_time_s or 0.0 for h in bundle.hosts if h.name == host), 0.0)
                per_host.setdefault(host, []).append(connect_s + sum(r.duration_s for r in results))
                counts[host] = len([cmd for cmd in bundle.commands if cmd.host == host])
                bare.setdefault(host, []).append(bare_round_trips(c, tmp, host, ips[host], counts[host]))
                mine = [r for r in results if r.probe_id in FAMILY]
                family.setdefault(host, []).append(sum(r.duration_s for r in mine))
                family_counts[host] = len(mine)
                family_bare.setdefault(host, []).append(bare_round_trips(c, tmp, host, ips[host], len(mine)))
        ran = sorted({(r.host, r.probe_id, r.status.value) for r in bundle.results})
        print("probes run in the last audit (host, probe, status):")
        for host, probe, status in ran:
            print(f"  {host:8} {probe:18} {status}")
        print()
        print(f"audit wall time (median of {args.rounds}): {statistics.median(walls):.2f} s "
              f"for 1 login + {len(c.nodes)} compute nodes")  # fmt: skip
        print(f"{'host':8} {'commands':>8} {'probes s':>9} {'bare SSH s':>10} {'added s':>8} {'ratio':>6}")
        added_nodes = []
        for host in ips:
            p, b = statistics.median(per_host[host]), statistics.median(bare[host])
            if host != "login1":
                added_nodes.append(p - b)
            print(f"{host:8} {counts[host]:>8} {p:>9.3f} {b:>10.3f} {p - b:>8.3f} {p / b if b else 0:>6.2f}")
        added = statistics.median(added_nodes)
        print(f"added per compute node (median over nodes): {added:.3f} s (target <= 2 s)")
        skipped = sorted({r.probe_id for r in bundle.results if r.status.value == "skipped"})
        if skipped:
            print(f"(skipped here, so not in these figures: {', '.join(skipped)})")
        print()
        print("the probes of what cmax checks (node_software, node_isolation, gpu_stack, rdma_host,")
        print("vm_guest; access_identity, slurm_health, container_run on the login node):")
        print(f"{'host':8} {'probes':>6} {'probes s':>9} {'bare SSH s':>10} {'added s':>8}")
        family_added = []
        for host in ips:
            p, b = statistics.median(family[host]), statistics.median(family_bare[host])
            if host != "login1":
                family_added.append(p - b)
            print(f"{host:8} {family_counts[host]:>6} {p:>9.3f} {b:>10.3f} {p - b:>8.3f}")
        in_all = statistics.median([statistics.median(family[h]) for h in ips if h != "login1"])
        added_f = statistics.median(family_added)
        print(f"these probes add per compute node (median over nodes): {added_f:.3f} s over bare SSH, "
              f"{in_all:.3f} s in all (target <= 2 s)")  # fmt: skip
        print()

        specs = load_probe_specs()
        conn = connector(c, tmp)
        login = conn.connect(host_spec(c, "login1", c.login.ip, "login").target, name="login1")
        ctx = ProbeContext(role="login", platform="slurm")
        for probe in ("slurm", "ttfj"):
            walls_p: list[float] = []
            gpu_s: list[float] = []
            last = None
            for _ in range(args.rounds):
                commands, result = run_probe(login, specs[probe], "login1", {}, ctx)
                walls_p.append(commands[0].duration_s)
                runs = result.facts.get("runs") or []
                gpus = 1 if probe == "ttfj" else 0
                gpu_s.append(sum((r.get("run_s") or 0.0) * gpus for r in runs if isinstance(r, dict)))
                last = result
            assert last is not None
            wall_text = f"{statistics.median(walls_p):.2f} s (min {min(walls_p):.2f}, max {max(walls_p):.2f})"
            print(f"{probe} probe alone (defaults): wall {wall_text}, GPU time held by its jobs "
                  f"{statistics.median(gpu_s):.3f} GPU-s; {last.status.value}: {last.message}")  # fmt: skip
        conn.close_all()
    storage_costs(args.rounds)
    return 0


def storage_costs(rounds: int) -> None:
    """Part 3: the storage probes, on a cluster with a shared filesystem between its nodes."""
    specs = load_probe_specs()
    with tempfile.TemporaryDirectory() as tmp_dir, running_cluster(nodes=4, shared_fs="sshfs") as c:
        tmp = Path(tmp_dir)
        conn = connector(c, tmp)
        login = conn.connect(host_spec(c, "login1", c.login.ip, "login").target, name="login1")
        node = conn.connect(host_spec(c, "node1", c.nodes[0].ip, "compute").target, name="node1")
        on_login = ProbeContext(role="login", platform="slurm")
        runs = [
            ("storage_discover", node, "node1", {}, ProbeContext(role="compute", platform="slurm")),
            ("storage_fio", login, "login1", {"local_targets": ["/mnt/local"]}, on_login),
            ("storage_smallfiles", login, "login1", {}, on_login),
        ]
        total = 0.0
        for probe, transport, host, params, ctx in runs:
            walls: list[float] = []
            last = None
            for _ in range(rounds):
                commands, result = run_probe(transport, specs[probe], host, params, ctx)
                walls.append(commands[0].duration_s)
                last = result
            assert last is not None
            total += statistics.median(walls)
            wall = f"{statistics.median(walls):.2f} s (min {min(walls):.2f}, max {max(walls):.2f})"
            print(
                f"{probe} (4 nodes, SSHFS): wall {wall}, 0 GPU-s; {last.status.value}: {last.message[:160]}"
            )
        print(f"storage probes together: {total:.1f} s added to an audit (target <= 60 s)")
        conn.close_all()


if __name__ == "__main__":
    sys.exit(main())

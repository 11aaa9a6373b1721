"""Reach benchmark: node probes through one srun step against SSH fan-out and against the floor.

For N = 2, 4, 8 and 16 compute nodes of the real test cluster (network namespaces with sshd and slurmd
each, tests/infra/cluster.py; needs root), times in the same run, with the same node probes:

  (a) srun: the audit engine's scheduler reach (``--reach scheduler``): ``scontrol show node``, then one
      srun step with one task per node running every node probe, frames parsed and recorded per node;
  (b) ssh: the engine's SSH fan-out (``--reach ssh``, --concurrency 16): connect to each node through
      the login node and run the same probes there;
  (c) floor: the slowest single node's probe time (the sum of its probes' durations in (a), node clock)
      plus the start-up of an empty step of the same shape (``srun -N N --ntasks-per-node=1 -w ... true``
      from the login node);

and prints (a)/(c), (b)/(c) and (a)/(b). Only the compute phase is timed (the login phase is the same
for both). The box has 2 cores shared by every "node": the figures are for this box, not a cluster.

Run: .venv/bin/python benchmarks/reach.py [--nodes 2,4,8,16] [--reps 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from clustermax.engine.audit import Audit, AuditRequest, HostSpec  # noqa: E402
from clustermax.probes.specs import load_probe_specs  # noqa: E402
from clustermax.transport.ssh import SSHConnector, SSHTarget  # noqa: E402
from tests.infra.cluster import Host, TestCluster, running_cluster  # noqa: E402

NODE_PROBES = ["fabric", "monitoring", "node_software", "storage_discover", "system_info", "vm_guest"]


def host_spec(c: TestCluster, h: Host, role: str, via: SSHTarget | None = None) -> HostSpec:
    target = SSHTarget(
        alias=h.name, hostname=h.ip, user=c.user, identity_files=(str(c.key),), identities_only=True, jump=via
    )
    return HostSpec(name=h.name, role=role, target=target, address=h.ip)  # type: ignore[arg-type]


def compute_phase(c: TestCluster, reach: str, out: Path) -> tuple[float, Audit]:
    """Wall time of the compute phase of one audit (login phase excluded), and the finished engine."""
    specs = load_probe_specs()
    login = host_spec(c, c.login, "login")
    assert login.target is not None
    req = AuditRequest(
        cluster="bench",
        login=login,
        compute=[host_spec(c, h, "compute", via=login.target) for h in c.nodes],
        specs=specs,
        selected=NODE_PROBES,
        platform="slurm",
        reach=reach,  # type: ignore[arg-type]
    )
    connector = SSHConnector(known_hosts_files=[str(c.known_hosts)], use_user_known_hosts=False)
    engine = Audit(req, lambda h: connector.connect(h.target, name=h.name), out)
    timed: list[float] = []
    inner = engine._phase_compute

    def phase() -> None:
        t0 = time.perf_counter()
        inner()
        timed.append(time.perf_counter() - t0)

    engine._phase_compute = phase  # type: ignore[method-assign]
    try:
        bundle = engine.run()
    finally:
        connector.close_all()
    bad = [r for r in bundle.results if r.host != "login1" and r.status.value == "error"]
    assert not bad, [(r.host, r.probe_id, r.message) for r in bad[:3]]
    return timed[0], engine


def empty_step(c: TestCluster) -> float:
    """Start-up of an empty step of the same shape, run from the login node (its own clock)."""
    nodes = ",".join(h.name for h in c.nodes)
    script = (
        f"t0=$(date +%s.%N); srun -N {len(c.nodes)} --ntasks-per-node=1 -w {nodes} --immediate=60 true; "
        't1=$(date +%s.%N); echo "$t0 $t1"'
    )
    proc = c.ssh(c.login, script, timeout=120)
    t0, t1 = (float(x) for x in proc.stdout.split()[-2:])
    return t1 - t0


def slowest_node_s(engine: Audit) -> float:
    per_node: dict[str, float] = {}
    for cmd in engine.commands.values():
        if cmd.host != "login1":
            per_node[cmd.host] = per_node.get(cmd.host, 0.0) + cmd.duration_s
    return max(per_node.values())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", default="2,4,8,16", help="comma-separated node counts")
    ap.add_argument("--reps", type=int, default=2)
    args = ap.parse_args()
    counts = [int(x) for x in args.nodes.split(",")]
    print(f"node probes: {', '.join(NODE_PROBES)}; median of {args.reps} run(s) each")
    print(f"{'N':>3} {'srun s':>8} {'ssh s':>8} {'floor s':>8} {'slowest':>8} {'empty':>7} "
          f"{'srun/floor':>10} {'ssh/floor':>9} {'srun/ssh':>8}")  # fmt: skip
    for n in counts:
        with running_cluster(nodes=n, slurm=True) as c, tempfile.TemporaryDirectory() as tmp:
            srun_t, ssh_t, floor_t, slow_t, empty_t = [], [], [], [], []
            compute_phase(c, "scheduler", Path(tmp) / "warm")  # first job on a fresh slurmctld is gated
            for rep in range(args.reps):
                t_srun, engine = compute_phase(c, "scheduler", Path(tmp) / f"srun{rep}")
                t_ssh, _ = compute_phase(c, "ssh", Path(tmp) / f"ssh{rep}")
                empty = empty_step(c)
                slow = slowest_node_s(engine)
                srun_t.append(t_srun)
                ssh_t.append(t_ssh)
                empty_t.append(empty)
                slow_t.append(slow)
                floor_t.append(slow + empty)
            a, b, f = statistics.median(srun_t), statistics.median(ssh_t), statistics.median(floor_t)
            print(
                f"{n:>3} {a:>8.2f} {b:>8.2f} {f:>8.2f} {statistics.median(slow_t):>8.2f} "
                f"{statistics.median(empty_t):>7.2f} {a / f:>10.2f} {b / f:>9.2f} {a / b:>8.2f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Fan-out benchmark: clustermax's audit engine against a bare paramiko thread pool, on real sshd hosts.

Brings up 64 real sshd "hosts" (network namespaces, tests/infra/cluster.py; needs root) and, for
N = 1, 16, 64 of them, times in the same run:

  (a) clustermax: the audit engine (connect, system_info on every host, scheduler_detect on the login
      node, journal, bundle.json) with --concurrency 16;
  (b) the floor: a bare paramiko ThreadPoolExecutor(16) that opens one connection per host and runs exactly
      the same scripts (the same bytes, over stdin to `bash -s`), nothing else;
  (c) the ratio (a)/(b) (target at N = 64: at most 1.3);

then sequential (concurrency 1) against parallel for clustermax at N = 64, and `clustermax --help` start-up
against `python -c "import typer"` (target: under 2x).

Run: .venv/bin/python benchmarks/fanout.py [--reps 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import paramiko  # noqa: E402

from clustermax.engine.audit import Audit, AuditRequest, HostSpec  # noqa: E402
from clustermax.engine.runner import ProbeContext, build_script, remote_command  # noqa: E402
from clustermax.probes.specs import load_probe_specs  # noqa: E402
from clustermax.transport.ssh import SSHConnector, SSHTarget  # noqa: E402
from tests.infra.cluster import Host, TestCluster, running_cluster  # noqa: E402

CONCURRENCY = 16
PROBES = ["scheduler_detect", "system_info"]


def host_spec(c: TestCluster, h: Host, role: str) -> HostSpec:
    target = SSHTarget(
        alias=h.name, hostname=h.ip, user=c.user, identity_files=(str(c.key),), identities_only=True
    )
    return HostSpec(name=h.name, role=role, target=target, address=h.ip)  # type: ignore[arg-type]


def clustermax_audit(c: TestCluster, hosts: list[Host], concurrency: int, out: Path) -> float:
    specs = load_probe_specs()
    req = AuditRequest(
        cluster="bench",
        login=host_spec(c, hosts[0], "login"),
        compute=[host_spec(c, h, "compute") for h in hosts[1:]],
        specs=specs,
        selected=PROBES,
        concurrency=concurrency,
    )
    t0 = time.perf_counter()
    conn = SSHConnector(
        known_hosts_files=[c.known_hosts], use_user_known_hosts=False, own_known_hosts=out / "own_known_hosts"
    )
    bundle = Audit(req, lambda h: conn.connect(h.target, name=h.name), out).run()
    conn.close_all()
    wall = time.perf_counter() - t0
    bad = [r for r in bundle.results if r.status.value != "ok"]
    if bad or len(bundle.results) != len(hosts) + 1:
        raise SystemExit(f"clustermax audit did not complete cleanly: {bad[:3]}")
    return wall


def scripts_for(hosts: list[Host]) -> dict[str, list[tuple[str, bytes]]]:
    """The exact (command, stdin) pairs clustermax sends to each host."""
    specs = load_probe_specs()
    out: dict[str, list[tuple[str, bytes]]] = {}
    for i, h in enumerate(hosts):
        ids = PROBES if i == 0 else ["system_info"]
        ctx = ProbeContext(
            role="login" if i == 0 else "compute",
            platform="bare" if i else "unknown",
            nodes=[x.name for x in hosts[1:]],
            node_addrs=[x.ip for x in hosts[1:]],
        )
        out[h.name] = [
            (remote_command(specs[p].timeout_s), build_script(specs[p], h.name, {}, ctx).encode())
            for p in ids
        ]
    return out


def bare_pool(
    c: TestCluster, hosts: list[Host], scripts: dict[str, list[tuple[str, bytes]]], concurrency: int
) -> float:
    def one(h: Host) -> int:
        client = paramiko.SSHClient()
        client.load_host_keys(str(c.known_hosts))
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        client.connect(
            h.ip,
            username=c.user,
            key_filename=str(c.key),
            look_for_keys=False,
            allow_agent=False,
            timeout=30,
            banner_timeout=30,
            auth_timeout=30,
        )
        try:
            for command, stdin in scripts[h.name]:
                chan = client.get_transport().open_session()  # type: ignore[union-attr]
                chan.exec_command(command)
                chan.sendall(stdin)
                chan.shutdown_write()
                out = b""
                while True:
                    data = chan.recv(65536)
                    if not data:
                        break
                    out += data
                while chan.recv_stderr_ready():
                    chan.recv_stderr(65536)
                if chan.recv_exit_status() != 0:
                    raise RuntimeError(f"{h.name}: exit {chan.recv_exit_status()}")
                chan.close()
        finally:
            client.close()
        return len(scripts[h.name])

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, hosts))
    return time.perf_counter() - t0


def startup(argv: list[str], reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=3, help="repetitions per measurement (median is printed)")
    ap.add_argument("--sizes", default="1,16,64", help="host counts")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    python = sys.executable
    cli = str(Path(python).parent / "clustermax")
    print("clustermax fan-out benchmark (real sshd hosts in network namespaces, this machine)")
    print(f"concurrency {CONCURRENCY}; probes {', '.join(PROBES)}; median of {args.reps} runs\n")
    t_help = startup([cli, "--help"], max(5, args.reps))
    t_typer = startup([python, "-c", "import typer"], max(5, args.reps))
    print(
        f"start-up: clustermax --help {t_help:.3f} s   python -c 'import typer' {t_typer:.3f} s   "
        f"ratio {t_help / t_typer:.2f} (target < 2)\n"
    )
    t_up = time.perf_counter()
    with running_cluster(nodes=max(sizes) - 1, slurm=False) as c, tempfile.TemporaryDirectory() as tmp:
        print(f"{max(sizes)} sshd hosts up in {time.perf_counter() - t_up:.1f} s\n")
        hosts = c.hosts
        print(f"{'N':>4} {'clustermax (s)':>15} {'bare pool (s)':>14} {'ratio':>7}")
        rows = []
        for n in sizes:
            sub = hosts[:n]
            scripts = scripts_for(sub)
            cm, floor = [], []
            for rep in range(args.reps):
                cm.append(clustermax_audit(c, sub, CONCURRENCY, Path(tmp) / f"a{n}-{rep}"))
                floor.append(bare_pool(c, sub, scripts, CONCURRENCY))
            a, b = statistics.median(cm), statistics.median(floor)
            rows.append((n, a, b))
            print(f"{n:>4} {a:>15.3f} {b:>14.3f} {a / b:>7.2f}")
        n = max(sizes)
        seq = clustermax_audit(c, hosts[:n], 1, Path(tmp) / "seq")
        par = next(a for m, a, _b in rows if m == n)
        print(
            f"\nclustermax at N={n}: sequential (concurrency 1) {seq:.3f} s, parallel (concurrency "
            f"{CONCURRENCY}) {par:.3f} s, speed-up {seq / par:.1f}x"
        )
        ratio = next(a / b for m, a, b in rows if m == n)
        print(f"target at N={n}: ratio <= 1.3 -> {'met' if ratio <= 1.3 else 'NOT met'} ({ratio:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

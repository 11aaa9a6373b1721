"""A fake GPU cluster on one Linux box, built from real daemons.

One login node and N compute nodes, each in its own network namespace (own IP, own hostname), each
running a real OpenSSH server; munged and slurmctld run in the root namespace, one real slurmd runs in
each compute node's namespace, with 8 fake GPUs per node declared as GRES (character devices).
A non-root test user logs in with a key; known_hosts and an ssh_config (compute nodes via the login node
as ProxyJump) are written next to the keys.

Every daemon is a child of this process (``subprocess.Popen``) and is stopped by PID. Several clusters
can run at once (parallel test sessions): each takes a free slot that picks its subnet, bridge,
namespace names and Slurm ports.

Needs root (netns, mknod, useradd). Run by hand with ``python -m tests.infra.cluster up [NODES]`` (prints
the handle and waits for Ctrl-C or SIGTERM, then tears everything down).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

SLOT_DIR = Path("/run/clustermax-testcluster")
TEST_USER = "cmxtest"
SSHD = "/usr/sbin/sshd"


class InfraUnavailable(RuntimeError):
    """The machine cannot host the test cluster (not root, a package missing)."""


def missing_requirements(slurm: bool = True) -> list[str]:
    """What this machine lacks to bring a cluster up (empty when it can)."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root (network namespaces, mknod, useradd)")
    tools = [SSHD, "ip", "nsenter", "unshare", "ssh-keygen", "useradd"]
    if slurm:
        tools += ["munged", "mungekey", "slurmctld", "slurmd", "sinfo", "scontrol"]
    for tool in tools:
        if not (os.path.isabs(tool) and os.access(tool, os.X_OK)) and shutil.which(tool) is None:
            missing.append(tool)
    return missing


@dataclass
class Host:
    name: str  # hostname inside the namespace (login1, node1 ...)
    ip: str
    netns: str
    host_key: Path
    port: int = 22
    holder: int | None = None  # PID owning this host's net + mount + UTS namespaces (shared_fs clusters)

    def nsenter(self) -> list[str]:
        """Argv prefix that runs a command inside this host (its namespaces)."""
        if self.holder is not None:
            return ["nsenter", "-t", str(self.holder), "--net", "--mount", "--uts"]
        return ["nsenter", f"--net=/run/netns/{self.netns}"]


@dataclass
class TestCluster:
    """Handle on a running cluster. All paths are absolute."""

    __test__ = False  # not a pytest test class

    base: Path
    slot: int
    login: Host
    nodes: list[Host]
    user: str
    key: Path  # private key of the test user
    known_hosts: Path
    ssh_config: Path
    bin_dir: Path  # first on PATH in every SSH session and Slurm job
    slurm_conf: Path | None
    slurm: bool
    procs: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    bridge: str = ""
    subnet: str = ""
    storage: Host | None = None  # the host serving the shared filesystem (shared_fs="sshfs")
    shared_fs: str | None = None
    export: Path | None = None  # the shared directory on the storage host (= what /mnt/shared shows)

    @property
    def hosts(self) -> list[Host]:
        return [self.login, *self.nodes]

    def ssh_argv(self, host: Host, command: str) -> list[str]:
        """OpenSSH command line that runs ``command`` on ``host`` as the test user."""
        return [
            "ssh", "-F", "/dev/null", "-i", str(self.key), "-o", "IdentitiesOnly=yes",
            "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes", "-p", str(host.port), f"{self.user}@{host.ip}", command,
        ]  # fmt: skip

    def ssh(self, host: Host, command: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.ssh_argv(host, command), capture_output=True, text=True, timeout=timeout, check=False
        )

    def env(self) -> dict[str, str]:
        """Environment for Slurm client commands run from the root namespace."""
        env = dict(os.environ)
        if self.slurm_conf:
            env["SLURM_CONF"] = str(self.slurm_conf)
        return env

    def start_daemon(self, name: str, argv: list[str], log: Path) -> subprocess.Popen[bytes]:
        out = log.open("ab")
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent
        )
        out.close()
        self.procs.append((name, proc))
        return proc

    def start_sshd(self, host: Host, config: Path, name: str) -> subprocess.Popen[bytes]:
        """Start an sshd with ``config`` inside ``host``'s namespace, with ``host.name`` as hostname."""
        if host.holder is not None:
            argv = [*host.nsenter(), SSHD, "-D", "-e", "-f", str(config)]
        else:
            argv = [
                "nsenter", f"--net=/run/netns/{host.netns}", "unshare", "--uts", "sh", "-c",
                'hostname "$1"; exec "$2" -D -e -f "$0"', str(config), host.name, SSHD,
            ]  # fmt: skip
        return self.start_daemon(name, argv, self.base / "log" / f"{name}.log")

    def stop(self) -> None:
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 5
        for _name, proc in reversed(self.procs):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self.procs.clear()
        _remove_network(self.slot)


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the test process dies, even by SIGKILL (no orphaned daemons)."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _kill_leftovers(slot: int) -> None:
    """Stop daemons a killed session of this slot left behind (found by their config path), by PID."""
    marker = f"/cmx-cluster{slot}-"
    for proc_dir in Path("/proc").iterdir():
        if not proc_dir.name.isdigit():
            continue
        try:
            cmdline = (proc_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline and int(proc_dir.name) != os.getpid():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(proc_dir.name), signal.SIGKILL)


def _run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload,no-any-return]


def _names(slot: int) -> tuple[str, str, str]:
    return f"cmxbr{slot}", f"cmx{slot}-", f"10.{99 - slot // 200}.{slot % 200}"


def _remove_network(slot: int) -> None:
    bridge, prefix, _ = _names(slot)
    _kill_leftovers(slot)
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
    for line in listing.splitlines():
        ns = line.split()[0] if line.split() else ""
        if ns.startswith(prefix):
            _kill_netns_processes(ns)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
    subprocess.run(["ip", "link", "del", bridge], capture_output=True, check=False)
    _delete_stale_veths(prefix)
    for _ in range(50):
        links = subprocess.run(
            ["ip", "-o", "link", "show"], capture_output=True, text=True, check=False
        ).stdout
        if f"v-{prefix}" not in links:
            break
        time.sleep(0.1)


def _kill_netns_processes(ns: str) -> None:
    """Kill what still runs in a test namespace (e.g. an sshd session whose client vanished).

    Such a process keeps the namespace, and so its veth, alive after ``ip netns del``; the slot's
    ``ip link add v-...`` then fails for every later cluster.
    """
    pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True, check=False).stdout
    for pid in pids.split():
        with contextlib.suppress(ProcessLookupError, ValueError, PermissionError):
            os.kill(int(pid), signal.SIGKILL)


def _delete_stale_veths(prefix: str) -> None:
    """Delete root-side veths of this slot left by a namespace something else still holds."""
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=False).stdout
    for line in links.splitlines():
        parts = line.split(":")
        if len(parts) > 1:
            name = parts[1].strip().split("@")[0]
            if name.startswith(f"v-{prefix}"):
                subprocess.run(["ip", "link", "del", name], capture_output=True, check=False)


@contextlib.contextmanager
def _claim_slot() -> Iterator[tuple[int, int]]:
    """Take the first free slot; the lock is held (flock) for the cluster's life."""
    SLOT_DIR.mkdir(parents=True, exist_ok=True)
    for slot in range(1, 150):
        fd = os.open(SLOT_DIR / f"{slot}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        try:
            _remove_network(slot)  # leftovers of a killed session
            yield slot, fd
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        return
    raise InfraUnavailable("no free test-cluster slot")


def _ensure_user(user: str) -> None:
    try:
        import pwd

        entry = pwd.getpwnam(user)
        home = Path(entry.pw_dir)
        if not home.is_dir():
            home.mkdir(parents=True)
            os.chown(home, entry.pw_uid, entry.pw_gid)
        return
    except KeyError:
        pass
    # '*' = no password but not locked ('!' is refused by sshd with UsePAM no)
    _run(["useradd", "-m", "-d", f"/home/{user}", "-s", "/bin/bash", "-p", "*", user])


def _keygen(path: Path, comment: str) -> None:
    if not path.exists():
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path), "-C", comment])


def _wait_tcp(ip: str, port: int, netns: str | None = None, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((ip, port), timeout=0.3):
                return
        except OSError:
            time.sleep(0.05)
    raise InfraUnavailable(f"{ip}:{port} did not start listening within {timeout} s")


def sshd_config_text(
    cluster_base: Path, ip: str, port: int, host_key: Path, path_dirs: str, slurm_conf: Path | None,
    extra: str = "",
) -> str:  # fmt: skip
    env = f"SetEnv PATH={path_dirs}" + (f" SLURM_CONF={slurm_conf}" if slurm_conf else "")
    return f"""Port {port}
ListenAddress {ip}
HostKey {host_key}
PidFile none
AuthorizedKeysFile {cluster_base}/keys/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
MaxStartups 200:30:400
MaxSessions 100
AllowTcpForwarding yes
LogLevel VERBOSE
{env}
{extra}
"""


@contextlib.contextmanager
def running_cluster(
    nodes: int = 2,
    slurm: bool = True,
    base: Path | None = None,
    gpus_per_node: int = 8,
    shared_fs: str | None = None,
) -> Iterator[TestCluster]:
    """Bring a cluster up, yield its handle, tear everything down (whatever happens).

    ``shared_fs``: None (the default) keeps every host in the machine's mount namespace, as always.
    ``"sshfs"`` gives each host a private mount namespace with /mnt/shared mounted over SSHFS from a
    storage host (storage1, its own namespace, OpenSSH internal-sftp): a real network filesystem
    between the nodes. ``"bind"`` mounts one directory at /mnt/shared instead (no network). Both add
    /mnt/local (a per-host directory) and a per-host /etc/fstab that also lists an NFS entry at
    /mnt/nfs-missing which is never mounted (see ``SHARED_FS_NOTES``).
    """
    if shared_fs not in (None, "bind", "sshfs"):
        raise ValueError(f"shared_fs must be None, 'bind' or 'sshfs', not {shared_fs!r}")
    missing = missing_requirements(slurm)
    if shared_fs == "sshfs":
        missing += [t for t in ("sshfs", "fusermount3") if shutil.which(t) is None]
        if not Path("/dev/fuse").exists():
            missing.append("/dev/fuse")
    if missing:
        raise InfraUnavailable("cannot start the test cluster; missing: " + ", ".join(missing))
    with _claim_slot() as (slot, _fd):
        owned_base = base is None
        root = base or Path(tempfile.mkdtemp(prefix=f"cmx-cluster{slot}-"))
        cluster: TestCluster | None = None
        try:
            cluster = _bring_up(root, slot, nodes, slurm, gpus_per_node, shared_fs)
            yield cluster
        finally:
            if cluster is not None:
                cluster.stop()
            else:
                _remove_network(slot)
            if owned_base:
                shutil.rmtree(root, ignore_errors=True)


def _bring_up(
    base: Path, slot: int, n: int, slurm: bool, gpus_per_node: int, shared_fs: str | None = None
) -> TestCluster:
    bridge, prefix, net = _names(slot)
    for sub in ("run", "log", "state", "keys", "fakedev", "bin", "spool"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(base, 0o755)
    os.chmod(base / "run", 0o755)
    os.chmod(base / "bin", 0o755)
    _ensure_user(TEST_USER)

    # network: a bridge in the root namespace (.1) and one namespace per host
    _run(["ip", "link", "add", bridge, "type", "bridge"])
    _run(["ip", "addr", "add", f"{net}.1/24", "dev", bridge])
    _run(["ip", "link", "set", bridge, "up"])

    def mkns(ns: str, ip: str) -> None:
        _run(["ip", "netns", "add", ns])
        _run(["ip", "link", "add", f"v-{ns}", "type", "veth", "peer", "name", "eth0", "netns", ns])
        _run(["ip", "link", "set", f"v-{ns}", "master", bridge, "up"])
        _run(["ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", "eth0"])
        _run(["ip", "-n", ns, "link", "set", "lo", "up"])
        _run(["ip", "-n", ns, "link", "set", "eth0", "up"])

    keys = base / "keys"
    login = Host("login1", f"{net}.10", f"{prefix}login", keys / "host_login")
    nodes = [
        Host(f"node{i}", f"{net}.{10 + i}", f"{prefix}n{i}", keys / f"host_n{i}") for i in range(1, n + 1)
    ]
    for host in [login, *nodes]:
        mkns(host.netns, host.ip)
        _keygen(host.host_key, host.name)
    storage = None
    if shared_fs == "sshfs":
        storage = Host("storage1", f"{net}.5", f"{prefix}stor", keys / "host_stor")
        mkns(storage.netns, storage.ip)
        _keygen(storage.host_key, storage.name)

    client = keys / "client"
    _keygen(client, "clustermax-test-client")
    (keys / "authorized_keys").write_text((keys / "client.pub").read_text())
    os.chmod(keys / "authorized_keys", 0o644)
    known_hosts = keys / "known_hosts"
    known_hosts.write_text(
        "".join(
            f"{h.ip} {' '.join(Path(str(h.host_key) + '.pub').read_text().split()[:2])}\n"
            for h in [login, *nodes, *([storage] if storage else [])]
        )
    )
    ssh_config = keys / "ssh_config"
    ssh_config.write_text(
        "Host *\n"
        f"  User {TEST_USER}\n  IdentityFile {client}\n  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {known_hosts}\n  StrictHostKeyChecking yes\n  BatchMode yes\n"
        f"Host login1\n  HostName {login.ip}\n"
        "Host node*\n  ProxyJump login1\n" + "".join(f"Host {h.name}\n  HostName {h.ip}\n" for h in nodes)
    )

    cluster = TestCluster(
        base=base, slot=slot, login=login, nodes=nodes, user=TEST_USER, key=client, known_hosts=known_hosts,
        ssh_config=ssh_config, bin_dir=base / "bin", slurm_conf=None, slurm=slurm, bridge=bridge, subnet=net,
        storage=storage, shared_fs=shared_fs,
    )  # fmt: skip
    try:
        if shared_fs:
            _start_holders(cluster)
        if slurm:
            _start_slurm(cluster, gpus_per_node)
        path_dirs = f"{cluster.bin_dir}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
        (base / "run").mkdir(exist_ok=True)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        for host in cluster.hosts:
            conf = base / "run" / f"sshd-{host.name}.conf"
            conf.write_text(sshd_config_text(base, host.ip, 22, host.host_key, path_dirs, cluster.slurm_conf))
            cluster.start_sshd(host, conf, f"sshd-{host.name}")
        if storage is not None:
            conf = base / "run" / "sshd-storage1.conf"
            conf.write_text(
                sshd_config_text(
                    base,
                    storage.ip,
                    22,
                    storage.host_key,
                    path_dirs,
                    None,
                    extra="Subsystem sftp internal-sftp",
                )
            )
            cluster.start_sshd(storage, conf, "sshd-storage1")
            _wait_tcp(storage.ip, 22)
        for host in cluster.hosts:
            _wait_tcp(host.ip, 22)
        if shared_fs == "sshfs":
            _mount_sshfs(cluster)
        if slurm:
            _wait_nodes_idle(cluster, n)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _start_slurm(cluster: TestCluster, gpus_per_node: int) -> None:
    base = cluster.base
    munge_key = base / "keys" / "munge.key"
    _run(["mungekey", "--create", f"--keyfile={munge_key}", "--force"])
    sock = base / "run" / "munge.sock"
    cluster.start_daemon(
        "munged",
        [
            "munged",
            "-F",
            f"--key-file={munge_key}",
            f"--socket={sock}",
            f"--pid-file={base / 'run' / 'munged.pid'}",
            f"--seed-file={base / 'run' / 'munged.seed'}",
            f"--log-file={base / 'log' / 'munged.log'}",
        ],
        base / "log" / "munged.out",
    )
    deadline = time.monotonic() + 10
    while not sock.exists():
        if time.monotonic() > deadline:
            raise InfraUnavailable("munged did not create its socket")
        time.sleep(0.05)
    for i in range(gpus_per_node):
        dev = base / "fakedev" / f"nvidia{i}"
        if not dev.exists():
            os.mknod(dev, 0o666 | 0o020000, os.makedev(1, 3))  # char device 1,3 (/dev/null)
    ctld_port = 17000 + 4 * cluster.slot
    node_addrs = ",".join(h.ip for h in cluster.nodes)
    n = len(cluster.nodes)
    short = socket.gethostname().split(".")[0]
    cpus = os.cpu_count() or 2
    gres_spec = f"gpu:h100:{gpus_per_node}"
    conf = base / "slurm.conf"
    conf.write_text(
        f"""ClusterName=cmx{cluster.slot}
SlurmctldHost={short}({cluster.subnet}.1)
SlurmctldPort={ctld_port}
SlurmdPort={ctld_port + 1}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={sock}
CredType=cred/munge
StateSaveLocation={base / "state"}
SlurmdSpoolDir={base / "spool"}/%n
SlurmctldPidFile={base / "run"}/slurmctld.pid
SlurmdPidFile={base / "run"}/slurmd-%n.pid
SlurmctldLogFile={base / "log"}/slurmctld.log
SlurmdLogFile={base / "log"}/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={base / "log"}/jobcomp.txt
MpiDefault=none
ReturnToService=2
MailProg=/bin/true
SchedulerParameters=batch_sched_delay=0
GresTypes=gpu
NodeName=node[1-{n}] NodeAddr={node_addrs} CPUs={cpus} RealMemory=2048 Gres={gres_spec} State=UNKNOWN
PartitionName=gpu Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""
    )
    last = gpus_per_node - 1
    (base / "gres.conf").write_text(
        f"AutoDetect=off\nName=gpu Type=h100 File={base / 'fakedev'}/nvidia[0-{last}]\n"
    )
    for host in cluster.nodes:
        (base / "spool" / host.name).mkdir(parents=True, exist_ok=True)
    cluster.slurm_conf = conf
    cluster.start_daemon("slurmctld", ["slurmctld", "-D", "-f", str(conf)], base / "log" / "slurmctld.out")
    env = cluster.env()
    deadline = time.monotonic() + 15
    while True:
        ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, env=env, check=False)
        if "UP" in ping.stdout:
            break
        if time.monotonic() > deadline:
            raise InfraUnavailable(f"slurmctld did not come up: {ping.stdout} {ping.stderr}")
        time.sleep(0.1)
    for host in cluster.nodes:
        if host.holder is not None:
            argv = [*host.nsenter(), "slurmd", "-D", "-f", str(conf)]
        else:
            argv = [
                "nsenter", f"--net=/run/netns/{host.netns}", "unshare", "--uts", "sh", "-c",
                'hostname "$1"; exec slurmd -D -f "$0"', str(conf), host.name,
            ]  # fmt: skip
        cluster.start_daemon(f"slurmd-{host.name}", argv, base / "log" / f"slurmd-{host.name}.out")


def _wait_nodes_idle(cluster: TestCluster, n: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    states = ""
    while time.monotonic() < deadline:
        states = subprocess.run(
            ["sinfo", "-h", "-N", "-o", "%t"], capture_output=True, text=True, env=cluster.env(), check=False
        ).stdout
        if states.split().count("idle") >= n:
            return
        time.sleep(0.1)
    raise InfraUnavailable(f"Slurm nodes not idle after {timeout} s: {states!r}")


# --- shared filesystem between the test hosts -------------------------------------------------
SHARED_FS_NOTES = """Why SSHFS: the kernel of the machines the tests run on has no network filesystem
(CONFIG_NETWORK_FILESYSTEMS unset, no modules), so neither an NFS server nor an NFS client can run;
SSHFS (FUSE) is a real network filesystem with client-side caching that needs neither."""
# Each host gets a private mount namespace, owned by a "holder" process (sleep) that also owns its
# UTS namespace and sits in its network namespace; sshd and slurmd join it with nsenter -t, so SSH
# sessions and Slurm jobs on that host see the same mounts. In it: a small tmpfs over /mnt (mount
# points without touching the machine's /mnt), /mnt/local (a per-host directory: "local disk"),
# /mnt/shared (sshfs from the storage host, or a bind mount of one directory) and a per-host
# /etc/fstab bind-mounted over the machine's, listing /mnt/shared (mounted) and /mnt/nfs-missing
# (an NFS entry that is not mounted: the unmount-detection case).
HOLDER_SCRIPT = r"""
hostname "$1"
mount -t tmpfs -o size=1m,mode=755 cmx-mnt /mnt
mkdir /mnt/shared /mnt/local /mnt/nfs-missing
mount --bind "$2" /mnt/local
mount --bind "$3" /etc/fstab
[ "$5" = bind ] && mount --bind "$4" /mnt/shared
exec sleep infinity
"""


def _fstab_text(cluster: TestCluster, host: Host) -> str:
    shared = (
        f"{cluster.user}@{cluster.storage.ip}:{cluster.export} /mnt/shared fuse.sshfs "
        f"_netdev,allow_other,default_permissions 0 0\n"
        if cluster.storage
        else f"{cluster.export} /mnt/shared none bind 0 0\n"
    )
    nfs_ip = cluster.storage.ip if cluster.storage else f"{cluster.subnet}.5"
    return (
        f"# /etc/fstab of test host {host.name}\n"
        + shared
        + f"{nfs_ip}:/export /mnt/nfs-missing nfs4 rw,hard,_netdev,nofail 0 0\n"
        + f"{cluster.base / 'hosts' / host.name / 'local'} /mnt/local none bind 0 0\n"
    )


def _start_holders(cluster: TestCluster) -> None:
    export = cluster.base / "export"
    export.mkdir(exist_ok=True)
    import pwd

    entry = pwd.getpwnam(cluster.user)
    os.chown(export, entry.pw_uid, entry.pw_gid)
    cluster.export = export
    own_mnt = os.readlink("/proc/self/ns/mnt")
    for host in cluster.hosts:
        hdir = cluster.base / "hosts" / host.name
        (hdir / "local").mkdir(parents=True, exist_ok=True)
        os.chown(hdir / "local", entry.pw_uid, entry.pw_gid)
        (hdir / "fstab").write_text(_fstab_text(cluster, host))
        argv = [
            "nsenter", f"--net=/run/netns/{host.netns}",
            "unshare", "--mount", "--uts", "--propagation", "private",
            "sh", "-c", HOLDER_SCRIPT, "holder", host.name, str(hdir / "local"), str(hdir / "fstab"),
            str(export), cluster.shared_fs or "",
        ]  # fmt: skip
        proc = cluster.start_daemon(
            f"holder-{host.name}", argv, cluster.base / "log" / f"holder-{host.name}.log"
        )
        host.holder = proc.pid
    deadline = time.monotonic() + 10
    for host in cluster.hosts:
        while True:  # ready once the script has exec'd sleep (mounts done) in its own mount namespace
            try:
                comm = Path(f"/proc/{host.holder}/comm").read_text().strip()
                mnt = os.readlink(f"/proc/{host.holder}/ns/mnt")
            except OSError as err:
                raise InfraUnavailable(f"holder of {host.name} died: see log/holder-{host.name}.log") from err
            if comm == "sleep" and mnt != own_mnt:
                break
            if time.monotonic() > deadline:
                raise InfraUnavailable(f"holder of {host.name} not ready")
            time.sleep(0.02)


def _mounted(pid: int, target: str) -> bool:
    return any(line.split()[4] == target for line in Path(f"/proc/{pid}/mountinfo").read_text().splitlines())


def _mount_sshfs(cluster: TestCluster) -> None:
    assert cluster.storage is not None and cluster.export is not None
    for host in cluster.hosts:
        argv = [
            *host.nsenter(), "sshfs", "-f", "-o", "allow_other,default_permissions",
            "-o", f"IdentityFile={cluster.key},IdentitiesOnly=yes,UserKnownHostsFile={cluster.known_hosts}",
            "-o", "StrictHostKeyChecking=yes,BatchMode=yes",
            f"{cluster.user}@{cluster.storage.ip}:{cluster.export}", "/mnt/shared",
        ]  # fmt: skip
        cluster.start_daemon(f"sshfs-{host.name}", argv, cluster.base / "log" / f"sshfs-{host.name}.log")
    deadline = time.monotonic() + 15
    for host in cluster.hosts:
        assert host.holder is not None
        while not _mounted(host.holder, "/mnt/shared"):
            if time.monotonic() > deadline:
                raise InfraUnavailable(f"sshfs did not mount on {host.name}: see log/sshfs-{host.name}.log")
            time.sleep(0.02)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


USAGE = "usage: python -m tests.infra.cluster up [NODES]   (as root; Ctrl-C stops it)"


def main(argv: list[str]) -> int:
    args = argv[1:]
    if args[:1] != ["up"] or len(args) > 2 or (len(args) == 2 and not args[1].isdigit()):
        print(USAGE, file=sys.stderr)
        return 2
    nodes = int(args[1]) if len(args) == 2 else 2
    missing = missing_requirements(slurm=True)
    if missing:
        print(f"cannot start the test cluster; missing: {', '.join(missing)}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _interrupt)
    with running_cluster(nodes=nodes) as cluster:
        # the prints inside: a SIGTERM right after the handle is read (before pause) still tears down cleanly
        with contextlib.suppress(KeyboardInterrupt):
            print(f"base={cluster.base} login={cluster.login.ip} nodes={[h.ip for h in cluster.nodes]}")
            print(f"ssh -F {cluster.ssh_config} login1 sinfo")
            print(f"export SLURM_CONF={cluster.slurm_conf}", flush=True)
            signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

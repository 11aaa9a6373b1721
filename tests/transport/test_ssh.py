"""The SSH transport against real OpenSSH servers in network namespaces (tests/infra/cluster.py)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from clustermax.transport.base import ConnectError
from clustermax.transport.ssh import SSHConnector, SSHTarget, load_ssh_config, resolve_target
from tests.infra.cluster import TestCluster, sshd_config_text

pytestmark = pytest.mark.sshd


def _pub(host_key: Path) -> str:
    return " ".join(Path(str(host_key) + ".pub").read_text().split()[:2])


def _target(c: TestCluster, ip: str, port: int = 22, key: Path | None = None) -> SSHTarget:
    return SSHTarget(
        alias=ip,
        hostname=ip,
        port=port,
        user=c.user,
        identity_files=(str(key or c.key),),
        identities_only=True,
    )


def _connector(tmp_path: Path, known: Path | None, accept_new: bool = False, **kw: object) -> SSHConnector:
    return SSHConnector(
        known_hosts_files=[known] if known else [],
        accept_new=accept_new,
        own_known_hosts=tmp_path / "own_known_hosts",
        use_user_known_hosts=False,
        **kw,  # type: ignore[arg-type]
    )


def _ps_args() -> list[bytes]:
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            with contextlib.suppress(OSError):
                out.append((p / "cmdline").read_bytes())
    return out


def test_run_reuses_one_connection(sshd_hosts: TestCluster, tmp_path: Path) -> None:
    conn = _connector(tmp_path, sshd_hosts.known_hosts)
    t = _target(sshd_hosts, sshd_hosts.login.ip)
    first = conn.connect(t)
    raw = first.run("timeout -k 10 10 bash -s", stdin=b"uname -n; echo err >&2; exit 3", timeout_s=20)
    assert (raw.exit_code, raw.stdout, raw.stderr) == (3, b"login1\n", b"err\n")
    second = conn.connect(t, name="again")
    assert second.client is first.client
    assert second.run("true", timeout_s=10).exit_code == 0
    conn.close_all()


def test_proxyjump_through_the_login_node(sshd_hosts: TestCluster, tmp_path: Path) -> None:
    cfg = load_ssh_config(sshd_hosts.ssh_config)
    target = resolve_target("node2", cfg)
    assert target.jump is not None and target.jump.alias == "login1"
    assert target.hostname == sshd_hosts.nodes[1].ip and target.user == sshd_hosts.user
    conn = _connector(tmp_path, None)  # known_hosts comes from the ssh_config's UserKnownHostsFile
    raw = conn.connect(target).run("bash -s", stdin=b'uname -n; echo "$SSH_CONNECTION"', timeout_s=20)
    name, via = raw.stdout.decode().split("\n")[:2]
    assert name == "node2"
    assert via.split()[0] == sshd_hosts.login.ip  # the TCP connection came from the login node
    conn.close_all()


def test_changed_host_key_is_refused_even_with_accept_new(sshd_hosts: TestCluster, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(f"{sshd_hosts.login.ip} {_pub(sshd_hosts.nodes[0].host_key)}\n")  # someone else's key
    for accept in (False, True):
        with pytest.raises(ConnectError) as info:
            _connector(tmp_path, known, accept_new=accept).connect(_target(sshd_hosts, sshd_hosts.login.ip))
        assert info.value.kind == "host-key"
        assert "CHANGED" in info.value.message and "ssh-keygen -R" in info.value.message
    assert not (tmp_path / "own_known_hosts").exists()


def test_unknown_host_key_needs_explicit_opt_in(sshd_hosts: TestCluster, tmp_path: Path) -> None:
    known = tmp_path / "empty_known_hosts"
    known.write_text("")
    target = _target(sshd_hosts, sshd_hosts.nodes[2].ip)
    with pytest.raises(ConnectError) as info:
        _connector(tmp_path, known).connect(target)
    assert info.value.kind == "host-key" and "--accept-new-host-keys" in info.value.message
    assert not (tmp_path / "own_known_hosts").exists()

    conn = _connector(tmp_path, known, accept_new=True)
    assert conn.connect(target).run("uname -n", timeout_s=10).stdout == b"node3\n"
    conn.close_all()
    recorded = (tmp_path / "own_known_hosts").read_text().split()
    assert recorded == [sshd_hosts.nodes[2].ip, *_pub(sshd_hosts.nodes[2].host_key).split()]
    # from now on the recorded key is trusted without the opt-in
    later = _connector(tmp_path, known)
    assert later.connect(target).run("true", timeout_s=10).exit_code == 0
    later.close_all()


def test_wrong_key_is_an_auth_error(sshd_hosts: TestCluster, tmp_path: Path) -> None:
    key = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    with pytest.raises(ConnectError) as info:
        _connector(tmp_path, sshd_hosts.known_hosts).connect(
            _target(sshd_hosts, sshd_hosts.login.ip, key=key)
        )
    assert info.value.kind == "auth"


def test_nothing_listening_is_unreachable(sshd_hosts: TestCluster, tmp_path: Path) -> None:
    t0 = time.monotonic()
    with pytest.raises(ConnectError) as info:
        _connector(tmp_path, sshd_hosts.known_hosts).connect(
            _target(sshd_hosts, f"{sshd_hosts.subnet}.1", port=1)
        )
    assert info.value.kind == "unreachable" and "refused" in info.value.message.lower()
    assert time.monotonic() - t0 < 5


def test_hanging_command_is_cut_and_gone(sshd_hosts: TestCluster, tmp_path: Path) -> None:
    tag = f"4{os.getpid()}{int(time.time())}"
    conn = _connector(tmp_path, sshd_hosts.known_hosts)
    tr = conn.connect(_target(sshd_hosts, sshd_hosts.nodes[0].ip))
    t0 = time.monotonic()
    raw = tr.run(
        "timeout -k 10 2 bash -s", stdin=f"echo start; sleep 3000.{tag}; echo never".encode(), timeout_s=30
    )
    assert 1.5 < time.monotonic() - t0 < 6
    assert raw.exit_code == 124 and raw.stdout == b"start\n"
    time.sleep(0.3)
    assert not any(f"3000.{tag}".encode() in a for a in _ps_args())
    # local deadline below the remote timeout: the channel is closed and the remote process killed
    raw = tr.run("timeout -k 10 60 bash -s", stdin=f"sleep 3001.{tag}".encode(), timeout_s=1.5)
    assert raw.timed_out and raw.exit_code is None
    deadline = time.monotonic() + 5
    while any(f"3001.{tag}".encode() in a for a in _ps_args()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(f"3001.{tag}".encode() in a for a in _ps_args())
    conn.close_all()


def test_stop_sends_term_so_cleanup_runs(sshd_hosts: TestCluster, tmp_path: Path) -> None:
    marker = Path(f"/tmp/cmx-term-cleaned-{os.getpid()}-{time.time_ns()}")  # writable by the test user
    conn = _connector(tmp_path, sshd_hosts.known_hosts)
    tr = conn.connect(_target(sshd_hosts, sshd_hosts.nodes[1].ip))
    stop = threading.Event()
    threading.Timer(0.7, stop.set).start()
    script = f"trap ': > {marker}; exit 143' TERM; echo started; sleep 600 & wait".encode()
    raw = tr.run("timeout -k 10 60 bash -s", stdin=script, timeout_s=90, stop=stop)
    assert raw.interrupted and raw.exit_code == 143 and raw.duration_s < 5
    assert marker.exists()
    marker.unlink()
    conn.close_all()


@pytest.fixture
def node_http(sshd_hosts: TestCluster, tmp_path: Path) -> Iterator[int]:
    """An HTTP server bound to 127.0.0.1 *inside* node1's namespace (unreachable from here directly)."""
    (tmp_path / "metrics").write_text("DCGM_FI_DEV_GPU_TEMP 33\n")
    port = 19400 + os.getpid() % 500
    proc = subprocess.Popen(
        [
            "nsenter",
            f"--net=/run/netns/{sshd_hosts.nodes[0].netns}",
            "python3",
            "-m",
            "http.server",
            str(port),
            "--bind",
            "127.0.0.1",
            "--directory",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            probe = subprocess.run(
                [
                    "nsenter",
                    f"--net=/run/netns/{sshd_hosts.nodes[0].netns}",
                    "bash",
                    "-c",
                    f"</dev/tcp/127.0.0.1/{port}",
                ],
                capture_output=True,
                check=False,
            )
            if probe.returncode == 0:
                break
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def test_http_get_through_the_ssh_connection(sshd_hosts: TestCluster, tmp_path: Path, node_http: int) -> None:
    cfg = load_ssh_config(sshd_hosts.ssh_config)
    conn = _connector(tmp_path, None)
    tr = conn.connect(resolve_target("node1", cfg))  # through the login node, too
    status, body, error = tr.http_get(node_http, "/metrics", 10)
    assert (status, body, error) == (200, b"DCGM_FI_DEV_GPU_TEMP 33\n", None)
    status, _body, _error = tr.http_get(node_http, "/nope", 10)
    assert status == 404
    status, body, error = tr.http_get(1, "/metrics", 5)
    assert status is None and body == b"" and error and "Connect" in error
    conn.close_all()


def test_connect_retries_when_sshd_drops_connections(sshd_hosts: TestCluster, tmp_path: Path) -> None:
    """sshd with MaxStartups 1:100:1 drops concurrent unauthenticated connections; retries get through."""
    port = 2200 + sshd_hosts.slot
    conf = tmp_path / "sshd_throttled.conf"
    text = sshd_config_text(
        sshd_hosts.base, sshd_hosts.login.ip, port, sshd_hosts.login.host_key, "/usr/bin:/bin", None
    )
    conf.write_text(text.replace("MaxStartups 200:30:400", "MaxStartups 1:100:1"))
    proc = sshd_hosts.start_sshd(sshd_hosts.login, conf, f"sshd-throttled-{port}")
    try:
        known = tmp_path / "kh"
        known.write_text(f"[{sshd_hosts.login.ip}]:{port} {_pub(sshd_hosts.login.host_key)}\n")
        for _ in range(100):
            with contextlib.suppress(OSError):
                import socket

                socket.create_connection((sshd_hosts.login.ip, port), timeout=0.2).close()
                break
            time.sleep(0.05)
        errors: list[BaseException] = []
        names: list[bytes] = []

        def one() -> None:
            conn = _connector(tmp_path, known, retries=8)
            try:
                names.append(
                    conn.connect(_target(sshd_hosts, sshd_hosts.login.ip, port))
                    .run("uname -n", timeout_s=10)
                    .stdout
                )
            except BaseException as err:
                errors.append(err)
            finally:
                conn.close_all()

        threads = [threading.Thread(target=one) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors and names == [b"login1\n"] * 8
        log = (sshd_hosts.base / "log" / f"sshd-throttled-{port}.log").read_text()
        assert "MaxStartups" in log  # connections really were dropped, and retried
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def _alive(pid: int) -> bool:
    try:
        fields = (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1]).split()
    except OSError:
        return False
    return fields[0] != "Z"


@pytest.mark.parametrize("linger", [False, True])
def test_a_probe_cut_at_its_timeout_is_a_timeout_and_leaves_nothing_behind(
    sshd_hosts: TestCluster, tmp_path: Path, linger: bool
) -> None:
    """A child that ignores TERM, a grandchild that called setsid: timeout(1) kills its own process
    group with KILL, the supervisor then kills the rest; the result says timeout and names the section."""
    from clustermax.engine.runner import ProbeContext, run_probe
    from clustermax.models import ProbeStatus, SubStatus
    from clustermax.probes.specs import load_probe_specs
    from tests.engine.probes_fixture import make_probes_root

    root = make_probes_root(tmp_path)
    spec = load_probe_specs(root)["stubborn"]
    tag = f"{os.getpid()}{time.time_ns()}"
    conn = _connector(tmp_path, sshd_hosts.known_hosts)
    tr = conn.connect(_target(sshd_hosts, sshd_hosts.nodes[0].ip))
    t0 = time.monotonic()
    commands, result = run_probe(
        tr, spec, "node1", {"tag": tag, "linger": linger}, ProbeContext(probes_root=root)
    )
    took = time.monotonic() - t0
    conn.close_all()
    setsid_pid = int(Path(f"/tmp/cmx-stubborn-setsid-{tag}").read_text())
    scratch = Path(Path(f"/tmp/cmx-stubborn-tmp-{tag}").read_text().strip())
    deadline = time.monotonic() + 5
    while _alive(setsid_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(setsid_pid)  # the child that left the session is gone too
    assert not any(f"300{n}.{tag}".encode() in a for a in _ps_args() for n in (1, 2))
    assert not scratch.exists()  # the scratch directory went away, even after a KILL
    main = commands[0]
    if linger:  # the script ended on its own; what it left running was killed all the same
        assert result.status == ProbeStatus.OK and main.exit_code == 0 and not main.timed_out
        assert took < 8
        return
    child = int(Path(f"/tmp/cmx-stubborn-child-{tag}").read_text())
    assert not _alive(child)
    assert 10 < took < 2 + 10 + 8  # TERM at 2 s was ignored: KILL 10 s later, then the supervisor's sweep
    assert main.timed_out and main.exit_code == 124 and main.note == "cut at its timeout"
    assert main.stderr.endswith("@@CMX:TIMEOUT 2@@\n")
    assert (result.status, result.substatus) == (ProbeStatus.ERROR, SubStatus.TIMEOUT)
    assert result.message == (
        "cut at its 2 s timeout in section 'work' (it and every later section are missing); "
        "what arrived says: node1: unknown OS, ? CPUs"
    )
    for name in ("setsid", "child", "tmp"):
        Path(f"/tmp/cmx-stubborn-{name}-{tag}").unlink()


def test_a_port_that_never_says_a_word_is_a_timeout_said_once(tmp_path: Path) -> None:
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                accepted.append(server.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        conn = SSHConnector(own_known_hosts=tmp_path / "own", use_user_known_hosts=False, connect_timeout_s=2)
        t0 = time.monotonic()
        with pytest.raises(ConnectError) as info:
            conn.connect(SSHTarget(alias="mute", hostname="127.0.0.1", port=server.getsockname()[1]))
        took = time.monotonic() - t0
    finally:
        stop.set()
        thread.join()
        for s in accepted:
            s.close()
        server.close()
    assert info.value.kind == "timeout"
    assert "the port answers but no SSH server spoke within 2 s" in info.value.message
    assert "No existing session" not in info.value.message
    assert took < 5 and len(accepted) == 1  # not retried: a silent server stays silent


@pytest.mark.parametrize("key", ["/dev/zero", "missing"])
def test_identity_files_must_be_regular_files(sshd_hosts: TestCluster, tmp_path: Path, key: str) -> None:
    path = key if key.startswith("/") else str(tmp_path / key)
    target = SSHTarget(alias="login1", hostname=sshd_hosts.login.ip, user=sshd_hosts.user,
                       identity_files=(path,), identities_only=True)  # fmt: skip
    with pytest.raises(ConnectError) as info:
        _connector(tmp_path, sshd_hosts.known_hosts).connect(target)
    assert info.value.kind == "auth"
    assert (
        "identity file is a character device" if key.startswith("/") else "No such file"
    ) in info.value.message

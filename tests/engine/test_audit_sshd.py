"""The audit engine over real sshd hosts: parallel hosts, per-host failures, host keys, injection, resume."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from clustermax.engine.audit import Audit, AuditRequest, HostSpec
from clustermax.models import Bundle, ProbeStatus, SubStatus
from clustermax.probes.specs import load_probe_specs
from clustermax.transport.base import Transport
from clustermax.transport.ssh import SSHConnector, SSHTarget, load_ssh_config, resolve_target
from tests.engine.probes_fixture import make_probes_root
from tests.infra.cluster import TestCluster

pytestmark = pytest.mark.sshd


def _host(
    c: TestCluster,
    name: str,
    ip: str,
    role: str = "compute",
    port: int = 22,
    key: Path | None = None,
    jump: SSHTarget | None = None,
) -> HostSpec:
    target = SSHTarget(
        alias=name,
        hostname=ip,
        port=port,
        user=c.user,
        identity_files=(str(key or c.key),),
        identities_only=True,
        jump=jump,
    )
    return HostSpec(
        name=name,
        role=role,
        target=target,
        address=ip,
        user=c.user,
        port=port,  # type: ignore[arg-type]
        via=jump.alias if jump else None,
    )


def _connector(tmp_path: Path, known: Path, accept_new: bool = False) -> SSHConnector:
    return SSHConnector(
        known_hosts_files=[known],
        accept_new=accept_new,
        own_known_hosts=tmp_path / "own_known_hosts",
        use_user_known_hosts=False,
    )


def _connect(conn: SSHConnector):  # type: ignore[no-untyped-def]
    def connect(h: HostSpec) -> Transport:
        return conn.connect(h.target, name=h.name)

    return connect


def _request(
    root: Path, login: HostSpec, compute: list[HostSpec] | None, selected: list[str], **kw: object
) -> AuditRequest:
    specs = load_probe_specs(root)
    return AuditRequest(
        cluster="test", login=login, compute=compute, specs=specs, selected=selected, probes_root=root, **kw
    )  # type: ignore[arg-type]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_probes_root(tmp_path)


def _marker() -> Path:
    return Path(f"/tmp/cmx-marker-{os.getpid()}-{time.time_ns()}")


def test_parallel_audit_of_several_hosts(sshd_hosts: TestCluster, tmp_path: Path, root: Path) -> None:
    c = sshd_hosts
    conn = _connector(tmp_path, c.known_hosts)
    login = _host(c, "login1", c.login.ip, role="login")
    compute = [_host(c, h.name, h.ip) for h in c.nodes]
    out = tmp_path / "out"
    req = _request(root, login, compute, ["system_info", "scheduler_detect"], concurrency=8)
    bundle = Audit(req, _connect(conn), out).run()
    conn.close_all()
    assert bundle.complete
    assert [h.name for h in bundle.hosts] == ["login1", "node1", "node2", "node3"]
    assert all(h.state == "ok" for h in bundle.hosts)
    # login: detection + host probe; nodes: host probe; stable order
    assert [(r.host, r.probe_id) for r in bundle.results] == [
        ("login1", "scheduler_detect"),
        ("login1", "system_info"),
        ("node1", "system_info"),
        ("node2", "system_info"),
        ("node3", "system_info"),
    ]
    names = {
        r.host: next(m.value for m in r.measurements if m.metric == "system.hostname")
        for r in bundle.results
        if r.probe_id == "system_info"
    }
    assert names == {"login1": "login1", "node1": "node1", "node2": "node2", "node3": "node3"}
    assert bundle.target.platform == "bare"
    on_disk = Bundle.model_validate_json((out / "bundle.json").read_text())
    assert on_disk.results == bundle.results
    kinds = [json.loads(line)["kind"] for line in (out / "journal.jsonl").read_text().splitlines()]
    assert kinds[0] == "start" and kinds[-1] == "end"
    assert kinds.count("result") == 5 and kinds.count("command") == 5 and kinds.count("host") == 4


def test_failures_are_per_host(sshd_hosts: TestCluster, tmp_path: Path, root: Path) -> None:
    """Changed key, wrong client key, nothing listening: recorded for those hosts; the others complete."""
    c = sshd_hosts
    known = tmp_path / "known_hosts"
    lines = c.known_hosts.read_text().splitlines()
    node1_key = " ".join(Path(str(c.nodes[0].host_key) + ".pub").read_text().split()[:2])
    # node2's entry now carries node1's key: a changed host key
    known.write_text(
        "\n".join(ln for ln in lines if not ln.startswith(c.nodes[1].ip + " "))
        + f"\n{c.nodes[1].ip} {node1_key}\n"
    )
    stranger = tmp_path / "stranger"
    import subprocess

    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    markers = {name: _marker() for name in ("login1", "node1", "node2", "node3", "ghost")}
    compute = [
        _host(c, "node1", c.nodes[0].ip),
        _host(c, "node2", c.nodes[1].ip),  # changed key
        _host(c, "node3", c.nodes[2].ip, key=stranger),  # refused key
        _host(c, "ghost", f"{c.subnet}.1", port=1),  # nothing listening
    ]
    conn = _connector(tmp_path, known, accept_new=True)  # accept-new never accepts a changed key
    req = _request(
        root, _host(c, "login1", c.login.ip, role="login"), compute, ["marker"], cli_params={"marker": {}}
    )

    class PerHostMarker(Audit):
        def _params(self, spec, host):  # type: ignore[no-untyped-def]
            return {**super()._params(spec, host), "path": str(markers[host.name])}

    bundle = PerHostMarker(req, _connect(conn), tmp_path / "out").run()
    conn.close_all()
    state = {h.name: h.state for h in bundle.hosts}
    assert state == {
        "login1": "ok",
        "node1": "ok",
        "node2": "host-key",
        "node3": "auth",
        "ghost": "unreachable",
    }
    res = {r.host: r for r in bundle.results if r.probe_id == "marker"}
    assert res["node1"].status == ProbeStatus.OK
    assert (res["node2"].status, res["node2"].substatus) == (ProbeStatus.ERROR, SubStatus.HOST_KEY)
    assert res["node3"].substatus == SubStatus.AUTH and res["ghost"].substatus == SubStatus.UNREACHABLE
    assert markers["login1"].exists() and markers["node1"].exists()
    assert not markers["node2"].exists()  # nothing ran on the host whose key changed
    assert not markers["node3"].exists() and not markers["ghost"].exists()
    assert "CHANGED" in (next(h for h in bundle.hosts if h.name == "node2").error or "")
    own = tmp_path / "own_known_hosts"
    assert not own.exists() or c.nodes[1].ip not in own.read_text()  # a changed key is never recorded
    for m in markers.values():
        m.unlink(missing_ok=True)


def test_shell_metacharacters_in_names_and_params_run_nothing(
    sshd_hosts: TestCluster, tmp_path: Path, root: Path
) -> None:
    c = sshd_hosts
    canary = Path(f"/tmp/cmx-canary-{os.getpid()}-{time.time_ns()}")
    nasty = [
        f"; touch {canary}",
        f"$(touch {canary})",
        f"`touch {canary}`",
        f"'\"; touch {canary}; \"'",
        f"a b\nc; touch {canary}",
    ]
    conn = _connector(tmp_path, c.known_hosts)
    login = _host(c, nasty[1], c.login.ip, role="login")
    compute = [_host(c, nasty[0], c.nodes[0].ip), _host(c, nasty[4], c.nodes[1].ip)]
    req = _request(
        root,
        login,
        compute,
        ["echo_params"],
        inventory_params={"echo_params": {"text": nasty[2], "items": nasty}},
        cli_params={"echo_params": {"text": nasty[3]}},
    )
    bundle = Audit(req, _connect(conn), tmp_path / "out").run()
    conn.close_all()
    assert all(h.state == "ok" for h in bundle.hosts)
    main = {cmd.host: cmd for cmd in bundle.commands if cmd.probe_id == "echo_params"}
    assert set(main) == {nasty[0], nasty[1], nasty[4]}
    for host, cmd in main.items():
        assert f"HOST=[{host}]" in cmd.stdout
        assert f"TEXT=[{nasty[3]}]" in cmd.stdout  # the CLI value wins over the inventory's
        assert f"ITEMS=[{' '.join(nasty)}]" in cmd.stdout
    assert not canary.exists()


def test_proxyjump_to_compute_nodes_through_the_login_node(
    sshd_hosts: TestCluster, tmp_path: Path, root: Path
) -> None:
    c = sshd_hosts
    cfg = load_ssh_config(c.ssh_config)
    conn = SSHConnector(own_known_hosts=tmp_path / "own", use_user_known_hosts=False)
    hosts = []
    for alias in ("login1", "node1", "node3"):
        t = resolve_target(alias, cfg)
        hosts.append(
            HostSpec(
                name=alias,
                role="login" if alias == "login1" else "compute",
                target=t,
                address=t.hostname,
                via=t.jump.alias if t.jump else None,
            )
        )
    bundle = Audit(
        _request(root, hosts[0], hosts[1:], ["echo_params"]), _connect(conn), tmp_path / "out"
    ).run()
    conn.close_all()
    assert [(h.name, h.state, h.via) for h in bundle.hosts] == [
        ("login1", "ok", None),
        ("node1", "ok", "login1"),
        ("node3", "ok", "login1"),
    ]
    out = {cmd.host: cmd.stdout for cmd in bundle.commands}
    assert "@@CMX:BEGIN hostname@@\nnode3\n" in out["node3"]


def test_interrupt_leaves_a_partial_bundle_that_resume_completes(
    sshd_hosts: TestCluster, tmp_path: Path
) -> None:
    c = sshd_hosts
    root = make_probes_root(tmp_path, hang_timeout_s=60)
    conn = _connector(tmp_path, c.known_hosts)
    login = _host(c, "login1", c.login.ip, role="login")
    compute = [_host(c, h.name, h.ip) for h in c.nodes]
    out = tmp_path / "out"
    stop = threading.Event()
    threading.Timer(1.5, stop.set).start()
    tag = f"5{os.getpid()}{int(time.time())}"
    req = _request(
        root, login, compute, ["scheduler_detect", "system_info", "hang"], cli_params={"hang": {"tag": tag}}
    )
    partial = Audit(req, _connect(conn), out, stop=stop).run()
    assert not partial.complete
    on_disk = Bundle.model_validate_json((out / "bundle.json").read_text())
    assert not on_disk.complete
    hang = [r for r in on_disk.results if r.probe_id == "hang"]
    assert hang and all(r.substatus == SubStatus.INTERRUPTED for r in hang)
    assert Path(f"/tmp/cmx-hang-cleaned-{tag}").exists()  # the remote cleanup hook ran
    kept = {(r.host, r.probe_id): r for r in on_disk.results if r.status == ProbeStatus.OK}
    assert kept

    # resume: the hang probe now finishes quickly (a short timeout), the ok results are kept as they were
    root2 = make_probes_root(tmp_path / "again", hang_timeout_s=1)
    req2 = _request(
        root2, login, compute, ["scheduler_detect", "system_info", "hang"], cli_params={"hang": {"tag": tag}}
    )
    done = Audit(req2, _connect(conn), out, previous=on_disk).run()
    conn.close_all()
    assert done.complete
    pairs = {(r.host, r.probe_id) for r in done.results}
    assert pairs == {
        (h, p) for h in ("login1", "node1", "node2", "node3") for p in ("system_info", "hang")
    } | {("login1", "scheduler_detect")}
    for key, res in kept.items():
        again = next(r for r in done.results if (r.host, r.probe_id) == key)
        assert again == res  # untouched
    assert all(r.substatus == SubStatus.TIMEOUT for r in done.results if r.probe_id == "hang")

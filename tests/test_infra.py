"""The test infrastructure itself works: real sshd per host, ProxyJump, real Slurm across nodes."""

from __future__ import annotations

import subprocess

import pytest

from tests.infra.cluster import TestCluster


@pytest.mark.sshd
@pytest.mark.slurm
def test_cluster_hosts_have_own_hostnames_and_slurm(testcluster: TestCluster) -> None:
    result = testcluster.ssh(testcluster.login, "hostname; id -un; sinfo -h -o '%P %D %t'")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("\n")
    assert lines[0] == "login1"
    assert lines[1] == testcluster.user != "root"
    assert lines[2].split() == ["gpu*", "4", "idle"]
    srun = testcluster.ssh(testcluster.login, "srun -N4 hostname | sort")
    assert srun.stdout.split() == ["node1", "node2", "node3", "node4"], srun.stderr


@pytest.mark.sshd
def test_proxyjump_through_login_node(testcluster: TestCluster) -> None:
    result = subprocess.run(
        ["ssh", "-F", str(testcluster.ssh_config), "node3", "hostname; echo $SSH_CONNECTION"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    name, connection = result.stdout.split("\n")[:2]
    assert name == "node3"
    assert connection.split()[0] == testcluster.login.ip  # the connection came from the jump host


@pytest.mark.sshd
def test_unknown_host_key_is_refused_by_openssh(testcluster: TestCluster, tmp_path) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    argv = testcluster.ssh_argv(testcluster.login, "true")
    argv[argv.index(f"UserKnownHostsFile={testcluster.known_hosts}")] = f"UserKnownHostsFile={empty}"
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 255
    assert "Host key verification failed" in result.stderr

"""The test infrastructure itself works: real sshd per host, ProxyJump, real Slurm across nodes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import require
from tests.infra.cluster import TestCluster, missing_requirements, running_cluster


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


@pytest.mark.sshd
def test_bind_shared_filesystem_is_seen_by_every_host_and_not_by_this_machine() -> None:
    require("sshd test hosts", missing_requirements(slurm=False))
    with running_cluster(nodes=2, slurm=False, shared_fs="bind") as cluster:
        assert cluster.export is not None and cluster.storage is None
        write = cluster.ssh(
            cluster.nodes[0], "echo hi > /mnt/shared/from-node1 && findmnt -n -o TARGET /mnt/local"
        )
        assert write.returncode == 0 and write.stdout.strip() == "/mnt/local", write.stderr
        read = cluster.ssh(cluster.nodes[1], "cat /mnt/shared/from-node1; grep -c nfs-missing /etc/fstab")
        assert read.stdout.split() == ["hi", "1"], read.stderr
        assert (cluster.export / "from-node1").read_text() == "hi\n"
        assert not Path("/mnt/shared/from-node1").exists()  # the hosts' mounts stay in their namespaces
        (cluster.export / "from-node1").unlink()


def test_shared_fs_value_is_checked() -> None:
    with pytest.raises(ValueError, match="shared_fs must be"):
        with running_cluster(nodes=1, slurm=False, shared_fs="nfs"):
            pass

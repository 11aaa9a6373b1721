"""Shared fixtures: the real OpenSSH + Slurm test cluster, and the CI no-skip rule.

Under CI (CI=true) a test that needs sshd, Slurm, Chromium or PostgreSQL must run: if such a test is
skipped, the run fails (see ``pytest_runtest_makereport``). Locally, those tests skip with a loud reason
when the machine cannot host them (not root, packages missing: run ``bash scripts/test.sh``, which installs
them).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.infra.cluster import TestCluster, missing_requirements, running_cluster

INFRA_MARKERS = ("sshd", "slurm", "chromium", "postgres")


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(what: str, missing: list[str]) -> None:
    """Skip (locally) or fail (under CI) when ``missing`` is not empty."""
    if not missing:
        return
    reason = f"{what} unavailable: missing {', '.join(missing)} (run bash scripts/test.sh as root)"
    if under_ci():
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if not (under_ci() and report.skipped):
        return
    markers = [m for m in INFRA_MARKERS if item.get_closest_marker(m)]
    if markers:
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.longrepr = f"under CI a {'/'.join(markers)} test must run, but it was skipped: {reason}"


@pytest.fixture(scope="session")
def testcluster() -> Iterator[TestCluster]:
    """A login node and 4 compute nodes with real sshd and Slurm, for the whole session.

    Tests must leave it as they found it (cancel their jobs, remove what they put in ``bin_dir``).
    """
    require("test cluster (sshd + Slurm)", missing_requirements(slurm=True))
    with running_cluster(nodes=4, slurm=True) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def sshd_hosts() -> Iterator[TestCluster]:
    """A login node and 3 hosts with real sshd only (no Slurm), for transport and engine tests."""
    require("sshd test hosts", missing_requirements(slurm=False))
    with running_cluster(nodes=3, slurm=False) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def storagecluster() -> Iterator[TestCluster]:
    """A login node and 4 compute nodes with real sshd and Slurm, each in its own mount namespace with
    /mnt/shared mounted over SSHFS from a storage host (a real network filesystem between the nodes),
    /mnt/local (a per-node directory) and a per-node /etc/fstab that lists /mnt/nfs-missing, never mounted.

    Tests must leave it as they found it (the shared export empty, every mount back in place).
    """
    missing = missing_requirements(slurm=True)
    missing += [tool for tool in ("sshfs", "fusermount3", "fio") if shutil.which(tool) is None]
    require("storage test cluster (sshd + Slurm + SSHFS + fio)", missing)
    with running_cluster(nodes=4, slurm=True, shared_fs="sshfs") as cluster:
        yield cluster

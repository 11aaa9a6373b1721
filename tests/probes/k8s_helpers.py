"""Helpers shared by the Kubernetes probe tests: a fake API server per test, SSH to the test hosts."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from clustermax.engine.loader import load_probe_spec
from clustermax.models import Measurement, ProbeResult, ProbeSpec
from clustermax.transport.ssh import SSHConnector, SSHTransport, resolve_target
from tests.infra import kube_apiserver
from tests.infra.cluster import Host, TestCluster

PROBES = Path(__file__).resolve().parent.parent.parent / "probes"


def spec(probe_id: str) -> ProbeSpec:
    return load_probe_spec(PROBES / probe_id)


def value(result: ProbeResult, metric: str, **labels: str) -> Any:
    hits = [
        m
        for m in result.measurements
        if m.metric == metric and all(m.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(hits) == 1, f"{metric} {labels}: {hits}"
    return hits[0].value


def metrics(result: ProbeResult, metric: str) -> list[Measurement]:
    return [m for m in result.measurements if m.metric == metric]


@contextmanager
def apiserver(config: dict[str, Any], netns: str | None = None) -> Iterator[kube_apiserver.RunningAPIServer]:
    """A fake API server for one test, in a world-readable temp dir (the SSH test user reads it)."""
    work = Path(tempfile.mkdtemp(prefix="cmx-kube-"))
    os.chmod(work, 0o755)
    server = kube_apiserver.start(work, dict(config), netns=netns)
    kubeconfig = work / "kubeconfig"
    kubeconfig.write_text(kube_apiserver.kubeconfig_text(server.url))
    os.chmod(kubeconfig, 0o644)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def kubeconfig_of(server: kube_apiserver.RunningAPIServer) -> str:
    return str(server.workdir / "kubeconfig")


@contextmanager
def ssh_transport(cluster: TestCluster, host: Host) -> Iterator[SSHTransport]:
    connector = SSHConnector(known_hosts_files=[cluster.known_hosts], use_user_known_hosts=False)
    target = resolve_target(f"{cluster.user}@{host.ip}", None, identity_file=str(cluster.key))
    transport = connector.connect(target, name=host.name)
    try:
        yield transport
    finally:
        transport.close()
        connector.close_all()

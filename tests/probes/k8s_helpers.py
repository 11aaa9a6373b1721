"""Helpers shared by the Kubernetes probe tests: a fake API server per test, SSH to the test hosts."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from clustermax.models import Measurement, ProbeResult
from tests.infra import kube_apiserver
from tests.probes.standins import spec, ssh_transport, value

__all__ = ["apiserver", "kubeconfig_of", "metrics", "spec", "ssh_transport", "value"]


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

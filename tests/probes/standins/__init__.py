"""Stand-ins for GPU tools on the test cluster, fed with recorded real outputs (see standin.py)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clustermax.models import ProbeResult, ProbeSpec
from clustermax.probes.base import ProbeOutput
from clustermax.probes.specs import load_probe_spec
from clustermax.transport.ssh import SSHConnector, SSHTransport, resolve_target
from tests.infra.cluster import Host, TestCluster

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent.parent
DATA = REPO / "tests" / "data"
PROBES = REPO / "probes"
TOOLS = ("nvidia-smi", "dcgmi", "all_reduce_perf", "all_gather_perf", "ibstat", "dmesg")


def spec(probe_id: str) -> ProbeSpec:
    return load_probe_spec(PROBES / probe_id)


def values(result: ProbeResult | ProbeOutput, metric: str, **labels: str) -> list[Any]:
    return [
        m.value
        for m in result.measurements
        if m.metric == metric and all(m.labels.get(k) == v for k, v in labels.items())
    ]


def section(name: str, text: str, rc: int = 0, missing: str | None = None) -> str:
    """One section as the prelude's cmx_section prints it (for probe-parser tests)."""
    end = f"rc={rc}" + (f" missing={missing}" if missing else "")
    return f"@@CMX:BEGIN {name}@@\n{text}\n@@CMX:END {name} {end}@@\n"


def value(result: ProbeResult | ProbeOutput, metric: str, **labels: str) -> Any:
    hits = values(result, metric, **labels)
    assert len(hits) == 1, f"{metric} {labels}: {hits}"
    return hits[0]


@dataclass
class Standins:
    """A scenario directory (world-readable, outside the repo) and the wrappers installed in bin_dir."""

    dir: Path
    installed: list[Path]

    def scenario(self, host: str, rules: dict[str, list[dict[str, Any]]]) -> None:
        """Rules for ``host`` ('default': hosts without their own); fixture paths relative to tests/data."""
        copied: dict[str, list[dict[str, Any]]] = {}
        for tool, tool_rules in rules.items():
            copied[tool] = []
            for rule in tool_rules:
                rule = dict(rule)
                if "file" in rule:
                    src = DATA / rule["file"]
                    dst = self.dir / rule["file"].replace("/", "__")
                    shutil.copyfile(src, dst)
                    os.chmod(dst, 0o644)
                    rule["file"] = dst.name
                copied[tool].append(rule)
        path = self.dir / f"{host}.json"
        path.write_text(json.dumps(copied))
        os.chmod(path, 0o644)

    def calls(self) -> list[dict[str, Any]]:
        log = self.dir / "calls.log"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]

    def reset(self) -> None:
        for p in self.dir.glob("*.json"):
            p.unlink()
        (self.dir / "calls.log").write_text("")


@contextmanager
def installed_standins(cluster: TestCluster, tools: tuple[str, ...] = TOOLS) -> Iterator[Standins]:
    """Install the stand-in wrappers into ``cluster.bin_dir``; remove them and the scenario dir afterwards."""
    work = Path(tempfile.mkdtemp(prefix="cmx-gpu-standins-"))
    os.chmod(work, 0o777)
    shutil.copyfile(HERE / "standin.py", work / "standin.py")
    os.chmod(work / "standin.py", 0o755)
    (work / "calls.log").write_text("")
    os.chmod(work / "calls.log", 0o666)
    installed: list[Path] = []
    try:
        for tool in tools:
            target = cluster.bin_dir / tool
            assert not target.exists(), f"{target} already exists: another test left it behind"
            target.write_text(f'#!/bin/sh\nexec /usr/bin/python3 {work}/standin.py {tool} {work} "$@"\n')
            target.chmod(
                target.stat().st_mode
                | stat.S_IXUSR
                | stat.S_IXGRP
                | stat.S_IXOTH
                | stat.S_IRGRP
                | stat.S_IROTH
            )
            installed.append(target)
        yield Standins(work, installed)
    finally:
        for target in installed:
            target.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)


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

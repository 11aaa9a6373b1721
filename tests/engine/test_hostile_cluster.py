"""A hostile cluster: the real Slurm test cluster with an `scontrol` on its PATH that reports extra nodes
with names meant to run code on the auditor's machine (through the ssh_config's ``Match exec``), to become
a port, to abort the audit, or to drive the auditor's terminal.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from clustermax.models import Bundle, ProbeStatus, SubStatus
from tests.infra.cluster import TestCluster

pytestmark = [pytest.mark.sshd, pytest.mark.slurm]

CLI = str(Path(sys.executable).parent / "clustermax")


def hostile_names(canary: Path) -> list[str]:
    return [
        f"node1$(touch {canary})",  # a shell substitution, for Match exec "... %h"
        "node1`touch " + str(canary) + "`",
        "node1:x",  # aborted the whole audit (bad port)
        "node1x:1",  # silently became port 1
        "node1\x1b]0;pwned\x07\x1b[2J",  # sets the terminal title, clears the screen
        "-oProxyCommand=touch",  # an option
        "cluster",  # the name clustermax uses for cluster-wide results
    ]


def _wrapper(real: str, names: list[str]) -> str:
    """An scontrol that adds, after node1's record, one copy of it per hostile name."""
    line = "      n={}; printf '%s\\n' \"${{line/NodeName=node1 /NodeName=$n }}\"\n"
    subs = "".join(line.format(_q(n)) for n in names)
    return f"""#!/bin/bash
if [ "$1" = "-o" ] && [ "$2" = "show" ] && [ "$3" = "node" ]; then
  {real} "$@" | while IFS= read -r line; do
    printf '%s\\n' "$line"
    case "$line" in NodeName=node1\\ *)
{subs}    ;; esac
  done
  exit 0
fi
exec {real} "$@"
"""


def _q(text: str) -> str:
    """A bash $'...' literal of ``text`` (every byte escaped)."""
    return "$'" + "".join(f"\\x{b:02x}" for b in text.encode()) + "'"


def test_node_names_from_the_scheduler_never_run_code_become_ports_or_reach_the_terminal(
    testcluster: TestCluster, tmp_path: Path
) -> None:
    c = testcluster
    canary = tmp_path / "pwned"
    names = hostile_names(canary)
    match_log = tmp_path / "match-exec.log"
    ssh_config = tmp_path / "ssh_config"
    # a Match exec line as users have them (e.g. to test for a VPN): %h is the name being looked up
    ssh_config.write_text(f'Match exec "echo %h >> {match_log}"\n' + c.ssh_config.read_text())
    wrapper = c.bin_dir / "scontrol"
    wrapper.write_text(_wrapper(subprocess.run(["which", "scontrol"], capture_output=True, text=True,
                                               check=True).stdout.strip(), names))  # fmt: skip
    wrapper.chmod(0o755)
    out = tmp_path / "o"
    try:
        check = c.ssh(c.login, "scontrol -o show node | grep -c NodeName=")
        assert check.stdout.strip() == str(len(c.nodes) + len(names)), check.stderr
        proc = subprocess.run(
            [CLI, "audit", "login1", "--ssh-config", str(ssh_config), "--probes", "slurm,system_info",
             "--out", str(out)],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
    finally:
        wrapper.unlink()
    assert proc.returncode == 0, proc.stderr
    assert not canary.exists()  # nothing ran on the auditor's machine
    looked_up = set(match_log.read_text().split())
    # %h is the host name being resolved (a node's name, or its address from the scheduler): known ones only
    assert looked_up <= {"login1", *(h.name for h in c.nodes), *(h.ip for h in c.hosts)}, looked_up
    assert {h.name for h in c.nodes} <= looked_up  # the valid names were looked up as usual
    for stream in (proc.stdout, proc.stderr):
        assert "\x1b" not in stream and "\x07" not in stream
    bundle = Bundle.model_validate_json((out / "bundle.json").read_text())
    assert bundle.complete
    state = {h.name: h for h in bundle.hosts}
    for h in c.nodes:  # the real nodes were audited
        assert state[h.name].state == "ok" and state[h.name].port == 22
    for name in names:
        rec = state[name]
        assert rec.state == "not-attempted" and rec.port is None and rec.address is None
        assert rec.error and rec.error.startswith("not contacted: the cluster reported")
        res = next(r for r in bundle.results if r.host == name and r.probe_id == "system_info")
        assert (res.status, res.substatus) == (ProbeStatus.ERROR, SubStatus.UNREACHABLE)
        assert not [cmd for cmd in bundle.commands if cmd.host == name]
    assert "not a valid host name: it holds ':' (clustermax never turns part of a name into a port)" in (
        state["node1x:1"].error or ""
    )
    assert "a name clustermax reserves" in (state["cluster"].error or "")
    ok = [r.host for r in bundle.results if r.probe_id == "system_info" and r.status == ProbeStatus.OK]
    assert sorted(ok) == sorted(["login1", *(h.name for h in c.nodes)])
    # the outputs made from this bundle are clean too
    for args in (["score", str(out)], ["score", str(out), "--format", "markdown"],
                 ["report", str(out)], ["report", str(out), "--format", "markdown"]):  # fmt: skip
        shown = subprocess.run([CLI, *args], capture_output=True, text=True, timeout=120, check=False)
        assert shown.returncode in (0, 1), shown.stderr
        assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout
    raw = json.loads((out / "bundle.json").read_text())
    assert "node1\x1b]0;pwned\x07\x1b[2J" in [h["name"] for h in raw["hosts"]]  # the evidence is kept as is

"""The hand-run form of the test cluster works as its docstring says: `python -m tests.infra.cluster up`."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import require
from tests.infra.cluster import missing_requirements

ROOT = Path(__file__).resolve().parents[2]


def test_a_wrong_command_prints_the_usage() -> None:
    for args in ([], ["4"], ["down"], ["up", "many"]):
        proc = subprocess.run([sys.executable, "-m", "tests.infra.cluster", *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
        assert proc.returncode == 2 and proc.stderr.startswith("usage: python -m tests.infra.cluster up")
        assert "Traceback" not in proc.stderr


@pytest.mark.sshd
@pytest.mark.slurm
def test_up_brings_a_cluster_up_and_sigterm_takes_it_down() -> None:
    require("test cluster (sshd + Slurm)", missing_requirements(slurm=True))
    proc = subprocess.Popen([sys.executable, "-m", "tests.infra.cluster", "up", "1"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        match = re.match(r"base=(\S+) login=(\S+) nodes=\['(\S+)'\]", first)
        assert match, first + (proc.stderr.read() if proc.poll() is not None else "")
        base = Path(match.group(1))
        assert (base / "slurm.conf").is_file()
        assert proc.stdout.readline().startswith("ssh -F ")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    deadline = time.monotonic() + 5
    while base.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not base.exists()  # torn down: its directory (and its daemons, by PID) are gone

"""An error caused by another one keeps the cause: the one-line message is unchanged, and error.log holds
the chained traceback (``raise ... from err`` everywhere a lower error is turned into a clear one)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_a_usage_error_with_a_cause_logs_the_chained_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    missing = tmp_path / "no-such-file.txt"
    r = subprocess.run(
        [sys.executable, "-m", "clustermax", "parse", "nvidia-smi", str(missing)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert r.returncode == 2
    assert r.stderr.splitlines() == [
        f"error: {missing}: cannot read: No such file or directory",
        "  hint: check the path",
    ]
    log = (tmp_path / "clustermax" / "error.log").read_text()
    assert "FileNotFoundError" in log
    assert "The above exception was the direct cause of the following exception" in log
    assert "ConfigError" in log  # the bounded reader names the file; its OSError is the cause

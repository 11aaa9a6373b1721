"""`clustermax audit` gives the verdict: tier or not rated with its range, three reasons, the advice
headline; `--format json` (score JSON on stdout) and `--fail-under`; an unreachable host said once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CLI = str(Path(sys.executable).parent / "clustermax")
ORDER = ["underperforming", "bronze", "silver", "gold", "platinum"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=300, check=False)


def test_local_audit_prints_the_verdict_and_writes_the_score_json(tmp_path: Path) -> None:
    proc = run("audit", "--local", "--out", str(tmp_path / "a"), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    [score] = json.loads(proc.stdout)  # stdout is the score JSON alone
    assert score["schema_version"] == 2 and score["cluster"]
    err = proc.stderr
    assert f"  {score['summary']}\n" in err  # the summary (and progress) went to stderr
    word = score["tier"].upper() if score["rated"] else "NOT RATED"
    floor, ceiling = score["tier_floor"].capitalize(), score["tier_ceiling"].capitalize()
    span = floor if floor == ceiling else f"{floor} to {ceiling}"
    assert f"Tier: {word}  range {span}  score " in err
    reasons = [h["text"] for h in score["held_down_by"][:3]]
    if reasons:
        assert "  Why:\n" + "".join(f"    - {r}\n" for r in reasons) in err
    if score["advice"]["headline"]:
        assert f"  {score['advice']['headline']}" in err
    # the same verdict in text mode, on stdout
    text = run("audit", "--local", "--out", str(tmp_path / "b"), "-q")
    assert text.returncode == 0, text.stderr
    assert f"Tier: {word}  range {span}  score " in text.stdout
    assert f"  {score['summary']}\n" in text.stdout
    assert text.stderr == ""


def test_fail_under_gates_the_audit_on_its_floor(tmp_path: Path) -> None:
    proc = run("audit", "--local", "--out", str(tmp_path / "a"), "-f", "json", "-q", "--fail-under", "bronze")
    [score] = json.loads(proc.stdout)
    proven = score["rated"] and ORDER.index(score["tier_floor"]) >= ORDER.index("bronze")
    assert proc.returncode == (0 if proven else 1), proc.stderr
    if not proven:
        assert "error: not proven bronze: " in proc.stderr
    # on a machine without a GPU scheduler nothing proves Platinum
    proc = run("audit", "--local", "--out", str(tmp_path / "b"), "-q", "--fail-under", "platinum")
    assert proc.returncode == 1 and "error: not proven platinum: " in proc.stderr


def test_an_unreachable_host_is_reported_once_and_not_rated(tmp_path: Path) -> None:
    proc = run(
        "audit", "root@127.0.0.1:1", "--probes", "system_info,scheduler_detect", "--out", str(tmp_path / "o"),
        "--format", "json", "--connect-timeout", "5",
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    [score] = json.loads(proc.stdout)
    assert (score["rated"], score["not_rated_reason"], score["tier"]) == (False, "no_host_reached", None)
    assert score["summary"].startswith("Not rated: the audit reached no host (1 of 1 could not be reached)")
    error = "root@127.0.0.1:1: cannot connect: Connection refused"
    progress = [line for line in proc.stderr.splitlines() if line.startswith("[clustermax")]
    assert [line for line in progress if error in line] == [
        next(line for line in progress if line.endswith(f"127.0.0.1: unreachable: {error}"))
    ]
    summary = [line for line in proc.stderr.splitlines() if not line.startswith("[clustermax")]
    assert [line for line in summary if error in line] == [f"  127.0.0.1  login    unreachable  {error}"]
    assert "  2 probe run(s) not made on the 1 host(s) that could not be reached" in summary
    assert "  First reach the hosts (see Hosts below). To reach Bronze: " in proc.stderr

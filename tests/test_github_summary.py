"""`--github-summary`: the Markdown report appended to the file $GITHUB_STEP_SUMMARY names."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from clustermax.cli import main

ROOT = Path(__file__).resolve().parent.parent
HEALTHY = ROOT / "tests" / "data" / "bundles" / "h100-healthy-ndr"
FAILING = ROOT / "tests" / "data" / "bundles" / "h100-failing-health"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def test_report_appends_its_markdown_and_keeps_what_was_there(tmp_path, monkeypatch, capsys) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_text("## Earlier step\n\nbuild ok\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, err = _run(["report", str(HEALTHY), "--github-summary"], capsys)
    assert code == 0 and "h100-ndr" in out  # standard output still gets the terminal report
    assert f"appended the summary to {summary}" in err
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## Earlier step\n\nbuild ok\n")
    _, markdown, _ = _run(["report", str(HEALTHY), "--format", "markdown"], capsys)
    assert text == "## Earlier step\n\nbuild ok\n" + markdown.rstrip("\n") + "\n\n"
    assert markdown not in out  # the summary is the Markdown report, whatever --format printed
    tokens = MarkdownIt().enable("table").parse(text)
    assert any(t.type == "table_open" for t in tokens)
    code, _, _ = _run(["compare", str(HEALTHY), str(FAILING), "-f", "html", "-o", str(tmp_path / "c.html"),
                       "--github-summary"], capsys)  # fmt: skip
    assert code == 0
    again = summary.read_text(encoding="utf-8")
    assert again.startswith(text) and "Leaderboard" in again[len(text) :]


def test_score_appends_each_bundles_verdict(tmp_path, monkeypatch, capsys) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, _, _ = _run(
        ["score", str(HEALTHY), str(FAILING), "--github-summary", "--fail-under", "bronze"], capsys
    )
    assert code == 1  # the gate still decides the exit code; the summary is written before it
    text = summary.read_text(encoding="utf-8")
    _, one, _ = _run(["score", str(HEALTHY), "--format", "markdown"], capsys)
    assert text.startswith(one.rstrip("\n")) and "h100-ndr" in text and text.count("\n#") >= 1


def test_without_the_variable_it_is_one_line_and_exit_2(monkeypatch, capsys) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    code, _, err = _run(["report", str(HEALTHY), "--github-summary", "-f", "json"], capsys)
    assert code == 2
    assert err.startswith("error: --github-summary: GITHUB_STEP_SUMMARY is not set\n  hint: ")


def test_a_link_or_a_fifo_is_never_written_through(tmp_path, monkeypatch, capsys) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep\n", encoding="utf-8")
    link = tmp_path / "summary.md"
    link.symlink_to(victim)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(link))
    code, _, err = _run(["report", str(HEALTHY), "--github-summary"], capsys)
    assert code == 2 and "symbolic link" in err
    assert victim.read_text(encoding="utf-8") == "keep\n"
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(fifo))
    code, _, err = _run(["report", str(HEALTHY), "--github-summary"], capsys)
    assert code == 2 and "GitHub step summary" in err  # never blocks on a FIFO with no reader


def test_a_summary_past_githubs_limit_is_refused_and_nothing_appended(tmp_path, monkeypatch, capsys) -> None:
    summary = tmp_path / "summary.md"
    summary.write_bytes(b"x" * (1024 * 1024 - 10))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, _, err = _run(["report", str(HEALTHY), "--github-summary"], capsys)
    assert code == 2 and "at most 1 MiB" in err
    assert summary.stat().st_size == 1024 * 1024 - 10


def test_audit_appends_its_report_md_and_checks_the_variable_before_auditing(tmp_path, monkeypatch) -> None:
    import subprocess
    import sys

    summary = tmp_path / "summary.md"
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary)}
    argv = [sys.executable, "-m", "clustermax", "audit", "--local", "-q", "--probes", "system_info"]
    proc = subprocess.run(
        [*argv, "-o", str(tmp_path / "a"), "--github-summary"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    report = (tmp_path / "a" / "report.md").read_text(encoding="utf-8")
    assert summary.read_text(encoding="utf-8") == report.rstrip("\n") + "\n\n"
    env.pop("GITHUB_STEP_SUMMARY")
    proc = subprocess.run(
        [*argv, "-o", str(tmp_path / "b"), "--github-summary"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2 and proc.stderr.startswith(
        "error: --github-summary: GITHUB_STEP_SUMMARY is not set"
    )
    assert not (tmp_path / "b").exists()  # refused before anything was audited or written

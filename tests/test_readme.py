"""README.md tells the truth: every command is documented, and the 'Try it' examples run verbatim."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from clustermax.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent


def _command_paths(command: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every leaf command of the CLI, as the words a user types after `clustermax`."""
    subcommands = getattr(command, "commands", None)
    if not subcommands:
        return [prefix]
    paths = []
    for name, sub in sorted(subcommands.items()):
        paths.extend(_command_paths(sub, (*prefix, name)))
    return paths


def test_every_command_is_in_the_readme() -> None:
    paths = _command_paths(typer.main.get_command(app))
    assert len(paths) >= 10
    missing = [" ".join(p) for p in paths if f"clustermax {' '.join(p)}" not in README]
    assert not missing, f"commands missing from README.md: {missing}"


def _try_it_lines() -> list[str]:
    section = README.split("## Try it", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line.startswith("clustermax ")]


def _git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return proc.stdout


def test_the_try_it_examples_run_verbatim_and_leave_git_status_clean(tmp_path: Path) -> None:
    """A newcomer's clone: the project's .gitignore, the data the examples read; after every example has
    run, `git status` shows nothing new (what they write goes where git ignores it)."""
    for name in ("tests", "rubrics", "examples"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / ".gitignore").write_text((ROOT / ".gitignore").read_text(encoding="utf-8"), encoding="utf-8")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "clone")
    assert _git(tmp_path, "status", "--porcelain", "--untracked-files=all") == ""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("GITHUB_STEP_SUMMARY", None)
    lines = _try_it_lines()
    assert len(lines) >= 8
    for line in lines:
        proc = subprocess.run(
            shlex.split(line), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        expected = 1 if "--fail-under" in line else 0  # the README says why this one exits 1
        assert proc.returncode == expected, f"{line}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        assert "Traceback" not in proc.stderr
    assert (tmp_path / "try-it" / "imported" / "bundle.json").is_file()
    html = (tmp_path / "try-it" / "imported" / "report.html").read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    assert (tmp_path / "try-it" / "textfile" / "clustermax.prom").read_text().startswith("# HELP clustermax_")
    assert (tmp_path / "try-it" / "history.sqlite").is_file()
    ignored = _git(tmp_path, "status", "--porcelain", "--untracked-files=all", "--ignored").splitlines()
    assert ignored and all(line.startswith("!! try-it/") for line in ignored), ignored  # written only there
    assert _git(tmp_path, "status", "--porcelain", "--untracked-files=all") == ""


@pytest.mark.parametrize(
    "path", ["docs/audit.md", "docs/scoring.md", "docs/reports.md", "docs/history.md", "LICENSE"]
)
def test_linked_documents_exist(path: str) -> None:
    assert (ROOT / path).is_file()
    assert path in README or path == "LICENSE"

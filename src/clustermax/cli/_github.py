"""``--github-summary``: append Markdown to the GitHub Actions step summary (``$GITHUB_STEP_SUMMARY``).

Only the standard library at module level; the file is opened append-only, never through a link, and must
be a regular file (clustermax.safeio.AppendLog).
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

SUMMARY_ENV = "GITHUB_STEP_SUMMARY"
MAX_SUMMARY_BYTES = 1024 * 1024
"""GitHub shows at most 1 MiB of one step's summary."""

HELP = (
    "Also append the Markdown report to the GitHub Actions step summary (the file "
    "$GITHUB_STEP_SUMMARY names)."
)


def require_step_summary() -> Path:
    """The file ``$GITHUB_STEP_SUMMARY`` names; UsageError (exit 2) when the variable is not set."""
    from ..errors import UsageError

    where = os.environ.get(SUMMARY_ENV, "")
    if not where:
        raise UsageError(
            f"--github-summary: {SUMMARY_ENV} is not set",
            hint=f"GitHub Actions sets it in every step; elsewhere name a file: {SUMMARY_ENV}=summary.md",
        )
    return Path(where)


def append_step_summary(markdown: str) -> Path:
    """Append ``markdown`` (and a blank line) to the file ``$GITHUB_STEP_SUMMARY`` names; return its path.

    UsageError (exit 2) when the variable is not set; OutputError when the summary would pass GitHub's
    1 MiB or the file cannot be written (nothing is appended then).
    """
    from ..errors import OutputError
    from ..safeio import AppendLog

    path = require_step_summary()
    data = (markdown.rstrip("\n") + "\n\n").encode("utf-8")
    try:
        before = path.stat().st_size if path.exists() else 0
    except OSError:
        before = 0
    if before + len(data) > MAX_SUMMARY_BYTES:
        raise OutputError(
            f"{path}: the step summary would be {before + len(data)} bytes; GitHub shows at most 1 MiB",
            hint="summarise fewer bundles, or attach the report as an artifact",
        )
    log = AppendLog(path, what="GitHub step summary", sync=False)
    try:
        log.append(data)
    finally:
        log.close()
    typer.echo(f"appended the summary to {path}", err=True)
    return path

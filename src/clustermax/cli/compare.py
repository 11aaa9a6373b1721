"""`clustermax compare`: a comparison of the bundles of several providers (`report --compare`).

Only typer and the standard library are imported at module level (keeps `clustermax --help` fast).
"""

from __future__ import annotations

from pathlib import Path

import typer

from ._help import command
from .report import (
    _ATTEST,
    _BUNDLES,
    _FORMAT,
    _GITHUB,
    _JUNIT_WARN,
    _OUT,
    _REDACT,
    _RUBRIC,
    _VERSIONS,
    JunitWarn,
    ReportFormat,
    _run,
)


def register(app: typer.Typer) -> None:
    """Add `compare` to the app."""

    @command(
        app,
        "compare",
        summary="Compare bundles of several providers side by side.",
        examples=(
            "clustermax compare audit-a audit-b --format html --out compare.html",
            "clustermax compare audit-a audit-b --format markdown --github-summary",
            "clustermax compare audit-a audit-b --format csv --out compare.csv",
        ),
    )
    def compare_command(
        bundles: list[Path] = _BUNDLES,
        fmt: ReportFormat = _FORMAT,
        out: Path | None = _OUT,
        redact: bool = _REDACT,
        rubric: Path | None = _RUBRIC,
        attestations: Path | None = _ATTEST,
        junit_warn: JunitWarn = _JUNIT_WARN,
        versions: Path | None = _VERSIONS,
        github_summary: bool = _GITHUB,
    ) -> None:
        """Compare bundles of several providers: leaderboard, categories, key metrics, busbw curves (the
        same as `clustermax report --compare`)."""
        _run(bundles, fmt, out, redact, rubric, attestations, True, junit_warn, versions, github_summary)

"""`clustermax report`: render saved bundles in any report format (`compare` shares it, cli/compare.py).

Only typer and the standard library are imported at module level (keeps `clustermax --help` fast);
scoring, pandas, jinja2 and pygal load inside the commands.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path

import typer

from . import _github
from ._help import command


class ReportFormat(str, Enum):
    terminal = "terminal"
    markdown = "markdown"
    html = "html"
    json = "json"
    csv = "csv"
    junit = "junit"
    prometheus = "prometheus"


class JunitWarn(str, Enum):
    failure = "failure"
    skipped = "skipped"


_BUNDLES = typer.Argument(
    ...,
    metavar="BUNDLE",
    help="Bundle files (bundle.json) or audit directories holding one.",
    show_default=False,
)
_FORMAT = typer.Option(
    ReportFormat.terminal,
    "--format",
    "-f",
    help="Output format (prometheus: text exposition for node_exporter's textfile collector).",
)
_OUT = typer.Option(
    None, "--out", "-o", metavar="FILE", help="Write to this file (atomically) instead of standard output."
)
_GITHUB = typer.Option(False, "--github-summary", help=_github.HELP)
_REDACT = typer.Option(
    False, "--redact", help="Replace host names, IP addresses and user names with stable pseudonyms."
)
_RUBRIC = typer.Option(
    None, "--rubric", metavar="FILE", help="Rubric YAML to score with (default: the built-in rubric)."
)
_ATTEST = typer.Option(
    None, "--attestations", metavar="FILE", help="Attestations YAML (verdicts for what cannot be measured)."
)
_VERSIONS = typer.Option(
    None,
    "--versions",
    metavar="FILE",
    help="Minimum-versions table to judge version floors with (default: the one the rubric names, else "
    "the shipped one). Never fetched: give a newer file.",
)
_JUNIT_WARN = typer.Option(
    JunitWarn.failure, "--junit-warn", help="JUnit: report 'warn' criteria as failures or as skipped tests."
)


def _run(
    bundles: list[Path],
    fmt: ReportFormat,
    out: Path | None,
    redact: bool,
    rubric_path: Path | None,
    attestations_path: Path | None,
    compare: bool,
    junit_warn: JunitWarn,
    versions_path: Path | None = None,
    github_summary: bool = False,
) -> None:
    from ..bundle.io import load_bundle
    from ..errors import UsageError
    from ..reports import build_report, render_report
    from ..scoring import load_attestations, load_rubric, score_bundle

    if not bundles:
        raise UsageError("no bundle given", hint="pass one or more bundle.json files or audit directories")
    rubric = load_rubric(rubric_path, versions_path)
    attestations = load_attestations(attestations_path) if attestations_path is not None else None
    items = []
    for path in bundles:
        bundle = load_bundle(path)
        items.append((bundle, score_bundle(bundle, rubric, attestations)))
    report = build_report(items, compare=compare, redact=redact)
    color = fmt is ReportFormat.terminal and out is None and sys.stdout.isatty()
    text = render_report(report, fmt.value, color=color, junit_warn=junit_warn.value)
    _emit(text, out)
    if github_summary:
        _github.append_step_summary(
            text if fmt is ReportFormat.markdown else render_report(report, "markdown")
        )


def _emit(text: str, out: Path | None) -> None:
    """``text`` to standard output, or atomically to ``out`` (its folder made when missing)."""
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from ..safeio import atomic_write, write_error

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise write_error(out.parent, err, "report folder") from err
    atomic_write(out, text, what="report")  # never a device or a link; a planted temp file is never opened
    typer.echo(f"wrote {out}", err=True)


REPORT_EXAMPLES = (
    "clustermax report audit1",
    "clustermax report audit1/bundle.json --format html --out report.html",
    "clustermax report audit1 audit2 --format markdown --redact",
    "clustermax report audit1 --format junit --out results.xml --junit-warn skipped",
    "clustermax report audit1 --format prometheus --out /var/lib/node_exporter/textfile/clustermax.prom",
    "clustermax report audit1 --format markdown --github-summary",
)


def register(app: typer.Typer) -> None:
    """Add `report` to the app."""

    @command(
        app,
        "report",
        summary="Render a report of one bundle, or compare several, in any format.",
        examples=REPORT_EXAMPLES,
    )
    def report_command(
        bundles: list[Path] = _BUNDLES,
        fmt: ReportFormat = _FORMAT,
        out: Path | None = _OUT,
        redact: bool = _REDACT,
        rubric: Path | None = _RUBRIC,
        attestations: Path | None = _ATTEST,
        compare: bool = typer.Option(
            False, "--compare", help="Compare the bundles (leaderboard, side by side)."
        ),
        junit_warn: JunitWarn = _JUNIT_WARN,
        versions: Path | None = _VERSIONS,
        github_summary: bool = _GITHUB,
    ) -> None:
        """Render a report of one bundle, or a comparison of several (leaderboard, side by side), in any
        format: terminal, Markdown, self-contained HTML, JSON, CSV, JUnit XML or Prometheus text."""
        many = compare or len(bundles) > 1
        _run(bundles, fmt, out, redact, rubric, attestations, many, junit_warn, versions, github_summary)

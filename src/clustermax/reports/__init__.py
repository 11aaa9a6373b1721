"""Reports: one renderer per format, each reading only the scored report model (:mod:`.model`).

Public API (used by the CLI and by the audit engine):

* :func:`render` — ``render(items, fmt, *, redact=False, compare=False, color=False, width=None,
  junit_warn="failure", redact_secret=None) -> str`` renders ``(bundle, score)`` pairs.
* :func:`render_report` — the same from an already built :class:`~.model.Report`.
* :func:`build_report` — ``(bundle, score)`` pairs to the report model (what ``--format json`` writes).
* :func:`write_audit_reports` — ``write_audit_reports(bundle, score, directory) -> list[Path]`` writes
  ``report.md`` and ``report.html`` next to ``bundle.json``.

Heavy libraries (pandas, jinja2, pygal, rich) are imported inside the functions that need them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..safeio import atomic_write
from .build import build_report

if TYPE_CHECKING:
    from ..models.bundle import Bundle
    from ..models.score import ScoreResult
    from .model import Report

Format = Literal["terminal", "markdown", "html", "json", "csv", "junit", "prometheus"]
FORMATS: tuple[str, ...] = ("terminal", "markdown", "html", "json", "csv", "junit", "prometheus")
EXTENSIONS = {
    "terminal": "txt",
    "markdown": "md",
    "html": "html",
    "json": "json",
    "csv": "csv",
    "junit": "xml",
    "prometheus": "prom",
}

__all__ = ["EXTENSIONS", "FORMATS", "build_report", "render", "render_report", "write_audit_reports"]


def render(
    items: Sequence[tuple[Bundle, ScoreResult]],
    fmt: str,
    *,
    redact: bool = False,
    compare: bool = False,
    color: bool = False,
    width: int | None = None,
    junit_warn: Literal["failure", "skipped"] = "failure",
    redact_secret: str | None = None,
) -> str:
    """Render (bundle, score) pairs in one format. Several pairs (or ``compare``) give a comparison."""
    report = build_report(items, compare=compare, redact=redact, redact_secret=redact_secret)
    return render_report(report, fmt, color=color, width=width, junit_warn=junit_warn)


def render_report(
    report: Report,
    fmt: str,
    *,
    color: bool = False,
    width: int | None = None,
    junit_warn: Literal["failure", "skipped"] = "failure",
) -> str:
    if fmt == "json":
        return report.model_dump_json(indent=2) + "\n"
    if fmt == "markdown":
        from .markdown import render_markdown

        return render_markdown(report)
    if fmt == "csv":
        from .csv_report import render_csv

        return render_csv(report)
    if fmt == "junit":
        from .junit import render_junit

        return render_junit(report, warn=junit_warn)
    if fmt == "terminal":
        from .terminal import render_terminal

        return render_terminal(report, color=color, width=width)
    if fmt == "html":
        from .html_report import render_html

        return render_html(report)
    if fmt == "prometheus":
        from .prometheus import render_prometheus

        return render_prometheus(report)
    raise ValueError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")


def write_audit_reports(bundle: Bundle, score: ScoreResult, directory: str | Path) -> list[Path]:
    """Write report.md and report.html into ``directory`` (next to bundle.json); return their paths.

    Each file is written to a fresh temporary file first and renamed (clustermax.safeio.atomic_write), so a
    reader never sees half a report and a file or link planted beside it is never followed.
    """
    report = build_report([(bundle, score)])
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, fmt in (("report.md", "markdown"), ("report.html", "html")):
        path = target / name
        written.append(atomic_write(path, render_report(report, fmt), what="report"))
    return written

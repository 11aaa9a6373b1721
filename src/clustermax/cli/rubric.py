"""`clustermax rubric validate|show`: check and show scoring rubrics.

Only typer and the standard library are imported at module level (keeps `clustermax --help` fast).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ._help import command, group


def register(app: typer.Typer) -> None:
    """Add the `rubric` group to the app."""
    app.add_typer(rubric_app)


_RUBRIC_FILE = typer.Argument(None, metavar="FILE", help="Rubric YAML (default: the built-in rubric).")
rubric_app = group(
    "rubric",
    summary="Check and show scoring rubrics.",
    help="Check and show scoring rubrics: tiers, categories, criteria and their thresholds.",
    examples=("clustermax rubric validate my-rubric.yaml", "clustermax rubric show"),
)

_RUBRIC_FILES = typer.Argument(..., metavar="FILE", help="Rubric YAML files to check.", show_default=False)
_VERSIONS = typer.Option(
    None,
    "--versions",
    metavar="FILE",
    help="Minimum-versions table to check the rubric's version floors against (the table itself is checked "
    "too; default: the one the rubric names, else the shipped one).",
)


@command(
    rubric_app,
    "validate",
    summary="Check rubric files: every problem with its file, line and fix.",
    examples=(
        "clustermax rubric validate my-rubric.yaml",
        "clustermax rubric validate my-rubric.yaml --versions minimum-versions.yaml",
    ),
)
def rubric_validate(files: list[Path] = _RUBRIC_FILES, versions: Path | None = _VERSIONS) -> None:
    """Check rubric files: every problem with its file, line and a hint; exit 2 when there is one."""
    from ..errors import ConfigError
    from ..scoring import check_rubric_file

    failed = 0
    for path in files:
        rubric, problems = check_rubric_file(path, versions_path=versions)
        if problems:
            failed += 1
            for problem in problems:
                typer.echo(problem.render())
        elif rubric is not None:
            typer.echo(f"{path}: ok ({rubric.id} {rubric.version}, {len(rubric.criteria)} criteria)")
    if failed:
        raise ConfigError(
            files[0] if len(files) == 1 else f"{failed} rubric file(s)", None, "rubric validation failed"
        )


@command(
    rubric_app,
    "show",
    summary="Print a rubric as tables: tiers, categories, criteria.",
    examples=("clustermax rubric show", "clustermax rubric show my-rubric.yaml"),
)
def rubric_show(
    file: Path | None = _RUBRIC_FILE,
) -> None:
    """Print a rubric as readable tables: tiers, categories, criteria and thresholds."""
    from ..scoring import load_rubric
    from ..scoring.render import rubric_table

    sys.stdout.write(rubric_table(load_rubric(file)))

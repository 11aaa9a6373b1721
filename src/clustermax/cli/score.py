"""`clustermax score`: offline scoring of saved bundles.

Only typer and the standard library are imported at module level (keeps `clustermax --help` fast);
the scoring package (pydantic, yaml, rich) loads inside the command.

Exit codes: 0 ok, 1 a bundle is not proven at --fail-under (not rated, or its floor is below it), 2 usage
or configuration error (bad rubric, bundle, attestations, unknown criterion), 4 unexpected error.
"""

from __future__ import annotations

import sys
import typing
from enum import Enum
from pathlib import Path

import typer

from . import _github
from ._help import command

SCORE_EXAMPLES = (
    "clustermax score audit1",
    "clustermax score audit1 --advise",
    "clustermax score audit1 --explain nccl-intra-busbw",
    "clustermax score audit1 audit2 --format json --fail-under silver",
    "clustermax score audit2 --baseline audit1",
    "clustermax score audit1 --attestations attestations.yaml --history",
    "clustermax score audit1 --format prometheus --out /var/lib/node_exporter/textfile/clustermax.prom",
    "clustermax score audit1 --fail-under bronze --github-summary",
)


def register(app: typer.Typer) -> None:
    """Add `score` to the app."""
    command(
        app,
        "score",
        summary="Score saved bundles: tier, range, reasons, advice, every verdict.",
        examples=SCORE_EXAMPLES,
    )(score)


class ScoreFormat(str, Enum):
    terminal = "terminal"
    table = "table"  # the old name of terminal, kept as an alias
    json = "json"
    markdown = "markdown"
    prometheus = "prometheus"


class TierName(str, Enum):
    platinum = "platinum"
    gold = "gold"
    silver = "silver"
    bronze = "bronze"
    underperforming = "underperforming"


_BUNDLES = typer.Argument(
    ...,
    metavar="BUNDLE",
    help="Bundle files (bundle.json) or the directories holding them.",
    show_default=False,
)
_RUBRIC = typer.Option(
    None, "--rubric", metavar="FILE", help="Rubric YAML (default: the built-in clustermax-v1 rubric)."
)
_ATTEST = typer.Option(
    None, "--attestations", metavar="FILE", help="Attestations YAML for what no probe can measure."
)
_VERSIONS = typer.Option(
    None,
    "--versions",
    metavar="FILE",
    help="Minimum-versions table to judge version floors with (default: the one the rubric names, else "
    "the shipped rubrics/minimum-versions.yaml). Never fetched: give a newer file.",
)
_REPARSE = typer.Option(
    False, "--reparse", help="Re-derive measurements from the raw outputs with today's parsers."
)
_FAIL_UNDER = typer.Option(
    None,
    "--fail-under",
    metavar="TIER",
    help="Exit 1 unless every bundle is rated with its floor at or above this tier: the tier must be "
    "proven by the evidence (what was not measured counts as failed). A not-rated bundle fails any "
    "--fail-under, underperforming included.",
)
_ADVISE = typer.Option(
    False,
    "--advise",
    help="Print only the tier-gap advice: the fewest actions (measure, fix, attest) that lift the floor "
    "to the next tier.",
)
_FORMAT = typer.Option(
    ScoreFormat.terminal,
    "--format",
    "-f",
    help="Output format (terminal: what `report --format terminal` prints; table: the same; json: a list, "
    "one per bundle; prometheus: text exposition for node_exporter's textfile collector, every bundle's "
    "samples).",
)
_OUT = typer.Option(
    None, "--out", "-o", metavar="FILE", help="Write to this file (atomically) instead of standard output."
)
_HISTORY = typer.Option(
    False, "--history", help="Also store each bundle and its score in the history database."
)
_DB = typer.Option(
    None, "--db", metavar="DB", envvar="CLUSTERMAX_DB", help="History database (see `clustermax history`)."
)
_BASELINE = typer.Option(
    None,
    "--baseline",
    metavar="OLD|latest",
    help="Exit 1 when a criterion got worse, or a key metric regressed beyond its run-to-run spread, against "
    "this older bundle (or 'latest': the newest other audit of the cluster in the history database).",
)
_EXPLAIN = typer.Option(
    None,
    "--explain",
    metavar="CRITERION",
    help="Show how one criterion's verdict was reached, and nothing else.",
)


def score(
    bundles: list[Path] = _BUNDLES,
    rubric: Path | None = _RUBRIC,
    attestations: Path | None = _ATTEST,
    versions: Path | None = _VERSIONS,
    reparse: bool = _REPARSE,
    fail_under: TierName | None = _FAIL_UNDER,
    fmt: ScoreFormat = _FORMAT,
    out: Path | None = _OUT,
    explain: str | None = _EXPLAIN,
    advise: bool = _ADVISE,
    history: bool = _HISTORY,
    db: str | None = _DB,
    baseline: str | None = _BASELINE,
    github_summary: bool = typer.Option(
        False,
        "--github-summary",
        help="Also append each bundle's verdict and criteria (Markdown) to the GitHub Actions step summary "
        "(the file $GITHUB_STEP_SUMMARY names).",
    ),
) -> None:
    """Score saved bundles against a rubric: the tier the evidence decides (or not rated), its floor and
    ceiling, why, what would lift it, the score, the coverage and every verdict."""
    from ..bundle.io import load_bundle
    from ..errors import UsageError
    from ..models.score import Tier
    from ..sanitize import term
    from ..scoring import evaluate, load_attestations, load_rubric, render

    rub = load_rubric(rubric, versions)
    att = load_attestations(attestations) if attestations is not None else None
    if att is not None:
        read = {c.attestation for c in rub.criteria if c.attestation}
        unused = sorted(set(att.attestations) - read)
        if unused:
            typer.echo(f"warning: the rubric reads no attestation named {term(', '.join(unused))}", err=True)
    if explain is not None and advise:
        raise UsageError("--explain and --advise print different things; give one of them")
    if advise and fmt is ScoreFormat.prometheus:
        raise UsageError(
            "--advise prints text or JSON, not Prometheus samples", hint="drop --format prometheus"
        )
    if explain is not None and rub.criterion(explain) is None:
        import difflib

        close = difflib.get_close_matches(explain, [c.id for c in rub.criteria], n=1)
        raise UsageError(
            f"rubric {rub.id} has no criterion {explain!r}",
            hint=f"did you mean {close[0]!r}?" if close else "`clustermax rubric show` lists the criteria",
        )

    loaded = [load_bundle(path) for path in bundles]
    if reparse:
        from ..bundle.reparse import reparse_bundle

        loaded = [reparse_bundle(b) for b in loaded]

    results = []
    chunks: list[str] = []
    for bundle in loaded:
        if att is not None and att.cluster and att.cluster != bundle.target.cluster:
            typer.echo(
                f"warning: attestations are for {att.cluster!r}, the bundle for {bundle.target.cluster!r}",
                err=True,
            )
        result, traces = evaluate(bundle, rub, att, tracing=explain is not None)
        results.append(result)
        if explain is not None:
            trace = next(t for t in traces if t.criterion.id == explain)
            chunks.append(render.explain_text(trace, bundle.target.cluster))
        elif advise and fmt is not ScoreFormat.json:
            chunks.append(render.advice_text(result))
        elif fmt in (ScoreFormat.terminal, ScoreFormat.table):
            from ..reports import build_report, render_report

            report = build_report([(bundle, result)])
            chunks.append(render_report(report, "terminal", color=out is None and sys.stdout.isatty()))
        elif fmt is ScoreFormat.markdown:
            chunks.append(render.score_markdown(result))
    if explain is None and fmt is ScoreFormat.json:
        chunks = [render.advice_json(results) if advise else render.scores_json(results)]
    if explain is None and not advise and fmt is ScoreFormat.prometheus:
        from ..reports import build_report, render_report

        exposition = build_report(list(zip(loaded, results, strict=True)))
        chunks = [render_report(exposition, "prometheus")]
    from .report import _emit

    _emit("\n".join(chunks), out)
    if github_summary:
        _github.append_step_summary("\n".join(render.score_markdown(r) for r in results))

    if history:
        from .history import record

        record(db, list(zip(bundles, loaded, results, strict=True)))
    if baseline is not None:
        from .history import baseline_gate

        baseline_gate(baseline, list(zip(bundles, loaded, results, strict=True)), rub, db)
    if fail_under is not None:
        raise_below(results, Tier(fail_under.value))


def raise_below(results: list[typing.Any], floor: typing.Any) -> None:
    """BelowTierError (exit 1) naming every result not proven at ``floor`` (not rated, or a lower floor)."""
    from ..errors import BelowTierError
    from ..sanitize import term
    from ..scoring import tier_at_least

    below = [r for r in results if not tier_at_least(r.tier, floor)]
    if below:
        names = ", ".join(
            f"{term(r.cluster, 200)} ("
            + ("not rated, " if not r.rated else "")
            + f"floor {r.tier_floor.value}, ceiling {r.tier_ceiling.value})"
            for r in below
        )
        raise BelowTierError(f"not proven {floor.value}: {names}")

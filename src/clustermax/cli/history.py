"""`clustermax history add|list|show|diff|export`, and the helpers `audit --history`, `score --history`
and `score --baseline` call.

Only typer and the standard library at module level (``clustermax --help`` stays fast): the diff, the
database layer (SQLAlchemy, Alembic) and the renderers load inside the commands.

Exit codes: 0 ok, 1 `score --baseline`: a criterion got worse or a key metric regressed, 2 usage error or a
database that is missing, locked too long, from a newer clustermax or unreachable (one line; a bundle on
disk is never touched), 4 unexpected error.
"""

from __future__ import annotations

import sys
import typing
from enum import Enum
from pathlib import Path

import typer

from ..errors import BelowTierError
from ._help import command, group
from .diff import _DIFF_FORMAT, _OUT, DiffFormat, _render_diff, _write


class ListFormat(str, Enum):
    terminal = "terminal"
    markdown = "markdown"
    json = "json"


class RegressionError(BelowTierError):
    """`score --baseline`: the new audit regressed against the baseline (exit 1)."""


DB_HELP = (
    "History database: a file path (SQLite) or postgresql://USER@HOST/DB (default: "
    "$XDG_DATA_HOME/clustermax/history.sqlite, or $CLUSTERMAX_DB)."
)
_DB = typer.Option(None, "--db", metavar="DB", envvar="CLUSTERMAX_DB", help=DB_HELP, show_default=False)
_RUBRIC = typer.Option(
    None, "--rubric", metavar="FILE", help="Rubric YAML (default: the built-in clustermax-v1 rubric)."
)
_BUNDLES = typer.Argument(
    ..., metavar="BUNDLE", help="Bundles (bundle.json or directories).", show_default=False
)
_CLUSTER_ARG = typer.Argument(..., metavar="CLUSTER", help="Cluster name.", show_default=False)
_CLUSTER = typer.Option(None, "--cluster", metavar="NAME", help="Only this cluster.")
_PROVIDER = typer.Option(None, "--provider", metavar="NAME", help="Only this provider.")
_LIMIT = typer.Option(50, "--limit", metavar="N", min=1, help="Show the newest N audits.")
_LIST_FORMAT = typer.Option(ListFormat.terminal, "--format", "-f", help="Output format.")
_SHOW_FORMAT = typer.Option(
    DiffFormat.terminal, "--format", "-f", help="Output format (html: with a trend chart)."
)
_REF = typer.Argument(
    ..., metavar="ID", help="Audit id or sha256 prefix (`history list`).", show_default=False
)
_EXPORT_OUT = typer.Option(
    None,
    "--out",
    "-o",
    metavar="FILE",
    help="File to write, or a folder to write bundle.json into (default: stdout).",
)


# ------------------------------------------------------------------------------------------- history

history_app = group(
    "history",
    summary="Keep every audit in a database and compare over time.",
    help="Keep every audit in a database (SQLite by default, PostgreSQL for teams) and compare over time.",
    examples=(
        "clustermax history add audit1 audit2",
        "clustermax history list --cluster h100-a",
        "clustermax history show h100-a --format html --out trend.html",
        "clustermax history add audit1 --db postgresql://ci@db.example.com/clustermax",
    ),
)


def _read_bundle(path: Path) -> tuple[bytes, typing.Any]:
    from ..bundle.io import bundle_path, load_bundle
    from ..safeio import max_bundle_bytes, read_bytes

    bundle = load_bundle(path)  # validates, with its clear errors (exit 2)
    raw = read_bytes(bundle_path(path), what="bundle", limit=max_bundle_bytes())
    return raw, bundle


def store(db: typing.Any, raw: bytes, bundle: typing.Any, score: typing.Any, where: Path) -> None:
    """Add one scored bundle to ``db`` and say so on stderr (one line)."""
    from ..sanitize import term

    added = db.add(raw, bundle, score)
    state = "added" if added.new else "already stored"
    typer.echo(
        f"history: {state} audit {added.id} of {term(bundle.target.cluster, 200)} "
        f"({added.sha256[:12]}) from {where} to {db.target.display}",
        err=True,
    )


def open_db(db: str | None, *, create: bool, bundle: Path | None = None) -> typing.Any:
    """Open the database; a failure names the bundle that stays on disk and how to add it later."""
    from ..history import HistoryDB, HistoryError

    try:
        return HistoryDB.open(db, create=create)
    except HistoryError as err:
        if bundle is not None:
            err.hint = (
                f"the bundle is safe at {bundle}; add it later with: clustermax history add {bundle}"
                + (f" ({err.hint})" if err.hint else "")
            )
        raise


def record(db_url: str | None, items: list[tuple[Path, typing.Any, typing.Any]]) -> None:
    """`score --history` / `audit --history`: add each (path, bundle, score); a database failure is one line
    and exit 2, naming the bundle, which stays on disk."""
    from ..bundle.io import bundle_path
    from ..history import HistoryError
    from ..safeio import max_bundle_bytes, read_bytes

    first = items[0][0] if items else None
    db = open_db(db_url, create=True, bundle=first)
    try:
        for path, bundle, score in items:
            raw = read_bytes(bundle_path(path), what="bundle", limit=max_bundle_bytes())
            try:
                store(db, raw, bundle, score, bundle_path(path))
            except HistoryError as err:
                where = bundle_path(path)
                err.hint = f"the bundle is safe at {where}; add it later with: clustermax history add {path}"
                raise
    finally:
        db.close()


@command(
    history_app,
    "add",
    summary="Store bundles (each once, by its sha256) with their scores.",
    examples=("clustermax history add audit1 audit2", "clustermax history add audit1 --db history.sqlite"),
)
def history_add(
    bundles: list[Path] = _BUNDLES,
    db: str | None = _DB,
    rubric: Path | None = _RUBRIC,
) -> None:
    """Store bundles (each once, by its sha256), scored with the rubric, with their key metrics."""
    from ..scoring import load_rubric, score_bundle

    rub = load_rubric(rubric)
    loaded = [(path, *_read_bundle(path)) for path in bundles]  # every bundle checked before the database
    database = open_db(db, create=True)
    try:
        for path, raw, bundle in loaded:
            store(database, raw, bundle, score_bundle(bundle, rub), path)
    finally:
        database.close()


@command(
    history_app,
    "list",
    summary="The stored audits, newest first.",
    examples=(
        "clustermax history list",
        "clustermax history list --cluster h100-a --limit 10",
        "clustermax history list --provider Acme --format json",
    ),
)
def history_list(
    db: str | None = _DB,
    cluster: str | None = _CLUSTER,
    provider: str | None = _PROVIDER,
    limit: int = _LIMIT,
    fmt: ListFormat = _LIST_FORMAT,
) -> None:
    """The stored audits, newest first: id, time, cluster, provider, tier range, score, coverage, sha256."""
    from ..history import render

    with open_db(db, create=False) as database:
        rows = database.audits(cluster=cluster, provider=provider, limit=limit)
        total = database.count(cluster=cluster, provider=provider)
    if fmt is ListFormat.json:
        sys.stdout.write(render.as_json(rows))
        return
    body = render.list_rows(rows)
    text = (render.markdown_table if fmt is ListFormat.markdown else render.table)(render.LIST_HEADER, body)
    more = f"{total - len(rows)} older not shown (--limit)" if total > len(rows) else ""
    sys.stdout.write(text + (f"{len(rows)} of {total} audit(s); {more}\n" if more else f"{total} audit(s)\n"))


@command(
    history_app,
    "show",
    summary="One cluster over time: tier range, score and key metrics.",
    examples=(
        "clustermax history show h100-a",
        "clustermax history show h100-a --format html --out trend.html",
    ),
)
def history_show(
    cluster: str = _CLUSTER_ARG,
    db: str | None = _DB,
    fmt: DiffFormat = _SHOW_FORMAT,
    out: Path | None = _OUT,
) -> None:
    """One cluster over time: tier range, score, coverage and key metrics of every stored audit, oldest
    first (HTML: with a trend chart)."""
    from ..history import render
    from ..sanitize import term

    with open_db(db, create=False) as database:
        rows = database.audits(cluster=cluster, ascending=True)
        if not rows:
            from ..history import HistoryError

            raise HistoryError(
                f"no audit of {term(cluster, 200)} in {database.target.display}",
                hint="`clustermax history list` shows the clusters",
            )
        metrics = database.metrics_of([r["id"] for r in rows])
        where = database.target.display
    if fmt is DiffFormat.json:
        text = render.as_json(rows, metrics)
    elif fmt is DiffFormat.html:
        text = render.show_html(cluster, where, rows, metrics)
    else:
        body = render.show_rows(rows, metrics)
        table = render.markdown_table if fmt is DiffFormat.markdown else render.table
        text = f"{term(cluster, 200)}: {len(rows)} audit(s)\n" + table(render.SHOW_HEADER, body)
    _write(text, out)


@command(
    history_app,
    "diff",
    summary="The newest stored audit of a cluster against the one before.",
    examples=("clustermax history diff h100-a", "clustermax history diff h100-a --format markdown"),
)
def history_diff(
    cluster: str = _CLUSTER_ARG,
    db: str | None = _DB,
    rubric: Path | None = _RUBRIC,
    fmt: DiffFormat = _DIFF_FORMAT,
    out: Path | None = _OUT,
) -> None:
    """The newest stored audit of a cluster against the one before it (as `clustermax diff`)."""
    from ..diff import diff_bundles
    from ..history import HistoryError
    from ..sanitize import term
    from ..scoring import load_rubric

    rub = load_rubric(rubric)
    with open_db(db, create=False) as database:
        ids = database.latest_ids(cluster, 2)
        if len(ids) < 2:
            raise HistoryError(
                f"{term(cluster, 200)} has {len(ids)} stored audit(s); a diff needs two",
                hint="`clustermax history list --cluster NAME`",
            )
        new, old = (_stored_bundle(database, i) for i in ids)
    _write(_render_diff(diff_bundles(old, new, rub), fmt), out)


def _stored_bundle(database: typing.Any, bundle_id: int) -> typing.Any:
    from ..models import Bundle
    from ..safeio import parse_json

    raw = database.raw(bundle_id)
    try:
        return Bundle.model_validate_json(raw)
    except ValueError:
        return Bundle.model_validate(parse_json(raw, f"history audit {bundle_id}", what="bundle"))


@command(
    history_app,
    "export",
    summary="Write a stored bundle back out, byte for byte.",
    examples=("clustermax history export 12 --out audit12", "clustermax history export 3f2a9c > bundle.json"),
)
def history_export(
    ref: str = _REF,
    db: str | None = _DB,
    out: Path | None = _EXPORT_OUT,
) -> None:
    """Write a stored bundle back out, byte for byte as it was added."""
    with open_db(db, create=False) as database:
        found = database.find(ref)
        raw = database.raw(found["id"])
    if out is None:
        sys.stdout.buffer.write(raw)
        sys.stdout.flush()
        return
    from ..safeio import atomic_write

    if out.is_dir():
        out = out / "bundle.json"
    atomic_write(out, raw)
    typer.echo(f"wrote {out} (audit {found['id']}, sha256 {found['sha256'][:12]})", err=True)


# ------------------------------------------------------------------------------------------- baseline


def baseline_gate(
    baseline: str, items: list[tuple[Path, typing.Any, typing.Any]], rubric: typing.Any, db_url: str | None
) -> None:
    """`score --baseline OLD|latest`: RegressionError (exit 1) naming every criterion that got worse and every
    key metric that regressed beyond its spread, for each bundle; unknown (no longer measured) is listed,
    never failed."""
    from ..bundle.io import load_bundle
    from ..diff import diff
    from ..sanitize import term
    from ..scoring import score_bundle

    failures: list[str] = []
    for path, bundle, score in items:
        if baseline == "latest":
            with open_db(db_url, create=False, bundle=path) as database:
                ids = database.latest_ids(bundle.target.cluster, 1, exclude_sha=score.bundle_sha256)
                if not ids:
                    from ..history import HistoryError

                    raise HistoryError(
                        f"--baseline latest: no other audit of {term(bundle.target.cluster, 200)} in "
                        f"{database.target.display}",
                        hint="store one first (clustermax history add, or score --history)",
                    )
                old = _stored_bundle(database, ids[0])
                label = f"audit {ids[0]} in {database.target.display}"
        else:
            old = load_bundle(baseline)
            label = baseline
        result = diff(old, bundle, score_bundle(old, rubric), score, rubric.criteria)
        for w in result.warnings:
            typer.echo(f"warning: {term(w)}", err=True)
        for lost in result.evidence_lost:
            typer.echo(f"baseline: no longer measured (not failed): {term(lost, 600)}", err=True)
        if result.regressions:
            typer.echo(f"baseline: {path} regressed against {label}:", err=True)
            for reason in result.regressions:
                typer.echo(f"  - {term(reason, 800)}", err=True)
            failures.append(f"{path} ({len(result.regressions)} regression(s))")
        else:
            typer.echo(f"baseline: {path}: no regression against {label}", err=True)
    if failures:
        raise RegressionError("regressed against the baseline: " + ", ".join(failures))


def register(app: typer.Typer) -> None:
    """Add `history` to the app."""
    app.add_typer(history_app)

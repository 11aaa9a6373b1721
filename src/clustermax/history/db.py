"""The history database: SQLite by default (a file in the user's data directory), PostgreSQL for teams.

One URL option names it (``--db PATH`` or ``--db postgresql://user@host/db``, or ``CLUSTERMAX_DB``); the
schema is migrated forward automatically (Alembic, under the database's write lock, so concurrent first
uses migrate once). Every bundle is stored once, by its evidence sha256 (``ScoreResult.bundle_sha256``),
with its raw bytes compressed, its scores (one per rubric) and its key metrics.

Concurrency: on SQLite every write is one ``BEGIN IMMEDIATE`` transaction in WAL mode (writers queue on the
file lock for up to ``CLUSTERMAX_DB_TIMEOUT`` seconds, 30 by default; readers never wait); on PostgreSQL
inserts are ``ON CONFLICT DO NOTHING`` on the sha256, and migrations take an advisory lock. Either way two
processes adding the same bundle at once store it once.

Every failure is a :class:`HistoryError` (exit 2) with one line: a missing database, one locked for longer
than the timeout, one from a newer clustermax, one that cannot be reached; a URL's password is never shown
(``***``). SQLAlchemy is imported here, never at the CLI's module level.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url

from ..errors import UsageError
from ..models.bundle import Bundle
from ..models.score import ScoreResult
from . import schema
from .summary import key_metric_rows, pack, unpack

DEFAULT_TIMEOUT_S = 30.0
_PG_LOCK_KEY = 0x636D7868  # 'cmxh': the advisory lock migrations take on PostgreSQL
_PG_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


class HistoryError(UsageError):
    """The history database cannot be used (exit 2); the message names it without a password."""


def default_path() -> Path:
    """``$XDG_DATA_HOME/clustermax/history.sqlite`` (``~/.local/share/clustermax/history.sqlite``)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "clustermax" / "history.sqlite"


def timeout_s() -> float:
    raw = os.environ.get("CLUSTERMAX_DB_TIMEOUT", "")
    try:
        value = float(raw)
    except ValueError:
        return DEFAULT_TIMEOUT_S
    return value if value > 0 else DEFAULT_TIMEOUT_S


@dataclass(frozen=True)
class Target:
    """Where the database is: an SQLAlchemy URL, how to name it to a person, the SQLite file if any."""

    url: URL
    display: str
    path: Path | None
    default: bool

    @property
    def postgres(self) -> bool:
        return self.path is None


def redact(text: str, url: URL | None) -> str:
    """``text`` with the URL's password (and any 'password=...' fragment) replaced by ***."""
    if url is not None and url.password:
        text = text.replace(str(url.password), "***")
    return re.sub(r"(password\s*=\s*)\S+", r"\1***", text, flags=re.IGNORECASE)


def resolve(db: str | None) -> Target:
    """The database ``--db`` names: a postgresql:// URL, an sqlite:/// URL, a path, or the default file."""
    if db is None or db == "":
        path = default_path()
        return Target(make_url(f"sqlite:///{path}"), str(path), path, default=True)
    scheme = db.split("://", 1)[0].lower() if "://" in db else ""
    if scheme in _PG_SCHEMES:
        try:
            url = make_url(db).set(drivername="postgresql+psycopg")
        except Exception:
            raise HistoryError(
                f"--db: not a valid PostgreSQL URL: {redact(db, None)}",
                hint="postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE",
            ) from None
        shown = url.render_as_string(hide_password=True).replace("postgresql+psycopg://", "postgresql://", 1)
        return Target(url, shown, None, default=False)
    if scheme == "sqlite":
        url = make_url(db)
        if not url.database:
            raise HistoryError("--db: an sqlite:/// URL needs a file path")
        path = Path(url.database)
        return Target(make_url(f"sqlite:///{path}"), str(path), path, default=False)
    if scheme:
        raise HistoryError(
            f"--db: unsupported database {scheme}://", hint="give a file path or postgresql://..."
        )
    path = Path(db).expanduser()
    return Target(make_url(f"sqlite:///{path}"), str(path), path, default=False)


@dataclass(frozen=True)
class Added:
    id: int
    new: bool
    """False when the bundle was already stored (by its sha256)."""
    sha256: str


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


class HistoryDB:
    """An open history database. Use :meth:`open`; every method raises :class:`HistoryError` on failure."""

    def __init__(self, target: Target, engine: Engine) -> None:
        self.target = target
        self.engine = engine

    # ------------------------------------------------------------------ opening and errors
    @classmethod
    def open(cls, db: str | None, *, create: bool) -> HistoryDB:
        """Open (and migrate) the database ``db`` names. ``create``: a missing SQLite file is created;
        otherwise it is an error (reading commands)."""
        target = resolve(db)
        if target.path is not None:
            if not target.path.exists():
                if not create:
                    raise HistoryError(
                        f"no history database at {target.display}",
                        hint="add audits with `clustermax history add BUNDLE...` (or audit/score --history), "
                        "or name the database with --db",
                    )
                if target.default:
                    target.path.parent.mkdir(parents=True, exist_ok=True)
                elif not target.path.parent.is_dir():
                    raise HistoryError(
                        f"cannot create the history database {target.display}: "
                        f"{target.path.parent} is not a directory"
                    )
            elif not target.path.is_file():
                raise HistoryError(f"the history database {target.display} is not a regular file")
        engine = _engine(target)
        self = cls(target, engine)
        with self.errors():
            self._migrate()
        return self

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> HistoryDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        """Turn a database failure into one HistoryError line."""
        try:
            yield
        except HistoryError:
            raise
        except sa.exc.SQLAlchemyError as err:
            raise self._translate(err) from None

    def _translate(self, err: sa.exc.SQLAlchemyError) -> HistoryError:
        orig = getattr(err, "orig", None)
        detail = str(orig if orig is not None else err).strip().splitlines()
        first = redact(detail[0] if detail else type(err).__name__, self.target.url)
        low = first.lower()
        name = self.target.display
        if "database is locked" in low or "lock timeout" in low or "canceling statement due to lock" in low:
            return HistoryError(
                f"the history database {name} stayed locked by another process for more than "
                f"{timeout_s():g} s",
                hint="try again when the other clustermax is done, or raise CLUSTERMAX_DB_TIMEOUT",
            )
        if "file is not a database" in low or "malformed" in low:
            return HistoryError(f"{name} is not a clustermax history database (SQLite says: {first})")
        if self.target.postgres and isinstance(err, (sa.exc.OperationalError, sa.exc.InterfaceError)):
            return HistoryError(
                f"cannot reach the history database {name}: {first}",
                hint="check the URL, that the server runs and that the user may connect",
            )
        if "unable to open database file" in low:
            return HistoryError(f"cannot open the history database {name}: {first}")
        return HistoryError(f"history database {name}: {first}")

    # ------------------------------------------------------------------ schema
    def _current(self, conn: Connection) -> str | None:
        inspector = sa.inspect(conn)
        if not inspector.has_table("alembic_version"):
            if inspector.has_table("bundles"):
                raise HistoryError(
                    f"{self.target.display} has clustermax tables but no schema version",
                    hint="it was not made by clustermax; give another --db",
                )
            return None
        rows = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
        if len(rows) != 1:
            raise HistoryError(f"{self.target.display}: the schema version table holds {len(rows)} rows")
        return str(rows[0])

    def _check_known(self, current: str | None) -> None:
        if current is not None and current not in schema.KNOWN_REVISIONS:
            raise HistoryError(
                f"the history database {self.target.display} has schema revision {current}, newer than this "
                f"clustermax knows (it knows up to {schema.HEAD})",
                hint="upgrade clustermax (pip install -U clustermax) to use it",
            )

    def _migrate(self) -> None:
        with self.engine.connect() as conn:  # cheap check first: at the head, nothing to lock or import
            current = self._current(conn)
            conn.rollback()
        self._check_known(current)
        if current == schema.HEAD:
            return
        with self.engine.connect() as raw:
            conn = raw.execution_options(cmx_write=True)
            with conn.begin():  # the write lock: one process migrates, the others wait and find it done
                if self.target.postgres:
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
                current = self._current(conn)
                self._check_known(current)
                if current != schema.HEAD:
                    upgrade(conn)

    def revision(self) -> str | None:
        with self.errors(), self.engine.connect() as conn:
            return self._current(conn)

    # ------------------------------------------------------------------ writing
    def add(self, raw: bytes, bundle: Bundle, score: ScoreResult) -> Added:
        """Store ``bundle`` (file bytes ``raw``) once, with ``score`` (once per rubric) and key metrics."""
        sha = score.bundle_sha256
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        with self.errors(), self.engine.connect() as raw_conn:
            conn = raw_conn.execution_options(cmx_write=True)
            with conn.begin():
                bundle_id = conn.execute(
                    sa.select(schema.bundles.c.id).where(schema.bundles.c.sha256 == sha)
                ).scalar()
                new = False
                if bundle_id is None:
                    values = {
                        "sha256": sha,
                        "cluster": bundle.target.cluster,
                        "provider": bundle.target.provider,
                        "kind": bundle.kind,
                        "started_at": _utc(bundle.started_at),
                        "ended_at": _utc(bundle.ended_at),
                        "complete": bundle.complete,
                        "hosts": sum(1 for h in bundle.hosts if h.name != "cluster"),
                        "tool_version": bundle.origin.tool_version,
                        "raw": pack(raw),
                        "raw_size": len(raw),
                        "raw_sha256": hashlib.sha256(raw).hexdigest(),
                        "added_at": now,
                    }
                    stmt = self._insert(schema.bundles).values(**values)
                    stmt = stmt.on_conflict_do_nothing(index_elements=["sha256"]).returning(
                        schema.bundles.c.id
                    )
                    bundle_id = conn.execute(stmt).scalar()
                    if bundle_id is None:  # another writer stored it between our select and insert
                        bundle_id = conn.execute(
                            sa.select(schema.bundles.c.id).where(schema.bundles.c.sha256 == sha)
                        ).scalar_one()
                    else:
                        new = True
                        rows = key_metric_rows(bundle)
                        if rows:
                            conn.execute(
                                sa.insert(schema.metrics), [{"bundle_id": bundle_id, **r} for r in rows]
                            )
                score_values = {
                    "bundle_id": bundle_id,
                    "rubric_id": score.rubric.id,
                    "rubric_version": score.rubric.version,
                    "rubric_sha256": score.rubric.sha256,
                    "tier": score.tier.value if score.tier else None,
                    "rated": score.rated,
                    "not_rated_reason": score.not_rated_reason,
                    "tier_floor": score.tier_floor.value,
                    "tier_ceiling": score.tier_ceiling.value,
                    "score": score.score,
                    "score_floor": score.score_floor,
                    "score_ceiling": score.score_ceiling,
                    "coverage": score.coverage,
                    "summary": score.summary,
                }
                conn.execute(
                    self._insert(schema.scores)
                    .values(**score_values)
                    .on_conflict_do_nothing(index_elements=["bundle_id", "rubric_sha256"])
                )
        return Added(int(bundle_id), new, sha)

    def _insert(self, table: sa.Table) -> Any:
        if self.target.postgres:
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table)
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)

    # ------------------------------------------------------------------ reading
    def _latest_score(self) -> Any:
        s2 = schema.scores.alias("s2")
        newest = (
            sa.select(sa.func.max(s2.c.id)).where(s2.c.bundle_id == schema.bundles.c.id).scalar_subquery()
        )
        return schema.scores.c.id == newest

    def audits(
        self,
        *,
        cluster: str | None = None,
        provider: str | None = None,
        limit: int | None = None,
        ascending: bool = False,
    ) -> list[dict[str, Any]]:
        """Stored audits with their newest score, newest first (``ascending``: oldest first)."""
        b, s = schema.bundles, schema.scores
        query = sa.select(
            b.c.id,
            b.c.sha256,
            b.c.cluster,
            b.c.provider,
            b.c.kind,
            b.c.started_at,
            b.c.complete,
            b.c.hosts,
            s.c.rubric_id,
            s.c.rubric_version,
            s.c.tier,
            s.c.rated,
            s.c.tier_floor,
            s.c.tier_ceiling,
            s.c.score,
            s.c.coverage,
            s.c.summary,
        ).select_from(b.outerjoin(s, sa.and_(s.c.bundle_id == b.c.id, self._latest_score())))
        if cluster is not None:
            query = query.where(b.c.cluster == cluster)
        if provider is not None:
            query = query.where(b.c.provider == provider)
        order = (b.c.started_at.asc(), b.c.id.asc()) if ascending else (b.c.started_at.desc(), b.c.id.desc())
        query = query.order_by(*order)
        if limit is not None:
            query = query.limit(limit)
        with self.errors(), self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def count(self, *, cluster: str | None = None, provider: str | None = None) -> int:
        b = schema.bundles
        query = sa.select(sa.func.count()).select_from(b)
        if cluster is not None:
            query = query.where(b.c.cluster == cluster)
        if provider is not None:
            query = query.where(b.c.provider == provider)
        with self.errors(), self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def metrics_of(self, bundle_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
        """Key metric rows per bundle id."""
        out: dict[int, list[dict[str, Any]]] = {i: [] for i in bundle_ids}
        if not bundle_ids:
            return out
        m = schema.metrics
        with self.errors(), self.engine.connect() as conn:
            for start in range(0, len(bundle_ids), 500):
                chunk = list(bundle_ids[start : start + 500])
                query = sa.select(
                    m.c.bundle_id, m.c.name, m.c.labels, m.c.value, m.c.text, m.c.unit, m.c.spread
                ).where(m.c.bundle_id.in_(chunk))
                for row in conn.execute(query):
                    out[row.bundle_id].append(dict(row._mapping))
        return out

    def find(self, ref: str) -> dict[str, Any]:
        """The stored bundle ``ref`` names: its id, or a prefix (6+ hex digits) of its sha256."""
        b = schema.bundles
        if ref.isdigit():
            cond = b.c.id == int(ref)
        elif re.fullmatch(r"[0-9a-f]{6,64}", ref):
            cond = b.c.sha256.startswith(ref)
        else:
            raise HistoryError(
                f"{ref!r} is neither an audit id nor a sha256 prefix (6 or more hex digits)",
                hint="`clustermax history list` shows both",
            )
        with self.errors(), self.engine.connect() as conn:
            rows = conn.execute(sa.select(b.c.id, b.c.sha256, b.c.cluster).where(cond).limit(2)).all()
        if not rows:
            raise HistoryError(f"no audit {ref} in {self.target.display}", hint="`clustermax history list`")
        if len(rows) > 1:
            raise HistoryError(f"{ref} matches several audits; give more of the sha256")
        return dict(rows[0]._mapping)

    def raw(self, bundle_id: int) -> bytes:
        """The bundle file's bytes, as they were added."""
        b = schema.bundles
        with self.errors(), self.engine.connect() as conn:
            stored = conn.execute(sa.select(b.c.raw).where(b.c.id == bundle_id)).scalar()
        if stored is None:
            raise HistoryError(f"no audit {bundle_id} in {self.target.display}")
        return unpack(stored)

    def latest_ids(self, cluster: str, n: int, *, exclude_sha: str | None = None) -> list[int]:
        """Ids of the ``n`` newest audits of ``cluster`` (newest first), leaving out ``exclude_sha``."""
        b = schema.bundles
        query = sa.select(b.c.id).where(b.c.cluster == cluster)
        if exclude_sha is not None:
            query = query.where(b.c.sha256 != exclude_sha)
        query = query.order_by(b.c.started_at.desc(), b.c.id.desc()).limit(n)
        with self.errors(), self.engine.connect() as conn:
            return [int(i) for i in conn.execute(query).scalars()]


def _engine(target: Target) -> Engine:
    wait = timeout_s()
    if target.path is not None:
        engine = sa.create_engine(target.url, connect_args={"timeout": wait}, poolclass=sa.pool.NullPool)

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # SQLAlchemy's begin event below issues BEGIN itself
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
            cur.execute("PRAGMA foreign_keys = ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql(
                "BEGIN IMMEDIATE" if conn.get_execution_options().get("cmx_write") else "BEGIN"
            )

        return engine
    try:
        import psycopg  # noqa: F401 (the driver is an optional dependency)
    except ImportError:
        raise HistoryError(
            "a PostgreSQL history database needs the psycopg driver, which is not installed",
            hint="pip install 'clustermax[postgresql]'",
        ) from None
    return sa.create_engine(
        target.url,
        poolclass=sa.pool.NullPool,
        connect_args={"connect_timeout": max(1, int(wait)), "options": f"-c lock_timeout={int(wait * 1000)}"},
    )


def upgrade(conn: Connection) -> None:
    """Run the Alembic migrations up to the head on ``conn`` (inside its transaction)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")


def upgrade_to(conn: Connection, revision: str) -> None:
    """Run the migrations up to ``revision`` only (tests build older schemas with it)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, revision)

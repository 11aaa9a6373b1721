"""The tables of the history database at the head revision (SQLAlchemy Core), for queries.

The schema itself is made and upgraded only by the Alembic migrations in ``migrations/versions`` (one file
per revision, forward only); :data:`HEAD` names the newest, and a test checks that it is the migrations'
head and that these tables are what the migrations build. Times are stored in UTC without a zone.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

HEAD = "0002"
"""The newest schema revision this clustermax knows."""
KNOWN_REVISIONS: tuple[str, ...] = ("0001", "0002")
"""Every revision, oldest first (a database at another one is from a newer clustermax)."""

metadata = MetaData()

bundles = Table(
    "bundles",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("cluster", String(255), nullable=False),
    Column("provider", String(255)),
    Column("kind", String(16), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("ended_at", DateTime),
    Column("complete", Boolean, nullable=False),
    Column("hosts", Integer, nullable=False),
    Column("tool_version", String(64), nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("raw_size", Integer, nullable=False),
    Column("raw_sha256", String(64), nullable=False),
    Column("added_at", DateTime, nullable=False),
    Index("ix_bundles_cluster_started", "cluster", "started_at"),
    Index("ix_bundles_provider", "provider"),
    Index("ix_bundles_started", "started_at"),
)

scores = Table(
    "scores",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("bundle_id", Integer, ForeignKey("bundles.id", ondelete="CASCADE"), nullable=False),
    Column("rubric_id", String(128), nullable=False),
    Column("rubric_version", String(64), nullable=False),
    Column("rubric_sha256", String(64), nullable=False),
    Column("tier", String(16)),
    Column("rated", Boolean, nullable=False),
    Column("not_rated_reason", String(32)),
    Column("tier_floor", String(16), nullable=False),
    Column("tier_ceiling", String(16), nullable=False),
    Column("score", Float, nullable=False),
    Column("score_floor", Float, nullable=False),
    Column("score_ceiling", Float, nullable=False),
    Column("coverage", Float, nullable=False),
    Column("summary", Text, nullable=False),
    UniqueConstraint("bundle_id", "rubric_sha256", name="uq_scores_bundle_rubric"),
    Index("ix_scores_bundle", "bundle_id"),
)

metrics = Table(
    "metrics",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("bundle_id", Integer, ForeignKey("bundles.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("labels", String(512), nullable=False),
    Column("value", Float),
    Column("text", String(512)),
    Column("unit", String(16), nullable=False),
    Column("spread", Float),
    UniqueConstraint("bundle_id", "name", "labels", name="uq_metrics_bundle_name_labels"),
    Index("ix_metrics_name", "name"),
)

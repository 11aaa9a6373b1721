"""Key metrics per bundle (busbw medians with their spreads, TTFJ medians, GPU/ECC/Xid counts, versions),
so `history show` draws trends without opening the raw bundles; filled in for the bundles already stored.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("bundle_id", sa.Integer, sa.ForeignKey("bundles.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("labels", sa.String(512), nullable=False),
        sa.Column("value", sa.Float),
        sa.Column("text", sa.String(512)),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("spread", sa.Float),
        sa.UniqueConstraint("bundle_id", "name", "labels", name="uq_metrics_bundle_name_labels"),
    )
    op.create_index("ix_metrics_name", "metrics", ["name"])
    _backfill()


def _backfill() -> None:
    """Key metrics of every bundle stored under revision 0001, from its raw bytes."""
    from clustermax.history.summary import key_metric_rows, unpack

    conn = op.get_bind()
    bundles = sa.table("bundles", sa.column("id", sa.Integer), sa.column("raw", sa.LargeBinary))
    metrics = sa.table(
        "metrics",
        sa.column("bundle_id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("labels", sa.String),
        sa.column("value", sa.Float),
        sa.column("text", sa.String),
        sa.column("unit", sa.String),
        sa.column("spread", sa.Float),
    )
    for bundle_id, raw in conn.execute(sa.select(bundles.c.id, bundles.c.raw)).all():
        rows = key_metric_rows(unpack(raw))
        if rows:
            conn.execute(sa.insert(metrics), [{"bundle_id": bundle_id, **row} for row in rows])

"""The first schema: every bundle once (by its evidence sha256, raw bytes compressed) and its scores.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bundles",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("cluster", sa.String(255), nullable=False),
        sa.Column("provider", sa.String(255)),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("ended_at", sa.DateTime),
        sa.Column("complete", sa.Boolean, nullable=False),
        sa.Column("hosts", sa.Integer, nullable=False),
        sa.Column("tool_version", sa.String(64), nullable=False),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.Column("raw_size", sa.Integer, nullable=False),
        sa.Column("raw_sha256", sa.String(64), nullable=False),
        sa.Column("added_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_bundles_cluster_started", "bundles", ["cluster", "started_at"])
    op.create_index("ix_bundles_provider", "bundles", ["provider"])
    op.create_index("ix_bundles_started", "bundles", ["started_at"])
    op.create_table(
        "scores",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("bundle_id", sa.Integer, sa.ForeignKey("bundles.id", ondelete="CASCADE"), nullable=False),
        sa.Column("rubric_id", sa.String(128), nullable=False),
        sa.Column("rubric_version", sa.String(64), nullable=False),
        sa.Column("rubric_sha256", sa.String(64), nullable=False),
        sa.Column("tier", sa.String(16)),
        sa.Column("rated", sa.Boolean, nullable=False),
        sa.Column("not_rated_reason", sa.String(32)),
        sa.Column("tier_floor", sa.String(16), nullable=False),
        sa.Column("tier_ceiling", sa.String(16), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("score_floor", sa.Float, nullable=False),
        sa.Column("score_ceiling", sa.Float, nullable=False),
        sa.Column("coverage", sa.Float, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.UniqueConstraint("bundle_id", "rubric_sha256", name="uq_scores_bundle_rubric"),
    )
    op.create_index("ix_scores_bundle", "scores", ["bundle_id"])

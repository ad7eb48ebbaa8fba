"""dashboard rollups: daily feedback and reason counts, refresh state, feedback creation-time index

Revision ID: 0007_dashboard_rollups
Revises: 0006_selection_runs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import feedback.db

revision = "0007_dashboard_rollups"
down_revision = "0006_selection_runs"
branch_labels = None
depends_on = None

PK_INT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _project_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f(f"fk_{table}_project_id_projects"),
                                   ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "dashboard_feedback_daily",
        sa.Column("project_id", PK_INT, nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("model_version", sa.String(length=200), nullable=False),
        sa.Column("conf_bin", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("volume", sa.Integer(), nullable=False),
        sa.Column("scored", sa.Integer(), nullable=False),
        sa.Column("ups", sa.Integer(), nullable=False),
        _project_fk("dashboard_feedback_daily"),
        sa.PrimaryKeyConstraint("project_id", "day", "model_version", "conf_bin", "key",
                                name=op.f("pk_dashboard_feedback_daily")),
    )
    op.create_table(
        "dashboard_reason_daily",
        sa.Column("project_id", PK_INT, nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        _project_fk("dashboard_reason_daily"),
        sa.PrimaryKeyConstraint("project_id", "day", "key", "reason", name=op.f("pk_dashboard_reason_daily")),
    )
    op.create_table(
        "dashboard_rollup_state",
        sa.Column("project_id", PK_INT, nullable=False),
        sa.Column("watermark", feedback.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("refreshed_at", feedback.db.UTCDateTime(timezone=True), nullable=True),
        _project_fk("dashboard_rollup_state"),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_dashboard_rollup_state")),
    )
    # Recomputing one day of rollups reads that day's feedback by creation time.
    op.create_index("ix_feedback_project_created", "feedback", ["project_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_feedback_project_created", table_name="feedback")
    op.drop_table("dashboard_rollup_state")
    op.drop_table("dashboard_reason_daily")
    op.drop_table("dashboard_feedback_daily")

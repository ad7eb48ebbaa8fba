"""selection_runs and selection_items: recorded active-learning selection cycles

Revision ID: 0006_selection_runs
Revises: 0005_dataset_versions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import feedback.db

revision = "0006_selection_runs"
down_revision = "0005_dataset_versions"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "selection_runs",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("project_id", BIGINT, nullable=False),
        sa.Column("strategy", sa.String(length=40), nullable=False),
        sa.Column("effective_strategy", sa.String(length=40), nullable=False),
        sa.Column("budget", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=True),
        sa.Column("model_metrics", JSON, nullable=False),
        sa.Column("n_strong_labels", sa.Integer(), nullable=False),
        sa.Column("n_weak_labels", sa.Integer(), nullable=False),
        sa.Column("pool_size", sa.Integer(), nullable=False),
        sa.Column("selected_count", sa.Integer(), nullable=False),
        sa.Column("routed_count", sa.Integer(), nullable=False),
        sa.Column("connection_id", BIGINT, nullable=True),
        sa.Column("timings", JSON, nullable=False),
        sa.Column("created_at", feedback.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"],
                                name=op.f("fk_selection_runs_project_id_projects"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["connection_id"], ["labelstudio_connections.id"],
                                name=op.f("fk_selection_runs_connection_id_labelstudio_connections"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_selection_runs")),
    )
    op.create_index("ix_selection_runs_project_created", "selection_runs", ["project_id", "created_at"])
    op.create_table(
        "selection_items",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("run_id", BIGINT, nullable=False),
        sa.Column("project_id", BIGINT, nullable=False),
        sa.Column("interaction_id", BIGINT, nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("p_bad", sa.Float(), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("outbox_item_id", BIGINT, nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["selection_runs.id"],
                                name=op.f("fk_selection_items_run_id_selection_runs"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"],
                                name=op.f("fk_selection_items_project_id_projects"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["interaction_id"], ["interactions.id"],
                                name=op.f("fk_selection_items_interaction_id_interactions"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["outbox_item_id"], ["routing_outbox.id"],
                                name=op.f("fk_selection_items_outbox_item_id_routing_outbox"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_selection_items")),
        sa.UniqueConstraint("run_id", "interaction_id", name=op.f("uq_selection_items_run_id_interaction_id")),
    )
    op.create_index(op.f("ix_selection_items_run_id"), "selection_items", ["run_id"])
    op.create_index("ix_selection_items_project_interaction", "selection_items", ["project_id", "interaction_id"])


def downgrade() -> None:
    op.drop_index("ix_selection_items_project_interaction", table_name="selection_items")
    op.drop_index(op.f("ix_selection_items_run_id"), table_name="selection_items")
    op.drop_table("selection_items")
    op.drop_index("ix_selection_runs_project_created", table_name="selection_runs")
    op.drop_table("selection_runs")

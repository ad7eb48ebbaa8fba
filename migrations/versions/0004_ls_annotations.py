"""ls_annotations: Label Studio annotations stored normalised, with the raw result

Revision ID: 0004_ls_annotations
Revises: 0003_routing
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import feedback.db

revision = "0004_ls_annotations"
down_revision = "0003_routing"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "ls_annotations",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("project_id", BIGINT, nullable=False),
        sa.Column("connection_id", BIGINT, nullable=False),
        sa.Column("interaction_id", BIGINT, nullable=True),
        sa.Column("item_id", sa.String(length=64), nullable=True),
        sa.Column("ls_project_id", sa.Integer(), nullable=False),
        sa.Column("ls_task_id", sa.Integer(), nullable=True),
        sa.Column("ls_annotation_id", sa.Integer(), nullable=False),
        sa.Column("annotator_id", sa.Integer(), nullable=True),
        sa.Column("verdict", sa.String(length=10), nullable=True),
        sa.Column("rating", sa.Float(), nullable=True),
        sa.Column("reasons", JSON, nullable=False),
        sa.Column("corrected_text", sa.Text(), nullable=True),
        sa.Column("preference", sa.String(length=1), nullable=True),
        sa.Column("lead_time", sa.Float(), nullable=True),
        sa.Column("was_cancelled", sa.Boolean(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("raw", JSON, nullable=False),
        sa.Column("received_via", sa.String(length=20), nullable=False),
        sa.Column("ls_created_at", feedback.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ls_updated_at", feedback.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", feedback.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", feedback.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_ls_annotations_project_id_projects"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["connection_id"], ["labelstudio_connections.id"],
                                name=op.f("fk_ls_annotations_connection_id_labelstudio_connections"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["interaction_id"], ["interactions.id"],
                                name=op.f("fk_ls_annotations_interaction_id_interactions"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ls_annotations")),
        sa.UniqueConstraint("connection_id", "ls_annotation_id",
                            name=op.f("uq_ls_annotations_connection_id_ls_annotation_id")),
    )
    op.create_index("ix_ls_annotations_project_interaction", "ls_annotations", ["project_id", "interaction_id"])
    op.create_index("ix_ls_annotations_connection_task", "ls_annotations", ["connection_id", "ls_task_id"])


def downgrade() -> None:
    op.drop_index("ix_ls_annotations_connection_task", table_name="ls_annotations")
    op.drop_index("ix_ls_annotations_project_interaction", table_name="ls_annotations")
    op.drop_table("ls_annotations")

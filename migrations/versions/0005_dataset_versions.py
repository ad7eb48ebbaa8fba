"""dataset_versions: published, numbered dataset export snapshots

Revision ID: 0005_dataset_versions
Revises: 0004_ls_annotations
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import feedback.db

revision = "0005_dataset_versions"
down_revision = "0004_ls_annotations"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "dataset_versions",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("project_id", BIGINT, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("formats", JSON, nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("counts", JSON, nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", feedback.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"],
                                name=op.f("fk_dataset_versions_project_id_projects"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_versions")),
        sa.UniqueConstraint("project_id", "name", "version",
                            name=op.f("uq_dataset_versions_project_id_name_version")),
    )
    op.create_index(op.f("ix_dataset_versions_project_id"), "dataset_versions", ["project_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_dataset_versions_project_id"), table_name="dataset_versions")
    op.drop_table("dataset_versions")

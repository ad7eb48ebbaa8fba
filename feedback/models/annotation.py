"""Annotations made in Label Studio, stored normalised with their raw result kept."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from feedback.db import Base, BigIntPK, JSONType, UTCDateTime, utcnow

ANNOTATION_CHANNELS = ("webhook", "reconcile")


class LSAnnotationRecord(Base):
    """One Label Studio annotation on a task delivered through one connection (newest version kept)."""

    __tablename__ = "ls_annotations"
    __table_args__ = (
        UniqueConstraint("connection_id", "ls_annotation_id"),
        Index("ix_ls_annotations_project_interaction", "project_id", "interaction_id"),
        Index("ix_ls_annotations_connection_task", "connection_id", "ls_task_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    connection_id: Mapped[int] = mapped_column(ForeignKey("labelstudio_connections.id", ondelete="CASCADE"))
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"))
    item_id: Mapped[str | None] = mapped_column(String(64))
    ls_project_id: Mapped[int] = mapped_column(Integer)
    ls_task_id: Mapped[int | None] = mapped_column(Integer)
    ls_annotation_id: Mapped[int] = mapped_column(Integer)
    annotator_id: Mapped[int | None] = mapped_column(Integer)
    verdict: Mapped[str | None] = mapped_column(String(10))
    rating: Mapped[float | None] = mapped_column(Float)
    reasons: Mapped[list[str]] = mapped_column(JSONType, default=list)
    corrected_text: Mapped[str | None] = mapped_column(Text)
    preference: Mapped[str | None] = mapped_column(String(1))
    # pairwise tasks: the other response (task data `response_b`) that `preference` chose for or against
    compared_response: Mapped[str | None] = mapped_column(Text)
    lead_time: Mapped[float | None] = mapped_column(Float)
    was_cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    raw: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    received_via: Mapped[str] = mapped_column(String(20))
    ls_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ls_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

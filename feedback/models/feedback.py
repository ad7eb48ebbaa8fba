"""Feedback on an interaction: its current state and the append-only history of revisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from feedback.db import Base, BigIntPK, JSONType, UTCDateTime, utcnow

FEEDBACK_SOURCES = ("end_user", "annotator", "model")


class Feedback(Base):
    """The newest revision of one feedback (one row per project and feedback id)."""

    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("project_id", "feedback_uid"),
        Index("ix_feedback_interaction_key", "interaction_id", "key"),
        Index("ix_feedback_project_updated", "project_id", "updated_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"))
    feedback_uid: Mapped[str] = mapped_column(String(200))
    revision: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(20))
    score: Mapped[float | None] = mapped_column(Float)
    reasons: Mapped[list[str]] = mapped_column(JSONType, default=list)
    comment: Mapped[str | None] = mapped_column(Text)
    correction: Mapped[str | None] = mapped_column(Text)
    end_user_id: Mapped[str | None] = mapped_column(String(200), index=True)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    retracted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FeedbackRevision(Base):
    """Every accepted revision, kept so that retries are idempotent and changes auditable."""

    __tablename__ = "feedback_revisions"
    __table_args__ = (UniqueConstraint("project_id", "feedback_uid", "revision"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"), index=True)
    feedback_uid: Mapped[str] = mapped_column(String(200))
    revision: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

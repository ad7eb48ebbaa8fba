"""An interaction: what the model was asked and what it answered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from feedback.db import Base, BigIntPK, JSONType, UTCDateTime, utcnow


class Interaction(Base):
    """One logged LLM response with its prompt messages; `external_id` is unique per project."""

    __tablename__ = "interactions"
    __table_args__ = (
        UniqueConstraint("project_id", "external_id"),
        Index("ix_interactions_project_created", "project_id", "created_at"),
        Index("ix_interactions_project_conversation", "project_id", "conversation_id"),
        Index("ix_interactions_project_end_user", "project_id", "end_user_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    conversation_id: Mapped[str | None] = mapped_column(String(200))
    messages: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    response: Mapped[str] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(String(200))
    model_version: Mapped[str | None] = mapped_column(String(200))
    prompt_version: Mapped[str | None] = mapped_column(String(200))
    confidence: Mapped[float | None] = mapped_column(Float)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    end_user_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

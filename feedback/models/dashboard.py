"""Daily rollups of end-user feedback that the dashboard reads instead of scanning every feedback row.

Rows are keyed by the feedback's creation day (UTC), model version, confidence decile and feedback key; the
reason table counts reasons given with a thumbs down. `feedback.services.dashboard_rollup` keeps them current
incrementally (only days with changed feedback are recomputed).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from feedback.db import Base, UTCDateTime
from feedback.models.feedback import Feedback


class FeedbackDaily(Base):
    """Current (non-retracted) end-user feedback of one day, model version, confidence bin and key."""

    __tablename__ = "dashboard_feedback_daily"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    model_version: Mapped[str] = mapped_column(String(200), primary_key=True)
    conf_bin: Mapped[int] = mapped_column(Integer, primary_key=True)  # -1: no confidence
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    volume: Mapped[int] = mapped_column(Integer)
    scored: Mapped[int] = mapped_column(Integer)
    ups: Mapped[int] = mapped_column(Integer)


class ReasonDaily(Base):
    """How often a reason came with a negative score on one day (per key)."""

    __tablename__ = "dashboard_reason_daily"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    reason: Mapped[str] = mapped_column(String(100), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class RollupState(Base):
    """Up to which feedback `updated_at` a project's rollups are complete."""

    __tablename__ = "dashboard_rollup_state"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    watermark: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# Declared here (the dashboard is what needs it) so that the models match migration 0007.
Index("ix_feedback_project_created", Feedback.project_id, Feedback.created_at)

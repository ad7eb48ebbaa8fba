"""Active-learning selection runs and the items each run picked (so a run can be reproduced and shown)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from feedback.db import Base, BigIntPK, JSONType, UTCDateTime, utcnow

SELECTION_ITEM_SOURCES = ("strategy", "random")


class SelectionRun(Base):
    """One selection cycle: parameters, the quality model used, pool size, timings and outcome."""

    __tablename__ = "selection_runs"
    __table_args__ = (Index("ix_selection_runs_project_created", "project_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    strategy: Mapped[str] = mapped_column(String(40))
    effective_strategy: Mapped[str] = mapped_column(String(40))
    budget: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    model_version: Mapped[str | None] = mapped_column(String(64))
    model_metrics: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    n_strong_labels: Mapped[int] = mapped_column(Integer, default=0)
    n_weak_labels: Mapped[int] = mapped_column(Integer, default=0)
    pool_size: Mapped[int] = mapped_column(Integer, default=0)
    selected_count: Mapped[int] = mapped_column(Integer, default=0)
    routed_count: Mapped[int] = mapped_column(Integer, default=0)
    connection_id: Mapped[int | None] = mapped_column(
        ForeignKey("labelstudio_connections.id", ondelete="SET NULL"))
    timings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SelectionItem(Base):
    """One interaction picked by a run, in rank order, with the model's P(bad) and the strategy's score."""

    __tablename__ = "selection_items"
    __table_args__ = (
        UniqueConstraint("run_id", "interaction_id"),
        Index("ix_selection_items_project_interaction", "project_id", "interaction_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("selection_runs.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"))
    rank: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20))
    p_bad: Mapped[float | None] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    outbox_item_id: Mapped[int | None] = mapped_column(ForeignKey("routing_outbox.id", ondelete="SET NULL"))

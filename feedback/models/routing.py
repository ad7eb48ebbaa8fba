"""Routing to Label Studio: connections, rules, and the outbox of routing decisions awaiting delivery."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from feedback.db import Base, BigIntPK, JSONType, UTCDateTime, utcnow

OUTBOX_STATES = ("pending", "delivered", "failed")
OUTBOX_TRIGGERS = ("interaction", "feedback", "backfill", "requeue", "selection", "adjudication")


class LabelStudioConnection(Base):
    """One Label Studio project that a feedback-loop project routes to.

    `token` is stored so that workers can deliver; it is never serialised by the API. The webhook secret is
    kept only as a SHA-256 digest (`webhook_secret_digest`): Label Studio sends the plain value in a header.
    """

    __tablename__ = "labelstudio_connections"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(String(500))
    token: Mapped[str] = mapped_column(Text)
    token_kind: Mapped[str] = mapped_column(String(40))
    ls_project_id: Mapped[int] = mapped_column(Integer)
    template: Mapped[str] = mapped_column(String(40))
    webhook_id: Mapped[int | None] = mapped_column(Integer)
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    webhook_secret_digest: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Where tasks whose annotators disagree on the verdict go for adjudication (another connection).
    adjudication_connection_id: Mapped[int | None] = mapped_column(
        ForeignKey("labelstudio_connections.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoutingRule(Base):
    """Conditions that send interactions to one connection; lower `priority` is evaluated first."""

    __tablename__ = "routing_rules"
    __table_args__ = (
        UniqueConstraint("project_id", "name"),
        Index("ix_routing_rules_project_priority", "project_id", "priority"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    connection_id: Mapped[int] = mapped_column(ForeignKey("labelstudio_connections.id", ondelete="CASCADE"),
                                               index=True)
    name: Mapped[str] = mapped_column(String(100))
    priority: Mapped[int] = mapped_column(Integer, default=100)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    conditions: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    sample_rate: Mapped[float] = mapped_column(Float, default=1.0)
    daily_budget: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxItem(Base):
    """A routing decision: deliver `interaction_id` to `connection_id`. Our id travels in the task data.

    (connection, interaction, generation) is unique: rules only ever write generation 0, so an interaction
    reaches a Label Studio project at most once; an operator's requeue writes the next generation.
    """

    __tablename__ = "routing_outbox"
    __table_args__ = (
        UniqueConstraint("connection_id", "interaction_id", "generation"),
        Index("ix_routing_outbox_due", "status", "next_attempt_at"),
        Index("ix_routing_outbox_rule_created", "rule_id", "created_at"),
        Index("ix_routing_outbox_project_created", "project_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"), index=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("labelstudio_connections.id", ondelete="CASCADE"))
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("routing_rules.id", ondelete="SET NULL"))
    generation: Mapped[int] = mapped_column(Integer, default=0)
    trigger: Mapped[str] = mapped_column(String(20))
    reason: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    ls_task_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

"""Operator actions on the outbox: list items, put failed items back, deliver now."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from feedback.db import utcnow
from feedback.models import OutboxItem
from feedback.services.routing import mark_pending


def list_items(session: Session, project_id: int, status: str | None = None, connection_id: int | None = None,
               interaction_id: int | None = None, limit: int = 100) -> list[OutboxItem]:
    """The project's outbox items, newest first."""
    query = select(OutboxItem).where(OutboxItem.project_id == project_id)
    for column, value in ((OutboxItem.status, status), (OutboxItem.connection_id, connection_id),
                          (OutboxItem.interaction_id, interaction_id)):
        if value is not None:
            query = query.where(column == value)
    return list(session.scalars(query.order_by(OutboxItem.id.desc()).limit(limit)))


def retry_failed(session: Session, project_id: int, ids: Sequence[int] = ()) -> int:
    """Failed items (the given ones, or all of the project) become pending and due now; caller commits."""
    query = select(OutboxItem.id, OutboxItem.connection_id).where(OutboxItem.project_id == project_id,
                                                                  OutboxItem.status == "failed")
    if ids:
        query = query.where(OutboxItem.id.in_(list(ids)))
    rows = session.execute(query).all()
    if not rows:
        return 0
    session.execute(update(OutboxItem).where(OutboxItem.id.in_([r[0] for r in rows])).values(
        status="pending", next_attempt_at=utcnow(), lease_until=None, lease_owner=None))  # attempts kept: see outbox
    mark_pending(session, {r[1] for r in rows})
    return len(rows)


def deliver_now(session: Session, project_id: int, connection_id: int | None = None) -> int:
    """Make every pending item (of one connection or all) due now and kick delivery; caller commits."""
    query = update(OutboxItem).where(OutboxItem.project_id == project_id, OutboxItem.status == "pending")
    if connection_id is not None:
        query = query.where(OutboxItem.connection_id == connection_id)
    count = session.execute(query.values(next_attempt_at=utcnow())).rowcount or 0
    connections = set(session.scalars(select(OutboxItem.connection_id).where(
        OutboxItem.project_id == project_id, OutboxItem.status == "pending").distinct()))
    if connections:
        mark_pending(session, connections)
    return count

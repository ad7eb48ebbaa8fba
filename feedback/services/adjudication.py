"""Adjudication: when annotators of one connection disagree on an interaction's verdict, the interaction goes,
once, to the connection's adjudication connection (its own Label Studio project), through the same outbox."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback.db import utcnow
from feedback.models import LabelStudioConnection, LSAnnotationRecord
from feedback.services.routing import insert_items


def verdicts(session: Session, connection_id: int, interaction_id: int) -> dict[str, int]:
    """Annotator verdicts on one interaction in one connection: {"good": n, "bad": m} (live annotations only)."""
    counts: dict[str, int] = {}
    for verdict in session.scalars(select(LSAnnotationRecord.verdict).where(
            LSAnnotationRecord.connection_id == connection_id, LSAnnotationRecord.interaction_id == interaction_id,
            LSAnnotationRecord.deleted.is_(False), LSAnnotationRecord.was_cancelled.is_(False),
            LSAnnotationRecord.verdict.is_not(None))):
        counts[verdict] = counts.get(verdict, 0) + 1
    return counts


def route_disagreement(session: Session, connection: LabelStudioConnection, interaction_id: int | None) -> list[int]:
    """Queue `interaction_id` for adjudication if its annotators disagree; returns new outbox ids (none when
    agreeing, when the connection has no adjudication connection, or when it was queued before). Caller commits."""
    target = connection.adjudication_connection_id
    if interaction_id is None or target is None or target == connection.id:
        return []
    counts = verdicts(session, connection.id, interaction_id)
    if len(counts) < 2:
        return []
    now = utcnow()
    return insert_items(session, [{
        "project_id": connection.project_id, "interaction_id": interaction_id, "connection_id": target,
        "rule_id": None, "generation": 0, "trigger": "adjudication",
        "reason": {"source_connection": connection.id, "verdicts": dict(sorted(counts.items()))},
        "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}])

"""Applying a validated Label Studio webhook event: store the annotation, or mark deletions.

Authentication (the secret header against the connection's stored digest) is
``feedback.services.labelstudio_connections.verify_webhook_secret``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from feedback.models import LabelStudioConnection
from feedback.services.annotation_store import mark_deleted, store_annotation
from feedback.services.annotations import WebhookEvent, normalise_annotation
from feedback.services.labelstudio_templates import INTERACTION_ID_FIELD


def apply_webhook(session: Session, connection: LabelStudioConnection, event: WebhookEvent) -> dict[str, Any]:
    """Store what a webhook event says (create, update or delete); the caller commits."""
    if event.action == "ANNOTATIONS_DELETED":
        removed = mark_deleted(session, connection, [ref.id for ref in event.annotations or []])
        return {"action": event.action, "stored": 0, "deleted": removed}
    assert event.annotation is not None and event.task is not None  # guaranteed by WebhookEvent
    norm = normalise_annotation(event.annotation, event.task)
    result = store_annotation(session, connection, norm, via="webhook",
                              interaction_hint=event.task.data.get(INTERACTION_ID_FIELD))
    return {"action": event.action, "stored": int(result.changed), "deleted": 0,
            "feedback": result.feedback_written, "interaction_id": result.record.interaction_id}

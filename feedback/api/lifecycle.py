"""Erasing an end user's data and reading the audit trail (admin keys)."""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import select

from feedback.api.request import principal
from feedback.api.spec import route
from feedback.db import get_read_session, get_session
from feedback.errors import ValidationFailed
from feedback.models import AuditEvent
from feedback.schemas.lifecycle import AuditEventOut, EndUserDeleted
from feedback.services import lifecycle
from feedback.services.auth import require_scope

bp = Blueprint("lifecycle", __name__, url_prefix="/api/v1")


def _event_out(event: AuditEvent) -> dict:
    return AuditEventOut.model_validate(event, from_attributes=True).model_dump(mode="json")


@route(bp, "/end-users/<path:end_user_id>", "DELETE", summary="Erase an end user's data", tag="lifecycle",
       responses={200: EndUserDeleted})
def delete_end_user(end_user_id: str):
    """Delete the end user's interactions, feedback, revisions, outbox items, annotations and Label Studio
    tasks; records an audit event. 503 `labelstudio_unavailable` (nothing deleted) when Label Studio is down."""
    caller = principal()
    require_scope(caller, "admin")
    if not end_user_id.strip() or len(end_user_id) > 200:
        raise ValidationFailed("end_user_id must be 1..200 characters")
    session = get_session()
    report, event = lifecycle.delete_end_user(session, caller.project_id, end_user_id, f"api-key:{caller.key_id}")
    return {"deleted": report.as_dict(), "audit_event": _event_out(event)}


@route(bp, "/audit-events", "GET", summary="List audit events", tag="lifecycle", responses={200: AuditEventOut})
def list_audit_events():
    """The project's newest 200 data-lifecycle events."""
    caller = principal()
    require_scope(caller, "admin")
    events = get_read_session().scalars(select(AuditEvent).where(AuditEvent.project_id == caller.project_id)
                                   .order_by(AuditEvent.id.desc()).limit(200))
    return {"items": [_event_out(e) for e in events]}

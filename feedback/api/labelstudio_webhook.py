"""POST /api/v1/labelstudio/webhook/<connection_id>: annotations coming back from Label Studio.

Authenticated by the secret header set when the webhook was registered (compared with the stored digest):
a missing or wrong secret, or an unknown connection, is a 401 and nothing is read or stored. A body that is
not a valid annotation event is a 400. Label Studio sends the three annotation actions we subscribe to.
"""

from __future__ import annotations

from flask import Blueprint, request

from feedback.db import get_session
from feedback.errors import BadRequest
from feedback.services.annotation_webhook import apply_webhook
from feedback.services.annotations import AnnotationPayloadError, parse_webhook
from feedback.services.labelstudio_client import SECRET_HEADER
from feedback.services.labelstudio_connections import verify_webhook_secret

bp = Blueprint("labelstudio_webhook", __name__, url_prefix="/api/v1/labelstudio")


@bp.post("/webhook/<int:connection_id>")
def receive_webhook(connection_id: int):
    """Store the annotation event for this connection and turn it into annotator feedback."""
    session = get_session()
    connection = verify_webhook_secret(session, connection_id, request.headers.get(SECRET_HEADER))
    try:
        event = parse_webhook(request.get_data(cache=False))
        if event.project_id is not None and event.project_id != connection.ls_project_id:
            raise BadRequest("the event is for another Label Studio project", code="wrong_project",
                             details={"expected": connection.ls_project_id, "got": event.project_id})
        result = apply_webhook(session, connection, event)  # normalises the annotation before any write
    except AnnotationPayloadError as exc:
        session.rollback()
        raise BadRequest(str(exc), code="malformed_webhook", details=exc.details) from exc
    session.commit()
    return result, 200

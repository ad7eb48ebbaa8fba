"""/api/v1/feedback: create, change and retract feedback; list it."""

from __future__ import annotations

from flask import Blueprint

from feedback.api.request import parse_body, parse_query, principal
from feedback.api.spec import route
from feedback.db import get_read_session, run_grouped
from feedback.schemas.feedback import (
    FeedbackCreate,
    FeedbackFilters,
    FeedbackPage,
    FeedbackResult,
    FeedbackRetract,
)
from feedback.services import feedback as feedback_service
from feedback.services import submissions
from feedback.services.auth import require_scope
from feedback.services.serializers import feedback_out

bp = Blueprint("feedback", __name__, url_prefix="/api/v1")
BROWSER_AUTH = ("apiKey", "feedbackToken")


def _answer(write: feedback_service.FeedbackWrite):
    body = feedback_out(write.feedback) | {"applied": write.applied, "duplicate": write.duplicate}
    return body, 201 if write.applied and not write.duplicate else 200


@route(bp, "/feedback", "POST", summary="Create or change feedback", tag="feedback", body=FeedbackCreate,
       responses={201: FeedbackResult, 200: FeedbackResult}, auth=BROWSER_AUTH)
def create_feedback():
    """Accepts an ingest/admin key, a widget key from an allowed origin, or the interaction's feedback token.

    201: a new revision became current. 200: a re-send of a stored revision (`duplicate`) or an older revision
    than the stored one (`applied: false`). 409: the same revision with different content.
    """
    caller = principal()
    body = parse_body(FeedbackCreate)
    return _answer(run_grouped(lambda session: submissions.submit(session, caller, body)))


@route(bp, "/feedback/<path:feedback_id>/retract", "POST", summary="Retract feedback", tag="feedback",
       body=FeedbackRetract, responses={201: FeedbackResult, 200: FeedbackResult}, auth=BROWSER_AUTH)
def retract_feedback(feedback_id: str):
    """A new revision that clears score, reasons, comment and correction."""
    caller = principal()
    body = parse_body(FeedbackRetract)
    return _answer(run_grouped(lambda session: submissions.retract(session, caller, feedback_id, body)))


@route(bp, "/feedback", "GET", summary="List feedback", tag="feedback", query=FeedbackFilters,
       responses={200: FeedbackPage})
def list_feedback():
    """Current state of each feedback, most recently updated first; retracted ones on request."""
    caller = principal()
    require_scope(caller, "ingest")
    filters = parse_query(FeedbackFilters)
    rows, cursor = feedback_service.list_feedback(get_read_session(), caller.project_id, filters)
    return {"items": [feedback_out(r) for r in rows], "next_cursor": cursor}

"""The demo chat page: a local responder whose every answer is logged and carries the feedback widget.

`GET /demo` serves the page under a strict Content-Security-Policy (no inline script or style);
`POST /demo/chat` answers one message, logs it as an interaction of the `demo` project and returns the
interaction id and its feedback token for the widget.
"""

from __future__ import annotations

from typing import Annotated

from flask import Blueprint, Response, current_app, render_template, request
from pydantic import Field
from redis.exceptions import RedisError

from feedback.api.request import parse_body
from feedback.db import get_session
from feedback.errors import TooManyRequests
from feedback.queue import get_redis
from feedback.schemas.common import Identifier, Strict
from feedback.services import demo_responder
from feedback.services.ratelimit import Limit, RateLimiter

bp = Blueprint("demo", __name__)

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
CHAT_LIMIT = (30, 60)


class DemoMessage(Strict):
    """One chat message from the demo page."""

    message: Annotated[str, Field(min_length=1, max_length=2000)]
    conversation_id: Identifier | None = None
    end_user_id: Identifier | None = None


@bp.get("/demo")
def page() -> Response:
    """The chat page (strict CSP: scripts and styles only from this origin, no inline code)."""
    response = Response(render_template("demo/index.html"), mimetype="text/html")
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _limit_chat() -> None:
    settings = current_app.config["SETTINGS"]
    try:
        decision = RateLimiter(get_redis(), settings.queue_prefix).hit(
            Limit(f"demo:{request.remote_addr}", *CHAT_LIMIT))
    except RedisError:
        return
    if not decision.allowed:
        raise TooManyRequests("too many demo messages; retry later",
                              details={"retry_after": decision.retry_after},
                              headers={"Retry-After": str(decision.retry_after)})


@bp.post("/demo/chat")
def chat():
    """Answer a message with the local responder, log it, and hand the page the widget's token."""
    body = parse_body(DemoMessage)
    _limit_chat()
    session = get_session()
    project = demo_responder.demo_project(session)
    reply = demo_responder.answer(body.message)
    interaction = demo_responder.log_reply(session, project.id, body.message, reply, body.conversation_id,
                                           body.end_user_id)
    session.commit()
    token = current_app.extensions["feedback.signer"].mint(project.id, interaction.id, body.end_user_id)
    return {"interaction_id": interaction.id, "response": reply.text, "confidence": reply.confidence,
            "feedback_token": token}, 201

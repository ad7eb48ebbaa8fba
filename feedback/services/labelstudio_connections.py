"""Label Studio connections of a project: create the LS project and its webhook, look up, authenticate hooks.

The webhook URL is ``{base}/api/v1/labelstudio/webhook/{connection_id}`` (WEBHOOK_PATH). Label Studio sends
our generated secret in the ``X-Feedback-Loop-Secret`` header; only its SHA-256 digest is stored and
:func:`verify_webhook_secret` checks a received value in constant time.
"""

from __future__ import annotations

import contextlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from feedback.db import utcnow
from feedback.errors import ApiError, Conflict, NotFound, Unauthorized, ValidationFailed
from feedback.models import LabelStudioConnection
from feedback.schemas.routing import ConnectionCreate
from feedback.services.credentials import connection_token, store_token
from feedback.services.keys import digest
from feedback.services.labelstudio_client import LabelStudioClient, LabelStudioError, LabelStudioRejected

WEBHOOK_PATH = "/api/v1/labelstudio/webhook/{connection_id}"


class LabelStudioFailed(ApiError):
    """Label Studio refused or could not be reached while configuring a connection."""

    status, code = 502, "labelstudio_error"


def client_for(connection: LabelStudioConnection, timeout: float = 30.0) -> LabelStudioClient:
    """An SDK adapter authenticated with the connection's stored (sealed) token."""
    return LabelStudioClient(connection.url, connection_token(connection), timeout=timeout)


def _ls_call(action: str, call, *args, caller_url: str | None = None, **kwargs):
    """Run one Label Studio call; its failures become API errors.

    `caller_url`: the request itself names this Label Studio (a new connection or token): if it cannot be
    reached, the input is what is wrong (422 `labelstudio_unreachable`), not this service (502).
    """
    try:
        return call(*args, **kwargs)
    except LabelStudioRejected as exc:
        raise LabelStudioFailed(f"Label Studio refused to {action}: {exc}", status=422,
                                code="labelstudio_rejected", details={"status": exc.status_code}) from exc
    except LabelStudioError as exc:
        if caller_url is not None:
            raise LabelStudioFailed(f"no working Label Studio at {caller_url}: could not {action}: {exc}",
                                    status=422, code="labelstudio_unreachable",
                                    details={"url": caller_url}) from exc
        raise LabelStudioFailed(f"Label Studio could not {action}: {exc}") from exc


def create_connection(session: Session, project_id: int, body: ConnectionCreate, base_url: str,
                      reasons: list[dict] | None = None) -> LabelStudioConnection:
    """Check the token, create (or attach to) the LS project, register the webhook; flushes the row.

    `base_url` is this service's public root, used for the webhook unless the body names another URL.
    """
    if session.scalar(select(LabelStudioConnection.id).where(
            LabelStudioConnection.project_id == project_id, LabelStudioConnection.name == body.name)):
        raise Conflict(f"a Label Studio connection named {body.name!r} already exists", code="connection_exists")
    url = str(body.url).rstrip("/")
    client = _ls_call("connect", LabelStudioClient, url, body.token, caller_url=url)
    _ls_call("authenticate the token", client.whoami, caller_url=url)
    if body.ls_project_id is not None:
        _ls_call("find the project", client.get_project, body.ls_project_id)
        ls_project_id = body.ls_project_id
    else:
        title = body.title or f"feedback-loop {body.name}"
        ls_project_id = _ls_call("create the project", client.create_project, title, template=body.template,
                                 reasons=reasons if body.template == "response_review" else None,
                                 label_config=body.label_config)
    connection = LabelStudioConnection(project_id=project_id, name=body.name, url=url, token="",
                                       token_kind=client.token_kind, ls_project_id=ls_project_id,
                                       template=body.template)
    store_token(connection, body.token)
    session.add(connection)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"a Label Studio connection named {body.name!r} already exists",
                       code="connection_exists") from exc
    if body.adjudication_connection_id is not None:
        set_adjudication(session, connection, body.adjudication_connection_id)
    if body.register_webhook:
        hook_url = str(body.webhook_url) if body.webhook_url else \
            base_url.rstrip("/") + WEBHOOK_PATH.format(connection_id=connection.id)
        register_webhook(session, connection, hook_url, client)
    return connection


def register_webhook(session: Session, connection: LabelStudioConnection, url: str,
                     client: LabelStudioClient | None = None) -> str:
    """(Re)register the connection's webhook with a new secret; the old hook is removed. Returns the secret."""
    client = client or _ls_call("use the stored token", client_for, connection)
    if connection.webhook_id is not None:
        with contextlib.suppress(LabelStudioError):  # already gone: the new one replaces it
            client.delete_webhook(connection.webhook_id)
    secret = secrets.token_urlsafe(32)
    connection.webhook_id = _ls_call("register the webhook", client.register_webhook, connection.ls_project_id,
                                     url, secret=secret)
    connection.webhook_url = url
    connection.webhook_secret_digest = digest(secret)
    connection.updated_at = utcnow()
    session.flush()
    return secret


def list_connections(session: Session, project_id: int) -> list[LabelStudioConnection]:
    """The project's connections, oldest first."""
    return list(session.scalars(select(LabelStudioConnection).where(
        LabelStudioConnection.project_id == project_id).order_by(LabelStudioConnection.id)))


def get_connection(session: Session, project_id: int, connection_id: int) -> LabelStudioConnection:
    """One connection of the project, else NotFound."""
    connection = session.get(LabelStudioConnection, connection_id)
    if connection is None or connection.project_id != project_id:
        raise NotFound(f"no Label Studio connection {connection_id} in this project", code="connection_not_found")
    return connection


def set_adjudication(session: Session, connection: LabelStudioConnection, target_id: int | None) -> None:
    """Send this connection's annotator disagreements to connection `target_id` (same project, not itself)."""
    if target_id is not None:
        if target_id == connection.id:
            raise ValidationFailed("a connection cannot adjudicate its own disagreements")
        get_connection(session, connection.project_id, target_id)
    connection.adjudication_connection_id, connection.updated_at = target_id, utcnow()
    session.flush()


def update_token(session: Session, connection: LabelStudioConnection, token: str) -> None:
    """Replace the stored token after checking it against Label Studio."""
    client = _ls_call("connect", LabelStudioClient, connection.url, token)  # the stored URL: down is a 502
    _ls_call("authenticate the token", client.whoami)
    store_token(connection, token)
    connection.token_kind, connection.updated_at = client.token_kind, utcnow()
    session.flush()


def delete_connection(session: Session, connection: LabelStudioConnection) -> None:
    """Forget a connection (its rules and outbox items go with it); the LS project is left in place."""
    if connection.webhook_id is not None:
        with contextlib.suppress(LabelStudioError):  # Label Studio down or hook gone: nothing to undo
            client_for(connection).delete_webhook(connection.webhook_id)
    session.delete(connection)
    session.flush()


def verify_webhook_secret(session: Session, connection_id: int, secret: str | None) -> LabelStudioConnection:
    """The connection a webhook call is for, if `secret` is its current secret; else Unauthorized (401)."""
    connection = session.get(LabelStudioConnection, connection_id)
    expected = connection.webhook_secret_digest if connection is not None else None
    if not secret or expected is None or not hmac.compare_digest(digest(secret), expected):
        raise Unauthorized("missing or wrong webhook secret", code="invalid_webhook_secret")
    return connection

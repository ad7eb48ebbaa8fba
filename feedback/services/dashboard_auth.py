"""Dashboard sign-in: an admin API key exchanged for a signed, expiring session cookie.

The cookie holds only the key's id and the digest's first characters, signed with the server secret; every
request re-checks that the key still exists, is an admin key and is neither revoked nor expired, so revoking a
key ends its dashboard sessions at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from feedback.db import utcnow
from feedback.errors import Forbidden, Unauthorized
from feedback.models import ApiKey
from feedback.services import keys

COOKIE_NAME = "fl_dashboard"
SESSION_SECONDS = 12 * 3600
_SALT = "dashboard-session-v1"


@dataclass(frozen=True)
class Operator:
    """A signed-in dashboard user: the admin key they used and its project."""

    key_id: int
    key_name: str
    project_id: int


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=_SALT)


def _operator(key: ApiKey) -> Operator:
    if "admin" not in key.scopes:
        raise Forbidden("the dashboard needs an admin key", code="insufficient_scope")
    return Operator(key.id, key.name, key.project_id)


def sign_in(session: Session, secret_key: str, api_key: str) -> tuple[Operator, str]:
    """Check an admin key and return the operator and the cookie value for their session."""
    key = keys.authenticate(session, api_key.strip())
    operator = _operator(key)
    return operator, _serializer(secret_key).dumps({"k": key.id, "d": key.digest[:16]})


def from_cookie(session: Session, secret_key: str, value: str) -> Operator:
    """The operator of a session cookie, else Unauthorized (bad signature, expired, key revoked)."""
    try:
        data = _serializer(secret_key).loads(value, max_age=SESSION_SECONDS)
    except BadSignature as exc:
        raise Unauthorized("dashboard session expired or invalid; sign in again") from exc
    key_id = data.get("k") if isinstance(data, dict) else None
    key = session.get(ApiKey, key_id) if isinstance(key_id, int) else None
    if key is None or key.digest[:16] != data.get("d") or not key.is_active(utcnow()):
        raise Unauthorized("this dashboard session's key was revoked; sign in again")
    return _operator(key)


def from_bearer(session: Session, authorization: str) -> Operator:
    """The operator of an `Authorization: Bearer <admin key>` header."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("use 'Authorization: Bearer <admin key>'")
    return _operator(keys.authenticate(session, value.strip()))

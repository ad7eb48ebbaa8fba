"""Secrets the service must use later (Label Studio API tokens) are stored encrypted, never in plain text.

A token is sealed with Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) under a key derived with HKDF
from the service's signing secret (FEEDBACK_SECRET_KEY, or the one generated in the data directory), and stored
as `fernet:<token>`. A database dump or backup alone therefore reveals no token. Values without the prefix are
plain text written by versions before this one: they still work, and `seal_stored_tokens` (run with the
migrations by `feedback init` and `feedback db upgrade`) seals them in place.

Changing the signing secret makes sealed tokens unreadable: using one then fails with `CredentialUnreadable`,
and setting the token again (`PATCH /api/v1/labelstudio/connections/<id>`) repairs the connection.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback.models import LabelStudioConnection
from feedback.services.labelstudio_errors import LabelStudioError

PREFIX = "fernet:"
_INFO = b"feedback-loop stored credentials v1"


class CredentialUnreadable(LabelStudioError):
    """A stored token was sealed under another signing secret: set the token again."""


@lru_cache(maxsize=8)
def _fernet(secret: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(plain: str, secret: str) -> str:
    """`plain` encrypted under `secret`, as stored (`fernet:...`)."""
    return PREFIX + _fernet(secret).encrypt(plain.encode()).decode("ascii")


def unseal(stored: str, secret: str) -> str:
    """The plain value of a stored credential (plain text from older versions is returned as it is)."""
    if not stored.startswith(PREFIX):
        return stored
    try:
        return _fernet(secret).decrypt(stored[len(PREFIX):].encode("ascii")).decode()
    except (InvalidToken, ValueError) as exc:
        raise CredentialUnreadable("the stored Label Studio token cannot be decrypted with this service's secret "
                                   "key (FEEDBACK_SECRET_KEY changed?): set the connection's token again") from exc


def app_secret() -> str:
    """The current app's signing secret (the key material of sealed credentials)."""
    return current_app.config["SETTINGS"].resolved_secret_key()


def connection_token(connection: LabelStudioConnection) -> str:
    """The connection's Label Studio token in plain text, for the client."""
    return unseal(connection.token, app_secret())


def store_token(connection: LabelStudioConnection, token: str) -> None:
    """Seal `token` into the connection row (the caller flushes or commits)."""
    connection.token = seal(token, app_secret())


def seal_stored_tokens(session: Session, secret: str) -> int:
    """Seal every connection token still stored in plain text; returns how many; the caller commits."""
    rows = session.scalars(select(LabelStudioConnection).where(LabelStudioConnection.token.not_like(f"{PREFIX}%")))
    count = 0
    for connection in rows:
        connection.token = seal(connection.token, secret)
        count += 1
    return count

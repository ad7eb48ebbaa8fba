"""Which browser origins may call the public (widget) endpoints: per project, per widget key, and overall."""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback.db import utcnow
from feedback.models import ApiKey, Project
from feedback.services.auth import Principal, keys_origin

_CACHE_SECONDS = 30.0


def project_origins(session: Session, project_id: int) -> set[str]:
    """Origins of a project: its settings' `allowed_origins` plus those of its active widget keys."""
    project = session.get(Project, project_id)
    origins = set((project.settings or {}).get("allowed_origins", [])) if project else set()
    now = utcnow()
    for key in session.scalars(select(ApiKey).where(ApiKey.project_id == project_id)):
        if "widget" in key.scopes and key.is_active(now):
            origins.update(key.allowed_origins or [])
    return origins


def principal_origins(session: Session, principal: Principal) -> set[str]:
    """Origins a public caller may use: a widget key's own list, or its project's origins for a token."""
    if principal.kind == "key" and principal.key_id is not None:
        key = session.get(ApiKey, principal.key_id)
        return set(key.allowed_origins or []) if key else set()
    return project_origins(session, principal.project_id)


def all_origins(session: Session) -> set[str]:
    """Every origin any project or active widget key allows (answers CORS preflights, which carry no key)."""
    origins: set[str] = set()
    for settings in session.scalars(select(Project.settings)):
        origins.update((settings or {}).get("allowed_origins", []))
    now = utcnow()
    for key in session.scalars(select(ApiKey).where(ApiKey.revoked_at.is_(None))):
        if "widget" in key.scopes and key.is_active(now):
            origins.update(key.allowed_origins or [])
    return origins


class KnownOrigins:
    """`all_origins` cached for a few seconds per process, so preflights do not scan tables every time."""

    def __init__(self, ttl: float = _CACHE_SECONDS) -> None:
        self.ttl = ttl
        self._value: set[str] = set()
        self._at = float("-inf")

    def contains(self, session: Session, origin: str) -> bool:
        """Whether `origin` is allowed anywhere (refreshing the cache when stale or on a miss)."""
        now = time.monotonic()
        if now - self._at > self.ttl or (origin not in self._value and now - self._at > 1.0):
            self._value, self._at = all_origins(session), now
        return origin in self._value

    def clear(self) -> None:
        """Forget the cached set (after settings change in tests)."""
        self._at = float("-inf")


def normalised(origin: str | None) -> str | None:
    """The request's Origin normalised for exact comparison (None when absent, 'null' or malformed)."""
    if not origin or origin == "null":
        return None
    return keys_origin(origin)


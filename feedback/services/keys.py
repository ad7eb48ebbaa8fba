"""API keys: generation, SHA-256 digests, authentication, revocation and rotation."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from feedback.db import utcnow
from feedback.errors import NotFound, Unauthorized, ValidationFailed
from feedback.models import ApiKey
from feedback.services import hotcache

SCOPES = ("admin", "ingest", "widget")
KEY_PREFIX = "fl_"


@dataclass(frozen=True)
class IssuedKey:
    """A freshly created key and its secret (shown once)."""

    key: ApiKey
    secret: str


def digest(secret: str) -> str:
    """SHA-256 hex digest of a key secret: keys are 256-bit random, so no slow hash is needed."""
    return hashlib.sha256(secret.encode()).hexdigest()


def normalise_origin(origin: str) -> str:
    """Validate and normalise an origin (`scheme://host[:port]`, no path) for exact comparison."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
            or parts.query or parts.fragment or parts.username:
        raise ValidationFailed(f"not an origin: {origin!r}", details={"expected": "scheme://host[:port]"})
    default_port = {"http": 80, "https": 443}[parts.scheme]
    port = f":{parts.port}" if parts.port and parts.port != default_port else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


def create_key(session: Session, project_id: int, name: str, scopes: list[str],
               allowed_origins: list[str] | None = None) -> IssuedKey:
    """Create a key for a project; the caller commits."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValidationFailed("unknown or missing scopes", details={"unknown": unknown, "allowed": SCOPES})
    origins = sorted({normalise_origin(o) for o in allowed_origins or []})
    if "widget" in scopes and not origins:
        raise ValidationFailed("a widget key needs at least one allowed origin")
    scope_tag = "widget" if "widget" in scopes else ("admin" if "admin" in scopes else "ingest")
    secret = f"{KEY_PREFIX}{scope_tag}_{secrets.token_urlsafe(32)}"
    key = ApiKey(project_id=project_id, name=name, prefix=secret[: len(KEY_PREFIX) + len(scope_tag) + 7],
                 digest=digest(secret), scopes=sorted(set(scopes)), allowed_origins=origins)
    session.add(key)
    session.flush()
    return IssuedKey(key=key, secret=secret)


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What authentication needs of a key, as an immutable snapshot that may be cached."""

    id: int
    project_id: int
    scopes: frozenset[str]
    allowed_origins: tuple[str, ...]
    expires_at: datetime | None
    revoked_at: datetime | None

    def is_active(self, now: datetime) -> bool:
        """Neither revoked nor past its expiry (the same rule as `ApiKey.is_active`)."""
        if self.revoked_at is not None and self.revoked_at <= now:
            return False
        return self.expires_at is None or self.expires_at > now


_BY_DIGEST = select(ApiKey).where(ApiKey.digest == bindparam("digest"))  # built once: runs on every request
_INFO_BY_DIGEST = select(ApiKey.id, ApiKey.project_id, ApiKey.scopes, ApiKey.allowed_origins, ApiKey.expires_at,
                         ApiKey.revoked_at).where(ApiKey.digest == bindparam("digest"))
# Revocation bound: a revoke or rotate in this process drops the entry at once (and again at commit, and a read
# racing with it never stores its value); another process (the CLI, another gunicorn worker) sees it after at
# most TTL_SECONDS = 2 s, when the entry expires. Expiry times are checked on every use, so they are exact.
KEY_CACHE = hotcache.TTLCache("api_keys", ttl=hotcache.TTL_SECONDS)


def authenticate(session: Session, secret: str) -> ApiKey:
    """The active key whose digest matches `secret`, else Unauthorized."""
    key = session.scalar(_BY_DIGEST, {"digest": digest(secret)})
    if key is None:
        raise Unauthorized("unknown API key")
    if not key.is_active(utcnow()):
        raise Unauthorized("this API key was revoked or has expired")
    return key


def _load_info(session: Session, key_digest: str) -> KeyInfo | None:
    row = session.connection().execute(_INFO_BY_DIGEST, {"digest": key_digest}).first()
    if row is None:
        return None  # unknown digests are not cached: a key created elsewhere works at once
    return KeyInfo(id=row.id, project_id=row.project_id, scopes=frozenset(row.scopes or ()),
                   allowed_origins=tuple(row.allowed_origins or ()), expires_at=row.expires_at,
                   revoked_at=row.revoked_at)


def authenticate_cached(session: Session, secret: str) -> KeyInfo:
    """Like `authenticate`, from a per-process cache of at most 2 s (see KEY_CACHE for the revocation bound)."""
    key_digest = digest(secret)
    info = KEY_CACHE.get_or_load(session, key_digest, lambda: _load_info(session, key_digest))
    if info is None:
        raise Unauthorized("unknown API key")
    if not info.is_active(utcnow()):
        raise Unauthorized("this API key was revoked or has expired")
    return info


def list_keys(session: Session, project_id: int) -> list[ApiKey]:
    """Every key of a project, newest first."""
    return list(session.scalars(select(ApiKey).where(ApiKey.project_id == project_id)
                                .order_by(ApiKey.id.desc())))


def get_key(session: Session, project_id: int, key_id: int) -> ApiKey:
    """One key of a project, else NotFound."""
    key = session.get(ApiKey, key_id) if 0 < key_id < 2**63 else None
    if key is None or key.project_id != project_id:
        raise NotFound(f"no key {key_id} in this project")
    return key


def revoke_key(session: Session, project_id: int, key_id: int) -> ApiKey:
    """Revoke a key now (idempotent); the caller commits."""
    key = get_key(session, project_id, key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    hotcache.invalidate(session, KEY_CACHE, key.digest)
    return key


def rotate_key(session: Session, project_id: int, key_id: int, grace_seconds: int = 3600) -> IssuedKey:
    """Issue a replacement with the same name, scopes and origins; the old key expires after the grace period."""
    old = get_key(session, project_id, key_id)
    if not old.is_active(utcnow()):
        raise ValidationFailed("cannot rotate a revoked or expired key")
    new = create_key(session, project_id, old.name, list(old.scopes), list(old.allowed_origins))
    expiry = utcnow() + timedelta(seconds=grace_seconds)
    old.expires_at = min(old.expires_at, expiry) if old.expires_at else expiry
    old.note = f"rotated to key {new.key.id}"
    hotcache.invalidate(session, KEY_CACHE, old.digest)
    return new

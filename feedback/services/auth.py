"""Who is calling: an API key with scopes, or a feedback token scoped to one interaction."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from feedback.errors import Forbidden, Unauthorized, ValidationFailed
from feedback.services import keys
from feedback.services.tokens import TokenSigner


@dataclass(frozen=True)
class Principal:
    """The authenticated caller. Token principals carry the one interaction they may give feedback on."""

    project_id: int
    kind: str  # "key" or "token"
    scopes: frozenset[str] = field(default_factory=frozenset)
    key_id: int | None = None
    interaction_id: int | None = None
    end_user_id: str | None = None

    @property
    def is_public(self) -> bool:
        """Browser-side callers (tokens and widget keys) may only write end-user feedback."""
        return self.kind == "token" or self.scopes == frozenset({"widget"})


def authenticate(session: Session, signer: TokenSigner, authorization: str | None,
                 token_header: str | None, origin: str | None) -> Principal:
    """Resolve the caller from `Authorization: Bearer ...` or `X-Feedback-Token`."""
    credential = token_header
    if credential is None and authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthorized("use 'Authorization: Bearer <api key or feedback token>'")
        credential = value.strip()
    if not credential:
        raise Unauthorized("missing credentials: send an API key or a feedback token")
    if credential.startswith(keys.KEY_PREFIX):
        key = keys.authenticate_cached(session, credential)
        if "widget" in key.scopes and (origin is None or keys_origin(origin) not in key.allowed_origins):
            raise Forbidden("this widget key is not allowed from this origin", code="origin_not_allowed",
                            details={"origin": origin})
        return Principal(project_id=key.project_id, kind="key", scopes=key.scopes, key_id=key.id)
    claims = signer.verify(credential)
    return Principal(project_id=claims.project_id, kind="token", interaction_id=claims.interaction_id,
                     end_user_id=claims.end_user_id)


def keys_origin(origin: str) -> str | None:
    """The normalised form of a request's Origin header, or None if it is not a valid origin."""
    try:
        return keys.normalise_origin(origin)
    except (ValidationFailed, ValueError):
        return None


def require_scope(principal: Principal, *allowed: str) -> None:
    """Forbidden unless the caller holds one of `allowed` (`admin` implies every scope)."""
    if principal.kind != "key" or not (principal.scopes & {*allowed, "admin"}):
        raise Forbidden(f"this endpoint needs one of the scopes: {', '.join(sorted({*allowed, 'admin'}))}",
                        code="insufficient_scope")

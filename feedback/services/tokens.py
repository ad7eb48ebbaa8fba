"""Signed per-response feedback tokens: HMAC (itsdangerous), expiring, scoped to one interaction and user."""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from feedback.errors import Unauthorized

SALT = "feedback-token-v1"


@dataclass(frozen=True)
class TokenClaims:
    """What a feedback token allows: feedback on one interaction of one project, as one end user."""

    project_id: int
    interaction_id: int
    end_user_id: str | None


class TokenSigner:
    """Mints and verifies feedback tokens with the server secret."""

    def __init__(self, secret: str, max_age_seconds: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=SALT)
        self.max_age_seconds = max_age_seconds

    def mint(self, project_id: int, interaction_id: int, end_user_id: str | None) -> str:
        """A token for feedback on `interaction_id`."""
        return self._serializer.dumps({"p": project_id, "i": interaction_id, "u": end_user_id})

    def verify(self, token: str) -> TokenClaims:
        """The claims of a valid, unexpired token, else Unauthorized with the reason."""
        try:
            data = self._serializer.loads(token, max_age=self.max_age_seconds)
        except SignatureExpired as exc:
            raise Unauthorized("feedback token expired", code="token_expired") from exc
        except BadSignature as exc:
            raise Unauthorized("invalid feedback token", code="token_invalid") from exc
        if not isinstance(data, dict) or not isinstance(data.get("p"), int) or not isinstance(data.get("i"), int):
            raise Unauthorized("invalid feedback token", code="token_invalid")
        user = data.get("u")
        return TokenClaims(project_id=data["p"], interaction_id=data["i"],
                           end_user_id=user if isinstance(user, str) else None)

"""Signed per-response feedback tokens: HMAC-SHA256, expiring, scoped to one project, interaction and end user.

Format (v2): `<payload>.<timestamp>.<signature>`, each part URL-safe base64 without padding (itsdangerous'
encoding and its `TimestampSigner` clock): payload is the compact JSON `{"p": project, "i": interaction,
"u": end user}` and the signature is HMAC-SHA256 over `payload.timestamp` with a key derived from the server
secret once per signer, so minting 1,000 tokens costs a few milliseconds (itsdangerous' serializer re-derived
its key and tried zlib on every `dumps`).

Tokens minted before v2 (itsdangerous `URLSafeTimedSerializer`, HMAC-SHA1, 27-character signature) are still
verified, strictly, by itsdangerous itself until they expire.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from base64 import urlsafe_b64encode
from dataclasses import dataclass
from hmac import digest as hmac_digest
from json.encoder import encode_basestring_ascii

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_decode, base64_encode, bytes_to_int, int_to_bytes

from feedback.errors import Unauthorized

SALT = "feedback-token-v1"  # the itsdangerous (v1) tokens' salt
SALT_V2 = b"feedback-token-v2"
_SIG_LEN_V2 = 43  # base64 of a 32-byte SHA-256 MAC, unpadded
_SIG_LEN_V1 = 27  # base64 of a 20-byte SHA-1 MAC (itsdangerous' default), unpadded


def _b64(data: bytes) -> bytes:
    """URL-safe base64 without padding, as itsdangerous' `base64_encode` writes it (minus its type checks)."""
    return urlsafe_b64encode(data).rstrip(b"=")


def _payload(project_id: int, interaction_id: int, end_user_id: str | None) -> bytes:
    """Compact JSON of the claims, as `json.dumps(..., separators=(",", ":"))` writes it (built directly: the
    encoder's per-call set-up cost more than signing)."""
    user = "null" if end_user_id is None else encode_basestring_ascii(end_user_id)
    return _b64(f'{{"p":{int(project_id)},"i":{int(interaction_id)},"u":{user}}}'.encode("ascii"))


@dataclass(frozen=True)
class TokenClaims:
    """What a feedback token allows: feedback on one interaction of one project, as one end user."""

    project_id: int
    interaction_id: int
    end_user_id: str | None


def _invalid() -> Unauthorized:
    return Unauthorized("invalid feedback token", code="token_invalid")


class TokenSigner:
    """Mints and verifies feedback tokens with the server secret."""

    def __init__(self, secret: str, max_age_seconds: int) -> None:
        self._key = hmac.new(secret.encode(), SALT_V2, hashlib.sha256).digest()  # derived once per signer
        self._clock = TimestampSigner(secret, salt=SALT_V2)  # its get_timestamp is the clock tokens carry
        self._legacy = URLSafeTimedSerializer(secret, salt=SALT)
        self.max_age_seconds = max_age_seconds

    def _sign(self, message: bytes) -> bytes:
        return _b64(hmac_digest(self._key, message, "sha256"))  # OpenSSL's one-shot HMAC

    def mint(self, project_id: int, interaction_id: int, end_user_id: str | None) -> str:
        """A token for feedback on `interaction_id`."""
        stamp = base64_encode(int_to_bytes(self._clock.get_timestamp()))
        message = _payload(project_id, interaction_id, end_user_id) + b"." + stamp
        return (message + b"." + self._sign(message)).decode("ascii")

    def mint_many(self, project_id: int, rows: list[tuple[int, str | None]]) -> list[str]:
        """Tokens for many (interaction id, end user) pairs of one project, sharing one timestamp."""
        stamp = b"." + base64_encode(int_to_bytes(self._clock.get_timestamp()))
        sign = self._sign
        out = []
        for interaction_id, end_user_id in rows:
            message = _payload(project_id, interaction_id, end_user_id) + stamp
            out.append((message + b"." + sign(message)).decode("ascii"))
        return out

    def verify(self, token: str) -> TokenClaims:
        """The claims of a valid, unexpired token, else Unauthorized with the reason."""
        try:
            raw = token.encode("ascii")
        except UnicodeEncodeError as exc:
            raise _invalid() from exc
        message, dot, signature = raw.rpartition(b".")
        if not dot:
            raise _invalid()
        if len(signature) == _SIG_LEN_V1:
            data = self._verify_legacy(token)
        else:
            if len(signature) != _SIG_LEN_V2 or not hmac.compare_digest(signature, self._sign(message)):
                raise _invalid()
            payload, dot, stamp = message.rpartition(b".")
            try:
                if not dot:
                    raise ValueError("no timestamp")
                issued = bytes_to_int(base64_decode(stamp))
                data = json.loads(base64_decode(payload))
            except Exception as exc:  # noqa: BLE001 - any malformed part of a signed token is just invalid
                raise _invalid() from exc
            age = self._clock.get_timestamp() - issued
            if age > self.max_age_seconds or age < 0:  # a future timestamp is refused as itsdangerous does
                raise Unauthorized("feedback token expired", code="token_expired")
        return _claims(data)

    def _verify_legacy(self, token: str) -> object:
        try:
            return self._legacy.loads(token, max_age=self.max_age_seconds)
        except SignatureExpired as exc:
            raise Unauthorized("feedback token expired", code="token_expired") from exc
        except BadSignature as exc:
            raise _invalid() from exc


def _claims(data: object) -> TokenClaims:
    if not isinstance(data, dict) or type(data.get("p")) is not int or type(data.get("i")) is not int:
        raise _invalid()
    user = data.get("u")
    return TokenClaims(project_id=data["p"], interaction_id=data["i"],
                       end_user_id=user if isinstance(user, str) else None)

"""Errors raised by the Label Studio adapter, split by what a caller should do about them.

- :class:`LabelStudioUnreachable`: transient (network down, timeout, HTTP 5xx/408/429): retry with backoff.
- :class:`LabelStudioRejected`: Label Studio answered and said no (HTTP 4xx): retrying the same request
  will fail again. Subclasses :class:`LabelStudioAuthError` (401/403) and :class:`LabelStudioNotFound` (404).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

TRANSIENT_STATUSES = frozenset({408, 425, 429})


class LabelStudioError(Exception):
    """Any failure talking to Label Studio."""

    retryable = False

    def __init__(self, message: str, *, status_code: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body


class LabelStudioUnreachable(LabelStudioError):
    """Label Studio could not be reached or failed on its side: try again later."""

    retryable = True


class LabelStudioRejected(LabelStudioError):
    """Label Studio refused the request (4xx): the same request will not succeed on retry."""


class LabelStudioAuthError(LabelStudioRejected):
    """The token is missing, wrong, expired or lacks permission (401/403)."""


class LabelStudioNotFound(LabelStudioRejected):
    """The project, task or webhook does not exist (404)."""


def _summary(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("validation_errors", "detail", "message", "error"):
            if body.get(key):
                return json.dumps(body[key]) if not isinstance(body[key], str) else body[key]
        return json.dumps(body)[:300]
    return str(body)[:300]


def from_status(action: str, status_code: int | None, body: Any) -> LabelStudioError:
    """Build the right error for an HTTP status returned by Label Studio."""
    message = f"Label Studio {action} failed"
    if status_code is not None:
        message += f" (HTTP {status_code})"
    detail = _summary(body)
    if detail:
        message += f": {detail}"
    if status_code is None or status_code >= 500 or status_code in TRANSIENT_STATUSES:
        return LabelStudioUnreachable(message, status_code=status_code, body=body)
    if status_code in (401, 403):
        return LabelStudioAuthError(message, status_code=status_code, body=body)
    if status_code == 404:
        return LabelStudioNotFound(message, status_code=status_code, body=body)
    return LabelStudioRejected(message, status_code=status_code, body=body)


@contextmanager
def translate_errors(action: str) -> Iterator[None]:
    """Turn SDK, httpx and decoding errors raised inside the block into :class:`LabelStudioError`."""
    import httpx
    from label_studio_sdk.core.api_error import ApiError

    try:
        yield
    except LabelStudioError:
        raise
    except ApiError as exc:
        raise from_status(action, exc.status_code, exc.body) from exc
    except httpx.TransportError as exc:
        raise LabelStudioUnreachable(f"Label Studio {action} failed: cannot reach server ({exc})") from exc
    except (httpx.InvalidURL, UnicodeError) as exc:  # e.g. a host name label over 63 characters (IDNA)
        raise LabelStudioUnreachable(f"Label Studio {action} failed: the address cannot be used ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise LabelStudioUnreachable(f"Label Studio {action} failed: answer was not JSON") from exc

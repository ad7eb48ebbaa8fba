"""Opaque keyset cursors: the position after the last row of a page."""

from __future__ import annotations

import base64
import json
from datetime import datetime

from feedback.errors import BadRequest


def encode_cursor(sort_value: datetime | int, row_id: int) -> str:
    """An opaque cursor after (`sort_value`, `row_id`)."""
    value = sort_value.isoformat() if isinstance(sort_value, datetime) else sort_value
    raw = json.dumps([value, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime | int, int]:
    """The (`sort_value`, `row_id`) of a cursor; BadRequest when it was not made by `encode_cursor`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, row_id = json.loads(raw)
        if not isinstance(row_id, int):
            raise ValueError("row id")
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is None:
                raise ValueError("naive")
            return parsed, row_id
        if isinstance(value, int):
            return value, row_id
        raise ValueError("sort value")
    except (ValueError, TypeError) as exc:
        raise BadRequest("invalid cursor", code="invalid_cursor") from exc

"""Shared pydantic building blocks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("datetime out of range once converted to UTC") from exc


UtcDateTime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""A timezone-aware datetime (naive is rejected), normalised to UTC; out-of-range values fail validation."""

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
ShortText = Annotated[str, StringConstraints(max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=200_000)]
MAX_DB_INT = 2**63 - 1  # the largest value of a BIGINT id column
DbInt = Annotated[int, Field(ge=1, le=MAX_DB_INT)]
Metadata = Annotated[dict[str, Any], Field(max_length=200)]


class Strict(BaseModel):
    """Base for request bodies: unknown fields are an error, so typos are not silently dropped."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Page(BaseModel):
    """A page of results with an opaque cursor for the next one."""

    items: list[Any]
    next_cursor: str | None = None


class ErrorBody(BaseModel):
    """The payload of every error response."""

    code: str
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    """`{"error": {...}}`, the shape of every 4xx/5xx answer."""

    error: ErrorBody


class TimeRange(BaseModel):
    """Common `since` / `until` filters."""

    since: UtcDateTime | None = None
    until: UtcDateTime | None = None

"""Shared pydantic building blocks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
ShortText = Annotated[str, StringConstraints(max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=200_000)]
DbInt = Annotated[int, Field(ge=1, le=2**63 - 1)]
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

    since: datetime | None = None
    until: datetime | None = None

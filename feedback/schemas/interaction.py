"""Request and response bodies for interactions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from feedback.schemas.common import Identifier, LongText, Metadata, ShortText, Strict, UtcDateTime


class Message(Strict):
    """One chat message of the prompt."""

    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: LongText
    name: ShortText | None = None


class InteractionCreate(Strict):
    """An LLM response to log. Re-sending the same `external_id` returns the stored interaction."""

    external_id: Identifier | None = Field(default=None, description="Your id; unique per project.")
    conversation_id: Identifier | None = None
    messages: Annotated[list[Message], Field(max_length=500)] = Field(default_factory=list)
    response: LongText
    model: ShortText | None = None
    model_version: ShortText | None = None
    prompt_version: ShortText | None = None
    confidence: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    latency_ms: Annotated[float, Field(ge=0.0, le=1e12)] | None = None
    prompt_tokens: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None
    completion_tokens: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None
    metadata: Metadata = Field(default_factory=dict)
    end_user_id: Identifier | None = Field(default=None, description="A pseudonymous end-user id.")
    created_at: UtcDateTime | None = Field(default=None, description="Defaults to the time of receipt.")


class InteractionBatch(Strict):
    """Up to 1,000 interactions in one request; validated whole before anything is written."""

    items: Annotated[list[InteractionCreate], Field(min_length=1, max_length=1000)]


class InteractionOut(BaseModel):
    """A stored interaction."""

    id: int
    external_id: str
    conversation_id: str | None
    messages: list[dict[str, Any]]
    response: str
    model: str | None
    model_version: str | None
    prompt_version: str | None
    confidence: float | None
    latency_ms: float | None
    prompt_tokens: int | None
    completion_tokens: int | None
    metadata: dict[str, Any]
    end_user_id: str | None
    created_at: datetime


class InteractionCreated(InteractionOut):
    """The stored interaction plus its feedback token; `created` is false for a re-sent external_id."""

    created: bool
    feedback_token: str


class BatchItemResult(BaseModel):
    """Outcome for one item of a batch."""

    id: int
    external_id: str
    created: bool
    feedback_token: str


class BatchResult(BaseModel):
    """Results in request order."""

    results: list[BatchItemResult]
    created: int
    existing: int


class InteractionFilters(BaseModel):
    """Query parameters of the interaction list."""

    conversation_id: str | None = None
    end_user_id: str | None = None
    model: str | None = None
    model_version: str | None = None
    model_config = ConfigDict(extra="forbid")

    since: UtcDateTime | None = None
    until: UtcDateTime | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 50
    cursor: str | None = None


class InteractionPage(BaseModel):
    """A page of interactions, newest first."""

    items: list[InteractionOut]
    next_cursor: str | None = None

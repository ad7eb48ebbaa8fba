"""Request and response bodies for feedback."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from feedback.schemas.common import DbInt, Identifier, LongText, Metadata, ShortText, Strict, UtcDateTime

Source = Literal["end_user", "annotator", "model"]
FeedbackKey = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]
ReasonId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]


class FeedbackCreate(Strict):
    """A feedback revision. Idempotent by (`feedback_id`, `revision`); the newest revision wins."""

    interaction_id: DbInt | None = Field(default=None, description="Our id; optional with a feedback token.")
    interaction_external_id: Identifier | None = None
    feedback_id: Identifier | None = Field(
        default=None, description="Your stable id for this feedback; defaults to one per interaction, key and user."
    )
    revision: Annotated[int, Field(ge=1, le=1_000_000)] | None = Field(
        default=None, description="Send it for idempotent retries; omitted means the next revision."
    )
    key: FeedbackKey = "helpfulness"
    source: Source = "end_user"
    score: float | None = Field(default=None, description="Thumbs: 1 or -1; ratings: within the key's scale.")
    reasons: Annotated[list[ReasonId], Field(max_length=50)] = Field(default_factory=list)
    comment: LongText | None = None
    correction: LongText | None = None
    end_user_id: Identifier | None = None
    metadata: Metadata = Field(default_factory=dict)

    @model_validator(mode="after")
    def _has_content(self) -> FeedbackCreate:
        if self.score is None and not self.reasons and not self.comment and not self.correction:
            raise ValueError("feedback needs a score, reasons, a comment or a correction (use retract to clear)")
        if self.interaction_id is not None and self.interaction_external_id is not None:
            raise ValueError("give interaction_id or interaction_external_id, not both")
        return self


class FeedbackRetract(Strict):
    """Retract a feedback: a new revision that clears the vote."""

    revision: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    end_user_id: Identifier | None = None


class FeedbackOut(BaseModel):
    """The current state of one feedback."""

    id: int
    feedback_id: str
    interaction_id: int
    revision: int
    key: str
    source: str
    score: float | None
    reasons: list[str]
    comment: str | None
    correction: str | None
    end_user_id: str | None
    metadata: dict[str, Any]
    retracted: bool
    created_at: datetime
    updated_at: datetime


class FeedbackResult(FeedbackOut):
    """The answer to a write: `applied` is false when a newer revision was already stored."""

    applied: bool
    duplicate: bool


class FeedbackFilters(BaseModel):
    """Query parameters of the feedback list."""

    model_config = ConfigDict(extra="forbid")

    interaction_id: DbInt | None = None
    key: ShortText | None = None
    source: Source | None = None
    end_user_id: str | None = None
    since: UtcDateTime | None = None
    until: UtcDateTime | None = None
    include_retracted: bool = False
    limit: Annotated[int, Field(ge=1, le=500)] = 50
    cursor: str | None = None


class FeedbackPage(BaseModel):
    """A page of feedback, most recently updated first."""

    items: list[FeedbackOut]
    next_cursor: str | None = None

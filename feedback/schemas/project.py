"""Projects, their settings (feedback keys, reason taxonomy, origins) and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from feedback.schemas.common import ShortText, Strict

Slug = Annotated[str, Field(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]
Scope = Literal["admin", "ingest", "widget"]


class FeedbackKeySpec(Strict):
    """How scores of one feedback key are validated."""

    type: Literal["thumbs", "rating", "score"] = "thumbs"
    min: float | None = None
    max: float | None = None
    description: ShortText | None = None

    @model_validator(mode="after")
    def _scale(self) -> FeedbackKeySpec:
        if self.type in ("rating", "score") and (self.min is None or self.max is None or self.min >= self.max):
            raise ValueError(f"a {self.type} key needs min < max")
        return self


class ReasonSpec(Strict):
    """A reason chip: a stable id, its labels by language, and which thumb it belongs to."""

    id: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]
    labels: dict[Annotated[str, Field(max_length=20)], ShortText]
    polarity: Literal["positive", "negative", "any"] = "negative"


class ProjectSettings(Strict):
    """Per-project settings; every field has a sensible default."""

    feedback_keys: dict[Annotated[str, Field(max_length=100)], FeedbackKeySpec] = Field(default_factory=dict)
    reasons: Annotated[list[ReasonSpec], Field(max_length=200)] = Field(default_factory=list)
    allowed_origins: Annotated[list[Annotated[str, Field(max_length=300)]], Field(max_length=100)] = Field(
        default_factory=list
    )
    retention_days: Annotated[int, Field(ge=1)] | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_validator("reasons")
    @classmethod
    def _unique_reason_ids(cls, value: list[ReasonSpec]) -> list[ReasonSpec]:
        ids = [reason.id for reason in value]
        if len(ids) != len(set(ids)):
            raise ValueError("reason ids must be unique")
        return value


class ProjectCreate(Strict):
    """A new project."""

    slug: Slug
    name: Annotated[str, Field(min_length=1, max_length=200)]
    settings: ProjectSettings | None = None


class ProjectUpdate(Strict):
    """Fields of a project that can be changed."""

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    settings: ProjectSettings | None = None


class ProjectOut(BaseModel):
    """A project."""

    id: int
    slug: str
    name: str
    settings: dict[str, Any]
    created_at: datetime


class KeyCreate(Strict):
    """A new API key; `allowed_origins` is required for (and only meaningful on) widget keys."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    scopes: Annotated[list[Scope], Field(min_length=1)]
    allowed_origins: list[Annotated[str, Field(max_length=300)]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _widget_origins(self) -> KeyCreate:
        if "widget" in self.scopes and not self.allowed_origins:
            raise ValueError("a widget key needs at least one allowed origin")
        if "widget" in self.scopes and len(self.scopes) > 1:
            raise ValueError("a widget key is public: it cannot carry other scopes")
        return self


class KeyRotate(Strict):
    """Rotate a key: a new secret; the old one keeps working for `grace_seconds`."""

    grace_seconds: Annotated[int, Field(ge=0, le=30 * 86400)] = 3600


class KeyOut(BaseModel):
    """A key as listed (never its secret)."""

    id: int
    name: str
    prefix: str
    scopes: list[str]
    allowed_origins: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class KeyCreated(KeyOut):
    """A key right after creation: the only time its secret is shown."""

    secret: str


class ProjectCreated(BaseModel):
    """A new project with its first admin key."""

    project: ProjectOut
    admin_key: KeyCreated

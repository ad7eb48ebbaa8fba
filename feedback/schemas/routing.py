"""Request and response bodies for Label Studio connections, routing rules, the outbox and jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AnyHttpUrl, BaseModel, Field, model_validator

from feedback.schemas.common import DbInt, Identifier, Strict, UtcDateTime

Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]
Tag = Annotated[str, Field(min_length=1, max_length=200)]
Template = Literal["response_review", "pairwise", "custom"]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


# Label Studio tokens (hex legacy tokens, JWT personal access tokens) are visible ASCII: anything else could not
# even be sent in an HTTP header, so it is refused here rather than failing in the client.
LabelStudioToken = Annotated[str, Field(min_length=6, max_length=4000, pattern=r"^[!-~]+$")]


class RuleConditions(Strict):
    """Every condition given must hold (AND). Feedback conditions look at current, non-retracted
    end-user feedback on the interaction; interaction conditions at the logged interaction."""

    confidence_below: Probability | None = Field(default=None, description="Model confidence < this value.")
    thumbs_down: bool | None = Field(default=None, description="A thumbs-down (-1) on `thumbs_key`.")
    thumbs_key: Name = "helpfulness"
    rating_at_most: float | None = Field(default=None, description="A score <= this on `rating_key`.")
    rating_key: Name | None = None
    reasons_any: Annotated[list[Name], Field(max_length=50)] = Field(default_factory=list)
    comment_present: bool | None = None
    models: Annotated[list[Identifier], Field(max_length=50)] = Field(default_factory=list)
    model_versions: Annotated[list[Identifier], Field(max_length=50)] = Field(default_factory=list)
    metadata_equals: Annotated[dict[str, str | int | float | bool], Field(max_length=20)] = Field(
        default_factory=dict, description="Interaction metadata keys that must equal these values.")
    tags_any: Annotated[list[Tag], Field(max_length=50)] = Field(
        default_factory=list, description="At least one of these in the interaction's metadata.tags list.")

    @model_validator(mode="after")
    def _rating_needs_key(self) -> RuleConditions:
        if self.rating_at_most is not None and self.rating_key is None:
            raise ValueError("rating_at_most needs rating_key (the feedback key holding the rating)")
        if self.thumbs_down is False:
            raise ValueError("thumbs_down can only be true (omit it to ignore thumbs)")
        return self


class RuleCreate(Strict):
    """A routing rule sending matching interactions to one Label Studio connection."""

    name: Name
    connection_id: DbInt
    priority: Annotated[int, Field(ge=0, le=1_000_000)] = 100
    enabled: bool = True
    conditions: RuleConditions = Field(default_factory=RuleConditions)
    sample_rate: Probability = 1.0
    daily_budget: Annotated[int, Field(ge=0, le=10_000_000)] | None = None


class RuleUpdate(Strict):
    """Fields to change on a rule; omitted fields keep their value."""

    name: Name | None = None
    priority: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    enabled: bool | None = None
    conditions: RuleConditions | None = None
    sample_rate: Probability | None = None
    daily_budget: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    clear_budget: bool = False


class RuleOut(BaseModel):
    """A routing rule as stored."""

    id: int
    name: str
    connection_id: int
    priority: int
    enabled: bool
    conditions: dict[str, Any]
    sample_rate: float
    daily_budget: int | None
    used_today: int | None = None
    created_at: datetime
    updated_at: datetime


class ConnectionCreate(Strict):
    """Connect a Label Studio: the service creates the LS project (or attaches to `ls_project_id`)
    and registers a webhook with a generated secret header."""

    name: Name
    url: AnyHttpUrl
    token: LabelStudioToken = Field(
        description="A legacy API token or a personal access token; stored, never returned.")
    template: Template = "response_review"
    label_config: Annotated[str, Field(max_length=200_000)] | None = None
    title: Annotated[str, Field(min_length=3, max_length=200)] | None = None
    ls_project_id: DbInt | None = None
    webhook_url: AnyHttpUrl | None = Field(default=None, description="Default: this service's webhook URL.")
    register_webhook: bool = True
    adjudication_connection_id: DbInt | None = Field(
        default=None, description="Connection that receives interactions whose annotators disagree.")

    @model_validator(mode="after")
    def _custom_needs_xml(self) -> ConnectionCreate:
        if self.template == "custom" and not self.label_config and self.ls_project_id is None:
            raise ValueError("template 'custom' needs label_config XML")
        return self


class ConnectionOut(BaseModel):
    """A connection without its secrets."""

    id: int
    name: str
    url: str
    token_kind: str
    ls_project_id: int
    template: str
    webhook_id: int | None
    webhook_url: str | None
    active: bool
    adjudication_connection_id: int | None = None
    created_at: datetime


class OutboxFilters(Strict):
    """Query parameters for listing outbox items."""

    status: Literal["pending", "delivered", "failed"] | None = None
    connection_id: DbInt | None = None
    interaction_id: DbInt | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 100


class OutboxOut(BaseModel):
    """One routing decision and its delivery state."""

    id: int
    interaction_id: int
    connection_id: int
    rule_id: int | None
    generation: int
    trigger: str
    reason: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    ls_task_id: int | None
    created_at: datetime
    delivered_at: datetime | None


class BackfillRequest(Strict):
    """Evaluate the rules over past interactions (optionally a time window and a limit)."""

    since: UtcDateTime | None = None
    until: UtcDateTime | None = None
    limit: Annotated[int, Field(ge=1, le=1_000_000)] = 100_000


class RequeueRequest(Strict):
    """Send interactions to a connection again (an operator's explicit decision)."""

    connection_id: DbInt
    interaction_ids: Annotated[list[DbInt], Field(min_length=1, max_length=10_000)]


class RetryRequest(Strict):
    """Put failed outbox items back to pending (all failed ones of the project when `ids` is empty)."""

    ids: Annotated[list[DbInt], Field(max_length=10_000)] = Field(default_factory=list)


class JobFilters(Strict):
    """Query parameters for listing jobs."""

    status: Literal["queued", "started", "finished", "failed"] | None = None
    name: Annotated[str, Field(max_length=200)] | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 50


class JobOut(BaseModel):
    """A background job and its status."""

    id: int
    rq_job_id: str
    name: str
    queue: str
    status: str
    progress: float
    params: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class AdjudicationUpdate(Strict):
    """Where this connection's annotator disagreements go (another connection of the project), or null."""

    connection_id: DbInt | None


class TokenUpdate(Strict):
    """A replacement Label Studio token for a connection."""

    token: LabelStudioToken

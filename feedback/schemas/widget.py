"""What the embeddable widget reads: the reason taxonomy (localised labels) and the scales of feedback keys."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from feedback.schemas.common import Strict

Lang = Annotated[str, Field(min_length=2, max_length=35, pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")]


class WidgetConfigQuery(Strict):
    """`lang` picks the reason labels (falls back from region to language to English)."""

    lang: Lang = "en"


class ReasonChip(BaseModel):
    """One reason chip: its stable id and its label in the requested language."""

    id: str
    label: str


class WidgetReasons(BaseModel):
    """Chips shown after a thumbs up (`positive`) or down (`negative`); `any` reasons appear in both."""

    positive: list[ReasonChip]
    negative: list[ReasonChip]


class WidgetConfig(BaseModel):
    """The public configuration of one project's widget."""

    lang: str
    reasons: WidgetReasons
    keys: dict[str, str] = Field(description="Feedback key -> type (thumbs, rating, score).")
    scales: dict[str, tuple[float, float]] = Field(description="Rating/score keys -> [min, max].")

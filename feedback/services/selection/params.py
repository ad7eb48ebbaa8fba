"""Validated parameters of one selection cycle (strategy, budget, random share, seed, ...)."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from feedback.errors import ValidationFailed

StrategyName = Literal[
    "random",
    "margin",
    "entropy",
    "least_confidence",
    "diversity",
    "committee",
    "thumbs_disagreement",
    "cold_start",
]
STRATEGIES: tuple[str, ...] = get_args(StrategyName)
DEFAULT_STRATEGY: StrategyName = "margin"


class SelectionParamsError(ValidationFailed):
    """Raised when selection parameters are invalid (unknown strategy, budget <= 0, share out of range)."""


class SelectionParams(BaseModel):
    """Everything that decides what one cycle selects; stored with each run so it can be reproduced."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    strategy: StrategyName = DEFAULT_STRATEGY
    budget: int = Field(gt=0, le=100_000, description="How many items to select.")
    random_share: float = Field(
        default=0.10, ge=0.0, le=1.0,
        description="Share of every batch drawn uniformly at random (unbiased evaluation slice).",
    )
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    candidate_factor: int = Field(
        default=10, ge=1, le=1000,
        description="Diversity clusters only the budget x factor most uncertain items, never the whole pool.",
    )
    max_candidates: int = Field(default=20_000, ge=1, le=1_000_000)
    committee_size: int = Field(default=5, ge=2, le=50)
    sketch_dim: int = Field(default=256, ge=8, le=4096, description="Dimension used for clustering.")
    thumbs_weight: float = Field(
        default=0.3, ge=0.0, le=1.0, description="Sample weight of an end-user thumb relative to an annotator label."
    )

    @property
    def n_random(self) -> int:
        """How many items of the batch are drawn at random (the unbiased slice)."""
        if self.strategy == "random":
            return self.budget
        return int(round(self.budget * self.random_share))


def parse_params(raw: dict[str, Any] | SelectionParams) -> SelectionParams:
    """Validate raw parameters; raise `SelectionParamsError` with a readable message and per-field details."""
    if isinstance(raw, SelectionParams):
        return raw
    try:
        return SelectionParams.model_validate(raw)
    except ValidationError as exc:
        details = [
            {"field": ".".join(str(p) for p in err["loc"]) or "params", "message": err["msg"]}
            for err in exc.errors()
        ]
        summary = "; ".join(f"{d['field']}: {d['message']}" for d in details)
        if any(d["field"] == "strategy" for d in details):
            summary += f" (known strategies: {', '.join(STRATEGIES)})"
        raise SelectionParamsError(f"invalid selection parameters: {summary}", details=details) from None

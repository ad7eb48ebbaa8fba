"""Export parameters and filters (pydantic v2), validated before anything touches the disk."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from feedback.services.datasets.errors import DatasetError
from feedback.services.datasets.pairs import ORIGINS
from feedback.services.datasets.records import Record
from feedback.services.datasets.writers import FORMATS


class ExportFilters(BaseModel):
    """Which interactions to export. Empty lists mean "no restriction"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    project_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    models: list[str] = Field(default_factory=list)
    model_versions: list[str] = Field(default_factory=list)
    label_sources: list[Literal["annotator", "end_user", "model"]] = Field(default_factory=list)
    verdicts: list[Literal["good", "bad"]] = Field(default_factory=list)
    min_agreement: float | None = Field(default=None, ge=0.0, le=1.0)
    reasons: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    exclude_tags: list[str] = Field(default_factory=list)

    @field_validator("since", "until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        try:
            return value.astimezone(UTC) if value is not None else None
        except OverflowError as exc:
            raise ValueError("datetime out of range once converted to UTC") from exc

    @model_validator(mode="after")
    def _consistent(self) -> ExportFilters:
        if self.since and self.until and self.since >= self.until:
            raise ValueError("conflicting filters: `since` must be before `until`")
        overlap = sorted(set(self.tags) & set(self.exclude_tags))
        if overlap:
            raise ValueError(f"conflicting filters: tags both required and excluded: {overlap}")
        return self

    def matches(self, record: Record) -> bool:
        """Record-level check (the database service also pushes these down into SQL where it can)."""
        created = record.created_at if record.created_at.tzinfo else record.created_at.replace(tzinfo=UTC)
        if (self.since and created < self.since) or (self.until and created >= self.until):
            return False
        if self.models and record.model not in self.models:
            return False
        if self.model_versions and record.model_version not in self.model_versions:
            return False
        if self.label_sources and record.provenance.source not in self.label_sources:
            return False
        if self.verdicts and record.label not in self.verdicts:
            return False
        if self.min_agreement is not None and record.provenance.agreement < self.min_agreement:
            return False
        if self.reasons and not set(self.reasons) & set(record.reasons):
            return False
        if self.tags and not set(self.tags) & set(record.tags):
            return False
        return not (self.exclude_tags and set(self.exclude_tags) & set(record.tags))


class SplitRatios(BaseModel):
    """Share of conversations per split; must sum to 1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    train: float = Field(default=0.8, ge=0, le=1)
    validation: float = Field(default=0.1, ge=0, le=1)
    test: float = Field(default=0.1, ge=0, le=1)

    @model_validator(mode="after")
    def _sum(self) -> SplitRatios:
        if abs(self.train + self.validation + self.test - 1.0) > 1e-9:
            raise ValueError("split ratios must sum to 1")
        return self


class ExportParams(BaseModel):
    """Everything that determines an export's bytes (together with the selected data)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    formats: list[str] = Field(min_length=1)
    filters: ExportFilters = Field(default_factory=ExportFilters)
    splits: SplitRatios = Field(default_factory=SplitRatios)
    seed: int = 0
    dedup_exact: bool = True
    dedup_near: bool = True
    pii: bool = True
    pii_patterns: dict[str, str] = Field(default_factory=dict)
    pair_origins: list[Literal["correction", "pairwise", "thumbs"]] = Field(default_factory=lambda: list(ORIGINS))
    feedback_key: str = "helpfulness"
    license: str = "other"
    language: list[str] = Field(default_factory=lambda: ["en"])
    row_group_size: int = Field(default=10_000, ge=1_000, le=1_000_000)
    # CSV cells a spreadsheet would run as a formula (text from end users starting with = + - @ tab or CR):
    # "escape" prefixes them with an apostrophe (OWASP's advice), "keep" writes the text as it is.
    csv_formulas: Literal["escape", "keep"] = "escape"

    @field_validator("formats")
    @classmethod
    def _known_formats(cls, value: list[str]) -> list[str]:
        unknown = [f for f in value if f not in FORMATS]
        if unknown:
            raise ValueError(f"unknown format(s) {unknown}; known formats: {sorted(FORMATS)}")
        if len(set(value)) != len(value):
            raise ValueError("formats must not repeat")
        return sorted(value)


def parse_params(data: ExportParams | dict[str, Any]) -> ExportParams:
    """Validate raw parameters; a pydantic error becomes a `DatasetError` listing every problem."""
    if isinstance(data, ExportParams):
        return data
    try:
        return ExportParams.model_validate(data)
    except ValidationError as exc:
        problems = [{"loc": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        raise DatasetError("invalid export parameters: " + "; ".join(
            f"{p['loc'] or 'params'}: {p['message']}" for p in problems), details=problems) from None

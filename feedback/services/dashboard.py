"""What end users think: feedback volume, thumbs-up rate by model version, reasons, calibration, comments.

Each function runs one GROUP BY query and returns plain dataclasses that the charts and templates render. Day
buckets read the daily rollups (`dashboard_rollup.refresh` first); hour buckets query the feedback of the last
day directly. Only current, non-retracted end-user feedback counts, bucketed by when it was first given.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, func, select, true
from sqlalchemy.orm import Session

from feedback.models import Feedback, Interaction, Project
from feedback.services import dashboard_daily
from feedback.services.dashboard_sql import (
    CALIBRATION_BINS,
    Window,
    bucket_expr,
    confidence_bin,
    reason_values,
    wilson,
)

NO_VERSION = "(unversioned)"


@dataclass
class Rate:
    """Thumbs-up successes out of n, with the Wilson 95 % interval."""

    ups: int
    n: int

    @property
    def value(self) -> float | None:
        """The observed rate, or None without observations."""
        return self.ups / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float]:
        """Lower and upper bound of the 95 % interval."""
        return wilson(self.ups, self.n)


@dataclass
class VersionSeries:
    """One model version over the window: feedback volume and thumbs-up rate per bucket."""

    version: str
    volume: dict[str, int] = field(default_factory=dict)
    rates: dict[str, Rate] = field(default_factory=dict)

    @property
    def total(self) -> Rate:
        """The version's thumbs-up rate over the whole window."""
        return Rate(sum(r.ups for r in self.rates.values()), sum(r.n for r in self.rates.values()))

    @property
    def volume_total(self) -> int:
        """All end-user feedback on this version in the window."""
        return sum(self.volume.values())


@dataclass
class ReasonCount:
    """How often a reason was given with a thumbs down."""

    id: str
    label: str
    count: int


@dataclass
class CalibrationBin:
    """Users' thumbs-up rate on responses whose model confidence fell in [low, high)."""

    low: float
    high: float
    rate: Rate


@dataclass
class RecentComment:
    """A recent piece of feedback carrying a comment."""

    at: datetime
    score: float | None
    key: str
    reasons: list[str]
    comment: str
    model_version: str
    response: str
    end_user_id: str | None


def thumbs_keys(project: Project) -> list[str]:
    """The project's feedback keys of type `thumbs`."""
    keys = (project.settings or {}).get("feedback_keys", {})
    return sorted(name for name, spec in keys.items() if spec.get("type") == "thumbs")


def _one_if(condition):
    return case((condition, 1), else_=0)


def _end_user_feedback(project_id: int, window: Window):
    return and_(Feedback.project_id == project_id, Feedback.source == "end_user",
                Feedback.retracted.is_(False), Feedback.created_at >= window.start,
                Feedback.created_at <= window.end)


def version_series(session: Session, project: Project, window: Window) -> list[VersionSeries]:
    """Feedback volume and thumbs-up rate per bucket and model version, busiest version first."""
    thumbs = thumbs_keys(project) or ["__none__"]
    if window.bucket == "day":
        return _collect(dashboard_daily.series_rows(session, project.id, window, thumbs_keys(project)))
    bucket = bucket_expr(session, Feedback.created_at, window.bucket).label("bucket")
    version = func.coalesce(Interaction.model_version, NO_VERSION).label("version")
    is_thumb = and_(Feedback.key.in_(thumbs), Feedback.score.is_not(None))
    query = (
        select(bucket, version, func.count().label("volume"),
               func.sum(_one_if(is_thumb)).label("n"),
               func.sum(_one_if(and_(is_thumb, Feedback.score > 0))).label("ups"))
        .join(Interaction, Interaction.id == Feedback.interaction_id)
        .where(_end_user_feedback(project.id, window))
        .group_by(bucket, version)
    )
    return _collect(session.execute(query))


def _collect(rows) -> list[VersionSeries]:
    series: dict[str, VersionSeries] = {}
    for bucket, version, volume, n, ups in rows:
        version = version or NO_VERSION
        entry = series.setdefault(version, VersionSeries(version))
        entry.volume[bucket] = entry.volume.get(bucket, 0) + int(volume)
        previous = entry.rates.get(bucket, Rate(0, 0))
        entry.rates[bucket] = Rate(previous.ups + int(ups or 0), previous.n + int(n or 0))
    return sorted(series.values(), key=lambda s: (-s.volume_total, s.version))


def top_negative_reasons(session: Session, project: Project, window: Window, limit: int = 8) -> list[ReasonCount]:
    """Reasons given with a thumbs down, most frequent first."""
    taxonomy = (project.settings or {}).get("reasons", [])
    labels = {r["id"]: (r.get("labels") or {}).get("en") or r["id"] for r in taxonomy}
    if window.bucket == "day":
        rows = dashboard_daily.reason_rows(session, project.id, window, thumbs_keys(project), limit)
        return [ReasonCount(reason, labels.get(reason, reason), int(count)) for reason, count in rows]
    expanded, value = reason_values(session, Feedback.reasons)
    query = (
        select(value.label("reason"), func.count().label("count"))
        .select_from(Feedback)
        .join(expanded, true())
        .where(_end_user_feedback(project.id, window), Feedback.key.in_(thumbs_keys(project) or ["__none__"]),
               Feedback.score < 0)
        .group_by(value)
        .order_by(func.count().desc(), value)
        .limit(limit)
    )
    return [ReasonCount(row.reason, labels.get(row.reason, row.reason), int(row.count))
            for row in session.execute(query)]


def calibration(session: Session, project: Project, window: Window) -> list[CalibrationBin]:
    """Thumbs-up rate per model-confidence decile: a calibrated model's line follows the diagonal."""
    thumbs = thumbs_keys(project) or ["__none__"]
    width = 1 / CALIBRATION_BINS
    if window.bucket == "day":
        daily = dashboard_daily.calibration_rows(session, project.id, window, thumbs)
        return [CalibrationBin(i * width, (i + 1) * width, Rate(*daily.get(i, (0, 0))))
                for i in range(CALIBRATION_BINS)]
    index = confidence_bin(session, Interaction.confidence).label("bin")
    query = (
        select(index, func.count().label("n"), func.sum(_one_if(Feedback.score > 0)).label("ups"))
        .join(Interaction, Interaction.id == Feedback.interaction_id)
        .where(_end_user_feedback(project.id, window), Feedback.key.in_(thumbs), Feedback.score.is_not(None),
               Interaction.confidence.is_not(None))
        .group_by(index)
    )
    counts = {int(row.bin): Rate(int(row.ups or 0), int(row.n)) for row in session.execute(query)}
    return [CalibrationBin(i * width, (i + 1) * width, counts.get(i, Rate(0, 0))) for i in range(CALIBRATION_BINS)]


def recent_comments(session: Session, project_id: int, limit: int = 12) -> list[RecentComment]:
    """The newest end-user feedback with a comment, with the response it is about."""
    query = (
        select(Feedback, Interaction.model_version, Interaction.response)
        .join(Interaction, Interaction.id == Feedback.interaction_id)
        .where(Feedback.project_id == project_id, Feedback.retracted.is_(False), Feedback.comment.is_not(None),
               Feedback.comment != "")
        .order_by(Feedback.updated_at.desc(), Feedback.id.desc())
        .limit(limit)
    )
    return [RecentComment(fb.updated_at, fb.score, fb.key, list(fb.reasons or []), fb.comment or "",
                          mv or NO_VERSION, response, fb.end_user_id)
            for fb, mv, response in session.execute(query)]


def interaction_count(session: Session, project_id: int, window: Window) -> int:
    """Interactions logged in the window."""
    return int(session.scalar(select(func.count()).select_from(Interaction).where(
        Interaction.project_id == project_id, Interaction.created_at >= window.start,
        Interaction.created_at <= window.end)) or 0)


def totals_by_bucket(series: list[VersionSeries], labels: list[str]) -> dict[str, int]:
    """Feedback volume per bucket across versions."""
    out: dict[str, int] = defaultdict(int)
    for entry in series:
        for label in labels:
            out[label] += entry.volume.get(label, 0)
    return dict(out)

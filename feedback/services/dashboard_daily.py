"""The dashboard's day-bucket figures read from the daily rollups (see `dashboard_rollup`)."""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from feedback.models import FeedbackDaily, ReasonDaily
from feedback.services.dashboard_sql import CALIBRATION_BINS, Window


def _days(window: Window) -> tuple[str, str]:
    return window.start.strftime("%Y-%m-%d"), window.end.strftime("%Y-%m-%d")


def series_rows(session: Session, project_id: int, window: Window, thumbs: list[str]):
    """(day, version, volume, scored thumbs, ups) per day and model version."""
    first, last = _days(window)
    f = FeedbackDaily
    is_thumb = f.key.in_(thumbs or ["__none__"])
    query = (
        select(f.day, f.model_version, func.sum(f.volume).label("volume"),
               func.sum(case((is_thumb, f.scored), else_=0)).label("n"),
               func.sum(case((is_thumb, f.ups), else_=0)).label("ups"))
        .where(f.project_id == project_id, f.day >= first, f.day <= last)
        .group_by(f.day, f.model_version)
    )
    return session.execute(query)


def calibration_rows(session: Session, project_id: int, window: Window, thumbs: list[str]) -> dict[int, tuple]:
    """{bin: (ups, n)} over thumbs feedback with a confidence."""
    first, last = _days(window)
    f = FeedbackDaily
    query = (
        select(f.conf_bin, func.sum(f.ups), func.sum(f.scored))
        .where(f.project_id == project_id, f.day >= first, f.day <= last, f.key.in_(thumbs or ["__none__"]),
               f.conf_bin >= 0, f.conf_bin < CALIBRATION_BINS)
        .group_by(f.conf_bin)
    )
    return {int(b): (int(ups or 0), int(n or 0)) for b, ups, n in session.execute(query)}


def reason_rows(session: Session, project_id: int, window: Window, thumbs: list[str], limit: int):
    """(reason, count) most frequent first."""
    first, last = _days(window)
    r = ReasonDaily
    total = func.sum(r.count)
    query = (
        select(r.reason, total.label("count"))
        .where(r.project_id == project_id, r.day >= first, r.day <= last, r.key.in_(thumbs or ["__none__"]))
        .group_by(r.reason).order_by(total.desc(), r.reason).limit(limit)
    )
    return session.execute(query)

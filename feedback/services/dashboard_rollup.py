"""Daily rollups for the dashboard: kept current incrementally and read instead of the feedback table.

`refresh` recomputes only the days (by feedback creation day, UTC) that hold feedback changed since the last
refresh, so a page load on a million-row project touches a handful of rows once the rollups are built.
Deleting feedback (end-user erasure, retention) calls `recompute_days` for the days it touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import case, delete, func, insert, literal, select, text
from sqlalchemy.orm import Session

from feedback.db import utcnow
from feedback.models import Feedback, FeedbackDaily, Interaction, ReasonDaily, RollupState
from feedback.services.dashboard_sql import confidence_bin, day_expr, reason_values

DAY_CHUNK = 200
LOCK_BASE = 7_340_000_000  # pg advisory lock key space of the dashboard refresh
MARGIN = timedelta(seconds=60)  # writes stamped just before a refresh may commit just after it


def _filters(project_id: int):
    return (Feedback.project_id == project_id, Feedback.source == "end_user", Feedback.retracted.is_(False))


def _insert_days(session: Session, project_id: int, days: list[str] | None) -> None:
    day = day_expr(session, Feedback.created_at)
    version = func.coalesce(Interaction.model_version, "")
    conf = case((Interaction.confidence.is_(None), -1), else_=confidence_bin(session, Interaction.confidence))
    where = list(_filters(project_id)) + ([day.in_(days)] if days is not None else [])
    totals = (
        select(literal(project_id), day, version, conf, Feedback.key, func.count(),
               func.sum(case((Feedback.score.is_not(None), 1), else_=0)),
               func.sum(case((Feedback.score > 0, 1), else_=0)))
        .join(Interaction, Interaction.id == Feedback.interaction_id).where(*where)
        .group_by(day, version, conf, Feedback.key)
    )
    session.execute(insert(FeedbackDaily).from_select(
        ["project_id", "day", "model_version", "conf_bin", "key", "volume", "scored", "ups"], totals))
    expanded, reason = reason_values(session, Feedback.reasons)
    reasons = (
        select(literal(project_id), day, Feedback.key, reason, func.count())
        .select_from(Feedback).join(expanded, literal(True)).where(*where, Feedback.score < 0)
        .group_by(day, Feedback.key, reason)
    )
    session.execute(insert(ReasonDaily).from_select(["project_id", "day", "key", "reason", "count"], reasons))


def recompute_days(session: Session, project_id: int, days: Iterable[str] | None) -> None:
    """Rebuild the rollups of these days (all days when None) from the current feedback; the caller commits."""
    if days is None:
        session.execute(delete(FeedbackDaily).where(FeedbackDaily.project_id == project_id))
        session.execute(delete(ReasonDaily).where(ReasonDaily.project_id == project_id))
        _insert_days(session, project_id, None)
        return
    ordered = sorted(set(days))
    for start in range(0, len(ordered), DAY_CHUNK):
        chunk = ordered[start:start + DAY_CHUNK]
        session.execute(delete(FeedbackDaily).where(FeedbackDaily.project_id == project_id,
                                                    FeedbackDaily.day.in_(chunk)))
        session.execute(delete(ReasonDaily).where(ReasonDaily.project_id == project_id, ReasonDaily.day.in_(chunk)))
        _insert_days(session, project_id, chunk)


def days_of(session: Session, project_id: int, *conditions) -> list[str]:
    """The creation days of the project's feedback rows matching `conditions`."""
    day = day_expr(session, Feedback.created_at)
    return list(session.scalars(select(day).where(Feedback.project_id == project_id, *conditions).distinct()))


def refresh(session: Session, project_id: int) -> int:
    """Bring a project's rollups up to date and commit; returns how many days were recomputed (-1: all)."""
    if session.get_bind().dialect.name == "postgresql":  # SQLite's BEGIN IMMEDIATE already serialises writers
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_BASE + project_id})
    state = session.get(RollupState, project_id)
    started = utcnow()
    if state is None or state.watermark is None:
        recompute_days(session, project_id, None)
        recomputed = -1
    else:
        days = days_of(session, project_id, Feedback.updated_at >= state.watermark)
        recompute_days(session, project_id, days)
        recomputed = len(days)
    if state is None:
        state = RollupState(project_id=project_id)
        session.add(state)
    state.watermark, state.refreshed_at = started - MARGIN, started
    session.commit()
    return recomputed

"""The export's streaming SELECT: interactions joined with their signals, ordered by interaction id.

Signals are the current feedback rows on the export's key plus, when that table exists, Label Studio
annotations (with a pairwise annotation's preference and compared response). Filters that map to columns
(project, time range, model, model version) are pushed into SQL; the rest apply to resolved records.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Float,
    Select,
    String,
    Text,
    and_,
    cast,
    false,
    func,
    inspect,
    literal,
    null,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session

from feedback.models import Feedback, Interaction, Project
from feedback.models.annotation import LSAnnotationRecord
from feedback.services.datasets.params import ExportParams


def key_scale(project: Project, key: str) -> tuple[float, float]:
    """The (min, max) of a feedback key declared in the project settings (thumbs: -1..1)."""
    spec = (project.settings or {}).get("feedback_keys", {}).get(key) or {}
    if spec.get("type") == "rating":
        return float(spec.get("min", 1)), float(spec.get("max", 5))
    return -1.0, 1.0


def has_annotations(session: Session) -> bool:
    return inspect(session.get_bind()).has_table(LSAnnotationRecord.__tablename__)


def _signals(session: Session, project_id: int, key: str) -> Any:
    """Current feedback on `key` plus (when the table exists) Label Studio annotations, as one signal set."""
    text = String(200)
    feedback = select(
        Feedback.interaction_id.label("iid"), Feedback.source.label("source"), Feedback.score.label("score"),
        cast(null(), Float).label("rating"), cast(null(), String(10)).label("verdict"),
        Feedback.correction.label("correction"), Feedback.reasons.label("reasons"),
        func.coalesce(Feedback.end_user_id, Feedback.feedback_uid).label("voter"),
        Feedback.updated_at.label("at"), Feedback.feedback_uid.label("uid"),
        cast(null(), String(1)).label("preference"), cast(null(), Text).label("compared"),
    ).where(Feedback.project_id == project_id, Feedback.key == key, Feedback.retracted == false())
    if not has_annotations(session):
        return feedback.subquery("signals")
    a = LSAnnotationRecord
    annotations = select(
        a.interaction_id, literal("annotator", text), cast(null(), Float), a.rating, a.verdict, a.corrected_text,
        a.reasons, func.coalesce(cast(a.annotator_id, text), "ls"), a.updated_at,
        cast(a.ls_annotation_id, text), a.preference, a.compared_response,
    ).where(a.project_id == project_id, a.deleted == false(), a.was_cancelled == false(),
            a.interaction_id.is_not(None))
    return union_all(feedback, annotations).subquery("signals")


def build_query(session: Session, project_id: int, params: ExportParams) -> Select[Any]:
    """The streaming SELECT: interaction columns + one signal per row, ordered by interaction id.

    JSON columns come back as JSON text and (on SQLite) timestamps as stored text, decoded by `_loads` and
    `_stamp`: the same values the typed columns would give, without SQLAlchemy's per-value processors.
    """
    signals = _signals(session, project_id, params.feedback_key)
    i = Interaction
    f = params.filters
    conditions = [i.project_id == project_id]
    if f.since:
        conditions.append(i.created_at >= f.since)
    if f.until:
        conditions.append(i.created_at < f.until)
    if f.models:
        conditions.append(i.model.in_(f.models))
    if f.model_versions:
        conditions.append(i.model_version.in_(f.model_versions))
    raw = session.get_bind().dialect.name == "sqlite"  # SQLite: stored JSON text and timestamps, decoded here

    def text(column: Any, stamp: bool = False) -> Any:
        if raw or stamp:  # no SQLAlchemy processing (PostgreSQL: psycopg's own datetime)
            return type_coerce(column, String)
        return cast(column, Text)

    columns = [i.id, i.conversation_id, text(i.messages), i.response, i.model, i.model_version,
               text(i.created_at, True), text(i.meta),
               signals.c.source, signals.c.score, signals.c.rating, signals.c.verdict, signals.c.correction,
               text(signals.c.reasons), signals.c.voter, text(signals.c.at, True), signals.c.uid,
               signals.c.preference, signals.c.compared]
    return (select(*columns).join_from(i, signals, signals.c.iid == i.id).where(and_(*conditions))
            .order_by(i.id, signals.c.at, signals.c.uid))

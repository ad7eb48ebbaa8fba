"""The export's streaming SELECT: interactions joined with their signals, ordered by interaction id.

Signals are the current feedback rows on the export's key plus, when that table exists, Label Studio
annotations (with a pairwise annotation's preference and compared response). Filters that map to columns
(project, time range, model, model version) are pushed into SQL; the rest apply to resolved records.

On SQLite the same rows come from a differently shaped statement (`_sqlite_query`) that streams in order
instead of sorting the whole joined result before the first row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    CompoundSelect,
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
    literal_column,
    null,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import Join

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
    """Whether the database has the Label Studio annotations table (exports then read annotations too)."""
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


def build_query(session: Session, project_id: int, params: ExportParams) -> Select[Any] | CompoundSelect:
    """The streaming SELECT: interaction columns + one signal per row, ordered by interaction id.

    JSON columns come back as JSON text and (on SQLite) timestamps as stored text, decoded by `_loads` and
    `_stamp`: the same values the typed columns would give, without SQLAlchemy's per-value processors.
    """
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
    if session.get_bind().dialect.name == "sqlite":  # stored JSON text and timestamps, decoded by the source
        return _sqlite_query(session, project_id, params.feedback_key, conditions)
    return _joined_query(session, project_id, params.feedback_key, conditions)


def _joined_query(session: Session, project_id: int, key: str, conditions: list[Any]) -> Select[Any]:
    """`build_query`'s statement on PostgreSQL (and the reference the SQLite statement is tested against)."""
    i = Interaction
    signals = _signals(session, project_id, key)

    def text(column: Any, stamp: bool = False) -> Any:
        if stamp:  # no SQLAlchemy processing (psycopg's own datetime)
            return type_coerce(column, String)
        return cast(column, Text)

    columns = [i.id, i.conversation_id, text(i.messages), i.response, i.model, i.model_version,
               text(i.created_at, True), text(i.meta),
               signals.c.source, signals.c.score, signals.c.rating, signals.c.verdict, signals.c.correction,
               text(signals.c.reasons), signals.c.voter, text(signals.c.at, True), signals.c.uid,
               signals.c.preference, signals.c.compared]
    return (select(*columns).join_from(i, signals, signals.c.iid == i.id).where(and_(*conditions))
            .order_by(i.id, signals.c.at, signals.c.uid))


class _CrossJoin(Join):
    """`left CROSS JOIN right ON ...`: SQLite's documented way to keep `left` as the outer loop."""

    inherit_cache = True


@compiles(_CrossJoin, "sqlite")
def _cross_join(join: _CrossJoin, compiler: Any, **kw: Any) -> str:
    kw["asfrom"] = True
    return (f"{compiler.process(join.left, **kw)} CROSS JOIN {compiler.process(join.right, **kw)} "
            f"ON {compiler.process(join.onclause, **kw)}")


def _sqlite_query(session: Session, project_id: int, key: str, conditions: list[Any]) -> CompoundSelect:
    """`build_query`'s rows on SQLite: one SELECT per signal table, merged on the ORDER BY.

    The feedback arm walks the project's interactions in rowid (= id) order and looks up each one's feedback
    by index, so SQLite only sorts the few signals of one interaction at a time; the single statement over a
    UNION ALL subquery materialised and sorted every joined row before returning the first (~0.4 s of 200k
    rows with the reader's consumer idle, a quarter of the query's CPU). `+ 0` keeps the planner off the
    project indexes (which would lose the id order); the annotation arm is driven by its own project index.
    """
    i, f = Interaction, Feedback
    text = String(200)

    def raw(column: Any) -> Any:  # stored JSON text and timestamps, decoded by the source
        return type_coerce(column, String)

    head = [i.id, i.conversation_id, raw(i.messages), i.response, i.model, i.model_version, raw(i.created_at),
            raw(i.meta)]
    first, last = (select(edge(i.id)).where(i.project_id == project_id).scalar_subquery()
                   for edge in (func.min, func.max))
    in_project = [i.project_id + 0 == project_id, *conditions[1:]]  # conditions[0]: the indexed project test
    feedback = select(
        *head, f.source, f.score, cast(null(), Float), cast(null(), String(10)), f.correction, raw(f.reasons),
        func.coalesce(f.end_user_id, f.feedback_uid), raw(f.updated_at).label("at"), f.feedback_uid.label("uid"),
        cast(null(), String(1)), cast(null(), Text),
    ).select_from(_CrossJoin(i, f, f.interaction_id == i.id)).where(
        i.id.between(first, last), *in_project, f.project_id + 0 == project_id, f.key == key, f.retracted == false())
    arms = [feedback]
    if has_annotations(session):
        a = LSAnnotationRecord
        arms.append(select(
            *head, literal("annotator", text), cast(null(), Float), a.rating, a.verdict, a.corrected_text,
            raw(a.reasons), func.coalesce(cast(a.annotator_id, text), "ls"), raw(a.updated_at),
            cast(a.ls_annotation_id, text), a.preference, a.compared_response,
        ).select_from(a).join(i, a.interaction_id == i.id).where(
            *in_project, a.project_id == project_id, a.deleted == false(), a.was_cancelled == false()))
    return union_all(*arms).order_by(literal_column("1"), literal_column("at"), literal_column("uid"))

"""Stream resolved records from the database with a server-side cursor.

One query joins interactions with their signals (current feedback rows on the export's key, plus Label Studio
annotations when that table exists) ordered by interaction id, fetched `yield_per` rows at a time with
`stream_results`, so PostgreSQL uses a named cursor and SQLite steps its cursor: memory stays at one batch.
Consecutive rows of one interaction are grouped, resolved with `resolve_label`, and turned into a `Record`.
Filters that map to columns (project, time range, model, model version) are pushed into SQL; the rest are
applied on resolved records by the pipeline.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    Float,
    Select,
    String,
    and_,
    cast,
    create_engine,
    false,
    func,
    inspect,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from feedback.models import Feedback, Interaction, Project
from feedback.models.annotation import LSAnnotationRecord
from feedback.services.datasets.labels import resolve_label
from feedback.services.datasets.params import ExportParams
from feedback.services.datasets.records import FeedbackSignal, Message, Record

YIELD_PER = 5000


def key_scale(project: Project, key: str) -> tuple[float, float]:
    """The (min, max) of a feedback key declared in the project settings (thumbs: -1..1)."""
    spec = (project.settings or {}).get("feedback_keys", {}).get(key) or {}
    if spec.get("type") == "rating":
        return float(spec.get("min", 1)), float(spec.get("max", 5))
    return -1.0, 1.0


def _has_annotations(session: Session) -> bool:
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
    ).where(Feedback.project_id == project_id, Feedback.key == key, Feedback.retracted == false())
    if not _has_annotations(session):
        return feedback.subquery("signals")
    a = LSAnnotationRecord
    annotations = select(
        a.interaction_id, literal("annotator", text), cast(null(), Float), a.rating, a.verdict, a.corrected_text,
        a.reasons, func.coalesce(cast(a.annotator_id, text), "ls"), a.updated_at,
        cast(a.ls_annotation_id, text),
    ).where(a.project_id == project_id, a.deleted == false(), a.was_cancelled == false(),
            a.interaction_id.is_not(None))
    return union_all(feedback, annotations).subquery("signals")


def build_query(session: Session, project_id: int, params: ExportParams) -> Select[Any]:
    """The streaming SELECT: interaction columns + one signal per row, ordered by interaction id."""
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
    columns = [i.id, i.conversation_id, i.messages, i.response, i.model, i.model_version, i.created_at,
               i.meta.label("meta"),
               *signals.c]
    return (select(*columns).join_from(i, signals, signals.c.iid == i.id).where(and_(*conditions))
            .order_by(i.id, signals.c.at, signals.c.uid))


def _content(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # multimodal parts: keep the text parts
        return "".join(p.get("text", "") for p in value if isinstance(p, dict))
    return "" if value is None else json.dumps(value, sort_keys=True)


def _signal(row: Any, scale: tuple[float, float]) -> FeedbackSignal:
    if row.verdict in ("good", "bad"):
        score, low, high = (1.0 if row.verdict == "good" else -1.0), -1.0, 1.0
    elif row.score is None and row.rating is not None:
        score, low, high = row.rating, 1.0, 5.0  # Label Studio rating control: 1..5 stars
    else:
        score, low, high = row.score, scale[0], scale[1]
    reasons = tuple(r for r in (row.reasons or []) if isinstance(r, str))
    return FeedbackSignal(source=row.source, score=score, scale_min=low, scale_max=high,
                          correction=row.correction, reasons=reasons, voter=str(row.voter),
                          created_at=row.at, feedback_id=str(row.uid))


def _record(first: Any, signals: list[FeedbackSignal]) -> Record | None:
    resolution = resolve_label(signals)
    if resolution is None:
        return None
    meta = first.meta or {}
    tags = tuple(sorted(str(t) for t in meta.get("tags", []) if isinstance(t, str | int))) \
        if isinstance(meta.get("tags"), list) else ()
    messages = tuple(Message(str(m.get("role", "user")), _content(m.get("content")))
                     for m in (first.messages or []) if isinstance(m, dict))
    return Record(interaction_id=first.id, conversation_id=first.conversation_id or f"interaction-{first.id}",
                  messages=messages, response=first.response or "", model=first.model or "",
                  model_version=first.model_version or "", created_at=first.created_at, label=resolution.label,
                  rating=resolution.rating, correction=resolution.correction, provenance=resolution.provenance,
                  reasons=resolution.reasons, tags=tags, metadata={k: v for k, v in meta.items() if k != "tags"})


@contextmanager
def read_connection(session: Session) -> Iterator[Connection]:
    """A connection for one long streaming read.

    PostgreSQL: the session's own connection (a named cursor in its read transaction). SQLite: a separate
    plain connection, because the app's SQLite engine opens every transaction with `BEGIN IMMEDIATE`, which
    would hold the write lock (and block ingest) for the whole export; a single SELECT in WAL mode reads one
    consistent snapshot without any lock held against writers.
    """
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        yield session.connection()
        return
    engine = create_engine(bind.url.render_as_string(hide_password=False), poolclass=NullPool,
                           connect_args={"check_same_thread": False, "timeout": 30})
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def stream_records(session: Session, project: Project, params: ExportParams,
                   stats: dict[str, Any]) -> Iterator[Record]:
    """Resolved records of the project in interaction-id order; `stats` counts scanned and unresolved rows."""
    with read_connection(session) as connection:
        yield from _stream(connection, session, project, params, stats)


def _stream(connection: Connection, session: Session, project: Project, params: ExportParams,
            stats: dict[str, Any]) -> Iterator[Record]:
    scale = key_scale(project, params.feedback_key)
    query = build_query(session, project.id, params)
    stats.update({"interactions_scanned": 0, "unresolved": 0, "signals": 0, "feedback_key": params.feedback_key,
                  "annotations_included": _has_annotations(session)})
    result = connection.execute(query, execution_options={"yield_per": YIELD_PER, "stream_results": True})
    current: Any = None
    signals: list[FeedbackSignal] = []
    for row in result:
        if current is not None and row.id != current.id:
            stats["interactions_scanned"] += 1
            record = _record(current, signals)
            if record is None:
                stats["unresolved"] += 1
            else:
                yield record
            signals = []
        current = row
        stats["signals"] += 1
        signals.append(_signal(row, scale))
    if current is not None:
        stats["interactions_scanned"] += 1
        record = _record(current, signals)
        if record is None:
            stats["unresolved"] += 1
        else:
            yield record

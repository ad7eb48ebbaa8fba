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
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import (
    DateTime,
    Float,
    Select,
    String,
    Text,
    and_,
    cast,
    create_engine,
    false,
    func,
    inspect,
    literal,
    null,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from feedback.models import Feedback, Interaction, Project
from feedback.models.annotation import LSAnnotationRecord
from feedback.services.datasets.labels import resolve_label, resolve_single
from feedback.services.datasets.params import ExportParams
from feedback.services.datasets.records import FeedbackSignal, Message, PairwiseJudgement, Record, Resolution

YIELD_PER = 5000
_FAST_STAMP = 26  # len('2024-01-01 00:00:03.000000'), the form SQLAlchemy stores on SQLite


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
        cast(null(), String(1)).label("preference"), cast(null(), Text).label("compared"),
    ).where(Feedback.project_id == project_id, Feedback.key == key, Feedback.retracted == false())
    if not _has_annotations(session):
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


def _content(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # multimodal parts: keep the text parts
        return "".join(p.get("text", "") for p in value if isinstance(p, dict))
    return "" if value is None else json.dumps(value, sort_keys=True)


def _loads(value: Any) -> Any:
    """JSON text to Python (orjson, falling back to `json` for what it rejects, e.g. NaN or huge ints)."""
    if value is None or not isinstance(value, str | bytes):
        return value
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return json.loads(value)


_SQLITE = sqlite_dialect()
_PARSE_STAMP = DateTime(timezone=True).dialect_impl(_SQLITE).result_processor(_SQLITE, None)


def _stamp(value: Any) -> datetime | None:
    """A stored timestamp as an aware UTC datetime (what `UTCDateTime` returns)."""
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) == _FAST_STAMP and value[10] == " " and value[19] == ".":  # the stored form: parse in C
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        value = _PARSE_STAMP(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _score(score: Any, rating: Any, verdict: Any, scale: tuple[float, float]) -> tuple[Any, float, float]:
    """The signal's (score, scale min, scale max): a verdict is -1/1, a Label Studio rating is on 1..5."""
    if verdict in ("good", "bad"):
        return (1.0 if verdict == "good" else -1.0), -1.0, 1.0
    if score is None and rating is not None:
        return rating, 1.0, 5.0  # Label Studio rating control: 1..5 stars
    return score, scale[0], scale[1]


def _reasons(raw: Any) -> tuple[str, ...]:
    if raw is None or raw == "[]":
        return ()
    reasons = _loads(raw)
    return tuple(r for r in reasons if isinstance(r, str)) if reasons else ()


def _signal(row: Any, scale: tuple[float, float]) -> FeedbackSignal:
    source, score, rating, verdict, correction, reasons, voter, at, uid = row[8:17]
    score, low, high = _score(score, rating, verdict, scale)
    return FeedbackSignal(source, score, low, high, correction, _reasons(reasons), str(voter), _stamp(at),
                          str(uid))


def _resolve(first: Any, more: list[Any] | None, scale: tuple[float, float]) -> Resolution | None:
    """The label of one interaction from its signal rows (one row: without building a `FeedbackSignal`)."""
    if more is None:
        source, score, rating, verdict, correction, reasons = first[8:14]
        score, low, high = _score(score, rating, verdict, scale)
        return resolve_single(source, score, low, high, correction, _reasons(reasons))
    return resolve_label([_signal(row, scale) for row in (first, *more)])


_SYSTEM: dict[str, Message] = {}  # system prompts repeat across a project's rows: one shared (immutable) Message
_SYSTEM_MAX = 1000


def _message(item: dict[str, Any]) -> Message:
    role = item.get("role", "user")
    content = item.get("content")
    if not isinstance(content, str):
        content = _content(content)
    if role != "system":
        return Message(str(role), content)
    shared = _SYSTEM.get(content)
    if shared is None:
        if len(_SYSTEM) >= _SYSTEM_MAX:
            _SYSTEM.clear()
        shared = _SYSTEM[content] = Message(role, content)
    return shared


def _messages(raw: Any) -> tuple[Message, ...]:
    items = _loads(raw)
    return tuple([_message(m) for m in items if isinstance(m, dict)]) if items else ()


def _pairwise(first: Any, more: list[Any] | None) -> tuple[PairwiseJudgement, ...]:
    """Pairwise annotations among the interaction's signal rows: preference `a` is this response, `b` the
    compared one (rows without the compared text cannot make a pair and are skipped)."""
    if more is None:
        if first[17] is None or first[18] is None:
            return ()
        rows: Any = (first,)
    else:
        rows = (first, *more)
    return tuple(PairwiseJudgement(row[18], "this" if row[17] == "a" else "other") for row in rows
                 if row[17] in ("a", "b") and row[18] is not None)


def _record(first: Any, resolution: Resolution | None, more: list[Any] | None = None) -> Record | None:
    if resolution is None:
        return None
    iid, conversation_id, raw_messages, response, model, model_version, created_at, raw_meta = first[:8]
    meta = _loads(raw_meta) or {}
    tags = meta.get("tags")
    tags = tuple(sorted(str(t) for t in tags if isinstance(t, str | int))) if isinstance(tags, list) else ()
    if "tags" in meta:
        meta = {k: v for k, v in meta.items() if k != "tags"}
    return Record(iid, conversation_id or f"interaction-{iid}", _messages(raw_messages), response or "",
                  model or "", model_version or "", _stamp(created_at), resolution.label, resolution.rating,
                  resolution.correction, resolution.provenance, resolution.reasons, tags, _pairwise(first, more), meta)


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
    more: list[Any] | None = None  # further signal rows of the current interaction (rare)
    scanned = unresolved = count = 0
    for partition in result.partitions(YIELD_PER):
        count += len(partition)
        for row in partition:
            if current is not None:
                if row[0] == current[0]:
                    if more is None:
                        more = []
                    more.append(row)
                    continue
                scanned += 1
                record = _record(current, _resolve(current, more, scale), more)
                if record is None:
                    unresolved += 1
                else:
                    yield record
                more = None
            current = row
        stats.update(interactions_scanned=scanned, unresolved=unresolved, signals=count)
    if current is not None:
        scanned += 1
        record = _record(current, _resolve(current, more, scale), more)
        if record is None:
            unresolved += 1
        else:
            yield record
    stats.update(interactions_scanned=scanned, unresolved=unresolved, signals=count)

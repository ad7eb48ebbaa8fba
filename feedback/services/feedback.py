"""Feedback writes: validated against the project, idempotent by (feedback id, revision), newest wins."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import Session

from feedback.db import utcnow
from feedback.errors import Conflict, NotFound, ValidationFailed
from feedback.models import Feedback, FeedbackRevision, Interaction, Project
from feedback.services import routing
from feedback.services.pagination import decode_cursor, encode_cursor
from feedback.services.projects import feedback_key_spec, reason_ids
from feedback.services.sql import dialect_insert

CONTENT_FIELDS = ("key", "source", "score", "reasons", "comment", "correction", "end_user_id", "metadata",
                  "retracted")


@dataclass(frozen=True)
class FeedbackWrite:
    """The outcome of a write: the current row, whether this revision became current, or was a re-send."""

    feedback: Feedback
    applied: bool
    duplicate: bool


def default_feedback_uid(interaction_id: int, key: str, source: str, end_user_id: str | None) -> str:
    """One feedback per interaction, key, source and end user unless the caller names its own id."""
    return f"{interaction_id}:{key}:{source}:{end_user_id or '-'}"


def validate_content(project: Project, key: str, score: float | None, reasons: list[str]) -> None:
    """Check the key is declared, the score fits its scale and every reason is in the taxonomy."""
    spec = feedback_key_spec(project, key)
    if spec is None:
        declared = sorted((project.settings or {}).get("feedback_keys", {}))
        raise ValidationFailed(f"unknown feedback key {key!r}", details={"declared_keys": declared})
    if score is not None:
        if spec["type"] == "thumbs" and score not in (1, -1):
            raise ValidationFailed("a thumbs score must be 1 or -1", details={"key": key, "score": score})
        if spec["type"] != "thumbs" and not spec["min"] <= score <= spec["max"]:
            raise ValidationFailed(f"score out of the scale {spec['min']}..{spec['max']}",
                                   details={"key": key, "score": score})
    unknown = sorted(set(reasons) - reason_ids(project))
    if unknown:
        raise ValidationFailed("unknown reason ids", details={"unknown": unknown})


def _content(values: dict[str, Any]) -> dict[str, Any]:
    content = {field: values.get(field) for field in CONTENT_FIELDS}
    content["reasons"] = sorted(set(content["reasons"] or []))
    content["metadata"] = content["metadata"] or {}
    content["retracted"] = bool(content["retracted"])
    if content["score"] is not None:
        content["score"] = float(content["score"])
    return content


# Hot-path statements are built once (per dialect for upserts) and executed with parameters: building them
# per request cost more CPU than running them.
_CURRENT = select(Feedback).where(Feedback.project_id == bindparam("pid"), Feedback.feedback_uid == bindparam("uid"))
_STATEMENTS: dict[tuple[str, str], Any] = {}


def _current(session: Session, project_id: int, uid: str, reload: bool = False) -> Feedback | None:
    stmt = _CURRENT.execution_options(populate_existing=True) if reload else _CURRENT
    return session.scalar(stmt, {"pid": project_id, "uid": uid})


def _statement(session: Session, name: str) -> Any:
    dialect = session.get_bind().dialect.name
    stmt = _STATEMENTS.get((dialect, name))
    if stmt is None:
        if name == "insert_revision":
            revs = FeedbackRevision.__table__
            stmt = dialect_insert(session, revs).on_conflict_do_nothing(
                index_elements=["project_id", "feedback_uid", "revision"]).returning(revs.c.id)
        else:  # ORM-enabled, so RETURNING hands back the current row (nothing when a newer one is stored)
            insert = dialect_insert(session, Feedback)
            update = {col: insert.excluded[col] for col in (*CONTENT_FIELDS, "revision", "updated_at")}
            stmt = insert.on_conflict_do_update(
                index_elements=["project_id", "feedback_uid"], set_=update,
                where=Feedback.__table__.c.revision < insert.excluded.revision).returning(Feedback)
        _STATEMENTS[(dialect, name)] = stmt
    return stmt


def write_revision(session: Session, project: Project, interaction: Interaction, uid: str,
                   revision: int | None, values: dict[str, Any]) -> FeedbackWrite:
    """Store one revision of feedback `uid` on `interaction`; the caller commits.

    A re-sent (uid, revision) with the same content is a no-op; with other content it is a Conflict.
    Without a revision the next number is taken, and a payload equal to the current state is a no-op.
    """
    content = _content(values)
    auto_revision = revision is None
    for _attempt in range(20):
        current = _current(session, project.id, uid)
        if current is not None and current.interaction_id != interaction.id:
            raise Conflict("this feedback id belongs to another interaction", details={"feedback_id": uid})
        if auto_revision:
            if current is not None and _content(_as_values(current)) == content:
                return FeedbackWrite(current, applied=False, duplicate=True)
            revision = (current.revision if current else 0) + 1
        if _insert_revision(session, project.id, interaction.id, uid, revision, content):
            row = _upsert_current(session, project.id, interaction.id, uid, revision, content) \
                or _current(session, project.id, uid, reload=True)
            if row.revision == revision:  # routing decisions commit with the feedback that caused them
                routing.on_feedback(session, project.id, interaction, content["source"])
            return FeedbackWrite(row, applied=row.revision == revision, duplicate=False)
        if not auto_revision:
            stored = session.scalar(select(FeedbackRevision.payload).where(
                FeedbackRevision.project_id == project.id, FeedbackRevision.feedback_uid == uid,
                FeedbackRevision.revision == revision))
            if stored != content:
                raise Conflict("this feedback revision was already stored with other content",
                               details={"feedback_id": uid, "revision": revision})
            return FeedbackWrite(_current(session, project.id, uid), applied=False, duplicate=True)
        # A concurrent writer took the next revision number: read the new state and try the one after it.
        session.expire_all()
    raise Conflict("too many concurrent changes to this feedback; retry", details={"feedback_id": uid})


def _insert_revision(session: Session, project_id: int, interaction_id: int, uid: str, revision: int,
                     content: dict[str, Any]) -> bool:
    inserted = session.execute(
        _statement(session, "insert_revision"),
        {"project_id": project_id, "interaction_id": interaction_id, "feedback_uid": uid,
         "revision": revision, "payload": content, "created_at": utcnow()},
    ).first()
    return inserted is not None


def _as_values(row: Feedback) -> dict[str, Any]:
    values = {field: getattr(row, field) for field in CONTENT_FIELDS if field != "metadata"}
    values["metadata"] = row.meta
    return values


def _upsert_current(session: Session, project_id: int, interaction_id: int, uid: str, revision: int,
                    content: dict[str, Any]) -> Feedback | None:
    """Make `revision` current unless a newer one is; returns the refreshed row when this one became current."""
    now = utcnow()
    row = {"project_id": project_id, "interaction_id": interaction_id, "feedback_uid": uid,
           "revision": revision, "created_at": now, "updated_at": now, **content}
    row["meta"] = row.pop("metadata")  # ORM bulk parameters use attribute names
    return session.scalars(_statement(session, "upsert_current"), [row],
                           execution_options={"populate_existing": True}).first()


def get_feedback(session: Session, project_id: int, uid: str) -> Feedback:
    """The current state of a feedback, else NotFound."""
    row = _current(session, project_id, uid)
    if row is None:
        raise NotFound(f"no feedback {uid!r}", code="feedback_not_found")
    return row


def retract(session: Session, project: Project, interaction: Interaction, uid: str,
            revision: int | None) -> FeedbackWrite:
    """Clear a vote with a new revision that keeps key, source and user; the caller commits."""
    current = get_feedback(session, project.id, uid)
    values = {"key": current.key, "source": current.source, "end_user_id": current.end_user_id,
              "score": None, "reasons": [], "comment": None, "correction": None, "metadata": {},
              "retracted": True}
    return write_revision(session, project, interaction, uid, revision, values)


def list_feedback(session: Session, project_id: int, filters: Any) -> tuple[list[Feedback], str | None]:
    """A page of current feedback, most recently updated first, and the next page's cursor."""
    query = select(Feedback).where(Feedback.project_id == project_id)
    for column, value in ((Feedback.interaction_id, filters.interaction_id), (Feedback.key, filters.key),
                          (Feedback.source, filters.source), (Feedback.end_user_id, filters.end_user_id)):
        if value is not None:
            query = query.where(column == value)
    if not filters.include_retracted:
        query = query.where(Feedback.retracted.is_(False))
    if filters.since:
        query = query.where(Feedback.updated_at >= filters.since)
    if filters.until:
        query = query.where(Feedback.updated_at < filters.until)
    if filters.cursor:
        at, row_id = decode_cursor(filters.cursor)
        query = query.where(or_(Feedback.updated_at < at, and_(Feedback.updated_at == at, Feedback.id < row_id)))
    query = query.order_by(Feedback.updated_at.desc(), Feedback.id.desc()).limit(filters.limit + 1)
    rows = list(session.scalars(query))
    if len(rows) > filters.limit:
        rows = rows[: filters.limit]
        return rows, encode_cursor(rows[-1].updated_at, rows[-1].id)
    return rows, None

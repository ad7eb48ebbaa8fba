"""Feedback writes: validated against the project, idempotent by (feedback id, revision), newest wins."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import Session

from feedback.errors import Conflict, NotFound, ValidationFailed
from feedback.models import Feedback, Interaction, Project
from feedback.services import feedback_statements as statements
from feedback.services import routing
from feedback.services.feedback_statements import CONTENT_FIELDS
from feedback.services.pagination import decode_cursor, encode_cursor
from feedback.services.projects import ProjectView, feedback_key_spec, reason_ids


@dataclass(frozen=True)
class FeedbackWrite:
    """The outcome of a write: the current row, whether this revision became current, or was a re-send."""

    feedback: Any  # the current row: a Core row with the attribute names of `Feedback` (`meta` for metadata)
    applied: bool
    duplicate: bool


def default_feedback_uid(interaction_id: int, key: str, source: str, end_user_id: str | None) -> str:
    """One feedback per interaction, key, source and end user unless the caller names its own id."""
    return f"{interaction_id}:{key}:{source}:{end_user_id or '-'}"


def validate_content(project: Project | ProjectView, key: str, score: float | None, reasons: list[str]) -> None:
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


_UNKNOWN: Any = object()


@dataclass(frozen=True)
class SubmissionState:
    """The interaction a submission targets (its external id) and the feedback's current row (or None)."""

    interaction_external_id: str
    current: Any


def load_state(session: Session, project_id: int, interaction_id: int, uid: str) -> SubmissionState | None:
    """The interaction's external id and the current row of feedback `uid`; None if the interaction is not
    in the project."""
    if not 0 < interaction_id < 2**63:
        return None
    row = statements.load_state(session, project_id, interaction_id, uid)
    if row is None:
        return None
    return SubmissionState(row.interaction_external_id, row if row.id is not None else None)


def write_revision(session: Session, project: Project | ProjectView, interaction: Interaction | int, uid: str,
                   revision: int | None, values: dict[str, Any], current: Any = _UNKNOWN) -> FeedbackWrite:
    """Store one revision of feedback `uid` on `interaction` (an object or its id); the caller commits.

    A re-sent (uid, revision) with the same content is a no-op; with other content it is a Conflict.
    Without a revision the next number is taken, and a payload equal to the current state is a no-op.
    `current` is the feedback's current row when the caller already read it (see `load_state`).
    """
    content = _content(values)
    interaction_id = interaction if isinstance(interaction, int) else interaction.id
    auto_revision = revision is None
    for _attempt in range(20):
        if current is _UNKNOWN:
            current = statements.current(session, project.id, uid)
        if current is not None and current.interaction_id != interaction_id:
            raise Conflict("this feedback id belongs to another interaction", details={"feedback_id": uid})
        if auto_revision:
            if current is not None and _content(_as_values(current)) == content:
                return FeedbackWrite(current, applied=False, duplicate=True)
            revision = (current.revision if current else 0) + 1
        new, row = statements.store_revision(session, project.id, interaction_id, uid, revision, content)
        if new:
            row = row or statements.current(session, project.id, uid)
            if row.revision == revision:  # routing decisions commit with the feedback that caused them
                routing.on_feedback(session, project.id, interaction, content["source"])
            return FeedbackWrite(row, applied=row.revision == revision, duplicate=False)
        if not auto_revision:
            stored = session.connection().execute(
                statements.STORED_PAYLOAD, {"pid": project.id, "uid": uid, "rev": revision}).scalar()
            if stored != content:
                raise Conflict("this feedback revision was already stored with other content",
                               details={"feedback_id": uid, "revision": revision})
            return FeedbackWrite(statements.current(session, project.id, uid), applied=False, duplicate=True)
        # A concurrent writer took the next revision number: read the new state and try the one after it.
        current = _UNKNOWN
    raise Conflict("too many concurrent changes to this feedback; retry", details={"feedback_id": uid})


def _as_values(row: Any) -> dict[str, Any]:
    values = {field: getattr(row, field) for field in CONTENT_FIELDS if field != "metadata"}
    values["metadata"] = row.meta
    return values


_CURRENT_ORM = select(Feedback).where(Feedback.project_id == bindparam("pid"),
                                      Feedback.feedback_uid == bindparam("uid")).execution_options(
    populate_existing=True)  # writes are Core statements: never answer from a stale identity-mapped object


def get_feedback(session: Session, project_id: int, uid: str) -> Feedback:
    """The current state of a feedback, else NotFound."""
    row = session.scalar(_CURRENT_ORM, {"pid": project_id, "uid": uid})
    if row is None:
        raise NotFound(f"no feedback {uid!r}", code="feedback_not_found")
    return row


def retract(session: Session, project: Project | ProjectView, interaction: Interaction | int, uid: str,
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

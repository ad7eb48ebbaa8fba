"""The statements of the single-feedback write path, and how they are run.

They are Core statements (no ORM objects), compiled once per dialect and run on the DBAPI cursor
(`feedback.direct_sql`): building them per request, materialising ORM rows or SQLAlchemy's execution machinery
cost more CPU than running them. Rows are named tuples whose fields are those of the `Feedback` model (`meta`
for the metadata column).

Storing a revision is two writes: the revision itself (nothing if that (feedback, revision) exists) and, only
if it was new, the feedback's current row (unless a newer revision is current). On PostgreSQL both go in one
statement (data-modifying CTEs), which saves a round trip per submission; SQLite runs them one after the other.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, literal_column, select, true
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from feedback.db import utcnow
from feedback.direct_sql import direct
from feedback.models import Feedback, FeedbackRevision, Interaction
from feedback.services.sql import dialect_insert

CONTENT_FIELDS = ("key", "source", "score", "reasons", "comment", "correction", "end_user_id", "metadata",
                  "retracted")
FB = Feedback.__table__
REVISIONS = FeedbackRevision.__table__
_IT = Interaction.__table__
COLUMNS = (FB.c.id, FB.c.feedback_uid, FB.c.interaction_id, FB.c.revision, FB.c.key, FB.c.source, FB.c.score,
           FB.c.reasons, FB.c.comment, FB.c.correction, FB.c.end_user_id, FB.c.metadata.label("meta"),
           FB.c.retracted, FB.c.created_at, FB.c.updated_at)
CURRENT = select(*COLUMNS).where(FB.c.project_id == bindparam("pid"), FB.c.feedback_uid == bindparam("uid"))
# One round trip for what a submission needs first: the interaction (scoped to the project) and the feedback's
# current state, if any.
STATE = select(_IT.c.external_id.label("interaction_external_id"), *COLUMNS).select_from(
    _IT.outerjoin(FB, and_(FB.c.project_id == _IT.c.project_id, FB.c.feedback_uid == bindparam("uid")))).where(
    _IT.c.id == bindparam("iid"), _IT.c.project_id == bindparam("pid"))
STORED_PAYLOAD = select(REVISIONS.c.payload).where(
    REVISIONS.c.project_id == bindparam("pid"), REVISIONS.c.feedback_uid == bindparam("uid"),
    REVISIONS.c.revision == bindparam("rev"))

_CURRENT_ROW = namedtuple("Row", [column.key for column in COLUMNS])  # type: ignore[misc]
_REVISION_BINDS = ("project_id", "interaction_id", "feedback_uid", "revision", "payload", "created_at")
_CURRENT_BINDS = ("project_id", "interaction_id", "feedback_uid", "revision", "created_at", "updated_at",
                  *CONTENT_FIELDS)


def _skip_existing_revision(insert: Any) -> Any:
    """An INSERT into feedback_revisions that does nothing for an existing (feedback, revision); RETURNING
    its id only when the row is new."""
    return insert.on_conflict_do_nothing(index_elements=["project_id", "feedback_uid", "revision"]).returning(
        REVISIONS.c.id)


def _keep_newest_current(insert: Any) -> Any:
    """An INSERT into feedback that replaces the current row only with a newer revision; RETURNING hands back
    the current row (nothing when a newer one is stored)."""
    update = {col: insert.excluded[col] for col in (*CONTENT_FIELDS, "revision", "updated_at")}
    return insert.on_conflict_do_update(index_elements=["project_id", "feedback_uid"], set_=update,
                                        where=FB.c.revision < insert.excluded.revision).returning(*COLUMNS)


def _store_in_one_statement() -> Any:
    """PostgreSQL: insert the revision and, if it was new, upsert the current row; answers one row with
    `inserted` (0 or 1) and the current row's columns (NULL unless this revision became current)."""
    binds = {name: bindparam(name, type_=FB.c[name].type) for name in _CURRENT_BINDS}
    revision = _skip_existing_revision(pg_insert(REVISIONS).values(
        project_id=binds["project_id"], interaction_id=binds["interaction_id"],
        feedback_uid=binds["feedback_uid"], revision=binds["revision"],
        payload=bindparam("payload", type_=REVISIONS.c.payload.type), created_at=binds["created_at"],
    )).cte("new_revision")
    current = _keep_newest_current(pg_insert(FB).from_select(
        list(_CURRENT_BINDS), select(*binds.values()).where(exists(select(revision.c.id))))).cte("new_current")
    one = select(literal_column("1").label("one")).subquery("one")
    inserted = select(func.count()).select_from(revision).scalar_subquery().label("inserted")
    return select(inserted, *current.c).select_from(one.outerjoin(current, true()))


def load_state(session: Session, project_id: int, interaction_id: int, uid: str) -> Any:
    """The interaction's external id with the current row of `uid` (its fields NULL if none), or None."""
    return direct(session, "feedback.state", lambda: STATE).first(
        session, {"iid": interaction_id, "pid": project_id, "uid": uid})


def current(session: Session, project_id: int, uid: str) -> Any:
    """The current row of feedback `uid`, or None."""
    return direct(session, "feedback.current", lambda: CURRENT).first(session, {"pid": project_id, "uid": uid})


def store_revision(session: Session, project_id: int, interaction_id: int, uid: str, revision: int,
                   content: dict[str, Any]) -> tuple[bool, Any]:
    """Insert revision `revision` of `uid`; if it was new, make it current unless a newer one is.

    Returns (whether the revision was new, the current row if this revision became current else None).
    """
    now = utcnow()
    values = {"project_id": project_id, "interaction_id": interaction_id, "feedback_uid": uid,
              "revision": revision, "payload": content, "created_at": now, "updated_at": now, **content}
    if session.get_bind().dialect.name == "postgresql":
        row = direct(session, "feedback.store", _store_in_one_statement).first(session, values)
        if not row.inserted:
            return False, None
        return True, (_CURRENT_ROW(*row[1:]) if row.id is not None else None)
    new = direct(session, "feedback.insert_revision",
                 lambda: _skip_existing_revision(dialect_insert(session, REVISIONS)), _REVISION_BINDS).first(
        session, values)
    if new is None:
        return False, None
    return True, direct(session, "feedback.upsert_current", lambda: _keep_newest_current(dialect_insert(session, FB)),
                        _CURRENT_BINDS).first(session, values)



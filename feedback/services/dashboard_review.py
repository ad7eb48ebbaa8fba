"""What reviewers are doing: the Label Studio pipeline per connection and agreement, all in SQL.

Tables of other parts (routing outbox, annotations) may not exist yet in a given database: every function
answers None then, and the dashboard shows an empty "none yet" panel instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from feedback.db import utcnow
from feedback.models import Feedback, LabelStudioConnection, OutboxItem
from feedback.models.annotation import LSAnnotationRecord
from feedback.services.dashboard_sql import has_table, wilson


@dataclass
class PipelineRow:
    """Routing outbox and annotation counts of one Label Studio connection."""

    connection: str
    ls_project_id: int
    url: str
    active: bool
    routed: int
    queued: int
    delivered: int
    failed: int
    annotated: int
    oldest_queued: datetime | None

    @property
    def oldest_queued_seconds(self) -> float | None:
        """Age of the oldest undelivered item."""
        return (utcnow() - self.oldest_queued).total_seconds() if self.oldest_queued else None


@dataclass
class Agreement:
    """Pairs compared and how many agreed, with the Wilson 95 % interval."""

    pairs: int
    agreed: int

    @property
    def rate(self) -> float | None:
        """Share of agreeing pairs."""
        return self.agreed / self.pairs if self.pairs else None

    @property
    def interval(self) -> tuple[float, float]:
        """95 % interval of the rate."""
        return wilson(self.agreed, self.pairs)


def _one_if(condition):
    return case((condition, 1), else_=0)


def pipeline(session: Session, project_id: int) -> list[PipelineRow] | None:
    """Per connection: routed, queued, delivered, failed, annotated items and the oldest queued item."""
    if not has_table(session, "routing_outbox"):
        return None
    outbox = (
        select(OutboxItem.connection_id.label("cid"), func.count().label("routed"),
               func.sum(_one_if(OutboxItem.status == "pending")).label("queued"),
               func.sum(_one_if(OutboxItem.status == "delivered")).label("delivered"),
               func.sum(_one_if(OutboxItem.status == "failed")).label("failed"),
               func.min(case((OutboxItem.status == "pending", OutboxItem.created_at))).label("oldest"))
        .where(OutboxItem.project_id == project_id)
        .group_by(OutboxItem.connection_id)
        .subquery()
    )
    annotated = _annotated_counts(session, project_id)
    query = (
        select(LabelStudioConnection, outbox)
        .outerjoin(outbox, outbox.c.cid == LabelStudioConnection.id)
        .where(LabelStudioConnection.project_id == project_id)
        .order_by(LabelStudioConnection.name)
    )
    rows = []
    for row in session.execute(query):
        conn = row[0]
        oldest = row.oldest
        if isinstance(oldest, str):  # SQLite returns MIN() over a CASE as text
            oldest = datetime.fromisoformat(oldest).replace(tzinfo=utcnow().tzinfo)
        rows.append(PipelineRow(conn.name, conn.ls_project_id, conn.url, conn.active, int(row.routed or 0),
                                int(row.queued or 0), int(row.delivered or 0), int(row.failed or 0),
                                annotated.get(conn.id, 0), oldest))
    return rows


def _annotated_counts(session: Session, project_id: int) -> dict[int, int]:
    if not has_table(session, "ls_annotations"):
        return {}
    query = (
        select(LSAnnotationRecord.connection_id, func.count(func.distinct(LSAnnotationRecord.ls_task_id)))
        .where(LSAnnotationRecord.project_id == project_id, _live(LSAnnotationRecord))
        .group_by(LSAnnotationRecord.connection_id)
    )
    return {cid: int(n) for cid, n in session.execute(query)}


def _live(model):
    return and_(model.deleted.is_(False), model.was_cancelled.is_(False))


# Built once: ORM aliases of this wide table cost more to construct than the query costs to run.
_A = LSAnnotationRecord.__table__.alias("a")
_B = LSAnnotationRecord.__table__.alias("b")


def annotator_agreement(session: Session, project_id: int) -> Agreement | None:
    """Pairwise verdict agreement between different annotators on the same interaction."""
    if not has_table(session, "ls_annotations"):
        return None
    a, b = _A.c, _B.c
    query = (
        select(func.count().label("pairs"), func.sum(_one_if(a.verdict == b.verdict)).label("agreed"))
        .select_from(_A)
        .join(_B, and_(a.interaction_id == b.interaction_id, a.id < b.id,
                      or_(a.annotator_id.is_(None), b.annotator_id.is_(None), a.annotator_id != b.annotator_id)))
        .where(a.project_id == project_id, b.project_id == project_id, a.verdict.is_not(None),
               b.verdict.is_not(None), _live(a), _live(b))
    )
    row = session.execute(query).one()
    return Agreement(int(row.pairs or 0), int(row.agreed or 0))


def end_user_vs_annotator(session: Session, project_id: int, thumbs_keys: list[str]) -> Agreement | None:
    """How often an end user's thumbs (up = good, down = bad) matches an annotator's verdict, per pair."""
    if not has_table(session, "ls_annotations"):
        return None
    ann = LSAnnotationRecord
    agree = or_(and_(Feedback.score > 0, ann.verdict == "good"), and_(Feedback.score < 0, ann.verdict == "bad"))
    query = (
        select(func.count().label("pairs"), func.sum(_one_if(agree)).label("agreed"))
        .select_from(Feedback)
        .join(ann, ann.interaction_id == Feedback.interaction_id)
        .where(Feedback.project_id == project_id, Feedback.source == "end_user", Feedback.retracted.is_(False),
               Feedback.key.in_(thumbs_keys or ["__none__"]), Feedback.score.is_not(None),
               ann.verdict.is_not(None), _live(ann))
    )
    row = session.execute(query).one()
    return Agreement(int(row.pairs or 0), int(row.agreed or 0))

"""Data lifecycle: erase one end user's data, and expire interactions past a project's retention period.

Both go through `purge`: first the Label Studio tasks made from the affected interactions are deleted (per
connection, through the client's bulk delete), then every row (ls_annotations, routing outbox, feedback
revisions, feedback, interactions) in one transaction, then an audit event is written in that same
transaction. If Label Studio cannot be reached nothing is deleted here and the call fails with a retryable
error; a retry is safe because tasks already gone are simply not found again.

Published dataset snapshots that hold erased data are withdrawn in the same transaction (their rows are
marked) and their data files are removed after the commit (`feedback.services.datasets.withdrawal`).
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from feedback.db import utcnow
from feedback.errors import ApiError, ValidationFailed
from feedback.models import (
    AuditEvent,
    Feedback,
    FeedbackRevision,
    Interaction,
    LabelStudioConnection,
    OutboxItem,
    Project,
)
from feedback.models.annotation import LSAnnotationRecord
from feedback.services import dashboard_rollup, erasure_tasks
from feedback.services.dashboard_sql import has_table
from feedback.services.datasets import withdrawal
from feedback.services.labelstudio_client import LabelStudioClient, LabelStudioError
from feedback.services.labelstudio_connections import client_for

ClientFactory = Callable[[LabelStudioConnection], LabelStudioClient]
CHUNK = 500
log = logging.getLogger(__name__)


class LabelStudioCleanupFailed(ApiError):
    """Label Studio tasks could not be deleted; nothing was deleted locally. Retry later."""

    status, code = 503, "labelstudio_unavailable"


@dataclass
class PurgeReport:
    """What one purge removed."""

    interactions: int = 0
    feedback: int = 0
    revisions: int = 0
    outbox_items: int = 0
    annotations: int = 0
    labelstudio_tasks: dict[str, int] = field(default_factory=dict)
    labelstudio_tasks_rewritten: int = 0  # review tasks of other interactions that showed erased feedback
    withdrawn_versions: list[dict[str, Any]] = field(default_factory=list)  # {"name", "version"} each

    def add(self, other: PurgeReport) -> None:
        """Accumulate another batch's counts."""
        for name in ("interactions", "feedback", "revisions", "outbox_items", "annotations",
                     "labelstudio_tasks_rewritten"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for key, count in other.labelstudio_tasks.items():
            self.labelstudio_tasks[key] = self.labelstudio_tasks.get(key, 0) + count
        self.withdrawn_versions.extend(other.withdrawn_versions)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready counts (and the dataset versions withdrawn, by name and version)."""
        return {"interactions": self.interactions, "feedback": self.feedback, "revisions": self.revisions,
                "outbox_items": self.outbox_items, "annotations": self.annotations,
                "labelstudio_tasks": dict(self.labelstudio_tasks),
                "labelstudio_tasks_rewritten": self.labelstudio_tasks_rewritten,
                "dataset_versions_withdrawn": len(self.withdrawn_versions),
                "withdrawn_versions": [dict(v) for v in self.withdrawn_versions]}


def subject_digest(end_user_id: str) -> str:
    """How an end user appears in the audit trail: `sha256:<hex>` of their id, never the id itself."""
    return "sha256:" + hashlib.sha256(end_user_id.encode()).hexdigest()


def default_client(connection: LabelStudioConnection) -> LabelStudioClient:
    """The Label Studio client of a connection (short timeout: this runs inside requests and jobs)."""
    return client_for(connection, timeout=15.0)


def _delete_tasks(session: Session, project_id: int, interaction_ids: Sequence[int],
                  client_for: ClientFactory) -> dict[str, int]:
    if not interaction_ids or not has_table(session, "routing_outbox"):
        return {}
    items: dict[int, list[int]] = defaultdict(list)
    for start in range(0, len(interaction_ids), CHUNK):
        part = interaction_ids[start:start + CHUNK]
        for item_id, connection_id in session.execute(
                select(OutboxItem.id, OutboxItem.connection_id).where(OutboxItem.project_id == project_id,
                                                                      OutboxItem.interaction_id.in_(part))):
            items[connection_id].append(item_id)
    deleted: dict[str, int] = {}
    for connection_id, item_ids in sorted(items.items()):
        connection = session.get(LabelStudioConnection, connection_id)
        if connection is None:
            continue
        try:
            count = client_for(connection).delete_items(connection.ls_project_id, item_ids)
        except LabelStudioError as exc:
            raise LabelStudioCleanupFailed(
                f"could not delete tasks in Label Studio project {connection.ls_project_id} ({connection.name}); "
                "nothing was deleted, retry later", details={"connection": connection.name, "error": str(exc)},
            ) from exc
        deleted[f"{connection.name}#{connection.ls_project_id}"] = count
    return deleted


def _delete_rows(session: Session, project_id: int, interaction_ids: Sequence[int],
                 extra_feedback_uids: Sequence[str]) -> PurgeReport:
    report = PurgeReport()
    for start in range(0, max(len(interaction_ids), 1), CHUNK):
        part = list(interaction_ids[start:start + CHUNK])
        uids = list(extra_feedback_uids) if start == 0 else []
        if not part and not uids:
            break
        on_part = Interaction.id.in_(part)
        fb_match = or_(Feedback.interaction_id.in_(part), Feedback.feedback_uid.in_(uids))
        rev_match = or_(FeedbackRevision.interaction_id.in_(part), FeedbackRevision.feedback_uid.in_(uids))
        report.revisions += session.execute(delete(FeedbackRevision).where(
            FeedbackRevision.project_id == project_id, rev_match)).rowcount
        report.feedback += session.execute(delete(Feedback).where(Feedback.project_id == project_id,
                                                                  fb_match)).rowcount
        if has_table(session, "ls_annotations"):
            report.annotations += session.execute(delete(LSAnnotationRecord).where(
                LSAnnotationRecord.project_id == project_id, LSAnnotationRecord.interaction_id.in_(part))).rowcount
        if has_table(session, "routing_outbox"):
            report.outbox_items += session.execute(delete(OutboxItem).where(
                OutboxItem.project_id == project_id, OutboxItem.interaction_id.in_(part))).rowcount
        report.interactions += session.execute(delete(Interaction).where(Interaction.project_id == project_id,
                                                                         on_part)).rowcount
    return report


def _revised_on(session: Session, project_id: int, feedback_uids: Sequence[str]) -> set[int]:
    """Interactions with revisions given under `feedback_uids` (the current rows are in `foreign_feedback`)."""
    found: set[int] = set()
    uids = list(feedback_uids)
    for start in range(0, len(uids), CHUNK):
        found.update(session.scalars(select(FeedbackRevision.interaction_id).where(
            FeedbackRevision.project_id == project_id,
            FeedbackRevision.feedback_uid.in_(uids[start:start + CHUNK])).distinct()))
    return found


def purge(session: Session, project_id: int, interaction_ids: Sequence[int], client_for: ClientFactory,
          extra_feedback_uids: Sequence[str] = (), reason: str = "erased") -> PurgeReport:
    """Delete the interactions (and feedback given under `extra_feedback_uids`) with all dependent rows and
    their Label Studio tasks, and withdraw the dataset versions that hold any of it (`reason`); the caller
    commits, then calls `withdrawal.remove_withdrawn_files`."""
    ids = sorted(set(interaction_ids))
    tasks = _delete_tasks(session, project_id, ids, client_for)
    foreign = erasure_tasks.foreign_feedback(session, project_id, extra_feedback_uids, ids)
    # a snapshot may hold the label or text of any interaction the erased feedback was on
    voted_on = foreign.interactions | _revised_on(session, project_id, extra_feedback_uids)
    withdrawn = withdrawal.withdraw(session, project_id, set(ids) | voted_on, reason)
    days: set[str] = set(dashboard_rollup.days_of(session, project_id, Feedback.feedback_uid.in_(
        list(extra_feedback_uids)))) if extra_feedback_uids else set()
    for start in range(0, len(ids), CHUNK):
        part = ids[start:start + CHUNK]
        days.update(dashboard_rollup.days_of(session, project_id, Feedback.interaction_id.in_(part)))
    report = _delete_rows(session, project_id, ids, extra_feedback_uids)
    if has_table(session, "ls_annotations"):
        report.annotations += erasure_tasks.drop_compared_annotations(session, project_id, foreign)
    try:  # tasks of other users' interactions that showed this feedback (after the rows are gone)
        rewritten, foreign_deleted = erasure_tasks.scrub_tasks(session, project_id, foreign, client_for)
    except LabelStudioError as exc:
        raise LabelStudioCleanupFailed("could not update Label Studio tasks that show the erased feedback; "
                                       "nothing was deleted, retry later", details={"error": str(exc)}) from exc
    dashboard_rollup.recompute_days(session, project_id, days)  # the dashboard must not show erased data
    for key, count in foreign_deleted.items():
        tasks[key] = tasks.get(key, 0) + count
    report.labelstudio_tasks = tasks
    report.labelstudio_tasks_rewritten = rewritten
    report.withdrawn_versions = [{"name": row.name, "version": row.version} for row in withdrawn]
    return report


def _remove_withdrawn_files(session: Session, project_id: int) -> None:
    """After a commit: the data files of withdrawn versions go; a failure is logged, the next run retries."""
    try:
        withdrawal.remove_withdrawn_files(session, project_id)
    except Exception:  # the erasure itself is committed: do not report it as failed
        session.rollback()
        log.exception("removing the files of withdrawn dataset versions of project %s failed", project_id)


def delete_end_user(session: Session, project_id: int, end_user_id: str, actor: str,
                    client_for: ClientFactory = default_client) -> tuple[PurgeReport, AuditEvent]:
    """Erase everything about `end_user_id` in a project and record it; commits.

    Covers the user's interactions (with all feedback on them, revisions, outbox items, annotations and Label
    Studio tasks) and feedback the user gave on other interactions.
    """
    if not end_user_id or len(end_user_id) > 200:
        raise ValidationFailed("end_user_id must be 1..200 characters")
    interaction_ids = list(session.scalars(select(Interaction.id).where(
        Interaction.project_id == project_id, Interaction.end_user_id == end_user_id)))
    uids = list(session.scalars(select(Feedback.feedback_uid).where(
        Feedback.project_id == project_id, Feedback.end_user_id == end_user_id,
        Feedback.interaction_id.not_in(interaction_ids) if interaction_ids else Feedback.id.is_not(None))))
    report = purge(session, project_id, interaction_ids, client_for, uids, reason="end_user.deleted")
    event = AuditEvent(project_id=project_id, action="end_user.deleted", actor=actor,
                       subject=subject_digest(end_user_id), details=report.as_dict())
    session.add(event)
    session.commit()
    _remove_withdrawn_files(session, project_id)
    return report, event


def apply_retention(session: Session, project: Project, client_for: ClientFactory = default_client,
                    now: datetime | None = None, batch: int = CHUNK) -> tuple[PurgeReport, AuditEvent] | None:
    """Delete a project's interactions older than its `retention_days` (batch by batch, each committed).

    Returns None when the project has no retention period; otherwise the counts and the audit event.
    """
    days = (project.settings or {}).get("retention_days")
    if not days:
        return None
    cutoff = (now or utcnow()) - timedelta(days=int(days))
    total = PurgeReport()
    while True:
        ids = list(session.scalars(select(Interaction.id).where(
            Interaction.project_id == project.id, Interaction.created_at < cutoff).order_by(Interaction.id)
            .limit(batch)))
        if not ids:
            break
        report = purge(session, project.id, ids, client_for, reason="retention.applied")
        total.add(report)
        session.commit()
        if report.withdrawn_versions:
            _remove_withdrawn_files(session, project.id)
    event = AuditEvent(project_id=project.id, action="retention.applied", actor="scheduler",
                       subject=f"before:{cutoff.isoformat()}", details=total.as_dict() | {"retention_days": days})
    session.add(event)
    session.commit()
    _remove_withdrawn_files(session, project.id)  # also sweeps what an interrupted earlier run left behind
    return total, event


def projects_with_retention(session: Session) -> list[Project]:
    """Projects whose settings set `retention_days`."""
    return [p for p in session.scalars(select(Project).order_by(Project.id)) if (p.settings or {}).get(
        "retention_days")]

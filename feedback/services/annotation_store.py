"""Store Label Studio annotations (from webhooks or reconciliation) and turn them into annotator feedback.

One row per (connection, Label Studio annotation id) in ``ls_annotations``; an older version never overwrites
a newer one (webhooks and reconcile may race or arrive out of order), and a deleted annotation stays deleted.
Each stored, non-cancelled annotation writes feedback with ``source="annotator"`` on the routed interaction:
``helpfulness`` (good = 1, bad = -1, with reasons and the corrected response) and ``rating`` when present.
Feedback ids are ``ls:<connection>:<annotation>:<key>``, so re-delivery is a no-op and an update is a new
revision. Deleting the annotation retracts its feedback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback.db import utcnow
from feedback.errors import NotFound
from feedback.models import Interaction, LabelStudioConnection, OutboxItem, Project
from feedback.models.annotation import LSAnnotationRecord
from feedback.services import feedback as feedback_service
from feedback.services.adjudication import route_disagreement
from feedback.services.annotations import NormalisedAnnotation
from feedback.services.projects import feedback_key_spec, reason_ids
from feedback.services.sql import dialect_insert

ANNOTATOR_KEYS = ("helpfulness", "rating")


@dataclass(frozen=True)
class StoreResult:
    """What storing one annotation did."""

    record: LSAnnotationRecord
    changed: bool
    feedback_written: int


def feedback_uid(connection_id: int, ls_annotation_id: int, key: str) -> str:
    """The feedback id used for one key of one annotation."""
    return f"ls:{connection_id}:{ls_annotation_id}:{key}"


def resolve_interaction(session: Session, connection: LabelStudioConnection, item_id: str | None,
                        interaction_hint: Any = None) -> int | None:
    """Find our interaction: through the outbox row named by ``fl_item_id``, else ``fl_interaction_id``."""
    if item_id and item_id.isdigit():
        row = session.get(OutboxItem, int(item_id))
        if row is not None and row.connection_id == connection.id:
            return row.interaction_id
    if isinstance(interaction_hint, int) or (isinstance(interaction_hint, str) and interaction_hint.isdigit()):
        interaction = session.get(Interaction, int(interaction_hint))
        if interaction is not None and interaction.project_id == connection.project_id:
            return interaction.id
    return None


def _locked_record(session: Session, connection: LabelStudioConnection, norm: NormalisedAnnotation,
                   via: str) -> tuple[LSAnnotationRecord, bool]:
    """Insert the row if missing (race-safe) and return it locked, plus whether this call created it."""
    now = utcnow()
    inserted = session.execute(
        dialect_insert(session, LSAnnotationRecord.__table__).on_conflict_do_nothing(
            index_elements=["connection_id", "ls_annotation_id"]).returning(LSAnnotationRecord.__table__.c.id),
        {"project_id": connection.project_id, "connection_id": connection.id,
         "ls_project_id": norm.ls_project_id or connection.ls_project_id, "ls_annotation_id": norm.annotation_id,
         "reasons": [], "raw": [], "was_cancelled": False, "deleted": False, "received_via": via,
         "created_at": now, "updated_at": now},
    ).first()
    record = session.scalars(
        select(LSAnnotationRecord).where(LSAnnotationRecord.connection_id == connection.id,
                                         LSAnnotationRecord.ls_annotation_id == norm.annotation_id)
        .with_for_update().execution_options(populate_existing=True)
    ).one()
    return record, inserted is not None


def store_annotation(session: Session, connection: LabelStudioConnection, norm: NormalisedAnnotation, *,
                     via: str, interaction_hint: Any = None) -> StoreResult:
    """Upsert one normalised annotation and write its feedback; the caller commits."""
    record, created = _locked_record(session, connection, norm, via)
    if not created:
        stale = (record.ls_updated_at is not None and norm.updated_at is not None
                 and norm.updated_at <= record.ls_updated_at)
        if record.deleted or stale:
            return StoreResult(record, changed=False, feedback_written=0)
    record.interaction_id = resolve_interaction(session, connection, norm.item_id, interaction_hint)
    for name in ("item_id", "verdict", "rating", "reasons", "corrected_text", "preference", "compared_response",
                 "lead_time", "was_cancelled", "raw"):
        setattr(record, name, getattr(norm, name))
    record.ls_task_id = norm.task_id
    record.annotator_id = norm.annotator_id
    record.ls_created_at, record.ls_updated_at = norm.created_at, norm.updated_at
    record.received_via = via
    record.updated_at = utcnow()
    session.flush()
    written = write_feedback(session, connection, record)
    route_disagreement(session, connection, record.interaction_id)
    return StoreResult(record, changed=True, feedback_written=written)


def _feedback_values(project: Project, record: LSAnnotationRecord) -> list[tuple[str, dict[str, Any]]]:
    known = reason_ids(project)
    reasons = [r for r in record.reasons if r in known]
    meta = {"ls_connection_id": record.connection_id, "ls_project_id": record.ls_project_id,
            "ls_task_id": record.ls_task_id, "ls_annotation_id": record.ls_annotation_id,
            "annotator_id": record.annotator_id, "lead_time": record.lead_time}
    if unknown := [r for r in record.reasons if r not in known]:
        meta["unknown_reasons"] = unknown
    base = {"source": "annotator", "comment": None, "end_user_id": f"ls-annotator:{record.annotator_id}",
            "metadata": meta, "retracted": False}
    out: list[tuple[str, dict[str, Any]]] = []
    helpful = feedback_key_spec(project, "helpfulness")
    if record.verdict and helpful and helpful.get("type") == "thumbs":
        score = 1 if record.verdict == "good" else -1
        out.append(("helpfulness", base | {"key": "helpfulness", "score": score, "reasons": reasons,
                                           "correction": record.corrected_text}))
        reasons, correction = [], None
    else:
        correction = record.corrected_text
    rating = feedback_key_spec(project, "rating")
    if (record.rating is not None and rating and rating.get("type") != "thumbs"
            and rating["min"] <= record.rating <= rating["max"]):
        out.append(("rating", base | {"key": "rating", "score": record.rating, "reasons": reasons,
                                      "correction": correction}))
    return out


def write_feedback(session: Session, connection: LabelStudioConnection, record: LSAnnotationRecord) -> int:
    """Write (or retract) the annotator feedback derived from a stored annotation; return rows changed."""
    if record.interaction_id is None:
        return 0
    project = session.get(Project, record.project_id)
    interaction = session.get(Interaction, record.interaction_id)
    if project is None or interaction is None:
        return 0
    if record.deleted or record.was_cancelled:
        return retract_feedback(session, project, interaction, record)
    written = 0
    for key, values in _feedback_values(project, record):
        uid = feedback_uid(connection.id, record.ls_annotation_id, key)
        result = feedback_service.write_revision(session, project, interaction, uid, None, values)
        written += int(result.applied and not result.duplicate)
    return written


def retract_feedback(session: Session, project: Project, interaction: Interaction,
                     record: LSAnnotationRecord) -> int:
    """Retract every feedback row written for this annotation (no-op when none or already retracted)."""
    count = 0
    for key in ANNOTATOR_KEYS:
        uid = feedback_uid(record.connection_id, record.ls_annotation_id, key)
        try:
            current = feedback_service.get_feedback(session, project.id, uid)
        except NotFound:
            continue
        if not current.retracted:
            feedback_service.retract(session, project, interaction, uid, None)
            count += 1
    return count


def mark_deleted(session: Session, connection: LabelStudioConnection, ls_annotation_ids: list[int]) -> int:
    """Mark annotations deleted in Label Studio and retract their feedback; return how many changed."""
    rows = session.scalars(
        select(LSAnnotationRecord).where(LSAnnotationRecord.connection_id == connection.id,
                                         LSAnnotationRecord.ls_annotation_id.in_(ls_annotation_ids),
                                         LSAnnotationRecord.deleted.is_(False)).with_for_update()
    ).all()
    for record in rows:
        record.deleted = True
        record.updated_at = utcnow()
        session.flush()
        write_feedback(session, connection, record)
    return len(rows)

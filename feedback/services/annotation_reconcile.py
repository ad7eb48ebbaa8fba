"""Reconciliation: pull annotations from Label Studio and heal whatever the webhooks missed.

Creates and updates missed by a webhook are stored (newer versions only); annotations we hold that Label
Studio no longer has are marked deleted and their feedback retracted.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback.models import LabelStudioConnection
from feedback.models.annotation import LSAnnotationRecord
from feedback.services.annotation_store import mark_deleted, store_annotation
from feedback.services.annotations import AnnotationPayloadError, normalise_task_annotations
from feedback.services.labelstudio_client import LabelStudioClient, LabelStudioNotFound
from feedback.services.labelstudio_connections import client_for
from feedback.services.labelstudio_templates import INTERACTION_ID_FIELD


def reconcile_connection(session: Session, connection: LabelStudioConnection,
                         client: LabelStudioClient | None = None, *,
                         since: datetime | None = None) -> dict[str, int]:
    """Pull annotated tasks (all, or updated after ``since``) and store what is missing; the caller commits.

    Raises :class:`LabelStudioError` subclasses when Label Studio fails (nothing half-applied is committed
    by this function).
    """
    client = client or client_for(connection)
    counts = {"tasks": 0, "annotations": 0, "stored": 0, "feedback": 0, "deleted": 0, "malformed": 0}
    live: dict[int, set[int]] = {}
    for task in client.iter_annotated_tasks(connection.ls_project_id, updated_since=since):
        counts["tasks"] += 1
        try:
            norms = normalise_task_annotations(task)
        except AnnotationPayloadError:
            counts["malformed"] += 1
            continue
        live[int(task["id"])] = {norm.annotation_id for norm in norms}
        hint = (task.get("data") or {}).get(INTERACTION_ID_FIELD)
        for norm in norms:
            counts["annotations"] += 1
            result = store_annotation(session, connection, norm, via="reconcile", interaction_hint=hint)
            counts["stored"] += int(result.changed)
            counts["feedback"] += result.feedback_written
    counts["deleted"] = _heal_deletions(session, connection, client, live, full=since is None)
    return counts


def _heal_deletions(session: Session, connection: LabelStudioConnection, client: LabelStudioClient,
                    live: dict[int, set[int]], *, full: bool) -> int:
    """Mark deleted what Label Studio no longer has: on seen tasks always, on unseen tasks in a full pass."""
    held = session.execute(
        select(LSAnnotationRecord.ls_task_id, LSAnnotationRecord.ls_annotation_id).where(
            LSAnnotationRecord.connection_id == connection.id, LSAnnotationRecord.deleted.is_(False))
    ).all()
    gone: list[int] = []
    unseen: dict[int, list[int]] = {}
    for task_id, annotation_id in held:
        if task_id in live:
            if annotation_id not in live[task_id]:
                gone.append(annotation_id)
        elif task_id is not None:
            unseen.setdefault(task_id, []).append(annotation_id)
    if full:
        for task_id, annotation_ids in unseen.items():
            try:
                present = {int(a["id"]) for a in client.list_annotations(task_id)}
            except LabelStudioNotFound:
                present = set()
            gone.extend(a for a in annotation_ids if a not in present)
    return mark_deleted(session, connection, gone) if gone else 0

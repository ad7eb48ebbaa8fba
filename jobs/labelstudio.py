"""RQ jobs that bring annotations back from Label Studio when webhooks were missed.

``reconcile_annotations(connection_id)`` pulls one connection's annotated tasks through the SDK and stores
what is missing (new, updated, deleted annotations). ``reconcile_all()`` is the periodic entry point: it
enqueues one reconcile per active connection. Label Studio being down raises, so RQ retries with backoff.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from feedback.db import get_db
from feedback.models import LabelStudioConnection
from feedback.queue import enqueue
from feedback.services.annotation_reconcile import reconcile_connection
from jobs.base import job, job_logger

RECONCILE_JOB = "jobs.labelstudio.reconcile_annotations"


@job
def reconcile_annotations(connection_id: int, since: str | None = None) -> dict[str, Any]:
    """Heal missed webhooks for one connection (all annotated tasks, or those updated after ``since``)."""
    log = job_logger(__name__)
    session = get_db().session()
    try:
        connection = session.get(LabelStudioConnection, connection_id)
        if connection is None:
            return {"connection_id": connection_id, "skipped": "connection no longer exists"}
        counts = reconcile_connection(session, connection,
                                      since=datetime.fromisoformat(since) if since else None)
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()
    log.info("reconciled connection %s: %s", connection_id, counts)
    return {"connection_id": connection_id, **counts}


@job
def reconcile_all() -> dict[str, Any]:
    """Periodic: enqueue a reconcile job for every active connection."""
    session = get_db().session()
    try:
        rows = session.execute(select(LabelStudioConnection.id, LabelStudioConnection.project_id).where(
            LabelStudioConnection.active.is_(True))).all()
        for connection_id, project_id in rows:
            enqueue(session, RECONCILE_JOB, connection_id=connection_id, queue="delivery",
                    project_id=project_id, retries=3)
    finally:
        session.close()
    return {"enqueued": len(rows)}

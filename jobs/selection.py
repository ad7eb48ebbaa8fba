"""RQ job: one active-learning selection cycle for a project (schedulable; see `feedback select`)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select

from feedback.db import get_db
from feedback.models import JobRecord
from feedback.services.selection.runs import SELECTION_JOB, enqueue_selection, run_summary
from feedback.services.selection.runs import run_selection as run_selection_service
from feedback.services.selection.schedule import due_selections
from jobs.base import job, job_logger


@job
def run_selection(project_id: int, params: dict[str, Any], connection_id: int | None = None) -> dict[str, Any]:
    """Train, score the unlabelled pool, select, record the run and route the batch; returns the run summary."""
    settings = current_app.config["SETTINGS"]
    with get_db().transaction() as session:
        run = run_selection_service(session, project_id, params, settings.data_dir, connection_id=connection_id)
        summary = run_summary(session, run)
    job_logger(__name__).info("selection run %s: %s of %s pooled items, %s routed", summary["id"],
                              summary["selected"], summary["pool_size"], summary["routed"])
    return {k: v for k, v in summary.items() if k != "items"}


@job
def run_scheduled_selections() -> dict[str, Any]:
    """Periodic: enqueue one selection run for every project whose schedule is due (none already pending)."""
    enqueued = []
    with get_db().transaction() as session:
        due = due_selections(session)
        pending = set(session.scalars(select(JobRecord.project_id).where(
            JobRecord.name == SELECTION_JOB, JobRecord.status.in_(("queued", "started")))))
    for item in due:
        if item.project_id in pending:
            continue
        with get_db().transaction() as session:
            enqueue_selection(session, item.project_id, item.params)
        enqueued.append(item.project_id)
    job_logger(__name__).info("scheduled selection: %d due, %d enqueued", len(due), len(enqueued))
    return {"due": len(due), "enqueued": enqueued}

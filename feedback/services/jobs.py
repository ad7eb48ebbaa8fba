"""Background job status for the API and CLI: list, inspect (reconciled with RQ), retry failed jobs."""

from __future__ import annotations

from typing import Any

from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback.db import utcnow
from feedback.errors import Conflict, NotFound
from feedback.models import JobRecord
from feedback.queue import enqueue, get_redis

_RQ_TERMINAL = {JobStatus.FAILED: "failed", JobStatus.FINISHED: "finished", JobStatus.STOPPED: "failed",
                JobStatus.CANCELED: "failed"}


def list_jobs(session: Session, project_id: int, status: str | None = None, name: str | None = None,
              limit: int = 50) -> list[JobRecord]:
    """The project's most recent jobs, newest first."""
    query = select(JobRecord).where(JobRecord.project_id == project_id)
    if status:
        query = query.where(JobRecord.status == status)
    if name:
        query = query.where(JobRecord.name == name)
    return list(session.scalars(query.order_by(JobRecord.id.desc()).limit(limit)))


def rq_info(record: JobRecord) -> dict[str, Any] | None:
    """What RQ knows about the job (status, retries left, last exception), or None once Redis forgot it."""
    try:
        rq_job = Job.fetch(record.rq_job_id, connection=get_redis())
    except NoSuchJobError:
        return None
    status = rq_job.get_status(refresh=True)
    return {"status": str(status.value if status else "unknown"), "retries_left": rq_job.retries_left,
            "exc_info": (rq_job.latest_result().exc_string if rq_job.latest_result() else None)}


def get_job(session: Session, project_id: int, job_id: int) -> tuple[JobRecord, dict[str, Any] | None]:
    """One job and RQ's view of it; a job RQ saw fail (e.g. its worker died) is marked failed here too."""
    record = session.get(JobRecord, job_id)
    if record is None or record.project_id != project_id:
        raise NotFound(f"no job {job_id} in this project", code="job_not_found")
    info = rq_info(record)
    if info and record.status in ("queued", "started"):
        terminal = _RQ_TERMINAL.get(JobStatus(info["status"])) if info["status"] in JobStatus._value2member_map_ \
            else None
        if terminal == "failed":
            record.status, record.finished_at = "failed", utcnow()
            record.error = record.error or (info["exc_info"] or "failed in RQ")[-2000:]
            session.commit()
    return record, info


def retry_job(session: Session, project_id: int, job_id: int) -> JobRecord:
    """Run a failed job again as a new job with the same function and arguments; returns the new record."""
    record, _info = get_job(session, project_id, job_id)
    if record.status != "failed":
        raise Conflict(f"job {job_id} is {record.status}; only failed jobs can be retried", code="job_not_failed")
    params = record.params or {}
    return enqueue(session, record.name, *params.get("args", []), queue=record.queue, project_id=project_id,
                   **params.get("kwargs", {}))

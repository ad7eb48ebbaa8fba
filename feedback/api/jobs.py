"""/api/v1/jobs: background job status; failed jobs can be inspected and retried."""

from __future__ import annotations

from flask import Blueprint

from feedback.api.request import parse_query, principal
from feedback.api.spec import route
from feedback.db import get_read_session, get_session
from feedback.schemas.routing import JobFilters, JobOut
from feedback.services import jobs
from feedback.services.auth import require_scope
from feedback.services.routing_views import job_out

bp = Blueprint("jobs", __name__, url_prefix="/api/v1")


def _admin() -> int:
    caller = principal()
    require_scope(caller, "admin")
    return caller.project_id


@route(bp, "/jobs", "GET", summary="List jobs", tag="jobs", query=JobFilters)
def list_jobs():
    """The project's jobs, newest first."""
    project_id = _admin()
    f = parse_query(JobFilters)
    return {"items": [job_out(r) for r in jobs.list_jobs(get_read_session(), project_id, f.status, f.name, f.limit)]}


@route(bp, "/jobs/<int:job_id>", "GET", summary="Get a job", tag="jobs", responses={200: JobOut})
def get_job(job_id: int):
    """Status, progress, result or error, plus what RQ knows (retries left, last traceback)."""
    record, info = jobs.get_job(get_session(), _admin(), job_id)
    return job_out(record, info or {})


@route(bp, "/jobs/<int:job_id>/retry", "POST", summary="Retry a failed job", tag="jobs",
       responses={202: JobOut})
def retry_job(job_id: int):
    """Enqueues the same function with the same arguments as a new job."""
    record = jobs.retry_job(get_session(), _admin(), job_id)
    return job_out(record), 202

"""RQ job: run a dataset export in the background and record the published version."""

from __future__ import annotations

from typing import Any

from flask import current_app
from rq import get_current_job
from sqlalchemy import update

from feedback.db import get_db, get_session
from feedback.models import JobRecord
from feedback.services.datasets import service
from jobs.base import job, job_logger


@job
def run_export(project_id: int, params: dict[str, Any]) -> dict[str, Any]:
    """Export, updating the job record's progress every batch; returns the published version's summary."""
    settings = current_app.config["SETTINGS"]
    current = get_current_job()
    log = job_logger(__name__)
    db = get_db()
    with db.transaction() as session:
        total = max(service.estimate_rows(session, project_id, service.parse_params(params)), 1)
    done = 0
    last_reported = 0.0

    def progress(rows: int) -> None:
        nonlocal done, last_reported
        done += rows
        fraction = min(done / total, 0.99)
        if current is not None and fraction - last_reported >= 0.02:
            last_reported = fraction
            with db.transaction() as progress_session:
                progress_session.execute(update(JobRecord).where(JobRecord.rq_job_id == current.id)
                                         .values(progress=fraction))

    result = service.run_export(get_session(), project_id, params, settings.data_dir, progress=progress)
    log.info("exported %s v%s: %s rows", result.name, result.version, result.manifest["counts"]["rows"])
    return {"name": result.name, "version": result.version, "rows": result.manifest["counts"]["rows"],
            "fingerprint": result.manifest["fingerprint"], "files": len(result.manifest["files"])}

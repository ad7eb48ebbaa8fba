"""Periodic job: enforce every project's retention period (settings.retention_days)."""

from __future__ import annotations

from typing import Any

from flask import current_app

from feedback.db import get_db
from feedback.services import lifecycle
from feedback.services.datasets import service, versions, withdrawal
from jobs.base import job, job_logger

# How often the scheduler runs it (seconds); registered in jobs/scheduler.py.
INTERVAL_SECONDS = 6 * 3600


@job
def enforce_retention() -> dict[str, Any]:
    """Delete interactions past their project's retention period, with their Label Studio tasks; per project
    counts. A project whose Label Studio is unreachable is reported and retried on the next run. Also removes
    the files of withdrawn dataset versions still on disk (in every project) and build directories of exports
    that were killed midway."""
    log = job_logger(__name__)
    session = get_db().session()
    results: dict[str, Any] = {}
    try:
        for project in lifecycle.projects_with_retention(session):
            try:
                outcome = lifecycle.apply_retention(session, project)
            except lifecycle.LabelStudioCleanupFailed as exc:
                session.rollback()
                log.warning("retention for %s postponed: %s", project.slug, exc.message)
                results[project.slug] = {"error": exc.message}
                continue
            if outcome is not None:
                results[project.slug] = outcome[0].as_dict()
                log.info("retention for %s: %s", project.slug, results[project.slug])
        # Files of withdrawn dataset versions that an interrupted erasure left on disk (any project).
        swept = withdrawal.sweep_all(session)
        if swept:
            log.info("removed leftover files of withdrawn dataset versions: %s", swept)
        # Build directories of exports killed before they could clean up (they may hold erased rows).
        stale = versions.discard_stale_builds(service.exports_dir(current_app.config["SETTINGS"].data_dir))
        if stale:
            log.info("removed %d stale export build directories: %s", len(stale), [str(p) for p in stale])
    finally:
        session.close()
    return results

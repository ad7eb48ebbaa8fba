"""Periodic job: keep every project's dashboard rollups current, so page loads only catch up a few minutes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from feedback.db import get_db
from feedback.models import Project
from feedback.services import dashboard_rollup
from jobs.base import job

INTERVAL_SECONDS = 300


@job
def refresh_rollups() -> dict[str, Any]:
    """Refresh each project's daily rollups; returns the number of recomputed days per project (-1: all)."""
    session = get_db().session()
    try:
        ids = list(session.scalars(select(Project.id).order_by(Project.id)))
        return {str(project_id): dashboard_rollup.refresh(session, project_id) for project_id in ids}
    finally:
        session.close()

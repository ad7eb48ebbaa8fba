"""Scheduled active learning: projects opt in with `settings.extra.active_learning`, a periodic job runs them.

```
{"active_learning": {"budget": 50, "strategy": "margin", "interval_hours": 24, "random_share": 0.1}}
```
A project is due when its newest selection run is older than `interval_hours` (or it has none).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from feedback.db import utcnow
from feedback.models import Project, SelectionRun
from feedback.services.selection.params import SelectionParams

SETTINGS_KEY = "active_learning"


@dataclass(frozen=True)
class DueSelection:
    """A project whose scheduled selection should run now, with its parameters."""

    project_id: int
    params: dict[str, Any]


def schedule_of(project: Project) -> tuple[float, dict[str, Any]] | None:
    """(interval hours, selection params) of a project's schedule, or None when it has none or it is invalid."""
    raw = ((project.settings or {}).get("extra") or {}).get(SETTINGS_KEY)
    if not isinstance(raw, dict):
        return None
    interval = raw.get("interval_hours", 24)
    params = {k: v for k, v in raw.items() if k != "interval_hours"}
    if not isinstance(interval, int | float) or interval <= 0:
        return None
    try:
        return float(interval), SelectionParams.model_validate(params).model_dump(mode="json")
    except ValidationError:
        return None


def due_selections(session: Session) -> list[DueSelection]:
    """Projects with a valid schedule whose last run is older than their interval."""
    last_runs = dict(session.execute(select(SelectionRun.project_id, func.max(SelectionRun.created_at))
                                     .group_by(SelectionRun.project_id)).all())
    now = utcnow()
    due = []
    for project in session.scalars(select(Project).order_by(Project.id)):
        schedule = schedule_of(project)
        if schedule is None:
            continue
        interval, params = schedule
        last = last_runs.get(project.id)
        if last is None or now - last >= timedelta(hours=interval):
            due.append(DueSelection(project.id, params))
    return due

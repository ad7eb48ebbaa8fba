"""Scheduled active learning: due projects get exactly one run; not-due, pending and invalid ones none."""

from __future__ import annotations

from rq import SimpleWorker
from sqlalchemy import select

import jobs.base
from feedback.db import utcnow
from feedback.models import Interaction, Project, SelectionRun
from feedback.queue import get_queue, get_redis
from jobs.selection import run_scheduled_selections
from tests.conftest import make_project
from tests.services.selection.davidson import _rows


def _schedule(session, project_id, value):
    project = session.get(Project, project_id)
    project.settings = {**project.settings, "extra": {"active_learning": value}}
    session.commit()


def test_due_project_runs_once_then_waits_for_its_interval(app, session, project, monkeypatch):
    monkeypatch.setattr(jobs.base, "_app", app)
    texts, _ = _rows()
    session.add_all([Interaction(project_id=project.id, external_id=f"s{i}", messages=[], response=texts[i],
                                 meta={}, created_at=utcnow()) for i in range(0, 300, 10)])
    _schedule(session, project.id, {"budget": 4, "strategy": "margin", "interval_hours": 24})
    invalid = make_project(app)
    _schedule(session, invalid.id, {"budget": -3})

    first = run_scheduled_selections()
    assert project.id in first["enqueued"] and invalid.id not in first["enqueued"]
    pending = run_scheduled_selections()  # the job is queued, not finished: no second enqueue
    assert project.id not in pending["enqueued"]
    with app.app_context():
        SimpleWorker([get_queue("default")], connection=get_redis()).work(burst=True)
    session.expire_all()
    runs = list(session.scalars(select(SelectionRun).where(SelectionRun.project_id == project.id)))
    assert len(runs) == 1 and runs[0].selected_count == 4
    session.rollback()  # end the read: on SQLite every transaction holds the writer lock
    assert project.id not in run_scheduled_selections()["enqueued"]  # ran less than 24 h ago

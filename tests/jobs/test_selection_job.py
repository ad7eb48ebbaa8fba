"""The selection RQ job runs a recorded selection cycle through a real worker and Redis."""

from __future__ import annotations

import pytest
from rq import SimpleWorker
from sqlalchemy import select

from feedback.db import utcnow
from feedback.models import Interaction, JobRecord, SelectionRun
from feedback.queue import get_queue, get_redis
from feedback.services.selection import SelectionParamsError
from feedback.services.selection.runs import enqueue_selection
from tests.services.selection.davidson import _rows


def test_enqueued_selection_runs_in_the_worker(app, session, project, monkeypatch):
    import jobs.base

    monkeypatch.setattr(jobs.base, "_app", app)  # the worker runs jobs with the test app
    texts, _ = _rows()
    session.add_all([Interaction(project_id=project.id, external_id=f"j{i}", messages=[], response=texts[i],
                                 meta={}, created_at=utcnow()) for i in range(0, 250, 10)])
    session.commit()
    with pytest.raises(SelectionParamsError):
        enqueue_selection(session, project.id, {"budget": 5, "strategy": "nope"})
    record = enqueue_selection(session, project.id, {"budget": 5, "seed": 2})
    with app.app_context():
        SimpleWorker([get_queue("default")], connection=get_redis()).work(burst=True)
    session.expire_all()
    job = session.scalar(select(JobRecord).where(JobRecord.rq_job_id == record.rq_job_id))
    assert job.status == "finished", job
    run = session.scalar(select(SelectionRun).where(SelectionRun.project_id == project.id))
    assert run is not None and run.selected_count == 5 and run.pool_size == 25

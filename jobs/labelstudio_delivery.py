"""RQ jobs that move routing decisions into Label Studio: deliver a connection's outbox, sweep, backfill."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from rq import get_current_job

from feedback.db import get_db
from feedback.queue import get_redis
from feedback.services import outbox, routing
from jobs.base import job, job_logger


def _owner() -> str:
    current = get_current_job()
    return current.id if current else f"inline-{uuid.uuid4().hex}"


@job
def deliver_outbox(connection_id: int | None = None, batch_size: int = 1000, lease_seconds: float = 300.0,
                   backoff_base: float = 5.0, max_backoff: float = 900.0) -> dict[str, Any]:
    """Deliver every due outbox item (of one connection, or all) in bulk batches; returns counts.

    The lease owner is the RQ job id, so a re-run of the same job (after its worker died) reclaims its own
    rows at once; other jobs wait for the lease to expire. Already imported items are adopted, not re-sent.
    """
    log = job_logger(__name__)
    if connection_id is not None:
        get_redis().delete(outbox.kick_key(connection_id))  # items committed from now on enqueue a new job
    session = get_db().session()
    try:
        stats = outbox.deliver_due(session, _owner(), connection_id=connection_id, batch_size=batch_size,
                                   lease_seconds=lease_seconds, backoff_base=backoff_base, max_backoff=max_backoff)
    finally:
        session.close()
    log.info("claimed %s imported %s adopted %s delayed %s failed %s", stats.claimed, stats.imported,
             stats.adopted, stats.delayed, stats.failed)
    return {"claimed": stats.claimed, "imported": stats.imported, "adopted": stats.adopted,
            "delayed": stats.delayed, "failed": stats.failed, "errors": stats.errors[:5]}


@job
def sweep_outbox(**delivery_kwargs: Any) -> dict[str, Any]:
    """Periodic: enqueue delivery for every connection with due items (missed kicks, retries after backoff)."""
    session = get_db().session()
    try:
        due = outbox.due_connections(session)
        session.commit()
        enqueued = outbox.kick_delivery(get_db().engine, due, **delivery_kwargs) if due else 0
    finally:
        session.close()
    return {"due_connections": due, "enqueued": enqueued}


@job
def backfill_rules(project_id: int, since: str | None = None, until: str | None = None,
                   limit: int = 100_000) -> dict[str, int]:
    """Evaluate the project's routing rules over past interactions (commits in chunks)."""
    session = get_db().session()
    try:
        return routing.backfill(session, project_id, datetime.fromisoformat(since) if since else None,
                                datetime.fromisoformat(until) if until else None, limit)
    finally:
        session.close()

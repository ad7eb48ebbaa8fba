"""Delivering outbox items to Label Studio: claim with a lease, look up, import in bulk, back off on failure.

Exactly-once delivery rests on three things: a claim sets `lease_owner`/`lease_until` (PostgreSQL claims with
FOR UPDATE SKIP LOCKED, SQLite's write lock serialises claims), every task carries our item id in
`data.fl_item_id`, and before importing, the items of a batch are looked up in Label Studio, so a retry after
a crash between "imported" and "marked delivered" adopts the existing task instead of creating a second one.
`attempts` counts claims and is never reset, so an item on its first claim cannot exist in Label Studio yet and
skips the lookup.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app, has_app_context
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from feedback.db import utcnow
from feedback.models import LabelStudioConnection, OutboxItem
from feedback.services.labelstudio_client import LabelStudioError, LabelStudioRejected
from feedback.services.labelstudio_connections import client_for
from feedback.services.outbox_tasks import build_tasks

log = logging.getLogger(__name__)
DELIVER_JOB = "jobs.labelstudio_delivery.deliver_outbox"
KICK_TTL = 60


@dataclass
class DeliveryStats:
    """What one delivery pass did."""

    claimed: int = 0
    imported: int = 0
    adopted: int = 0
    delayed: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def backoff_seconds(attempts: int, base: float, cap: float) -> float:
    """Exponential backoff after `attempts` failed tries: base, 2*base, 4*base, ... capped."""
    return min(cap, base * 2 ** max(0, attempts - 1))


def claim(session: Session, owner: str, *, limit: int, lease_seconds: float,
          connection_id: int | None = None) -> list[OutboxItem]:
    """Lease up to `limit` due items to `owner` (expired leases and `owner`'s own are claimable); commits."""
    now = utcnow()
    query = select(OutboxItem.id).where(
        OutboxItem.status == "pending", OutboxItem.next_attempt_at <= now,
        or_(OutboxItem.lease_until.is_(None), OutboxItem.lease_until < now, OutboxItem.lease_owner == owner))
    if connection_id is not None:
        query = query.where(OutboxItem.connection_id == connection_id)
    query = query.order_by(OutboxItem.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(session.scalars(query))
    if ids:
        table = OutboxItem.__table__
        session.execute(update(table).where(table.c.id.in_(ids)).values(
            lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds), attempts=table.c.attempts + 1))
    session.commit()
    if not ids:
        return []
    return list(session.scalars(select(OutboxItem).where(OutboxItem.id.in_(ids)).order_by(OutboxItem.id)
                                .execution_options(populate_existing=True)))


def _mark_delivered(session: Session, owner: str, task_ids: dict[int, int]) -> None:
    if not task_ids:
        return
    table = OutboxItem.__table__
    stmt = update(table).where(table.c.id == bindparam("item_id"), table.c.lease_owner == owner).values(
        status="delivered", ls_task_id=bindparam("task_id"), delivered_at=utcnow(), lease_until=None,
        lease_owner=None, last_error=None)
    session.execute(stmt, [{"item_id": i, "task_id": t} for i, t in task_ids.items()])


def _release(session: Session, owner: str, items: Sequence[OutboxItem], error: str, *, permanent: bool,
             base: float, cap: float) -> None:
    now, table = utcnow(), OutboxItem.__table__
    stmt = update(table).where(table.c.id == bindparam("item_id"), table.c.lease_owner == owner).values(
        lease_until=None, lease_owner=None, last_error=error[:2000], next_attempt_at=bindparam("due"),
        status="failed" if permanent else "pending")
    session.execute(stmt, [{"item_id": item.id, "due": now if permanent else
                            now + timedelta(seconds=backoff_seconds(item.attempts, base, cap))} for item in items])


def deliver_batch(session: Session, owner: str, connection: LabelStudioConnection, items: Sequence[OutboxItem],
                  stats: DeliveryStats, *, backoff_base: float, max_backoff: float) -> None:
    """Deliver claimed items of one connection: adopt tasks that exist, import the rest; commits."""
    try:
        client = client_for(connection)
        # Only items claimed before (attempts > 1) can already exist in Label Studio: look those up.
        retried = [item.id for item in items if item.attempts > 1]
        existing = client.existing_items(connection.ls_project_id, retried) if retried else {}
        adopted = {item.id: existing[str(item.id)] for item in items if str(item.id) in existing}
        to_send = [item for item in items if item.id not in adopted]
        imported: dict[int, int] = {}
        if to_send:
            task_ids = client.import_tasks(connection.ls_project_id, build_tasks(session, to_send, connection))
            if len(task_ids) == len(to_send):
                imported = {item.id: task_id for item, task_id in zip(to_send, task_ids, strict=True)}
            else:  # the server did not echo one id per task: ask it which of ours now exist
                found = client.existing_items(connection.ls_project_id, [item.id for item in to_send])
                imported = {item.id: found[str(item.id)] for item in to_send if str(item.id) in found}
        _mark_delivered(session, owner, adopted | imported)
        stats.adopted += len(adopted)
        stats.imported += len(imported)
        session.commit()
    except LabelStudioError as exc:
        session.rollback()
        permanent = isinstance(exc, LabelStudioRejected)
        _release(session, owner, items, f"{type(exc).__name__}: {exc}", permanent=permanent,
                 base=backoff_base, cap=max_backoff)
        session.commit()
        if permanent:
            stats.failed += len(items)
        else:
            stats.delayed += len(items)
        stats.errors.append(str(exc)[:300])


def deliver_due(session: Session, owner: str, *, connection_id: int | None = None, batch_size: int = 1000,
                lease_seconds: float = 300.0, backoff_base: float = 5.0, max_backoff: float = 900.0,
                max_batches: int = 1000) -> DeliveryStats:
    """Claim and deliver due items batch after batch until none are left (or Label Studio fails)."""
    stats = DeliveryStats()
    for _ in range(max_batches):
        items = claim(session, owner, limit=batch_size, lease_seconds=lease_seconds, connection_id=connection_id)
        if not items:
            break
        stats.claimed += len(items)
        by_connection: dict[int, list[OutboxItem]] = defaultdict(list)
        for item in items:
            by_connection[item.connection_id].append(item)
        failed_before = stats.delayed + stats.failed
        for cid, group in by_connection.items():
            connection = session.get(LabelStudioConnection, cid)
            deliver_batch(session, owner, connection, group, stats, backoff_base=backoff_base,
                          max_backoff=max_backoff)
        if stats.delayed + stats.failed > failed_before:
            break  # Label Studio is failing: leave the rest for the retry schedule
    return stats


def due_connections(session: Session) -> list[int]:
    """Connections that have items due now (for the periodic sweep)."""
    now = utcnow()
    return list(session.scalars(select(OutboxItem.connection_id).where(
        OutboxItem.status == "pending", OutboxItem.next_attempt_at <= now,
        or_(OutboxItem.lease_until.is_(None), OutboxItem.lease_until < now)).distinct()))


def kick_key(connection_id: int) -> str:
    """The Redis key that debounces delivery jobs of one connection."""
    return f"{current_app.config['SETTINGS'].queue_prefix}routing:kick:{connection_id}"


def kick_delivery(bind: Engine, connection_ids: Sequence[int], **job_kwargs) -> int:
    """Enqueue a delivery job per connection unless one is already queued; returns how many were enqueued.

    The job clears its connection's key before claiming, so items committed after that get a new job.
    """
    if not has_app_context():
        log.info("no app context: delivery for %s left to the sweep", list(connection_ids))
        return 0
    from feedback.queue import enqueue, get_redis

    redis, count = get_redis(), 0
    with Session(bind=bind, expire_on_commit=False) as session:
        for cid in connection_ids:
            if not redis.set(kick_key(cid), "1", nx=True, ex=KICK_TTL):
                continue
            project_id = session.scalar(select(LabelStudioConnection.project_id).where(
                LabelStudioConnection.id == cid))
            enqueue(session, DELIVER_JOB, connection_id=cid, queue="delivery", project_id=project_id,
                    retries=5, **job_kwargs)
            count += 1
    return count

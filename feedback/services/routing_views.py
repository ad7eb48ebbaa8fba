"""Routing rows as response bodies (connections never expose their token or webhook secret)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from feedback.models import JobRecord, LabelStudioConnection, OutboxItem, RoutingRule
from feedback.schemas.routing import ConnectionOut, JobOut, OutboxOut, RuleOut
from feedback.services.routing import used_today


def connection_out(row: LabelStudioConnection) -> dict[str, Any]:
    """A connection without secrets."""
    return ConnectionOut(id=row.id, name=row.name, url=row.url, token_kind=row.token_kind,
                         ls_project_id=row.ls_project_id, template=row.template, webhook_id=row.webhook_id,
                         webhook_url=row.webhook_url, active=row.active, created_at=row.created_at,
                         adjudication_connection_id=row.adjudication_connection_id,
                         ).model_dump(mode="json")


def rules_out(session: Session, rows: list[RoutingRule]) -> list[dict[str, Any]]:
    """Rules with today's budget use."""
    usage = used_today(session, [r.id for r in rows])
    return [RuleOut(id=r.id, name=r.name, connection_id=r.connection_id, priority=r.priority, enabled=r.enabled,
                    conditions=r.conditions, sample_rate=r.sample_rate, daily_budget=r.daily_budget,
                    used_today=usage.get(r.id, 0), created_at=r.created_at, updated_at=r.updated_at,
                    ).model_dump(mode="json") for r in rows]


def outbox_out(row: OutboxItem) -> dict[str, Any]:
    """One outbox item."""
    return OutboxOut(id=row.id, interaction_id=row.interaction_id, connection_id=row.connection_id,
                     rule_id=row.rule_id, generation=row.generation, trigger=row.trigger, reason=row.reason,
                     status=row.status, attempts=row.attempts, next_attempt_at=row.next_attempt_at,
                     last_error=row.last_error, ls_task_id=row.ls_task_id, created_at=row.created_at,
                     delivered_at=row.delivered_at).model_dump(mode="json")


def outbox_stats(session: Session, project_id: int) -> dict[str, Any]:
    """Item counts per connection and status."""
    rows = session.execute(select(OutboxItem.connection_id, OutboxItem.status, func.count()).where(
        OutboxItem.project_id == project_id).group_by(OutboxItem.connection_id, OutboxItem.status)).all()
    stats: dict[str, dict[str, int]] = {}
    for connection_id, status, count in rows:
        stats.setdefault(str(connection_id), {"pending": 0, "delivered": 0, "failed": 0})[status] = count
    return {"connections": stats}


def job_out(row: JobRecord, rq: dict[str, Any] | None = None) -> dict[str, Any]:
    """A job record (plus RQ's view when given)."""
    body = JobOut(id=row.id, rq_job_id=row.rq_job_id, name=row.name, queue=row.queue, status=row.status,
                  progress=row.progress, params=row.params or {}, result=row.result, error=row.error,
                  created_at=row.created_at, started_at=row.started_at, finished_at=row.finished_at,
                  ).model_dump(mode="json")
    if rq is not None:
        body["rq"] = rq
    return body

"""Evaluating routing rules and writing routing decisions (outbox items) in the caller's transaction.

Called from `interactions.record_interactions` (new interactions) and `feedback.write_revision` (new feedback),
so a decision commits or rolls back together with what caused it. Per target connection the first rule by
priority that matches, is sampled in and still has budget today wins; an interaction reaches a connection at
most once (unique (connection, interaction, generation); rules only write generation 0). Writers take a
per-project lock (PostgreSQL advisory lock; SQLite's write lock already serialises) so budgets hold under
concurrent ingestion. After commit, a delivery job is enqueued (see `outbox.kick_delivery`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, time
from typing import Any

from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from feedback.db import utcnow
from feedback.errors import NotFound
from feedback.models import Feedback, Interaction, LabelStudioConnection, OutboxItem, RoutingRule
from feedback.services.outbox import kick_delivery
from feedback.services.routing_rules import (
    RuleView,
    cached_rules,
    conditions_hold,
    enabled_rules,
    sampled_in,
    uses_feedback,
)
from feedback.services.sql import dialect_insert

log = logging.getLogger(__name__)
LOCK_CLASS = 7_311_001  # first key of pg_advisory_xact_lock(int, int): "routing writes of project N"
PENDING_KEY = "routing.pending_connections"


def lock_project(session: Session, project_id: int) -> None:
    """Serialise routing writes of one project until the transaction ends (no-op on SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:c, :p)"), {"c": LOCK_CLASS, "p": project_id})


def _day_start(now: datetime) -> datetime:
    return datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)


def used_today(session: Session, rule_ids: Sequence[int], now: datetime | None = None) -> dict[int, int]:
    """How many items each rule routed since midnight UTC (operator requeues do not count)."""
    if not rule_ids:
        return {}
    start = _day_start(now or utcnow())
    rows = session.execute(select(OutboxItem.rule_id, func.count()).where(
        OutboxItem.rule_id.in_(list(rule_ids)), OutboxItem.created_at >= start,
        OutboxItem.trigger != "requeue").group_by(OutboxItem.rule_id)).all()
    return {rule_id: count for rule_id, count in rows}


def _feedback_by_interaction(session: Session, ids: list[int]) -> dict[int, list[Feedback]]:
    found: dict[int, list[Feedback]] = defaultdict(list)
    for start in range(0, len(ids), 900):
        # populate_existing: rows written with Core statements in this transaction are read as they are now
        for row in session.scalars(select(Feedback).where(Feedback.interaction_id.in_(ids[start:start + 900]),
                                                          Feedback.source == "end_user").execution_options(
                                                              populate_existing=True)):
            found[row.interaction_id].append(row)
    return found


def _candidates(rules: Sequence[RoutingRule | RuleView], interactions: Sequence[Interaction],
                feedback: dict[int, list[Feedback]]) -> dict[tuple[int, int], list[RoutingRule | RuleView]]:
    """(interaction, connection) -> the rules that match and sample in, in priority order."""
    found: dict[tuple[int, int], list[RoutingRule | RuleView]] = defaultdict(list)
    for interaction in interactions:
        rows = feedback.get(interaction.id, [])
        for rule in rules:
            if conditions_hold(rule.conditions, interaction, rows) and \
                    sampled_in(rule.id, interaction.id, rule.sample_rate):
                found[(interaction.id, rule.connection_id)].append(rule)
    return found


def applicable_rules(session: Session, project_id: int, trigger: str,
                     fresh: bool = False) -> Sequence[RoutingRule | RuleView]:
    """The enabled rules that can match on `trigger`: from the 2 s cache, or as stored now (`fresh`)."""
    rules: Sequence[RoutingRule | RuleView] = (enabled_rules(session, project_id) if fresh
                                               else cached_rules(session, project_id))
    if trigger == "interaction":
        rules = [r for r in rules if not uses_feedback(r.conditions)]
    return rules


def evaluate(session: Session, project_id: int, interactions: Sequence[Interaction], trigger: str) -> list[int]:
    """Apply the project's rules to `interactions`; write outbox items; return their ids. Caller commits.

    The cached rules only serve to find out cheaply that nothing matches; when something may be routed, the
    rules are read again in this transaction and decide (so a rule or connection deleted in another process
    within the cache's 2 s is never used for a write).
    """
    if not interactions or not applicable_rules(session, project_id, trigger):
        return []
    rules = applicable_rules(session, project_id, trigger, fresh=True)
    if not rules:
        return []
    needs_feedback = trigger != "interaction" and any(uses_feedback(r.conditions) for r in rules)
    feedback = _feedback_by_interaction(session, [i.id for i in interactions]) if needs_feedback else {}
    candidates = _candidates(rules, interactions, feedback)
    if not candidates:
        return []
    lock_project(session, project_id)
    interaction_ids = sorted({key[0] for key in candidates})
    routed = set(session.execute(select(OutboxItem.interaction_id, OutboxItem.connection_id).where(
        OutboxItem.interaction_id.in_(interaction_ids))).tuples())
    now = utcnow()
    usage = used_today(session, [r.id for r in rules if r.daily_budget is not None], now)
    rows: list[dict[str, Any]] = []
    for (interaction_id, connection_id), matching in candidates.items():
        if (interaction_id, connection_id) in routed:
            continue
        for rule in matching:
            if rule.daily_budget is not None and usage.get(rule.id, 0) >= rule.daily_budget:
                continue
            usage[rule.id] = usage.get(rule.id, 0) + 1
            rows.append({"project_id": project_id, "interaction_id": interaction_id,
                         "connection_id": connection_id, "rule_id": rule.id, "generation": 0,
                         "trigger": trigger, "reason": {"rule": rule.name, "conditions": rule.conditions},
                         "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now})
            break
    return insert_items(session, rows)


def insert_items(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert outbox rows (an existing (connection, interaction, generation) is skipped); kick after commit."""
    if not rows:
        return []
    table = OutboxItem.__table__
    stmt = dialect_insert(session, table).on_conflict_do_nothing(
        index_elements=["connection_id", "interaction_id", "generation"]).returning(table.c.id)
    ids = [row_id for (row_id,) in session.execute(stmt, rows).all()]
    if ids:
        mark_pending(session, {row["connection_id"] for row in rows})
    return ids


def on_interactions(session: Session, project_id: int, interactions: Sequence[Interaction]) -> list[int]:
    """Routing for newly logged interactions (rules that need no feedback)."""
    return evaluate(session, project_id, interactions, "interaction")


def on_feedback(session: Session, project_id: int, interaction: Interaction | int, source: str) -> list[int]:
    """Routing after end-user feedback changed on `interaction` (an object or its id; annotator/model feedback
    never routes). The interaction is only loaded when the project has enabled rules."""
    if source != "end_user" or not applicable_rules(session, project_id, "feedback"):
        return []
    if isinstance(interaction, int):
        loaded = session.get(Interaction, interaction)
        if loaded is None:
            return []
        interaction = loaded
    return evaluate(session, project_id, [interaction], "feedback")


def requeue(session: Session, project_id: int, connection_id: int, interaction_ids: Sequence[int]) -> list[int]:
    """An operator's explicit request to send interactions to a connection again; returns new item ids."""
    connection = session.get(LabelStudioConnection, connection_id)
    if connection is None or connection.project_id != project_id:
        raise NotFound(f"no Label Studio connection {connection_id} in this project", code="connection_not_found")
    wanted = sorted(set(interaction_ids))
    found = set(session.scalars(select(Interaction.id).where(Interaction.project_id == project_id,
                                                             Interaction.id.in_(wanted))))
    missing = [i for i in wanted if i not in found]
    if missing:
        raise NotFound("some interactions are not in this project", code="interaction_not_found",
                       details={"missing": missing[:100]})
    lock_project(session, project_id)
    generations = dict(session.execute(select(OutboxItem.interaction_id, func.max(OutboxItem.generation)).where(
        OutboxItem.connection_id == connection_id, OutboxItem.interaction_id.in_(wanted)).group_by(
        OutboxItem.interaction_id)).tuples().all())
    now = utcnow()
    rows = [{"project_id": project_id, "interaction_id": i, "connection_id": connection_id, "rule_id": None,
             "generation": generations[i] + 1 if i in generations else 0, "trigger": "requeue",
             "reason": {"requeue": True}, "status": "pending", "attempts": 0, "next_attempt_at": now,
             "created_at": now} for i in wanted]
    return insert_items(session, rows)


def backfill(session: Session, project_id: int, since: datetime | None = None, until: datetime | None = None,
             limit: int = 100_000, chunk: int = 500) -> dict[str, int]:
    """Evaluate the rules over past interactions in id order, committing every `chunk` interactions."""
    last_id, seen, routed = 0, 0, 0
    while seen < limit:
        query = select(Interaction).where(Interaction.project_id == project_id, Interaction.id > last_id)
        if since is not None:
            query = query.where(Interaction.created_at >= since)
        if until is not None:
            query = query.where(Interaction.created_at < until)
        batch = list(session.scalars(query.order_by(Interaction.id).limit(min(chunk, limit - seen))))
        if not batch:
            break
        routed += len(evaluate(session, project_id, batch, "backfill"))
        session.commit()
        seen += len(batch)
        last_id = batch[-1].id
    return {"evaluated": seen, "routed": routed}


def mark_pending(session: Session, connection_ids: set[int]) -> None:
    """Remember connections with new outbox items; their delivery is kicked after this session commits."""
    pending = session.info.setdefault(PENDING_KEY, set())
    pending.update(connection_ids)
    if not session.info.get("routing.listening"):
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_rollback", _after_rollback)
        session.info["routing.listening"] = True


def _after_commit(session: Session) -> None:
    pending = session.info.pop(PENDING_KEY, set())
    if not pending:
        return
    try:
        kick_delivery(session.get_bind(), sorted(pending))
    except Exception:  # the committed items stay pending: the periodic sweep delivers them
        log.warning("could not enqueue delivery for connections %s; the sweep will", sorted(pending),
                    exc_info=True)


def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)

"""Routing rules: create, change, list and delete them, and decide whether one matches an interaction."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from feedback.db import utcnow
from feedback.errors import Conflict, NotFound, ValidationFailed
from feedback.models import Feedback, Interaction, LabelStudioConnection, RoutingRule
from feedback.schemas.routing import RuleConditions, RuleCreate, RuleUpdate
from feedback.services import hotcache
from feedback.services.projects import get_project, reason_ids


def sampled_in(rule_id: int, interaction_id: int, rate: float) -> bool:
    """Deterministic sampling: the same (rule, interaction) always gives the same answer."""
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    digest = hashlib.sha256(f"{rule_id}:{interaction_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def conditions_hold(conditions: dict[str, Any], interaction: Interaction, feedback: Sequence[Feedback]) -> bool:
    """Whether every condition of a rule holds for the interaction and its current end-user feedback."""
    c = conditions
    if c.get("confidence_below") is not None and not (
            interaction.confidence is not None and interaction.confidence < c["confidence_below"]):
        return False
    if c.get("models") and interaction.model not in c["models"]:
        return False
    if c.get("model_versions") and interaction.model_version not in c["model_versions"]:
        return False
    meta = interaction.meta or {}
    for key, value in (c.get("metadata_equals") or {}).items():
        if meta.get(key) != value:
            return False
    if c.get("tags_any"):
        tags = meta.get("tags")
        if not isinstance(tags, list) or not set(c["tags_any"]) & {str(t) for t in tags}:
            return False
    live = [f for f in feedback if not f.retracted]
    if c.get("thumbs_down") and not any(
            f.key == c.get("thumbs_key", "helpfulness") and f.score == -1 for f in live):
        return False
    if c.get("rating_at_most") is not None and not any(
            f.key == c.get("rating_key") and f.score is not None and f.score <= c["rating_at_most"] for f in live):
        return False
    if c.get("reasons_any") and not any(set(c["reasons_any"]) & set(f.reasons or []) for f in live):
        return False
    return not (c.get("comment_present") and not any((f.comment or "").strip() for f in live))


def uses_feedback(conditions: dict[str, Any]) -> bool:
    """Whether a rule can only match once feedback exists (so arrival-time evaluation can skip it)."""
    return bool(conditions.get("thumbs_down") or conditions.get("rating_at_most") is not None
                or conditions.get("reasons_any") or conditions.get("comment_present"))


def enabled_rules(session: Session, project_id: int) -> list[RoutingRule]:
    """The project's enabled rules in evaluation order (priority, then id)."""
    return list(session.scalars(select(RoutingRule).where(
        RoutingRule.project_id == project_id, RoutingRule.enabled.is_(True)).order_by(
        RoutingRule.priority, RoutingRule.id)))


@dataclass(frozen=True, slots=True)
class RuleView:
    """An enabled rule as an immutable snapshot (the fields evaluation reads)."""

    id: int
    connection_id: int
    name: str
    priority: int
    conditions: dict[str, Any]
    sample_rate: float
    daily_budget: int | None


# Every ingest request asks for the enabled rules: cached per process for at most 2 s (dropped at once, and again
# at commit, when this process changes a rule; other processes see a change within 2 s). Routing only reads the
# cache to find out that nothing can match; before writing a decision it reads the rules again (see routing).
RULES_CACHE = hotcache.TTLCache("routing_rules")


def cached_rules(session: Session, project_id: int) -> tuple[RuleView, ...]:
    """The project's enabled rules in evaluation order, from the per-process cache."""
    def load() -> tuple[RuleView, ...]:
        return tuple(RuleView(r.id, r.connection_id, r.name, r.priority, dict(r.conditions or {}), r.sample_rate,
                              r.daily_budget) for r in enabled_rules(session, project_id))

    return RULES_CACHE.get_or_load(session, project_id, load)


def list_rules(session: Session, project_id: int) -> list[RoutingRule]:
    """Every rule of a project in evaluation order."""
    return list(session.scalars(select(RoutingRule).where(RoutingRule.project_id == project_id).order_by(
        RoutingRule.priority, RoutingRule.id)))


def get_rule(session: Session, project_id: int, rule_id: int) -> RoutingRule:
    """One rule of the project, else NotFound."""
    rule = session.get(RoutingRule, rule_id)
    if rule is None or rule.project_id != project_id:
        raise NotFound(f"no routing rule {rule_id} in this project", code="rule_not_found")
    return rule


def get_rule_by_name(session: Session, project_id: int, name: str) -> RoutingRule:
    """One rule by name, else NotFound."""
    rule = session.scalar(select(RoutingRule).where(RoutingRule.project_id == project_id,
                                                    RoutingRule.name == name))
    if rule is None:
        raise NotFound(f"no routing rule named {name!r}", code="rule_not_found")
    return rule


def _check_reasons(session: Session, project_id: int, conditions: RuleConditions) -> None:
    unknown = sorted(set(conditions.reasons_any) - reason_ids(get_project(session, project_id)))
    if unknown:
        raise ValidationFailed("unknown reason ids in reasons_any", details={"unknown": unknown})


def create_rule(session: Session, project_id: int, body: RuleCreate) -> RoutingRule:
    """Add a rule; its connection must belong to the project and its name be unused. Flushes."""
    connection = session.get(LabelStudioConnection, body.connection_id)
    if connection is None or connection.project_id != project_id:
        raise NotFound(f"no Label Studio connection {body.connection_id} in this project",
                       code="connection_not_found")
    _check_reasons(session, project_id, body.conditions)
    rule = RoutingRule(project_id=project_id, connection_id=body.connection_id, name=body.name,
                       priority=body.priority, enabled=body.enabled,
                       conditions=body.conditions.model_dump(exclude_defaults=True),
                       sample_rate=body.sample_rate, daily_budget=body.daily_budget)
    _flush_unique(session, rule, body.name)
    hotcache.invalidate(session, RULES_CACHE, project_id)
    return rule


def update_rule(session: Session, project_id: int, rule_id: int, body: RuleUpdate) -> RoutingRule:
    """Change a rule's fields; omitted ones stay. Flushes."""
    rule = get_rule(session, project_id, rule_id)
    changes = body.model_dump(exclude_unset=True, exclude={"clear_budget", "conditions"})
    for field, value in changes.items():
        if value is not None:
            setattr(rule, field, value)
    if body.conditions is not None:
        _check_reasons(session, project_id, body.conditions)
        rule.conditions = body.conditions.model_dump(exclude_defaults=True)
    if body.clear_budget:
        rule.daily_budget = None
    rule.updated_at = utcnow()
    _flush_unique(session, rule, rule.name)
    hotcache.invalidate(session, RULES_CACHE, project_id)
    return rule


def delete_rule(session: Session, project_id: int, rule_id: int) -> None:
    """Remove a rule (its past outbox items stay, with the rule id cleared)."""
    session.delete(get_rule(session, project_id, rule_id))
    session.flush()
    hotcache.invalidate(session, RULES_CACHE, project_id)


def _flush_unique(session: Session, rule: RoutingRule, name: str) -> None:
    session.add(rule)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"a routing rule named {name!r} already exists", code="rule_exists") from exc

"""Routing rules decide at ingestion time, in the same transaction, at most once per Label Studio project."""

from __future__ import annotations

from sqlalchemy import func, select

from feedback.db import get_db
from feedback.models import Interaction, OutboxItem
from feedback.schemas.interaction import InteractionCreate
from feedback.services import interactions, routing
from feedback.services.routing_rules import sampled_in
from tests.conftest import log_interaction
from tests.routing_helpers import add_connection, add_rule, thumbs


def _items(app, project_id: int) -> list[OutboxItem]:
    with app.app_context():
        return list(get_db().session().scalars(select(OutboxItem).where(
            OutboxItem.project_id == project_id).order_by(OutboxItem.id)))


def test_low_confidence_interaction_is_routed_once_with_its_rule(app, client, project):
    conn = add_connection(app, project.id)
    rule = add_rule(client, project.headers("admin"), conn, conditions={"confidence_below": 0.5})
    low = log_interaction(client, project, confidence=0.2, external_id="low")
    log_interaction(client, project, confidence=0.9, external_id="high")
    log_interaction(client, project, external_id="unknown-confidence")
    log_interaction(client, project, confidence=0.2, external_id="low")  # re-sent: idempotent, no new item
    items = _items(app, project.id)
    assert [(i.interaction_id, i.connection_id, i.rule_id, i.trigger, i.status) for i in items] == [
        (low["id"], conn, rule["id"], "interaction", "pending")]


def test_thumbs_down_routes_on_feedback_and_never_requeues(app, client, project):
    conn = add_connection(app, project.id)
    add_rule(client, project.headers("admin"), conn, conditions={"thumbs_down": True})
    logged = log_interaction(client, project, confidence=0.99)
    assert _items(app, project.id) == []
    thumbs(client, project.headers(), logged["id"], 1)
    assert _items(app, project.id) == []
    thumbs(client, project.headers(), logged["id"], -1)
    thumbs(client, project.headers(), logged["id"], 1)
    thumbs(client, project.headers(), logged["id"], -1)  # second thumbs-down: already routed
    items = _items(app, project.id)
    assert [(i.interaction_id, i.trigger) for i in items] == [(logged["id"], "feedback")]


def test_priority_first_matching_rule_wins_per_connection(app, client, project):
    first, second = add_connection(app, project.id), add_connection(app, project.id)
    admin = project.headers("admin")
    low = add_rule(client, admin, first, priority=10, conditions={"confidence_below": 0.5})
    add_rule(client, admin, first, priority=20, conditions={"models": ["m1"]})
    other = add_rule(client, admin, second, priority=5, conditions={"models": ["m1"]})
    logged = log_interaction(client, project, confidence=0.1, model="m1")
    got = {(i.connection_id, i.rule_id) for i in _items(app, project.id)}
    assert got == {(first, low["id"]), (second, other["id"])}
    assert all(i.interaction_id == logged["id"] for i in _items(app, project.id))


def test_conditions_on_rating_reasons_comment_version_and_tags(app, client, project):
    conn = add_connection(app, project.id)
    reason = "not_factually_correct"
    add_rule(client, project.headers("admin"), conn, conditions={
        "thumbs_down": True, "reasons_any": [reason], "comment_present": True, "model_versions": ["v2"],
        "tags_any": ["beta"], "metadata_equals": {"tier": "pro"}})
    meta = {"tags": ["beta", "x"], "tier": "pro"}
    wrong_version = log_interaction(client, project, model_version="v1", metadata=meta)
    match = log_interaction(client, project, model_version="v2", metadata=meta)
    no_tag = log_interaction(client, project, model_version="v2", metadata={"tags": ["x"], "tier": "pro"})
    for logged in (wrong_version, match, no_tag):
        thumbs(client, project.headers(), logged["id"], -1, reasons=[reason], comment="wrong")
    no_comment = log_interaction(client, project, model_version="v2", metadata=meta)
    thumbs(client, project.headers(), no_comment["id"], -1, reasons=[reason])
    assert [i.interaction_id for i in _items(app, project.id)] == [match["id"]]


def test_rating_at_most_needs_its_key_and_unknown_reasons_are_rejected(client, app, project):
    conn = add_connection(app, project.id)
    admin = project.headers("admin")
    answer = client.post("/api/v1/routing/rules", json={"name": "r", "connection_id": conn,
                                                          "conditions": {"rating_at_most": 2}}, headers=admin)
    assert answer.status_code == 422 and answer.get_json()["error"]["code"] == "validation_error"
    answer = client.post("/api/v1/routing/rules", json={"name": "r", "connection_id": conn,
                                                          "conditions": {"reasons_any": ["nope"]}}, headers=admin)
    assert answer.status_code == 422 and answer.get_json()["error"]["details"] == {"unknown": ["nope"]}
    answer = client.post("/api/v1/routing/rules", json={"name": "r", "connection_id": 999999}, headers=admin)
    assert answer.status_code == 404
    assert client.get("/api/v1/routing/rules", headers=project.headers("ingest")).status_code == 403


def test_sampling_is_deterministic_and_close_to_the_rate(app, client, project):
    conn = add_connection(app, project.id)
    rule = add_rule(client, project.headers("admin"), conn, sample_rate=0.3, conditions={"confidence_below": 0.5})
    batch = {"items": [{"messages": [{"role": "user", "content": f"q{i}"}], "response": "a", "confidence": 0.1}
                       for i in range(400)]}
    answer = client.post("/api/v1/interactions/batch", json=batch, headers=project.headers())
    ids = [r["id"] for r in answer.get_json()["results"]]
    routed = {i.interaction_id for i in _items(app, project.id)}
    assert routed == {i for i in ids if sampled_in(rule["id"], i, 0.3)}
    assert 80 <= len(routed) <= 160


def test_daily_budget_then_lower_priority_rule_takes_over(app, client, project):
    conn = add_connection(app, project.id)
    admin = project.headers("admin")
    capped = add_rule(client, admin, conn, priority=1, daily_budget=3, conditions={"confidence_below": 0.5})
    fallback = add_rule(client, admin, conn, priority=2, daily_budget=2, conditions={"confidence_below": 0.5})
    for _ in range(8):
        log_interaction(client, project, confidence=0.1)
    rules = [i.rule_id for i in _items(app, project.id)]
    assert rules == [capped["id"]] * 3 + [fallback["id"]] * 2
    listed = client.get("/api/v1/routing/rules", headers=admin).get_json()["items"]
    assert [(r["used_today"], r["daily_budget"]) for r in listed] == [(3, 3), (2, 2)]


def test_decision_rolls_back_with_the_interaction(app, project, client):
    conn = add_connection(app, project.id)
    add_rule(client, project.headers("admin"), conn, conditions={"confidence_below": 0.5})
    with app.app_context():
        session = get_db().session()
        item = InteractionCreate(messages=[{"role": "user", "content": "q"}], response="a", confidence=0.1)
        interactions.record_interactions(session, project.id, [item])
        assert session.scalar(select(func.count()).select_from(OutboxItem).where(
            OutboxItem.project_id == project.id)) == 1
        session.rollback()
        assert session.scalar(select(func.count()).select_from(Interaction).where(
            Interaction.project_id == project.id)) == 0
        assert session.scalar(select(func.count()).select_from(OutboxItem).where(
            OutboxItem.project_id == project.id)) == 0


def test_requeue_is_explicit_and_backfill_covers_the_past(app, client, project):
    admin = project.headers("admin")
    old = [log_interaction(client, project, confidence=c)["id"] for c in (0.1, 0.9, 0.2)]
    conn = add_connection(app, project.id)
    add_rule(client, admin, conn, conditions={"confidence_below": 0.5})
    with app.app_context():
        session = get_db().session()
        assert routing.backfill(session, project.id) == {"evaluated": 3, "routed": 2}
        assert routing.backfill(session, project.id) == {"evaluated": 3, "routed": 0}
    answer = client.post("/api/v1/routing/requeue", json={"connection_id": conn, "interaction_ids": [old[0]]},
                         headers=admin)
    assert answer.status_code == 201
    items = _items(app, project.id)
    assert [(i.interaction_id, i.generation, i.trigger) for i in items] == [
        (old[0], 0, "backfill"), (old[2], 0, "backfill"), (old[0], 1, "requeue")]
    bad = client.post("/api/v1/routing/requeue", json={"connection_id": conn, "interaction_ids": [10**12]},
                      headers=admin)
    assert bad.status_code == 404 and bad.get_json()["error"]["details"] == {"missing": [10**12]}

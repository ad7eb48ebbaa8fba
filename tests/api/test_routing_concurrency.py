"""Budgets, sampling and never-re-queue hold while many threads post interactions and feedback at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from feedback.services.routing_rules import sampled_in
from tests.jobs.delivery_helpers import outbox
from tests.routing_helpers import add_connection, add_rule

THREADS = 6


def _post_interactions(app, project, thread: int, count: int) -> list[int]:
    client = app.test_client()
    ids = []
    for n in range(count):
        answer = client.post("/api/v1/interactions", headers=project.headers(), json={
            "external_id": f"t{thread}-{n}", "messages": [{"role": "user", "content": "q"}], "response": "a",
            "confidence": 0.1})
        assert answer.status_code == 201, answer.get_json()
        ids.append(answer.get_json()["id"])
    return ids


def _post_thumbs(app, project, thread: int, interaction_ids: list[int]) -> None:
    client = app.test_client()
    for interaction_id in interaction_ids:
        answer = client.post("/api/v1/feedback", headers=project.headers(), json={
            "interaction_id": interaction_id, "score": -1, "end_user_id": f"user-{thread}"})
        assert answer.status_code == 201, answer.get_json()


def test_budget_sampling_and_once_only_under_concurrent_ingestion(app, client, project):
    budgeted, sampled = add_connection(app, project.id), add_connection(app, project.id)
    admin = project.headers("admin")
    add_rule(client, admin, budgeted, daily_budget=25, conditions={"confidence_below": 0.5})
    thumbs_rule = add_rule(client, admin, sampled, sample_rate=0.5, conditions={"thumbs_down": True})
    with ThreadPoolExecutor(THREADS) as pool:
        batches = list(pool.map(lambda t: _post_interactions(app, project, t, 8), range(THREADS)))
    ids = sorted(i for batch in batches for i in batch)
    assert len(ids) == THREADS * 8
    # Each interaction gets thumbs-down from three threads at once (different end users).
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(lambda t: _post_thumbs(app, project, t, ids[t % 2::2]), range(THREADS)))
    items = outbox(app, project.id)
    to_budgeted = [i for i in items if i.connection_id == budgeted]
    to_sampled = [i for i in items if i.connection_id == sampled]
    assert len(to_budgeted) == 25 and len({i.interaction_id for i in to_budgeted}) == 25
    expected = {i for i in ids if sampled_in(thumbs_rule["id"], i, 0.5)}
    assert sorted(i.interaction_id for i in to_sampled) == sorted(expected)  # each sampled-in item once
    assert 0 < len(expected) < len(ids)

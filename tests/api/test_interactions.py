"""Logging interactions: single, batch, idempotency, reads, filters and pagination."""

from __future__ import annotations

import threading
import time
import uuid

from feedback.models import Interaction
from tests.conftest import log_interaction, make_project


def test_create_returns_interaction_and_token(client, project):
    body = log_interaction(client, project, external_id="ext-1", confidence=0.42, model="m", model_version="v1",
                           conversation_id="c1", end_user_id="u1", metadata={"tags": ["a"]},
                           latency_ms=120.5, prompt_tokens=10, completion_tokens=3, prompt_version="p1")
    assert body["created"] is True
    assert body["external_id"] == "ext-1"
    assert body["confidence"] == 0.42
    assert body["metadata"] == {"tags": ["a"]}
    assert body["feedback_token"]
    fetched = client.get(f"/api/v1/interactions/{body['id']}", headers=project.headers()).get_json()
    assert fetched["response"] == "4" and fetched["messages"] == [{"role": "user", "content": "What is 2+2?"}]
    assert fetched["end_user_id"] == "u1" and fetched["model_version"] == "v1"


def test_resend_same_external_id_is_idempotent(client, project):
    first = client.post("/api/v1/interactions", json={"external_id": "same", "response": "a"},
                        headers=project.headers())
    again = client.post("/api/v1/interactions", json={"external_id": "same", "response": "changed"},
                        headers=project.headers())
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["response"] == "a" and again.get_json()["created"] is False


def test_external_ids_are_per_project(client, project, app):
    other = make_project(app)
    a = log_interaction(client, project, external_id="shared")
    b = log_interaction(client, other, external_id="shared")
    assert a["id"] != b["id"] and b["created"] is True
    assert client.get(f"/api/v1/interactions/{a['id']}", headers=other.headers()).status_code == 404


def test_batch_creates_and_reports_existing_in_order(client, project):
    log_interaction(client, project, external_id="old")
    items = [{"external_id": f"b{i}", "response": f"r{i}"} for i in range(5)] + [{"external_id": "old",
                                                                                   "response": "x"}]
    answer = client.post("/api/v1/interactions/batch", json={"items": items}, headers=project.headers())
    assert answer.status_code == 200
    data = answer.get_json()
    assert [r["external_id"] for r in data["results"]] == [f"b{i}" for i in range(5)] + ["old"]
    assert data["created"] == 5 and data["existing"] == 1
    assert all(r["feedback_token"] for r in data["results"])


def test_batch_with_repeated_id_counts_once(client, project):
    items = [{"external_id": "dup", "response": "a"}, {"external_id": "dup", "response": "b"}]
    data = client.post("/api/v1/interactions/batch", json={"items": items}, headers=project.headers()).get_json()
    assert data["created"] == 1 and data["existing"] == 1
    assert data["results"][0]["id"] == data["results"][1]["id"]


def test_batch_is_validated_whole_before_writing(client, project):
    items = [{"external_id": "ok-1", "response": "fine"}, {"external_id": "bad", "response": "x", "confidence": 7}]
    answer = client.post("/api/v1/interactions/batch", json={"items": items}, headers=project.headers())
    assert answer.status_code == 422
    assert answer.get_json()["error"]["details"][0]["loc"][:3] == ["items", 1, "confidence"]
    listed = client.get("/api/v1/interactions", headers=project.headers()).get_json()
    assert listed["items"] == []


def test_batch_limit_is_1000(client, project):
    items = [{"response": "x"} for _ in range(1001)]
    answer = client.post("/api/v1/interactions/batch", json={"items": items}, headers=project.headers())
    assert answer.status_code == 422
    ok = client.post("/api/v1/interactions/batch", json={"items": items[:1000]}, headers=project.headers())
    assert ok.status_code == 200 and ok.get_json()["created"] == 1000


def test_list_filters_and_cursor_pagination(client, project):
    conv = uuid.uuid4().hex
    ids = [log_interaction(client, project, conversation_id=conv, model_version=f"v{i % 2}")["id"]
           for i in range(7)]
    log_interaction(client, project, conversation_id="elsewhere")
    seen, cursor = [], None
    while True:
        query = f"/api/v1/interactions?conversation_id={conv}&limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(query, headers=project.headers()).get_json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)
    v1 = client.get(f"/api/v1/interactions?conversation_id={conv}&model_version=v1",
                    headers=project.headers()).get_json()
    assert len(v1["items"]) == 3


def test_time_filters(client, project):
    log_interaction(client, project, external_id="past", created_at="2020-01-01T00:00:00Z")
    log_interaction(client, project, external_id="now")
    old = client.get("/api/v1/interactions?until=2021-01-01T00:00:00Z", headers=project.headers()).get_json()
    assert [i["external_id"] for i in old["items"]] == ["past"]
    new = client.get("/api/v1/interactions?since=2021-01-01T00:00:00Z", headers=project.headers()).get_json()
    assert [i["external_id"] for i in new["items"]] == ["now"]


def test_multi_turn_messages_are_kept(client, project):
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello"}, {"role": "user", "content": "2+2?"}]
    body = log_interaction(client, project, messages=messages)
    assert body["messages"] == messages


def test_reads_answer_while_another_request_holds_a_write_transaction(app, client, project):
    """A list and a get are snapshot reads: they neither wait for a writer (on SQLite every write transaction
    holds the writer gate) nor see its uncommitted rows."""
    kept = log_interaction(client, project, external_id="committed")
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        with app.app_context(), app.extensions["feedback.db"].transaction() as session:
            session.add(Interaction(project_id=project.id, external_id="uncommitted", messages=[], response="x"))
            session.flush()
            holding.set()
            release.wait(timeout=10)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(timeout=10)
        started = time.monotonic()
        listed = client.get("/api/v1/interactions", headers=project.headers())
        one = client.get(f"/api/v1/interactions/{kept['id']}", headers=project.headers())
        assert time.monotonic() - started < 5  # the writer holds on for 10 s
        assert listed.status_code == 200 and one.status_code == 200
        assert [i["external_id"] for i in listed.get_json()["items"]] == ["committed"]
    finally:
        release.set()
        thread.join()
    listed = client.get("/api/v1/interactions", headers=project.headers()).get_json()["items"]
    assert sorted(i["external_id"] for i in listed) == ["committed", "uncommitted"]

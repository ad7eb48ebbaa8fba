"""Annotations come back from a real Label Studio: by webhook, or by the reconcile job when webhooks are missed."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from feedback.db import get_db
from feedback.models import LSAnnotationRecord
from feedback.queue import enqueue
from feedback.services.datasets.service import run_export
from tests.conftest import log_interaction
from tests.jobs.delivery_helpers import ls_tasks, run_worker_inline
from tests.routing_helpers import add_rule, thumbs

pytestmark = pytest.mark.labelstudio


def review(verdict: str, rating: int | None = None, reasons=(), corrected: str | None = None) -> list[dict]:
    """An annotation result in the response_review template's shape."""
    result = [{"from_name": "verdict", "to_name": "response", "type": "choices", "value": {"choices": [verdict]}}]
    if rating is not None:
        result.append({"from_name": "rating", "to_name": "response", "type": "rating", "value": {"rating": rating}})
    if reasons:
        result.append({"from_name": "reasons", "to_name": "response", "type": "choices",
                       "value": {"choices": list(reasons)}})
    if corrected:
        result.append({"from_name": "corrected", "to_name": "response", "type": "textarea",
                       "value": {"text": [corrected]}})
    return result


def annotator_feedback(client, project, interaction_id, include_retracted=False) -> dict[str, dict]:
    """The interaction's annotator feedback by key."""
    query = f"/api/v1/feedback?interaction_id={interaction_id}&source=annotator"
    if include_retracted:
        query += "&include_retracted=true"
    answer = client.get(query, headers=project.headers("ingest"))
    assert answer.status_code == 200, answer.get_json()
    return {row["key"]: row for row in answer.get_json()["items"]}


def stored(app, project_id) -> list[LSAnnotationRecord]:
    """The project's stored annotations."""
    with app.app_context():
        session = get_db().session()
        rows = list(session.scalars(select(LSAnnotationRecord).where(LSAnnotationRecord.project_id == project_id)
                                    .order_by(LSAnnotationRecord.id)))
        session.expunge_all()
        session.rollback()
        return rows


def wait_until(check, timeout=10.0):
    """Poll `check` until truthy (webhooks are sent synchronously, but be tolerant)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    return check()


@pytest.fixture
def routed(app, client, project, live_server, labelstudio, labelstudio_client):
    """A connection whose webhook points at the live app, and one thumbs-down interaction delivered as a task."""
    admin = project.headers("admin")
    answer = client.post("/api/v1/labelstudio/connections", headers=admin, base_url=live_server,
                         json={"name": "review", "url": labelstudio.url, "token": labelstudio.token})
    assert answer.status_code == 201, answer.get_json()
    connection = answer.get_json()
    add_rule(client, admin, connection["id"], conditions={"thumbs_down": True})
    interaction = log_interaction(client, project, confidence=0.8, response="Bleach and vinegar are fine.")
    thumbs(client, project.headers(), interaction["id"], -1, comment="dangerous")
    run_worker_inline(app)
    (task,) = ls_tasks(labelstudio_client, connection["ls_project_id"])
    yield connection, interaction, task
    labelstudio_client.delete_project(connection["ls_project_id"])


def test_annotation_comes_back_by_webhook_and_becomes_annotator_feedback(
        app, client, project, routed, labelstudio_client):
    connection, interaction, task = routed
    annotator = labelstudio_client.create_user(f"a{connection['id']}-{project.id}@example.com")
    made = labelstudio_client.create_annotation(
        task["id"], review("bad", 1, ["not_factually_correct", "no_such_reason"], "Never mix them."),
        lead_time=21.0, completed_by=annotator)

    rows = wait_until(lambda: stored(app, project.id))
    assert len(rows) == 1
    row = rows[0]
    assert (row.interaction_id, row.ls_annotation_id, row.received_via) == (interaction["id"], made["id"], "webhook")
    assert (row.verdict, row.rating, row.annotator_id, row.lead_time) == ("bad", 1.0, annotator, 21.0)
    assert row.item_id == str(task["data"]["fl_item_id"]) and len(row.raw) == 4
    feedback = annotator_feedback(client, project, interaction["id"])
    assert feedback["helpfulness"]["score"] == -1
    assert feedback["helpfulness"]["reasons"] == ["not_factually_correct"]
    assert feedback["helpfulness"]["correction"] == "Never mix them."
    assert feedback["helpfulness"]["metadata"]["unknown_reasons"] == ["no_such_reason"]
    assert feedback["rating"]["score"] == 1

    labelstudio_client._ls.annotations.update(made["id"], result=review("good", 4))
    assert wait_until(lambda: annotator_feedback(client, project, interaction["id"])["helpfulness"]["score"] == 1)
    assert annotator_feedback(client, project, interaction["id"])["helpfulness"]["revision"] == 2

    labelstudio_client._ls.annotations.delete(made["id"])
    assert wait_until(lambda: annotator_feedback(client, project, interaction["id"]) == {})
    retracted = annotator_feedback(client, project, interaction["id"], include_retracted=True)
    assert retracted["helpfulness"]["retracted"] and retracted["rating"]["retracted"]
    assert stored(app, project.id)[0].deleted


def test_reconcile_job_heals_missed_webhooks(app, client, project, routed, labelstudio_client):
    connection, interaction, task = routed
    labelstudio_client.set_webhook_active(labelstudio_client.list_webhooks(connection["ls_project_id"])[0]["id"],
                                          False)
    made = labelstudio_client.create_annotation(task["id"], review("bad", 2))
    time.sleep(0.3)
    assert stored(app, project.id) == [] and annotator_feedback(client, project, interaction["id"]) == {}

    def reconcile() -> None:
        with app.app_context():
            enqueue(get_db().session(), "jobs.labelstudio.reconcile_annotations", connection_id=connection["id"],
                    queue="delivery", project_id=project.id)
        run_worker_inline(app)

    reconcile()
    (row,) = stored(app, project.id)
    assert (row.received_via, row.verdict, row.ls_annotation_id) == ("reconcile", "bad", made["id"])
    assert annotator_feedback(client, project, interaction["id"])["helpfulness"]["score"] == -1

    reconcile()  # nothing new: no new revision
    assert annotator_feedback(client, project, interaction["id"])["helpfulness"]["revision"] == 1

    labelstudio_client._ls.annotations.delete(made["id"])
    reconcile()
    assert stored(app, project.id)[0].deleted
    assert annotator_feedback(client, project, interaction["id"]) == {}


def test_wrong_or_missing_secret_is_401_and_malformed_is_4xx_nothing_stored(app, client, project, routed):
    connection, interaction, task = routed
    path = f"/api/v1/labelstudio/webhook/{connection['id']}"
    payload = {"action": "ANNOTATION_CREATED", "project": {"id": connection["ls_project_id"]},
               "annotation": {"id": 999_999, "result": review("bad"), "task": task["id"],
                              "project": connection["ls_project_id"]},
               "task": {"id": task["id"], "data": task["data"], "project": connection["ls_project_id"]}}
    for headers in ({}, {"X-Feedback-Loop-Secret": "wrong"}, {"X-Feedback-Loop-Secret": ""}):
        answer = client.post(path, json=payload, headers=headers)
        assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "invalid_webhook_secret"
    answer = client.post("/api/v1/labelstudio/webhook/987654", json=payload,
                         headers={"X-Feedback-Loop-Secret": "wrong"})
    assert answer.status_code == 401

    secret = "known-secret-for-test"
    import hashlib

    with app.app_context():
        from feedback.models import LabelStudioConnection

        session = get_db().session()
        session.get(LabelStudioConnection, connection["id"]).webhook_secret_digest = \
            hashlib.sha256(secret.encode()).hexdigest()
        session.commit()
    good = {"X-Feedback-Loop-Secret": secret}
    bad_bodies = [
        (b"{not json", "malformed_webhook"),
        (b'{"action": "ANNOTATION_CREATED"}', "malformed_webhook"),
        (b'{"action": "SOMETHING_ELSE", "annotation": {"id": 1}, "task": {"id": 1}}', "malformed_webhook"),
    ]
    for body, code in bad_bodies:
        answer = client.post(path, data=body, headers=good | {"Content-Type": "application/json"})
        assert answer.status_code == 400 and answer.get_json()["error"]["code"] == code, answer.get_json()
    other = payload | {"project": {"id": connection["ls_project_id"] + 1000}}
    answer = client.post(path, json=other, headers=good)
    assert answer.status_code == 400 and answer.get_json()["error"]["code"] == "wrong_project"
    assert stored(app, project.id) == []

    ok = client.post(path, json=payload, headers=good)  # the same payload, properly authenticated
    assert ok.status_code == 200 and ok.get_json()["stored"] == 1
    assert ok.get_json()["interaction_id"] == interaction["id"]
    older = payload | {"annotation": payload["annotation"] | {"result": review("good"),
                                                               "updated_at": "2000-01-01T00:00:00Z"}}
    newer = payload | {"annotation": payload["annotation"] | {"updated_at": "2030-01-01T00:00:00Z"}}
    assert client.post(path, json=newer, headers=good).get_json()["stored"] == 1
    assert client.post(path, json=older, headers=good).get_json()["stored"] == 0  # out of order: ignored
    with app.app_context():
        count = get_db().session().scalar(select(func.count()).select_from(LSAnnotationRecord).where(
            LSAnnotationRecord.project_id == project.id))
    assert count == 1 and stored(app, project.id)[0].verdict == "bad"


def test_pairwise_annotation_keeps_the_compared_response(app, client, project, live_server, labelstudio,
                                                         labelstudio_client):
    admin = project.headers("admin")
    answer = client.post("/api/v1/labelstudio/connections", headers=admin, base_url=live_server,
                         json={"name": "compare", "url": labelstudio.url, "token": labelstudio.token,
                               "template": "pairwise"})
    assert answer.status_code == 201, answer.get_json()
    connection = answer.get_json()
    try:
        add_rule(client, admin, connection["id"], conditions={"thumbs_down": True})
        interaction = log_interaction(client, project, response="Mix bleach and vinegar.",
                                      metadata={"alternative_response": "Never mix bleach with acids."})
        thumbs(client, project.headers(), interaction["id"], -1)
        run_worker_inline(app)
        (task,) = ls_tasks(labelstudio_client, connection["ls_project_id"])
        assert (task["data"]["response_a"], task["data"]["response_b"]) == (
            "Mix bleach and vinegar.", "Never mix bleach with acids.")
        labelstudio_client.create_annotation(task["id"], [
            {"from_name": "preference", "to_name": "response_a,response_b", "type": "pairwise",
             "value": {"selected": "right"}}])
        (row,) = wait_until(lambda: stored(app, project.id))
        assert (row.interaction_id, row.preference, row.compared_response) == (
            interaction["id"], "b", "Never mix bleach with acids.")
        with app.app_context():  # and the judgement becomes a preference pair in a dataset export
            result = run_export(get_db().session(), project.id, {"name": "pw", "formats": ["trl_preference"],
                                                                 "pair_origins": ["pairwise"]},
                                app.config["SETTINGS"].data_dir)
        (line,) = [ln for f in (result.path / "trl_preference").glob("*.jsonl") for ln in f.read_text().splitlines()]
        pair = json.loads(line)
        assert (pair["chosen"][-1]["content"], pair["rejected"][-1]["content"]) == (
            "Never mix bleach with acids.", "Mix bleach and vinegar.")
    finally:
        labelstudio_client.delete_project(connection["ls_project_id"])

"""Delivery into a real Label Studio: exactly one task per routing decision, with the model's score."""

from __future__ import annotations

import pytest

from feedback.db import get_db
from feedback.models import LabelStudioConnection
from feedback.services.labelstudio_client import SECRET_HEADER
from tests.conftest import log_interaction
from tests.jobs.delivery_helpers import connect, item_ids, ls_tasks, outbox, run_worker_inline
from tests.routing_helpers import add_rule, thumbs


@pytest.fixture
def connection(client, project, labelstudio, labelstudio_client):
    """A connection made through the API; its Label Studio project is deleted afterwards."""
    made = connect(client, project.headers("admin"), labelstudio.url, labelstudio.token,
                   webhook_url="http://127.0.0.1:9/hook")
    yield made
    labelstudio_client.delete_project(made["ls_project_id"])


def test_connection_hides_secrets_and_registers_the_webhook(app, client, project, connection, labelstudio,
                                                            labelstudio_client):
    assert "token" not in connection and connection["token_kind"] == "legacy"
    listed = client.get("/api/v1/labelstudio/connections", headers=project.headers("admin")).get_json()
    assert labelstudio.token not in str(listed)
    with app.app_context():  # stored sealed: the database alone does not reveal the token
        stored = get_db().session().get(LabelStudioConnection, connection["id"]).token
    assert stored.startswith("fernet:") and labelstudio.token not in stored
    replaced = client.patch(f"/api/v1/labelstudio/connections/{connection['id']}", headers=project.headers("admin"),
                            json={"token": labelstudio.token})
    assert replaced.status_code == 200
    with app.app_context():
        restored = get_db().session().get(LabelStudioConnection, connection["id"]).token
    assert restored.startswith("fernet:") and restored != stored and labelstudio.token not in restored
    hooks = labelstudio_client.list_webhooks(connection["ls_project_id"])
    assert [h["url"] for h in hooks] == ["http://127.0.0.1:9/hook"]
    assert SECRET_HEADER in hooks[0]["headers"]
    bad = client.post("/api/v1/labelstudio/connections", headers=project.headers("admin"),
                      json={"name": "bad", "url": labelstudio.url, "token": "wrong-token-123"})
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "labelstudio_rejected"


def test_thumbs_down_and_low_confidence_become_one_task_each_with_the_score(
        app, client, project, connection, labelstudio_client):
    admin = project.headers("admin")
    add_rule(client, admin, connection["id"], priority=1, conditions={"confidence_below": 0.4})
    add_rule(client, admin, connection["id"], priority=2, conditions={"thumbs_down": True})
    low = log_interaction(client, project, confidence=0.25, model_version="v7", external_id="low")
    bad = log_interaction(client, project, confidence=0.9, model_version="v7", response="Paris is in Spain")
    fine = log_interaction(client, project, confidence=0.95)
    thumbs(client, project.headers(), bad["id"], -1, comment="wrong country")
    thumbs(client, project.headers(), low["id"], -1)  # already routed: no second decision
    thumbs(client, project.headers(), fine["id"], 1)
    run_worker_inline(app)
    items = outbox(app, project.id)
    assert [(i.interaction_id, i.status) for i in items] == [(low["id"], "delivered"), (bad["id"], "delivered")]
    tasks = ls_tasks(labelstudio_client, connection["ls_project_id"])
    assert item_ids(tasks) == sorted(str(i.id) for i in items)
    by_interaction = {t["data"]["fl_interaction_id"]: t for t in tasks}
    assert by_interaction[low["id"]]["predictions"][0]["score"] == pytest.approx(0.25)
    assert by_interaction[bad["id"]]["predictions"][0]["score"] == pytest.approx(0.9)
    assert by_interaction[bad["id"]]["data"]["response"] == "Paris is in Spain"
    assert "thumbs down" in by_interaction[bad["id"]]["data"]["user_feedback"]
    assert {i.ls_task_id for i in items} == {t["id"] for t in tasks}
    run_worker_inline(app)  # nothing due: nothing re-sent
    assert len(ls_tasks(labelstudio_client, connection["ls_project_id"])) == 2
